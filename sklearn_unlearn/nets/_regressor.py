"""``SklearnNetRegressor``: skorch's ``NeuralNetRegressor`` with scikit-learn's conventions."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_array, check_consistent_length
from skorch import NeuralNetRegressor
from skorch.utils import check_is_fitted as check_initialized
from torch import Tensor

from ..utils import check_features, rows_of_dataset
from ._base import SklearnNetMixin


class SklearnNetRegressor(SklearnNetMixin, NeuralNetRegressor):
    """A skorch ``NeuralNetRegressor`` that behaves as a scikit-learn regressor.

    Targets are numbers: one per row (``y`` of shape ``(n_samples,)``, and ``predict`` then
    returns that shape) or several (``(n_samples, n_outputs)``); they are cast to float32
    and must be finite. The module must return ``n_outputs_`` values per row. Its
    parameters are ``skorch.NeuralNetRegressor``'s.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets_for_fit(self, y, n_rows: int) -> np.ndarray:
        y32, ndim = check_targets(y, n_rows, with_ndim=True)
        self.n_outputs_ = y32.shape[1]
        self.__dict__["_target_ndim"] = ndim
        return y32

    def _accepts_flat_output(self, shape: tuple[int, ...], n_rows: int) -> bool:
        # skorch lets a single-output module return one value per row (BaggingRegressor needs it):
        # the targets then train flat too, so the loss never broadcasts (n,) against (n, 1).
        flat = shape == (n_rows,) and self.n_outputs_ == 1
        self.__dict__["_flat_output"] = flat
        return flat

    def _targets_for_module(self, y32: np.ndarray) -> np.ndarray:
        return y32.reshape(len(y32)) if self.__dict__.get("_flat_output") else y32

    def _targets_for_partial_fit(self, y, n_rows: int, classes) -> np.ndarray:
        if "n_outputs_" not in self.__dict__:
            return self._targets_for_fit(y, n_rows)
        return self._checked_targets(y, n_rows)

    def _checked_targets(self, y, n_rows: int, name: str = "y") -> np.ndarray:
        y32 = check_targets(y, n_rows, name=name)
        if y32.shape[1] != self.n_outputs_:
            raise ValueError(f"{name} has {y32.shape[1]} outputs per row; the model was fitted with {self.n_outputs_}.")
        return y32

    def encode_rows(self, X, y, *, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
        """Validate rows and targets as ``fit`` does.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows, checked against the fitted features.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Their numeric targets.
        name : str, default="X"
            How errors name ``X`` (``y`` is named after it).

        Returns
        -------
        X32 : ndarray of float32
            The rows.
        y32 : ndarray of float32
            The targets, ``(n_samples, n_outputs)``, or ``(n_samples,)`` for a module that
            returns one value per row.
        """
        X, y = rows_of_dataset(X, y)
        y_name = "y" + name[1:] if name.startswith("X") else f"targets of {name}"
        X32 = check_features(self, X, reset=False, name=name)
        return X32, self._targets_for_module(self._checked_targets(y, len(X32), name=y_name))

    def _module_sizes(self, accepted: set[str]) -> dict[str, int]:
        sizes = super()._module_sizes(accepted)
        if "n_outputs" in accepted:
            return {**sizes, "n_outputs": self.n_outputs_}
        return {**sizes, "n_classes": self.n_outputs_} if "n_classes" in accepted else sizes

    def _module_outputs(self) -> tuple[int, str]:
        return self.n_outputs_, "one value per output"

    @property
    def predict_proba(self):
        """Not available: a regressor predicts values (``predict``), not probabilities."""
        raise AttributeError(f"{type(self).__name__} has no predict_proba: use predict.")

    def predict(self, X) -> np.ndarray:
        """Predicted targets, in the shape ``y`` had at ``fit``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of float64 of shape (n_samples,) or (n_samples, n_outputs)
            One prediction per row and output (computed in float32).
        """
        check_initialized(self)
        # skorch's predict is its predict_proba, which a regressor does not offer by that name.
        if isinstance(X, torch.utils.data.Dataset):
            return NeuralNetRegressor.predict_proba(self, X)
        predicted = NeuralNetRegressor.predict_proba(self, check_features(self, X, reset=False)).astype(np.float64)
        return predicted.reshape(len(predicted)) if self.__dict__.get("_target_ndim") == 1 else predicted

    def predictions(self, X: Tensor) -> Tensor:
        """Predictions of validated float32 rows, two-dimensional, as a CPU tensor.

        Parameters
        ----------
        X : Tensor
            Float32 rows.

        Returns
        -------
        Tensor of shape (n_samples, n_outputs)
            One value per output.
        """
        return torch.as_tensor(NeuralNetRegressor.predict_proba(self, X)).reshape(len(X), -1)


def check_targets(y, n_rows: int, *, name: str = "y", with_ndim: bool = False):
    """Numeric, finite targets of the right length, as float32 of shape (n_samples, n_outputs).

    Parameters
    ----------
    y : array_like of shape (n_samples,) or (n_samples, n_outputs)
        The targets.
    n_rows : int
        Rows of ``X``.
    name : str, default="y"
        How errors name them.
    with_ndim : bool, default=False
        Also return how many dimensions ``y`` had (1 or 2).

    Returns
    -------
    ndarray of float32
        Two-dimensional (and ``y``'s dimensions with ``with_ndim``).

    Raises
    ------
    ValueError
        For missing, non-numeric, non-finite or too wide-ranging targets, or the wrong length.
    """
    if y is None:
        raise ValueError(f"{name} is None: this estimator requires y to be passed, but the target y is None.")
    try:
        y64 = check_array(y, ensure_2d=False, dtype=np.float64, ensure_all_finite=True, input_name=name)
    except ValueError as error:
        raise ValueError(f"{name} must hold finite numbers: {error}") from None
    if y64.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got shape {y64.shape}.")
    check_consistent_length(np.empty(n_rows), y64)
    with np.errstate(over="ignore"):
        y32 = y64.astype(np.float32).reshape(len(y64), -1)
    if not np.isfinite(y32).all():
        raise ValueError(f"{name} has values beyond float32's range; rescale the targets.")
    return (y32, y64.ndim) if with_ndim else y32
