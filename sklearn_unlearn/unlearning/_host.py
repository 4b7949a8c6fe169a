"""What a forget strategy sees of the estimator: ``ForgetContext``, one per ``forget`` call.

It implements the ``ForgetHost`` protocol over the estimator and its ``forget_state_``,
and computes the request's importance split once, for every stage that asks.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..utils import clone_parameters, trainable_parameters
from ._base import ForgetOutcome, ForgetRequest, ImportanceSplit
from ._guard import GuardRows
from ._importance import Importances
from ._optimizers import step_scale
from ._state import ForgetState, split_from_cache, split_from_rows, weights_at
from ._trace import Trace


class ForgetContext:
    """The estimator seen through the ``ForgetHost`` protocol, for one forget request.

    Parameters
    ----------
    estimator : unlearnable estimator
        Fitted; its module is what the strategies change.
    state : ForgetState
        Its state before this forget.
    request : ForgetRequest
        What to forget.
    repair_rows : GuardRows or None
        The kept rows a stage may train on (the forget rows already removed).
    """

    def __init__(
        self, estimator: Any, state: ForgetState, request: ForgetRequest, repair_rows: GuardRows | None = None
    ) -> None:
        self._estimator, self._state, self._request, self._repair = estimator, state, request, repair_rows
        self._split: ImportanceSplit | None = None
        # Where the importances of this forget are taken: the cache point, else the weights now.
        self.point = state.importance_point or clone_parameters(estimator.module_)

    @property
    def module_(self) -> nn.Module:
        return self._estimator.module_  # a retrain builds a new one

    @property
    def trace(self) -> Trace:
        return self._estimator.forget_state_.trace

    @property
    def importance(self) -> str:
        return self._estimator.importance

    @property
    def batch_size(self) -> int:
        return self._estimator.batch_size

    @property
    def max_epochs(self) -> int:
        return self._estimator.max_epochs

    @property
    def lr(self) -> float:
        return self._estimator.lr

    def compute_importances(self, X: Tensor, y: Tensor) -> Importances:
        return self._estimator.compute_importances(X, y)

    def importance_split(self, request: ForgetRequest) -> ImportanceSplit:
        """``(I_Df, I_Dr, I_D)`` for the request (see ``ImportanceSplit``), computed once per forget."""
        if request is not self._request:
            return self._split_for(request)
        if self._split is None:
            self._split = self._split_for(request)
        return self._split

    def _split_for(self, request: ForgetRequest) -> ImportanceSplit:
        if request.X_retain is not None:
            return split_from_rows(request, self.compute_importances)
        cache = self._state.cached_importances()
        with weights_at(self.module_, self._state.importance_point):
            imp_f = self.compute_importances(request.X_forget, request.y_forget)
        return split_from_cache(cache, request, imp_f, additive=self.importance == "per_sample")

    def gradient_step_scale(self) -> tuple[dict[str, Tensor | float], bool]:
        return step_scale(self._estimator.trained_parts()[1], trainable_parameters(self.module_))

    def eval_loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self._estimator.eval_loss(output, target)

    def probabilities(self, X: Tensor) -> Tensor:
        if self._request.regression:
            raise TypeError("A regressor has no class probabilities: this method works for classifiers only.")
        return self._estimator.probabilities(X)

    def fit_of_rows(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return self._estimator.fit_of_rows(X, y)

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        return self._estimator.row_losses(output, target)

    def repair_rows(self) -> tuple[Tensor, Tensor] | None:
        return None if self._repair is None else (self._repair.X, self._repair.y)

    def train_epochs(
        self, X: Tensor, y: Tensor, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False
    ) -> None:
        self._estimator.train_epochs(X, y, epochs=epochs, lr_factor=lr_factor, reinitialize=reinitialize)

    def importances_after(self, outcome: ForgetOutcome) -> tuple[Importances | None, dict[str, Tensor] | None]:
        """The importance cache and its point once the forget rows are gone.

        A strategy that retrained returns fresh importances at the new weights; otherwise the
        retain importances are taken at this forget's point (exact, see ``_state``), and a
        stale cache stays stale unless the caller gave the retain rows.
        """
        if outcome.retain_importances is not None:
            return outcome.retain_importances, None
        if self._state.importances is None and self._request.X_retain is None:
            return None, None
        with weights_at(self.module_, self.point):
            split = self.importance_split(self._request)
        return split.retain, self.point
