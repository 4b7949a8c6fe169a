"""Remove what a trained neural network learned from bad training rows, inside scikit-learn.

Estimators: ``UnlearnableClassifier`` and ``UnlearnableRegressor`` (skorch nets with an
approximate ``forget``; ``AcceleratedUnlearnableClassifier`` and
``AcceleratedUnlearnableRegressor`` train them across processes and GPUs with the
``accelerate`` extra),
``ShardedClassifier`` (an ensemble over shards whose ``forget`` is exact). Pipelines:
``CleanlabDetector``, ``ResidualDetector``, ``UnlearnPipeline``, ``make_pipeline``, ``forget``. Subpackages:
``unlearning`` (the forget strategies, guard and state), ``metrics``, ``research``
(repair, class forgetting, SD loss, plots), ``datasets``, ``persistence``.
"""

import importlib

from . import datasets, metrics, research, unlearning
from ._classifier import UnlearnableClassifier
from ._detection import CleanlabDetector
from ._modules import MLP, SmallCNN
from ._pipeline import UnlearnPipeline, forget, make_pipeline
from ._progress import EpochProgress
from ._regressor import UnlearnableRegressor
from ._residuals import ResidualDetector
from ._sharded import ShardedClassifier
from .research import SDLoss, identify_causes, repair
from .unlearning import (
    ASSD,
    SCRUB,
    SSD,
    BaseUnlearner,
    EWCAscent,
    FineTune,
    ForgetHost,
    ForgetOutcome,
    ForgetRequest,
    ForgetState,
    NegGradPlus,
    NewtonStep,
    PathGradient,
    Relabel,
    Retrain,
    SingleGradient,
)

__all__ = [
    "ASSD",
    "MLP",
    "SCRUB",
    "SSD",
    "BaseUnlearner",
    "CleanlabDetector",
    "EWCAscent",
    "EpochProgress",
    "FineTune",
    "ForgetHost",
    "ForgetOutcome",
    "ForgetRequest",
    "ForgetState",
    "NegGradPlus",
    "NewtonStep",
    "PathGradient",
    "Relabel",
    "ResidualDetector",
    "Retrain",
    "SDLoss",
    "ShardedClassifier",
    "SingleGradient",
    "SmallCNN",
    "UnlearnPipeline",
    "UnlearnableClassifier",
    "UnlearnableRegressor",
    "datasets",
    "forget",
    "identify_causes",
    "make_pipeline",
    "metrics",
    "repair",
    "research",
    "unlearning",
]
__version__ = "0.1.0"

# Need the optional ``accelerate`` extra: imported on first use, with an error that names the extra.
_ACCELERATED = ("AcceleratedUnlearnableClassifier", "AcceleratedUnlearnableRegressor")


def __getattr__(name: str):
    if name in _ACCELERATED:
        return getattr(importlib.import_module(f"{__name__}._accelerated"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ACCELERATED])
