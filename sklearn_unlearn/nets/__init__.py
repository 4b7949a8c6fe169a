"""skorch's nets with scikit-learn's conventions: the layer the unlearnable estimators are built on.

What it adds to skorch, and nothing about unlearning: plain sklearn input (float32 cast,
DataFrames, sparse, any labels), parameters validated at ``fit`` from
``_parameter_constraints``, an all-or-nothing ``fit``, ``device="auto"``, reproducible
training with ``random_state``, module sizes inferred from the data, and a fast batch
path for arrays. ``SklearnNetMixin`` holds what every net shares; ``SklearnNetClassifier``
adds labels, ``SklearnNetRegressor`` numeric targets.
"""

from ._base import SklearnNetMixin
from ._classifier import SklearnNetClassifier
from ._regressor import SklearnNetRegressor, check_targets

__all__ = ["SklearnNetClassifier", "SklearnNetMixin", "SklearnNetRegressor", "check_targets"]
