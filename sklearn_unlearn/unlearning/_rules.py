"""The rules of synaptic dampening as pure tensor functions: ASSD's percentile and α, SSD's selection and dampening.

Notation of the docs' methods page: ``I_D`` the importances over the data the model
keeps, ``I_Df`` those over the forget rows.

References
----------
.. [1] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
   Selective Synaptic Dampening". AAAI 2024.
.. [2] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning
   with adaptive selective synaptic dampening". 2024.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor


def assd_percentile(n_forget: int, n_total: int) -> float:
    """ASSD's percentile ``p = 100 − ln(1 + 100 · |D_f| / |D|)``, in percent.

    Parameters
    ----------
    n_forget : int
        ``|D_f|``.
    n_total : int
        ``|D| = |D_r| + |D_f|``.

    Returns
    -------
    float
        ``p``; a 1 % forget set gives p ≈ 99.31.
    """
    return 100.0 - math.log1p(100.0 * n_forget / n_total)


def relative_importances(imp_D: Mapping[str, Tensor], imp_Df: Mapping[str, Tensor]) -> Tensor:
    """``r_i = I_Df[i] / I_D[i]`` over every element of every tensor, NaN and ±inf dropped."""
    ratios = torch.cat([(imp_Df[name] / imp_D[name]).flatten() for name in imp_D])
    return ratios[torch.isfinite(ratios)]


def percentile(values: Tensor, q: float) -> float:
    """The ``q``-th percentile of a 1-D tensor with numpy's default (linear) interpolation.

    ``torch.quantile`` refuses tensors over 16M elements; this uses ``topk`` for the
    high percentiles ASSD needs (cost grows with the tail, not the whole tensor) and a
    sort otherwise, so it works for models with 100M+ parameters.

    Parameters
    ----------
    values : Tensor
        A 1-D tensor, not empty.
    q : float
        The percentile, in percent.

    Returns
    -------
    float
        The value, as ``numpy.percentile(values, q)`` gives it.
    """
    n = values.numel()
    if n == 0:
        raise ValueError("cannot take a percentile of an empty set of values")
    position = (n - 1) * q / 100.0
    low = int(math.floor(position))
    fraction = position - low
    n_top = n - low  # the element at ascending index `low` is the n_top-th largest
    if n_top <= n // 2 + 1:
        top = torch.topk(values, n_top, largest=True, sorted=True).values
        v_low = top[-1].item()
        v_high = top[-2].item() if n_top >= 2 else v_low
    else:
        ordered = torch.sort(values).values
        v_low = ordered[low].item()
        v_high = ordered[min(low + 1, n - 1)].item()
    return v_low + fraction * (v_high - v_low)


def assd_alpha(imp_D: Mapping[str, Tensor], imp_Df: Mapping[str, Tensor], n_forget: int, n_total: int) -> float:
    """ASSD's selection threshold: the ``p``-th percentile of ``I_Df / I_Dr`` (one global value).

    Parameters
    ----------
    imp_D : mapping of str to Tensor
        Importances over the data the model keeps (``I_Dr`` in the authors' code).
    imp_Df : mapping of str to Tensor
        Importances over the forget rows.
    n_forget : int
        ``|D_f|``.
    n_total : int
        ``|D_r| + |D_f|``.

    Returns
    -------
    float
        ``α``; infinity when no ratio is finite (nothing to select).
    """
    ratios = relative_importances(imp_D, imp_Df)
    if ratios.numel() == 0:
        return math.inf  # no finite ratio: nothing is more important to D_f than to D
    return percentile(ratios, assd_percentile(n_forget, n_total))


@torch.no_grad()
def dampen(
    parameters: Mapping[str, Tensor],
    imp_D: Mapping[str, Tensor],
    imp_Df: Mapping[str, Tensor],
    alpha: float,
    lam: float,
) -> dict[str, int]:
    """Apply the SSD rule in place and count the dampened entries per parameter.

    ``selected ⇔ I_Df > α · I_D`` (strict; ``I_D = 0 < I_Df`` is selected) and
    ``θ ← min(λ · I_D / I_Df, 1) · θ`` for the selected entries. Parameters never grow.

    Parameters
    ----------
    parameters : mapping of str to Tensor
        The weights, changed in place.
    imp_D : mapping of str to Tensor
        Importances over the data the model keeps (``I_D``).
    imp_Df : mapping of str to Tensor
        Importances over the forget rows (``I_Df``).
    alpha : float
        Selection threshold ``α``.
    lam : float
        Dampening constant ``λ``.

    Returns
    -------
    dict of str to int
        How many entries of each parameter were dampened.
    """
    counts: dict[str, int] = {}
    for name, param in parameters.items():
        d, f = imp_D[name], imp_Df[name]
        selected = f > alpha * d
        beta = torch.clamp(lam * d / f, max=1.0)
        param.mul_(torch.where(selected, beta, torch.ones_like(beta)))
        counts[name] = int(selected.sum().item())
    return counts
