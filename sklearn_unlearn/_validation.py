"""Input checks shared by the estimators: clear errors at the boundary, nothing mutated."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data


def check_features(estimator, X, *, reset: bool, name: str = "X") -> np.ndarray:
    """Validate ``X`` (dense, sparse or DataFrame) and return a new-or-shared float32 array.

    Sparse input is densified: the default modules are dense. Images may come as
    ``(n, channels, height, width)`` arrays.
    """
    if X is None:
        raise ValueError(f"{name} is None; pass an array of shape (n_samples, n_features).")
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
    return np.asarray(array, dtype=np.float32)


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


def check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
    return float(value)


def row_fingerprints(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 64-bit hash per (row, label), to recognise rows the model was trained on."""
    frame = pd.DataFrame(X.reshape(len(X), -1))
    frame["__label__"] = y
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def remove_rows(fingerprints: np.ndarray, forgotten: np.ndarray) -> tuple[np.ndarray, int]:
    """Remove one occurrence per forgotten fingerprint; return what is left and how many were absent.

    ``fingerprints`` must be sorted (the classifier keeps them so), which makes the cost
    O(|D_f| log |D|) lookups plus one O(|D|) copy instead of a sort of |D| per forget.
    """
    remaining = fingerprints
    keep = np.ones(len(remaining), dtype=bool)
    missing = 0
    values, counts = np.unique(forgotten, return_counts=True)
    starts = np.searchsorted(remaining, values, side="left")
    ends = np.searchsorted(remaining, values, side="right")
    for start, end, count in zip(starts, ends, counts, strict=True):
        taken = min(count, end - start)
        keep[start : start + taken] = False
        missing += count - taken
    return remaining[keep], int(missing)
