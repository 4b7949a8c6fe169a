"""Synaptic dampening strategies: ASSD (the default) and SSD."""

from __future__ import annotations

from numbers import Real
from typing import Any

from sklearn.utils._param_validation import Interval, StrOptions

from ..dampening import assd_alpha, dampen
from ..torch_utils import trainable_parameters
from .base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest
from .gradient import PathGradient


def _dampening_details(alpha: float, lam: float, counts: dict[str, int]) -> dict[str, Any]:
    return {"alpha": alpha, "lam": lam, "n_dampened": sum(counts.values()), "dampened_per_parameter": counts}


class ASSD(BaseUnlearner):
    """A path-gradient step, then adaptive selective synaptic dampening (Schoepf, Foster, Brintrup 2024).

    The ASSD rule: ``α`` is the ``p``-th percentile of ``I_Df / I_Dr`` with
    ``p = 100 − ln(1 + 100 · |D_f| / (|D_r| + |D_f|))``, then the SSD rule with ``λ = 1``,
    against the retain-set importances as in the authors' code. No parameter to tune.

    By default a ``PathGradient`` step comes first and the dampening second, and the
    classifier's guard checks each of the two on its own. Why: on tabular models the
    rule's selection lands on the weights that carry the main signal when the forget rows
    are mislabelled (their large loss gradients dominate ``I_Df`` exactly there), so the
    guard scales it back to almost nothing, and the dampening alone then forgets nothing.
    Dampening first also used up the guard's shared room before the step that forgets.
    The docs' methods page has the measurements.

    Parameters
    ----------
    preceded_by : {"path_gradient"} or None, default="path_gradient"
        The stage that runs before the dampening. None runs the ASSD rule alone (with ``guard=False``,
        ``importance="minibatch"`` and retain rows: exactly the authors' method).
    """

    name = "assd"
    _parameter_constraints: dict = {"preceded_by": [StrOptions({"path_gradient"}), None]}

    def __init__(self, preceded_by: str | None = "path_gradient") -> None:
        self.preceded_by = preceded_by

    def stages(self) -> list[BaseUnlearner]:
        # The path-gradient step goes first: the guard's room is shared by the stages, and
        # dampening that came first used it up without forgetting (docs, methods page).
        return [self] if self.preceded_by is None else [PathGradient(), self]

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        imp = host.importance_split(request)
        alpha = assd_alpha(imp.retain, imp.forget, request.n_forget, request.n_forget + request.n_retain)
        counts = dampen(trainable_parameters(host.module_), imp.retain, imp.forget, alpha, 1.0)
        return ForgetOutcome(None, _dampening_details(alpha, 1.0, counts))


class SSD(BaseUnlearner):
    """Selective synaptic dampening (Foster, Schoepf, Brintrup 2023).

    Selects ``I_Df > α · I_D`` and scales by ``min(λ · I_D / I_Df, 1)``; ``I_D`` over all
    training rows (retain + forget), as in the authors' code.

    Parameters
    ----------
    alpha : float, default=10.0
        Selection threshold α.
    lam : float, default=1.0
        Dampening constant λ.
    """

    name = "ssd"
    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "lam": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, alpha: float = 10.0, lam: float = 1.0) -> None:
        self.alpha = alpha
        self.lam = lam

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        imp = host.importance_split(request)
        counts = dampen(trainable_parameters(host.module_), imp.all, imp.forget, self.alpha, self.lam)
        return ForgetOutcome(None, _dampening_details(self.alpha, self.lam, counts))
