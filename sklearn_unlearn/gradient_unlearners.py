"""Deprecated: the gradient strategies moved to ``sklearn_unlearn.unlearning.gradient``."""

import warnings

from .unlearning.gradient import (  # noqa: F401  (re-exported for old imports)
    EWCAscent,
    NewtonStep,
    PathGradient,
    SingleGradient,
    summed_loss_gradient,
)

warnings.warn(
    "sklearn_unlearn.gradient_unlearners is deprecated; import from sklearn_unlearn.unlearning (or sklearn_unlearn).",
    FutureWarning,
    stacklevel=2,
)
