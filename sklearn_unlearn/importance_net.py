"""The importance cache: diagonal-Fisher importances of the training rows, kept exact across forgets."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import Tensor

from .importance import Importances, minibatch_importances, per_sample_importances
from .net import SklearnNetClassifier
from .torch_utils import eval_mode
from .unlearning.base import ForgetOutcome, ForgetRequest, ImportanceSplit
from .unlearning.cache import split_from_cache, split_from_rows, weights_at

IMPORTANCE_FORMS = ("per_sample", "minibatch")
_PER_SAMPLE_CHUNK = 2048  # rows per importance batch; the per-sample result does not depend on it
_PROGRESS_MIN_ROWS = 10_000  # below this an importance pass takes well under a second: no bar


class ImportanceNetClassifier(SklearnNetClassifier):
    """A sklearn-style skorch classifier that caches its training rows' importances at ``fit``.

    The base of ``UnlearnableClassifier``, which sets the ``importance`` parameter
    (``"per_sample"`` or ``"minibatch"``). Fitted state: ``importances_`` (one tensor per
    trainable parameter, over the rows the model keeps) and the weights they were taken at
    (the *cache point*: see ``sklearn_unlearn.unlearning.cache``).
    """

    importance: str
    _records = (*SklearnNetClassifier._records, "importances_", "_importance_point_")

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool, fit_params: dict) -> None:
        # After partial_fit the cache covers only part of the rows at older weights: stale.
        rows, labels = torch.as_tensor(X32), torch.as_tensor(y_enc)
        self.importances_ = self.compute_importances(rows, labels, **fit_params) if fresh else None
        self._importance_point_ = None

    def compute_importances(self, X: Tensor, y: Tensor, **forward_kwargs) -> Importances:
        """Importances of ``(X, y)`` (float32 rows, encoded labels) at the current weights.

        ``forward_kwargs`` go to every call of the module's ``forward`` (fit params). The
        module and the criterion run in eval mode.
        """
        progress = bool(self.verbose) and len(X) >= _PROGRESS_MIN_ROWS
        options = {"progress": progress, "forward_kwargs": forward_kwargs}
        criterion = getattr(self, "criterion_", None)
        with eval_mode(criterion) if isinstance(criterion, torch.nn.Module) else contextlib.nullcontext():
            if self.importance == "minibatch":
                return minibatch_importances(self.module_, X, y, self.eval_loss, self.batch_size, **options)
            chunk = max(self.batch_size, _PER_SAMPLE_CHUNK) if self.batch_size > 0 else _PER_SAMPLE_CHUNK
            return per_sample_importances(self.module_, X, y, self.eval_loss, chunk, **options)

    def cached_importances(self) -> Importances:
        """Importances over the rows the model keeps, as cached by ``fit`` and ``forget``."""
        if self.importances_ is None:
            raise ValueError(
                "The importance cache is stale (partial_fit changed the weights); pass X_retain and y_retain to forget."
            )
        return self.importances_

    def importance_split(self, request: ForgetRequest) -> ImportanceSplit:
        """``(I_Df, I_Dr, I_D)`` for a forget request (see ``unlearning.base.ImportanceSplit``).

        Computed once per forget and shared by its stages.
        """
        memo = self.__dict__.get("_split_memo")
        if memo is not None and memo[0] is request:
            return memo[1]
        if request.X_retain is not None:
            split = split_from_rows(request, self.compute_importances)
        else:
            cache = self.cached_importances()
            with weights_at(self.module_, self._importance_point_):
                imp_f = self.compute_importances(request.X_forget, request.y_forget)
            split = split_from_cache(cache, request, imp_f, additive=self.importance == "per_sample")
        self.__dict__["_split_memo"] = (request, split)
        return split

    def _update_cache_after_forget(
        self, request: ForgetRequest, outcome: ForgetOutcome, point: dict[str, Tensor]
    ) -> None:
        if outcome.retain_importances is not None:  # retrained: fresh importances at the new weights
            self.importances_, self._importance_point_ = outcome.retain_importances, None
            return
        if self.importances_ is None and request.X_retain is None:
            return  # stale since partial_fit, and nothing to rebuild it from
        with weights_at(self.module_, point):
            split = self.importance_split(request)
        self.importances_, self._importance_point_ = split.retain, point
