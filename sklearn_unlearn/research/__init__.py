"""The research the package builds on, as tools: repair, class forgetting, SD loss, plots.

* ``identify_causes`` / ``repair`` — failure-driven repair (Tanno et al. 2022): which
  training rows caused these mistakes, then remove their effect.
* ``train_class_filters`` / ``filtering`` / ``fold_class_filter`` — class forgetting by
  weight filtering (Poppi et al. 2024); ``UnlearnableClassifier.fit_class_filters`` uses them.
* ``SDLoss`` — Thudi et al.'s standard-deviation penalty, a criterion that makes later
  unlearning easier.
* ``plot_forget_report`` — what a forget did, in one figure.

References
----------
.. [1] Tanno, Pradier, Nori, Li. "Repairing Neural Networks by Leaving the Right Past
   Behind". NeurIPS 2022.
.. [2] Poppi, Sarto, Cornia, Baraldi, Cucchiara. "Multi-Class Unlearning for Image
   Classification via Weight Filtering". IEEE Intelligent Systems 2024.
.. [3] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
   Influencing Machine Unlearning". IEEE EuroS&P 2022.
"""

from ._class_filter import FILTERED_LAYERS, filtered_layers, filtering, fold_class_filter, train_class_filters
from ._losses import SDLoss
from ._plotting import plot_forget_report
from ._repair import CAUSE_METHODS, TREATMENTS, Causes, identify_causes, repair

__all__ = [
    "CAUSE_METHODS",
    "FILTERED_LAYERS",
    "TREATMENTS",
    "Causes",
    "SDLoss",
    "filtered_layers",
    "filtering",
    "fold_class_filter",
    "identify_causes",
    "plot_forget_report",
    "repair",
    "train_class_filters",
]
