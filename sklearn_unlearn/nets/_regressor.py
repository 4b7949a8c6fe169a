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

    def _targets_for_fit(self, y, n_rows: int) -> np.ndarray:
        y32 = check_targets(y, n_rows)
        self.n_outputs_ = y32.shape[1]
        self.__dict__["_target_ndim"] = np.ndim(y)
        return y32

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
        X : array-like of shape (n_samples, n_features)
            Rows, checked against the fitted features.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their numeric targets.
        name : str, default="X"
            How errors name ``X`` (``y`` is named after it).

        Returns
        -------
        X32 : ndarray of float32
            The rows.
        y32 : ndarray of float32 of shape (n_samples, n_outputs)
            The targets, always two-dimensional.
        """
        X, y = rows_of_dataset(X, y)
        y_name = "y" + name[1:] if name.startswith("X") else f"targets of {name}"
        X32 = check_features(self, X, reset=False, name=name)
        return X32, self._checked_targets(y, len(X32), name=y_name)

    def _module_sizes(self, accepted: set[str]) -> dict[str, int]:
        sizes = super()._module_sizes(accepted)
        if "n_outputs" in accepted:
            return {**sizes, "n_outputs": self.n_outputs_}
        return {**sizes, "n_classes": self.n_outputs_} if "n_classes" in accepted else sizes

    def _module_outputs(self) -> tuple[int, str]:
        return self.n_outputs_, "one value per output"

    def predict(self, X) -> np.ndarray:
        """Predicted targets, in the shape ``y`` had at ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One prediction per row and output.
        """
        check_initialized(self)
        if isinstance(X, torch.utils.data.Dataset):
            return super().predict(X)
        predicted = super().predict(check_features(self, X, reset=False))
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
        return torch.as_tensor(NeuralNetRegressor.predict(self, X)).reshape(len(X), -1)


def check_targets(y, n_rows: int, *, name: str = "y") -> np.ndarray:
    """Numeric, finite targets of the right length, as float32 of shape (n_samples, n_outputs).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The targets.
    n_rows : int
        Rows of ``X``.
    name : str, default="y"
        How errors name them.

    Returns
    -------
    ndarray of float32
        Two-dimensional.

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
    return y32
