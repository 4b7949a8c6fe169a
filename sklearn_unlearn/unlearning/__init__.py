"""The forget subsystem: strategies, the guard, the forget state and the math they share.

``UnlearnMixin`` gives a scikit-learn-style skorch net its ``forget``; the strategies
(``ASSD``, ``SSD``, the gradient methods, fine-tune and retrain) each implement
``forget(host, request)`` against the narrow ``ForgetHost`` interface. A new method is
one class (a ``BaseUnlearner`` subclass, or any object with ``forget(host, request)``);
adding it to ``UNLEARNERS`` gives it a ``forget_method`` name.

References
----------
.. [1] Foster, Schoepf, Brintrup. "Fast Machine Unlearning Without Retraining Through
   Selective Synaptic Dampening". AAAI 2024.
.. [2] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning with
   adaptive selective synaptic dampening". 2024.
.. [3] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
   Influencing Machine Unlearning". IEEE EuroS&P 2022.
.. [4] Tanno, Pradier, Nori, Li. "Repairing Neural Networks by Leaving the Right Past
   Behind". NeurIPS 2022.
"""

from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest, ImportanceSplit, Unlearner
from ._dampening import ASSD, SSD
from ._distributed import all_reduced_importances, distributed_importances
from ._estimator import IMPORTANCE_FORMS, UnlearnMixin
from ._fit import LabelFit, TargetFit
from ._gradient import EWCAscent, NewtonStep, PathGradient, SingleGradient, summed_loss_gradient
from ._guard import GuardRows
from ._importance import Importances, minibatch_importances, per_sample_importances
from ._optimizers import step_scale
from ._peers import SCRUB, NegGradPlus
from ._records import TrainedRows, row_fingerprints
from ._registry import UNLEARNERS, make_unlearner
from ._relabel import Relabel, belief_without_label
from ._request import correction_problem
from ._rules import assd_alpha, assd_percentile, dampen, percentile
from ._state import ForgetState
from ._trace import Trace
from ._training import FineTune, Retrain

__all__ = [
    "ASSD",
    "IMPORTANCE_FORMS",
    "SCRUB",
    "SSD",
    "UNLEARNERS",
    "BaseUnlearner",
    "EWCAscent",
    "FineTune",
    "ForgetHost",
    "ForgetOutcome",
    "ForgetRequest",
    "ForgetState",
    "GuardRows",
    "ImportanceSplit",
    "LabelFit",
    "Importances",
    "NegGradPlus",
    "NewtonStep",
    "PathGradient",
    "Relabel",
    "Retrain",
    "SingleGradient",
    "TargetFit",
    "Trace",
    "TrainedRows",
    "UnlearnMixin",
    "Unlearner",
    "all_reduced_importances",
    "correction_problem",
    "assd_alpha",
    "belief_without_label",
    "assd_percentile",
    "dampen",
    "distributed_importances",
    "make_unlearner",
    "minibatch_importances",
    "per_sample_importances",
    "percentile",
    "row_fingerprints",
    "step_scale",
    "summed_loss_gradient",
]
