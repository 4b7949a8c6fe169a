"""``forget`` and its bookkeeping: validation, rollback on failure, the log.

A mixin of :class:`~sklearn_unlearn.UnlearnableClassifier`, kept apart so the classifier
module reads as training + prediction + importances. It relies on the classifier's
``_check_fitted``, ``forget_method``, ``alpha``, ``lam``, ``n_train_``, ``classes_`` and
``_fingerprints_``.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ._validation import check_features, check_labels, check_positive, encode_labels, remove_rows, row_fingerprints
from .unlearners import ForgetRequest, Unlearner, make_unlearner

if TYPE_CHECKING:
    from .classifier import UnlearnableClassifier


class ForgetMixin:
    """Adds :meth:`forget` to the classifier."""

    def forget(self, X, y, *, X_retain=None, y_retain=None) -> UnlearnableClassifier:
        """Remove what the network learned from the rows ``(X, y)``.

        Runs ``forget_method`` (ASSD by default: parameter-free, one pass over ``X``).
        Without retain rows ASSD/SSD use the importances cached at fit; with them they
        compute the reference importances from those rows, as the authors' code does.
        A failed call leaves the model exactly as it was.

        Parameters
        ----------
        X : array-like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array-like of shape (n_forget,)
            The labels they were trained with.
        X_retain, y_retain : array-like, optional
            The rows the model keeps; required by ``"finetune"`` and ``"retrain"``.

        Returns
        -------
        self
        """
        self._check_fitted()
        unlearner = make_unlearner(self.forget_method, alpha=self.alpha, lam=self.lam)
        if self.forget_method == "ssd":
            check_positive(self.alpha, "alpha")
            check_positive(self.lam, "lam")
        return self._forget_with(unlearner, X, y, X_retain, y_retain)

    def _forget_with(self, unlearner: Unlearner, X, y, X_retain=None, y_retain=None) -> UnlearnableClassifier:
        """Validate, run ``unlearner``, roll back on failure, record; shared with ``repair``."""
        self._check_fitted()
        request, fingerprints = self._forget_request(X, y, X_retain, y_retain, unlearner)
        snapshot = self._snapshot()
        start = time.perf_counter()
        try:
            with torch.random.fork_rng(devices=[]):
                outcome = unlearner.forget(self, request)
        except BaseException:
            self._restore(snapshot)
            raise
        self._record_forget(request, outcome, fingerprints, unlearner, time.perf_counter() - start)
        return self

    def needs_retain_rows(self) -> bool:
        """Whether ``forget_method`` needs ``X_retain``/``y_retain`` (fine-tune, retrain).

        Returns
        -------
        bool
        """
        unlearner = make_unlearner(self.forget_method, alpha=self.alpha, lam=self.lam)
        return bool(getattr(unlearner, "needs_retain", False))

    def _forget_request(self, X, y, X_retain, y_retain, unlearner) -> tuple[ForgetRequest, np.ndarray | None]:
        X_f = check_features(self, X, reset=False)
        if len(X_f) == 0:
            raise ValueError("The forget set is empty: pass at least one row to forget.")
        y_f = encode_labels(check_labels(y, len(X_f)), self.classes_)
        if len(X_f) >= self.n_train_:
            raise ValueError(
                f"The forget set has {len(X_f)} rows but the model keeps only {self.n_train_}: "
                "forgetting everything leaves no model; train a new one instead."
            )
        if (X_retain is None) != (y_retain is None):
            raise ValueError("Pass both X_retain and y_retain, or neither.")
        X_r = y_r = retain_fingerprints = None
        if X_retain is not None:
            X_r = check_features(self, X_retain, reset=False, name="X_retain")
            y_r = encode_labels(check_labels(y_retain, len(X_r), name="y_retain"), self.classes_, name="y_retain")
            retain_fingerprints = row_fingerprints(X_r, y_r)
        else:
            _, missing = remove_rows(self._fingerprints_, row_fingerprints(X_f, y_f))
            if missing and not getattr(unlearner, "needs_retain", False):
                raise ValueError(
                    f"{missing} of the {len(X_f)} forget rows were never trained on (or were already "
                    "forgotten): the cached importances cannot be corrected for them. Pass X_retain and y_retain."
                )
        request = ForgetRequest(
            X_forget=torch.as_tensor(X_f),
            y_forget=torch.as_tensor(y_f),
            X_retain=None if X_r is None else torch.as_tensor(X_r),
            y_retain=None if y_r is None else torch.as_tensor(y_r),
            n_train=self.n_train_,
        )
        return request, retain_fingerprints

    def _snapshot(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.__dict__),
            "history": copy.deepcopy(self.history_),
            "trace": copy.copy(self.__dict__.get("training_trace_")),  # its counters change in place
            "module_state": {k: v.detach().clone() for k, v in self.module_.state_dict().items()},
            "optimizer_state": copy.deepcopy(self.optimizer_.state_dict()),
            "training": {m: m.training for m in self.module_.modules()},
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.__dict__.clear()
        self.__dict__.update(snapshot["attributes"])
        self.history_ = snapshot["history"]
        if snapshot["trace"] is not None:
            self.training_trace_ = snapshot["trace"]
        self.module_.load_state_dict(snapshot["module_state"])
        self.optimizer_.load_state_dict(snapshot["optimizer_state"])
        for module, training in snapshot["training"].items():
            module.train(training)

    def _record_forget(self, request: ForgetRequest, outcome, retain_fingerprints, unlearner, seconds: float) -> None:
        if retain_fingerprints is not None:
            self._fingerprints_ = np.sort(retain_fingerprints)
        else:
            forgotten = row_fingerprints(request.X_forget.numpy(), request.y_forget.numpy())
            self._fingerprints_, _ = remove_rows(self._fingerprints_, forgotten)
        self.importances_ = outcome.retain_importances
        self.n_train_ = request.n_retain
        method = getattr(unlearner, "name", type(unlearner).__name__)
        entry = {"method": method, "n_forget": request.n_forget, "n_retain": request.n_retain}
        entry.update(outcome.details)
        entry["seconds"] = seconds
        self.forget_log_.append(entry)
