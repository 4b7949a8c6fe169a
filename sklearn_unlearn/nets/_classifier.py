"""``SklearnNetClassifier``: skorch's ``NeuralNetClassifier`` with scikit-learn's conventions."""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.utils import check_is_fitted as check_initialized
from torch import Tensor

from ..utils import check_features, check_labels, encode_labels, prepare_rows
from ._base import SklearnNetMixin


class SklearnNetClassifier(SklearnNetMixin, NeuralNetClassifier):
    """A skorch ``NeuralNetClassifier`` that behaves as a scikit-learn classifier.

    Labels of any type are encoded to ``0..K-1`` (``classes_``, sorted, or the
    ``classes`` parameter as given); the module must return one logit per class. Its
    parameters are ``skorch.NeuralNetClassifier``'s.
    """

    _parameter_constraints: dict = {**SklearnNetMixin._parameter_constraints, "classes": ["array-like", None]}

    @property
    def classes_(self) -> np.ndarray:
        """The labels, in the order of the outputs: from ``fit``, else from the ``classes`` parameter."""
        if "_classes_" in self.__dict__:
            return self.__dict__["_classes_"]
        if self.classes is not None and len(self.classes):
            return np.asarray(self.classes)
        raise AttributeError(f"{type(self).__name__} is not fitted yet: it has no classes_.")

    def _targets_for_fit(self, y, n_rows: int) -> np.ndarray:
        y = check_labels(y, n_rows)
        classes, y_enc = self._classes_for(y)
        self.__dict__["_classes_"] = classes
        return y_enc

    def _targets_for_partial_fit(self, y, n_rows: int, classes) -> np.ndarray:
        y = check_labels(y, n_rows)
        if "_classes_" in self.__dict__:
            return encode_labels(y, self.classes_)
        if classes is not None:
            self.classes = classes
        self.__dict__["_classes_"], y_enc = self._classes_for(y)
        return y_enc

    def _classes_for(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The classes and the encoded labels: sorted labels of ``y``, or the ``classes`` parameter as given.

        With ``classes``, each label is its position in ``classes``; integer labels that are
        not among ``classes`` but are valid positions are taken as positions (skorch's way).
        """
        if self.classes is None:
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(f"y has a single class ({classes.tolist()[0]!r}); a classifier needs at least 2.")
            return classes, encode_labels(y, classes)
        classes = np.asarray(self.classes)
        if len(classes) < 2:
            raise ValueError(f"classes must name at least 2 classes; got {classes.tolist()!r}.")
        if np.isin(y, classes).all():
            order = {label: position for position, label in enumerate(classes.tolist())}
            return classes, np.array([order[label] for label in y.tolist()], dtype=np.int64)
        if np.issubdtype(np.asarray(y).dtype, np.integer) and y.min() >= 0 and y.max() < len(classes):
            return classes, np.asarray(y, dtype=np.int64)
        return classes, encode_labels(y, classes)  # the clear error for unknown labels

    def encode_rows(self, X, y, *, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
        """Validate rows and labels as ``fit`` does and encode the labels with ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows, checked against the fitted features.
        y : array_like of shape (n_samples,)
            Their labels, all among ``classes_``.
        name : str, default="X"
            How errors name ``X`` (``y`` is named after it).

        Returns
        -------
        X32 : ndarray of float32
            The rows.
        y_enc : ndarray of int64
            Class indices.
        """
        return prepare_rows(self, X, y, name=name)

    def _module_sizes(self, accepted: set[str]) -> dict[str, int]:
        sizes = super()._module_sizes(accepted)
        return {**sizes, "n_classes": len(self.classes_)} if "n_classes" in accepted else sizes

    def _module_outputs(self) -> tuple[int, str]:
        return len(self.classes_), "one logit per class"

    # --- prediction ----------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            One probability per class.
        """
        check_initialized(self)
        if isinstance(X, torch.utils.data.Dataset):  # skorch's own scoring passes its validation Dataset
            return super().predict_proba(X)
        return super().predict_proba(check_features(self, X, reset=False))

    def predict(self, X) -> np.ndarray:
        """Predicted labels, from ``classes_`` (class indices for a network that does not know its classes).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            The most probable label of each row.
        """
        indices = self.predict_proba(X).argmax(axis=1)
        try:
            return self.classes_[indices]
        except AttributeError:  # initialised and loaded, never fitted, no `classes`: skorch's answer
            return indices

    def probabilities(self, X: Tensor) -> Tensor:
        """Class probabilities of validated float32 rows, as a CPU tensor.

        Parameters
        ----------
        X : Tensor
            Float32 rows.

        Returns
        -------
        Tensor of shape (n_samples, n_classes)
            One probability per class.
        """
        return torch.as_tensor(NeuralNetClassifier.predict_proba(self, X))
