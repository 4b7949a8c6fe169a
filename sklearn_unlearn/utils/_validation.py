"""Input checks shared by the estimators: clear errors at the boundary, nothing mutated."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data
from skorch.dataset import ERROR_MSG_1_ITEM, ERROR_MSG_MORE_THAN_2_ITEMS, unpack_data
from skorch.dataset import Dataset as SkorchDataset
from skorch.utils import to_numpy
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import TensorDataset


def rows_of_dataset(X, y):
    """``(X, y)`` as arrays when ``X`` is a torch ``Dataset`` of ``(x, y)`` pairs; unchanged otherwise.

    skorch's ``Dataset`` and ``TensorDataset`` give their arrays directly; any other dataset
    is read item by item up to ``len(dataset)`` (each item must be an ``(x, y)`` pair, as
    skorch requires). ``y`` given explicitly wins over the dataset's labels.
    """
    if not isinstance(X, TorchDataset):
        return X, y
    if isinstance(X, SkorchDataset):
        X_rows, y_rows = X.X, X.y
    elif isinstance(X, TensorDataset):
        X_rows, y_rows = X.tensors[0], (X.tensors[1] if len(X.tensors) > 1 else None)
    else:
        if not hasattr(X, "__len__"):
            raise TypeError(
                f"{type(X).__name__} has no __len__: UnlearnableClassifier reads a Dataset row by row up to its "
                "length. Give it __len__, or pass arrays."
            )
        items = [_pair(X[i]) for i in range(len(X))]
        X_rows = np.stack([to_numpy(torch.as_tensor(x)) for x, _ in items]) if items else np.empty((0, 0))
        y_rows = np.asarray([to_numpy(torch.as_tensor(t)) for _, t in items]) if items else None
    if isinstance(X_rows, dict):
        raise ValueError(_DICT_INPUT)
    return to_numpy(X_rows) if isinstance(X_rows, torch.Tensor) else X_rows, (
        y if y is not None else (to_numpy(y_rows) if isinstance(y_rows, torch.Tensor) else y_rows)
    )


def _pair(item):
    """``(x, y)`` from a dataset item, with skorch's messages for items of another length."""
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise ValueError(ERROR_MSG_1_ITEM)
    if len(item) > 2:
        raise ValueError(ERROR_MSG_MORE_THAN_2_ITEMS.format(len(item)))
    return unpack_data(item)


_DICT_INPUT = (
    "X is a dict of arrays: UnlearnableClassifier needs one array of features per row (forgetting computes "
    "per-row gradients of one input). Concatenate the arrays into one, or use skorch's NeuralNetClassifier "
    "if you do not need to forget."
)


def check_features(estimator, X, *, reset: bool, name: str = "X") -> np.ndarray:
    """Validate ``X`` (dense, sparse or DataFrame) and return a new-or-shared float32 array.

    Sparse input is densified: the default modules are dense. Images may come as
    ``(n, channels, height, width)`` arrays.
    """
    if X is None:
        raise ValueError(f"{name} is None; pass an array of shape (n_samples, n_features).")
    if isinstance(X, dict) and not sp.issparse(X):  # a dok_matrix is a dict too
        raise ValueError(_DICT_INPUT)
    if isinstance(X, TorchDataset):
        raise TypeError(f"{name} is a torch Dataset; pass arrays (or a Dataset to fit, which reads it into arrays).")
    array = validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse=("csr", "csc", "coo"),
        dtype=(np.float32, np.float64),
        allow_nd=True,
        ensure_min_samples=1,
        ensure_all_finite=True,
    )
    if sp.issparse(array):
        array = array.toarray()
    with np.errstate(over="ignore"):  # overflow is reported below, by name
        X32 = np.asarray(array, dtype=np.float32)
    if not np.isfinite(X32).all():
        # Finite in float64 but beyond float32's range (|x| > 3.4e38): training would see inf.
        raise ValueError(
            f"{name} has values beyond float32's range (|x| > {np.finfo(np.float32).max:.3g}), which the "
            "network computes in; rescale the features."
        )
    return X32


def check_labels(y, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Validate classification targets of the right length; return them 1-D."""
    if y is None:
        raise ValueError(f"{name} is None: this estimator requires y to be passed, but the target y is None.")
    y = column_or_1d(y, warn=True)
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} labels but X has {n_samples} rows; they must match.")
    check_classification_targets(y)
    return y


def encode_labels(y: np.ndarray, classes: np.ndarray, *, name: str = "y") -> np.ndarray:
    """Map labels to 0..K-1 indices of ``classes`` (sorted), refusing labels never seen in fit."""
    unknown = ~np.isin(y, classes)
    if unknown.any():
        shown = ", ".join(repr(v) for v in np.unique(y[unknown])[:5].tolist())
        raise ValueError(f"{name} contains labels never seen in fit: {shown}. The model knows {classes.tolist()}.")
    return np.searchsorted(classes, y).astype(np.int64)


def prepare_rows(estimator, X, y, *, name: str = "X", reset: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X`` and ``y`` together and encode ``y`` with the fitted ``classes_``.

    Returns float32 rows and int64 class indices; ``name`` names ``X`` in errors and
    ``y`` is named after it (``X_retain`` → ``y_retain``). A Dataset ``X`` is read into arrays.
    """
    X, y = rows_of_dataset(X, y)
    y_name = "y" + name[1:] if name.startswith("X") else f"labels of {name}"
    X32 = check_features(estimator, X, reset=reset, name=name)
    labels = check_labels(y, len(X32), name=y_name)
    return X32, encode_labels(labels, estimator.classes_, name=y_name)
