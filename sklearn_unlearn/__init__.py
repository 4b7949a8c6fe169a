"""Remove what a trained neural network learned from bad training rows, inside scikit-learn."""

from .classifier import UnlearnableClassifier
from .detection import CleanlabDetector
from .modules import MLP, SmallCNN
from .pipeline import UnlearnPipeline, forget, make_pipeline
from .unlearners import ASSD, SSD, FineTune, ForgetOutcome, ForgetRequest, Retrain

__all__ = [
    "ASSD",
    "MLP",
    "SSD",
    "CleanlabDetector",
    "FineTune",
    "ForgetOutcome",
    "ForgetRequest",
    "Retrain",
    "SmallCNN",
    "UnlearnPipeline",
    "UnlearnableClassifier",
    "forget",
    "make_pipeline",
]
__version__ = "0.1.0"
