"""Remove what a trained neural network learned from bad training rows, inside scikit-learn."""

from .classifier import UnlearnableClassifier
from .modules import MLP, SmallCNN
from .unlearners import ASSD, SSD, FineTune, ForgetOutcome, ForgetRequest, Retrain

__all__ = [
    "ASSD",
    "MLP",
    "SSD",
    "FineTune",
    "ForgetOutcome",
    "ForgetRequest",
    "Retrain",
    "SmallCNN",
    "UnlearnableClassifier",
]
__version__ = "0.1.0"
