"""Deprecated: the forget strategies moved to ``sklearn_unlearn.unlearning``."""

import warnings

from .unlearning import (  # noqa: F401  (re-exported for old imports)
    ASSD,
    SSD,
    UNLEARNERS,
    FineTune,
    ForgetOutcome,
    ForgetRequest,
    Retrain,
    Unlearner,
    make_unlearner,
)

warnings.warn(
    "sklearn_unlearn.unlearners is deprecated; import from sklearn_unlearn.unlearning (or sklearn_unlearn).",
    FutureWarning,
    stacklevel=2,
)
