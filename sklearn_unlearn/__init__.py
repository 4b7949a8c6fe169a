"""Remove what a trained neural network learned from bad training rows, inside scikit-learn."""

from . import datasets
from .classifier import UnlearnableClassifier
from .detection import CleanlabDetector
from .losses import SDLoss
from .modules import MLP, SmallCNN
from .pipeline import UnlearnPipeline, forget, make_pipeline
from .repair import identify_causes, repair
from .unlearning import (
    ASSD,
    SSD,
    BaseUnlearner,
    EWCAscent,
    FineTune,
    ForgetHost,
    ForgetOutcome,
    ForgetRequest,
    NewtonStep,
    PathGradient,
    Retrain,
    SingleGradient,
)

__all__ = [
    "ASSD",
    "MLP",
    "SSD",
    "BaseUnlearner",
    "CleanlabDetector",
    "EWCAscent",
    "FineTune",
    "ForgetHost",
    "ForgetOutcome",
    "ForgetRequest",
    "NewtonStep",
    "PathGradient",
    "Retrain",
    "SDLoss",
    "SingleGradient",
    "SmallCNN",
    "UnlearnPipeline",
    "UnlearnableClassifier",
    "datasets",
    "forget",
    "identify_causes",
    "make_pipeline",
    "repair",
]
__version__ = "0.1.0"
