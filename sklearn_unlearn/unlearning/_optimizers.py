"""How an optimizer turned gradients into steps, per parameter: what undoing a row's share needs.

Plain SGD moves a weight by ``η · g`` for a gradient ``g``. Other optimizers move it by a
per-parameter multiple of that, and ``step_scale`` estimates the multiple from the
optimizer's state at the end of training:

* SGD with momentum ``μ`` and dampening ``d``: a gradient keeps acting through the
  momentum buffer, ``(1 − d) / (1 − μ)`` times in total;
* Adam / AdamW (and NAdam, RAdam, Adamax's relatives with ``exp_avg_sq``): ``1 / (√v̂ + ε)``
  with ``v̂`` the bias-corrected second moment; the first moment spreads a gradient
  over later steps but adds up to it;
* RMSprop: ``1 / (√v + ε)`` (times ``1 / (1 − μ)`` with momentum); Adagrad:
  ``1 / (√Σg² + ε)``.

The second moments are those at the end of training, when gradients are smallest, so the
estimate is on the large side for early steps; callers bound the result (path gradient
clips each weight to the segment between its trained and initial value, and the guard
scales the whole update back).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def step_scale(optimizer: Any, parameters: dict[str, Tensor]) -> tuple[dict[str, Tensor | float], bool]:
    """Per-parameter factor from a plain-SGD step ``η·g`` to this optimizer's step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer or None
        The optimizer that trained the parameters (its ``state`` and ``param_groups``).
    parameters : dict of str to Tensor
        The parameters, by name.

    Returns
    -------
    scales : dict of str to Tensor or float
        The factor for each parameter (1.0 where nothing is known).
    known : bool
        Whether the optimizer is one of those above; otherwise every factor is 1.0 (the
        plain-SGD assumption).
    """
    name = type(optimizer).__name__
    groups = getattr(optimizer, "param_groups", None) or []
    group_of = {id(p): g for g in groups for p in g.get("params", [])}
    state = getattr(optimizer, "state", {})
    scales: dict[str, Tensor | float] = {}
    known = True
    for key, p in parameters.items():
        group, slot = group_of.get(id(p), {}), state.get(p, {}) if isinstance(state, dict) else {}
        factor = _factor(name, group, slot)
        if factor is None:
            known = False
            factor = 1.0
        scales[key] = factor
    return scales, known and bool(groups)


def _factor(name: str, group: dict, slot: dict) -> Tensor | float | None:
    if name == "SGD":
        momentum = float(group.get("momentum", 0.0) or 0.0)
        dampening = float(group.get("dampening", 0.0) or 0.0)
        return (1.0 - dampening) / (1.0 - momentum) if momentum else 1.0
    if "exp_avg_sq" in slot:  # Adam, AdamW, NAdam, RAdam
        beta2 = float(group.get("betas", (0.9, 0.999))[1])
        steps = float(slot.get("step", 1))
        corrected = slot["exp_avg_sq"] / max(1.0 - beta2**steps, 1e-12)
        return 1.0 / (torch.sqrt(corrected) + float(group.get("eps", 1e-8)))
    if "square_avg" in slot:  # RMSprop
        momentum = float(group.get("momentum", 0.0) or 0.0)
        base = 1.0 / (torch.sqrt(slot["square_avg"]) + float(group.get("eps", 1e-8)))
        return base / (1.0 - momentum)
    if name == "Adagrad" and "sum" in slot:
        return 1.0 / (torch.sqrt(slot["sum"]) + float(group.get("eps", 1e-10)))
    return None
