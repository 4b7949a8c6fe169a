"""How well a model has forgotten.

* ``forget_report`` — accuracy on the retain, forget and test rows and the population
  membership-inference score, next to a reference (usually the retrained model).
* ``membership_audit`` — a per-row membership audit (offline LiRA with shadow models),
  reported as the true-positive rate at a low false-positive rate; ``train_shadows`` trains
  its shadows once, to audit several models against them.
* ``membership_inference`` — the entropy-based population MIA of the SSD/Chundawat code.
* ``verification_error`` — ``‖w_U − w_R‖₂`` between two models (Thudi et al.).
* ``unlearning_error`` — the Unrolling-SGD proxy ``(η² t / 2) · ‖w_t − w_0‖₂ · σ``.
* ``weight_drift`` — ``‖w_t − w_0‖₂``.

References
----------
.. [1] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
   Selective Synaptic Dampening". AAAI 2024 (the MIA).
.. [2] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
   Influencing Machine Unlearning". IEEE EuroS&P 2022.
"""

from ._audit import MembershipAudit, logit_confidence, membership_audit, train_shadows
from ._errors import SIGMA_FORMS, top_hessian_eigenvalue, unlearning_error, verification_error, weight_drift
from ._report import forget_report, membership_inference

__all__ = [
    "MembershipAudit",
    "logit_confidence",
    "membership_audit",
    "SIGMA_FORMS",
    "forget_report",
    "membership_inference",
    "top_hessian_eigenvalue",
    "train_shadows",
    "unlearning_error",
    "verification_error",
    "weight_drift",
]
