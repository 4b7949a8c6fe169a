"""Find training rows with wrong numeric targets, as a step of an sklearn Pipeline."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from cleanlab.regression.rank import get_label_quality_scores
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, check_cv, cross_val_predict
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .utils import warn

# Iglewicz and Hoaglin's cut for the modified z-score: beyond it a value is an outlier.
MODIFIED_Z_CUT = 3.5


class ResidualDetector(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Flag training rows whose numeric target looks wrong; pass the features through unchanged.

    ``fit(X, y)`` predicts every row out of fold with a cheap regressor
    (``cross_val_predict``) and flags the rows whose residual is an outlier among all the
    residuals: a modified z-score ``0.6745 · (r − median r) / MAD`` beyond ``threshold``
    (Iglewicz and Hoaglin's 3.5 by default). A typo such as 40 days keyed for 4 leaves a
    residual far outside the rest; honest noise does not. ``transform`` is the identity, so
    the step can sit anywhere before the regressor; ``UnlearnPipeline`` reads
    ``label_issues_`` and forgets (or drops) those rows.

    Parameters
    ----------
    estimator : regressor, default=None
        Predicts the rows out of fold; cloned for each fold. ``None`` means
        ``HistGradientBoostingRegressor(random_state=random_state)``.
    cv : int or cross-validation splitter, default=5
        Folds. An int means a shuffled ``KFold`` seeded by ``random_state``.
    threshold : float, default=3.5
        The modified z-score beyond which a residual is an outlier.
    n_jobs : int, default=None
        Parallel folds (joblib; works with the Dask backend).
    random_state : int or None, default=None
        Seeds the folds and the default estimator.

    Attributes
    ----------
    label_issues_ : ndarray of bool, shape (n_samples,)
        True for rows whose target looks wrong.
    label_quality_ : ndarray of float, shape (n_samples,)
        cleanlab's regression label-quality score of each row (low = suspicious).
    predictions_ : ndarray of shape (n_samples,)
        The out-of-fold predictions.
    residuals_ : ndarray of shape (n_samples,)
        ``y − predictions_``.
    n_features_in_ : int
        Features per row.

    See Also
    --------
    CleanlabDetector : The same for class labels.
    UnlearnPipeline : Fit, detect, then forget the flagged rows.

    References
    ----------
    .. [1] Iglewicz, Hoaglin. "How to Detect and Handle Outliers". ASQC Quality Press, 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_unlearn import ResidualDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = X @ [1.0, 2.0, -1.0] + rng.normal(scale=0.1, size=300)
    >>> y[:5] *= 10  # five typos
    >>> detector = ResidualDetector(LinearRegression(), random_state=0).fit(X, y)
    >>> bool(detector.label_issues_[:5].all()), bool(detector.label_issues_[5:].mean() < 0.05)
    (True, True)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "cv": ["cv_object"],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        cv: Any = 5,
        threshold: float = MODIFIED_Z_CUT,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.cv = cv
        self.threshold = threshold
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = self.random_state is None
        return tags

    def fit(self, X, y, **fit_params: Any) -> ResidualDetector:
        """Find the rows of ``(X, y)`` whose targets look wrong.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Passed to ``estimator`` as given.
        y : array_like of shape (n_samples,)
            The given (possibly wrong) numeric targets.
        **fit_params
            Passed to the estimator's ``fit`` in every fold.

        Returns
        -------
        self
            The fitted detector, with ``label_issues_``.
        """
        self._validate_params()
        validate_data(self, X, skip_check_array=True)
        check_array(X, accept_sparse=True, dtype=None, ensure_min_samples=2, ensure_all_finite=False, estimator=self)
        if y is None:
            raise ValueError("ResidualDetector requires y to be passed, but the target y is None.")
        target = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if target.ndim != 1:
            raise ValueError(f"ResidualDetector needs one numeric target per row; y has shape {target.shape}.")
        if len(target) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(target)} targets.")
        cv = (
            KFold(int(self.cv), shuffle=True, random_state=self.random_state)
            if isinstance(self.cv, Integral)
            else check_cv(self.cv)
        )
        estimator = clone(self.estimator) if self.estimator is not None else self._default_estimator()
        predictions = cross_val_predict(estimator, X, target, cv=cv, n_jobs=self.n_jobs, params=fit_params)
        residuals = target - predictions
        spread = np.median(np.abs(residuals - np.median(residuals)))
        if spread == 0:  # more than half the rows predicted exactly: any other residual stands out
            spread = np.finfo(np.float64).eps * max(np.abs(residuals).max(), 1.0)
        z = 0.6745 * (residuals - np.median(residuals)) / spread
        self.label_issues_ = np.abs(z) > self.threshold
        self.label_quality_ = get_label_quality_scores(target, predictions)
        self.predictions_, self.residuals_ = predictions, residuals
        if self.label_issues_.mean() > 0.5:
            warn("ResidualDetector flagged most rows: the estimator cannot predict these targets out of fold.")
        return self

    def transform(self, X):
        """Return ``X`` unchanged (the detector only flags rows during ``fit``).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        X : array_like
            The same object.
        """
        check_is_fitted(self)
        validate_data(self, X, skip_check_array=True, reset=False)
        return X

    def _default_estimator(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(random_state=self.random_state)
