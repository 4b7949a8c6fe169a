"""The importance cache's arithmetic: retain-set importances from the cache, exactly.

The cache holds the importances over the rows the model keeps, taken at one set of
weights, the *cache point* (the end of ``fit`` or of the last retrain). Forgets change the
weights but not the point: the forget rows' importances are taken there too, so the
per-sample subtraction stays exact after any number of forgets, and no retain importance
is ever a difference of importances taken at different weights (such a difference can
come out at zero or below and then dampens a weight the retain rows need to nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..importance import Importances
from ..torch_utils import trainable_parameters
from .base import ForgetRequest, ImportanceSplit

ComputeImportances = Callable[[Tensor, Tensor], Importances]


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
