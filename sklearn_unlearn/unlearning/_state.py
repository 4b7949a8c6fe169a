"""What ``forget`` needs from training, in one object: ``ForgetState``.

An unlearnable estimator keeps it as ``forget_state_``. It holds the record of training
(``w_0`` and the schedule), the importance cache, how many rows the model keeps and, in
memory only, which rows those are and a reference sample of them for the guard.

The importance cache holds the importances over the kept rows, taken at one set of
weights, the *cache point* (the end of ``fit`` or of the last retrain). Forgets change
the weights but not the point: the forget rows' importances are taken there too, so the
per-sample subtraction stays exact after any number of forgets, and no retain importance
is ever a difference of importances taken at different weights (such a difference can
come out at zero or below and then dampens a weight the retain rows need to nothing).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..utils import trainable_parameters
from ._base import ForgetRequest, ImportanceSplit
from ._guard import GuardRows
from ._importance import Importances
from ._records import TrainedRows
from ._trace import Trace

ComputeImportances = Callable[[Tensor, Tensor], Importances]

# Training data: kept for the checks of the running process, never written to a file.
MEMORY_ONLY = ("trained_rows", "guard_rows", "repair_rows")


@dataclass
class ForgetState:
    """Everything ``forget`` needs from ``fit``, held by the estimator as ``forget_state_``.

    Parameters
    ----------
    trace : Trace
        ``w_0``, optimizer steps, epochs, learning rates and optimizer since the module
        was built (read by the gradient methods and ``metrics.unlearning_error``).
    importances : dict of str to Tensor or None
        Diagonal-Fisher importances over the kept rows, taken at ``importance_point``;
        None when stale (after ``partial_fit`` or ``forget_class``).
    importance_point : dict of str to Tensor or None
        The weights the importances were taken at; None while the weights have not moved
        since (they are the current weights).
    n_train : int
        Rows the model keeps: trained on, minus those forgotten since.
    trained_rows : TrainedRows or None
        Which rows those are (a hash per row). In memory only: None after loading from a
        file, and then ``forget`` cannot check its rows.
    guard_rows : GuardRows or None
        The guard's reference sample of kept rows. In memory only.
    repair_rows : GuardRows or None
        Another sample of kept rows, disjoint from ``guard_rows``, that stages which train
        while forgetting (``Relabel``) train on. In memory only.
    target_scale : Tensor or None
        A regressor's ``σ`` per output: the training rows' robust residual scale (1.4826 ×
        the median absolute residual) when the model was trained (what "fitting a row" is measured against); None for a
        classifier.

    Notes
    -----
    Pickling (and every format built on it) drops ``trained_rows`` and ``guard_rows``: a
    saved model must not reveal which rows it was trained on beyond what its predictions
    do. ``copy.deepcopy`` keeps them (a copy in memory is not a file).
    """

    trace: Trace
    importances: Importances | None = None
    importance_point: dict[str, Tensor] | None = None
    n_train: int = 0
    trained_rows: TrainedRows | None = None
    guard_rows: GuardRows | None = None
    repair_rows: GuardRows | None = None
    target_scale: Tensor | None = None

    def __getstate__(self) -> dict[str, Any]:
        # On the CPU, so that a pickle loads on a machine without the GPU it was made on.
        cpu = self.on("cpu")
        return {**cpu.__dict__, **dict.fromkeys(MEMORY_ONLY)}

    def __deepcopy__(self, memo: dict) -> ForgetState:
        return ForgetState(**{f.name: copy.deepcopy(getattr(self, f.name), memo) for f in dataclasses.fields(self)})

    def on(self, device: Any) -> ForgetState:
        """The same state with the importance cache and its point on ``device``.

        Parameters
        ----------
        device : str or torch.device
            Where the tensors go.

        Returns
        -------
        ForgetState
            A new state (the other fields shared).
        """

        def moved(tensors: dict[str, Tensor] | None) -> dict[str, Tensor] | None:
            return None if tensors is None else {k: v.to(device) for k, v in tensors.items()}

        return self.replace(importances=moved(self.importances), importance_point=moved(self.importance_point))

    def reference_rows(self, change) -> dict[str, GuardRows | None]:
        """``guard_rows`` and ``repair_rows`` passed through ``change`` (None stays None).

        Parameters
        ----------
        change : callable
            ``GuardRows -> GuardRows``.

        Returns
        -------
        dict
            ``{"guard_rows": ..., "repair_rows": ...}``, for ``replace``.
        """
        return {name: None if rows is None else change(rows) for name, rows in self._references().items()}

    def _references(self) -> dict[str, GuardRows | None]:
        return {"guard_rows": self.guard_rows, "repair_rows": self.repair_rows}

    def replace(self, **changes: Any) -> ForgetState:
        """A new state with these fields changed (the others shared).

        Parameters
        ----------
        **changes
            Field names and their new values.

        Returns
        -------
        ForgetState
            The new state.
        """
        return dataclasses.replace(self, **changes)

    def cached_importances(self) -> Importances:
        """The importance cache, or a clear error when it is stale.

        Returns
        -------
        dict of str to Tensor
            Importances over the kept rows, at ``importance_point``.

        Raises
        ------
        ValueError
            When the cache is stale.
        """
        if self.importances is None:
            raise ValueError(
                "The importance cache is stale (partial_fit or forget_class changed the weights); pass X_retain and "
                "y_retain to forget."
            )
        return self.importances


@contextmanager
def weights_at(module: nn.Module, point: dict[str, Tensor] | None) -> Iterator[nn.Module]:
    """Temporarily load ``point`` into the module's trainable parameters (None: leave them)."""
    if point is None:
        yield module
        return
    params = trainable_parameters(module)
    saved = {k: p.detach().clone() for k, p in params.items()}
    try:
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(point[k])
        yield module
    finally:
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(saved[k])


def split_from_cache(
    cache: Importances,
    request: ForgetRequest,
    forget_importances: Importances,
    additive: bool,
) -> ImportanceSplit:
    """``(I_Df, I_Dr, I_D)`` from the cache and the forget rows' importances at the cache point.

    Additive (per-sample) form: ``I_Dr = (|D|·I_D − |D_f|·I_Df) / |D_r|``, exact up to float
    rounding (the only negatives, of rounding size, are set to 0). Mini-batch form: the
    cache stands in for ``I_Dr``.
    """
    if not additive:
        return ImportanceSplit(forget_importances, cache, cache)
    n_f, n_r = request.n_forget, request.n_retain
    retain = {k: ((n_f + n_r) * cache[k] - n_f * forget_importances[k]).clamp_min(0) / n_r for k in cache}
    return ImportanceSplit(forget_importances, retain, cache)


def split_from_rows(request: ForgetRequest, compute: ComputeImportances) -> ImportanceSplit:
    """``(I_Df, I_Dr, I_D)`` computed from the given retain rows at the current weights (the authors' way)."""
    imp_f = compute(request.X_forget, request.y_forget)
    imp_r = compute(request.X_retain, request.y_retain)
    n_f, n_r = request.n_forget, request.n_retain
    return ImportanceSplit(imp_f, imp_r, {k: (n_r * imp_r[k] + n_f * imp_f[k]) / (n_r + n_f) for k in imp_r})
