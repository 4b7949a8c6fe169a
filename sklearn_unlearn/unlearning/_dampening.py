"""Synaptic dampening strategies: ASSD (the default's name) and SSD; their rules are in ``_rules``.

Notation of the docs' methods page: ``I_D`` the importances over the data the model
keeps, ``I_Df`` those over the forget rows, ``I_Dr`` those over the retain rows.

References
----------
.. [1] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
   Selective Synaptic Dampening". AAAI 2024.
.. [2] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning
   with adaptive selective synaptic dampening". 2024.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import trainable_parameters
from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest
from ._gradient import PathGradient
from ._relabel import Relabel
from ._rules import assd_alpha, dampen


def _dampening_details(alpha: float, lam: float, counts: dict[str, int]) -> dict[str, Any]:
    return {"alpha": alpha, "lam": lam, "n_dampened": sum(counts.values()), "dampened_per_parameter": counts}


class ASSD(BaseUnlearner):
    """Adaptive selective synaptic dampening (Schoepf, Foster, Brintrup 2024), and the default forget built on it.

    ASSD ranks every weight by ``I_Df / I_Dr``, how much more the forget rows weigh on it
    than the kept rows do, and selects the top ``ln(1 + 100 · |D_f| / |D|)`` percent of
    them (the ``p``-th percentile with ``p = 100 − ln(1 + 100 · |D_f| / |D|)``); the
    authors' rule then dampens each selected weight by ``min(I_Dr / I_Df, 1)``. No
    parameter to tune. What happens to the selected weights depends on ``mode``:

    * ``"relabel"`` — the selection, widened (``Relabel``'s ``share_factor``), is the set
      of weights the ``Relabel`` stage may move: it rewrites the forget rows toward the
      model's own belief without their labels while repairing on kept rows. For label
      errors.
    * ``"path_gradient"`` — a ``PathGradient`` step undoes the rows' share of training,
      then the rule dampens. For deletion requests of correctly labelled rows.
    * ``"rule"`` — the rule alone (with ``guard=False``, ``importance="minibatch"`` and
      retain rows: exactly the authors' method).
    * ``"auto"`` (default) — ``"relabel"`` for ``reason="correction"``, ``"path_gradient"``
      for ``reason="deletion"`` and for every forget of a regressor (a wrong number has no
      other label to relabel to).

    Every stage runs behind the classifier's guard. Why the dampening is not part of the
    corrective default: on the models measured, the guard refused it (the selection
    lands on weights that carry the main signal, so scaling them down costs the kept
    rows); moving the selected weights instead of shrinking them keeps the kept rows and
    forgets. The docs' methods page has the measurements.

    Parameters
    ----------
    mode : {"auto", "relabel", "path_gradient", "rule"}, default="auto"
        What to do with the selected weights (see above).

    See Also
    --------
    SSD : The rule with a fixed threshold ``α`` and constant ``λ``.
    Relabel : The stage that rewrites the selected weights for label errors.
    PathGradient : The step that comes before the dampening for deletions.

    References
    ----------
    .. [1] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning
       with adaptive selective synaptic dampening". 2024.
    .. [2] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
       Selective Synaptic Dampening". AAAI 2024.
    """

    name = "assd"
    _parameter_constraints: dict = {"mode": [StrOptions({"auto", "relabel", "path_gradient", "rule"})]}

    def __init__(self, mode: str = "auto") -> None:
        self.mode = mode

    def stages(self, request: ForgetRequest) -> list[BaseUnlearner]:
        """The strategies ``forget`` runs in turn, each behind the guard.

        Parameters
        ----------
        request : ForgetRequest
            What to forget (its ``reason`` picks the mode under ``"auto"``).

        Returns
        -------
        list of BaseUnlearner
            ``[Relabel()]``, ``[PathGradient(), rule]`` or ``[rule]``.
        """
        mode = self.mode
        if mode == "auto":  # a number has no "other label" to relabel to
            mode = "relabel" if request.reason == "correction" and not request.regression else "path_gradient"
        if mode == "relabel":
            return [Relabel()]
        # The path-gradient step goes first: the guard's room is shared by the stages, and
        # dampening that came first used it up without forgetting (docs, methods page).
        return [PathGradient(), self] if mode == "path_gradient" else [self]

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

    See Also
    --------
    ASSD : The same rule with ``α`` chosen from the data and ``λ = 1``.

    References
    ----------
    .. [1] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
       Selective Synaptic Dampening". AAAI 2024.
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
