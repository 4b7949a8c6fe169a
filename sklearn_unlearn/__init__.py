"""Remove what a trained neural network learned from bad training rows, inside scikit-learn."""

from .classifier import UnlearnableClassifier
from .detection import CleanlabDetector
from .gradient_unlearners import EWCAscent, NewtonStep, PathGradient, SingleGradient
from .losses import SDLoss
from .modules import MLP, SmallCNN
from .pipeline import UnlearnPipeline, forget, make_pipeline
from .repair import identify_causes, repair
from .unlearners import ASSD, SSD, FineTune, ForgetOutcome, ForgetRequest, Retrain

__all__ = [
    "ASSD",
    "MLP",
    "SSD",
    "CleanlabDetector",
    "EWCAscent",
    "FineTune",
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
    "forget",
    "identify_causes",
    "make_pipeline",
    "repair",
]
__version__ = "0.1.0"
