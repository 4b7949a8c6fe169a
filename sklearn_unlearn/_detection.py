"""Find mislabelled training rows with cleanlab, as a step of an sklearn Pipeline."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_predict
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, check_array, check_is_fitted, column_or_1d, validate_data

from .utils import warn


class CleanlabDetector(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Flag training rows whose label looks wrong; pass the features through unchanged.

    ``fit(X, y)`` computes out-of-fold predicted probabilities with a cheap model
    (``cross_val_predict``) and hands them to
    ``cleanlab.filter.find_label_issues``. ``transform`` is the identity, so the step
    can sit anywhere before the classifier in a Pipeline; ``UnlearnPipeline`` reads
    ``label_issues_`` and forgets (or drops) those rows. ``fit_resample`` returns the rows
    that were not flagged, for imbalanced-learn's Pipeline.

    Parameters
    ----------
    estimator : classifier with predict_proba, default=None
        The model whose out-of-fold probabilities judge the labels; cloned for each fold.
        ``None`` means ``HistGradientBoostingClassifier(random_state=random_state)``.
        Any sklearn classifier works, ``UnlearnableClassifier`` included.
    cv : int or cross-validation splitter, default=5
        Folds for the out-of-fold probabilities. An int means a shuffled
        ``StratifiedKFold`` seeded by ``random_state``.
    filter_by : str, default="prune_by_noise_rate"
        Passed to ``find_label_issues`` (also ``"prune_by_class"``, ``"both"``,
        ``"confident_learning"``, ``"predicted_neq_given"``, ``"low_normalized_margin"``,
        ``"low_self_confidence"``).
    frac_noise : float, default=1.0
        Passed to ``find_label_issues``: the share of the estimated number of issues to flag.
    min_examples_per_class : int, default=1
        Passed to ``find_label_issues``: never flag a class below this many rows.
    cleanlab_kwargs : dict, default=None
        Any other ``find_label_issues`` argument (``num_to_remove_per_class``, ...).
    n_jobs : int, default=None
        Parallel folds in ``cross_val_predict`` (joblib; works with the Dask backend).
    random_state : int or None, default=None
        Seeds the folds and the default estimator.

    Attributes
    ----------
    label_issues_ : ndarray of bool, shape (n_samples,)
        True for rows whose given label cleanlab considers wrong.
    label_quality_ : ndarray of float, shape (n_samples,)
        cleanlab's self-confidence label quality score (low = suspicious).
    pred_probs_ : ndarray of float, shape (n_samples, n_classes)
        The out-of-fold predicted probabilities, columns ordered as ``classes_``.
    classes_ : ndarray
        The labels seen in ``fit``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_unlearn import CleanlabDetector
    >>> X, y = load_digits(return_X_y=True)
    >>> y = y.copy(); y[:20] = (y[:20] + 1) % 10
    >>> detector = CleanlabDetector(LogisticRegression(max_iter=2000), random_state=0).fit(X / 16, y)
    >>> bool(detector.label_issues_[:20].mean() > 0.5)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": ["cv_object"],
        "filter_by": [
            StrOptions(
                {
                    "prune_by_noise_rate",
                    "prune_by_class",
                    "both",
                    "confident_learning",
                    "predicted_neq_given",
                    "low_normalized_margin",
                    "low_self_confidence",
                }
            )
        ],
        "frac_noise": [Interval(Real, 0, 1, closed="right")],
        "min_examples_per_class": [Interval(Integral, 0, None, closed="left")],
        "cleanlab_kwargs": [dict, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        cv: Any = 5,
        filter_by: str = "prune_by_noise_rate",
        frac_noise: float = 1.0,
        min_examples_per_class: int = 1,
        cleanlab_kwargs: dict | None = None,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.cv = cv
        self.filter_by = filter_by
        self.frac_noise = frac_noise
        self.min_examples_per_class = min_examples_per_class
        self.cleanlab_kwargs = cleanlab_kwargs
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        judge = get_tags(self.estimator if self.estimator is not None else self._default_estimator())
        tags.input_tags.sparse = judge.input_tags.sparse
        tags.input_tags.allow_nan = judge.input_tags.allow_nan
        tags.non_deterministic = self.random_state is None
        return tags

    def fit(self, X, y, **fit_params: Any) -> CleanlabDetector:
        """Find the rows of ``(X, y)`` whose labels look wrong.

        Parameters
        ----------
        X : array_like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Passed to ``estimator`` as given.
        y : array_like of shape (n_samples,)
            The given (possibly noisy) labels.
        **fit_params
            Passed to the estimator's ``fit`` in every fold.

        Returns
        -------
        self
            The fitted detector, with ``label_issues_``.
        """
        self._validate_params()
        self._check_X(X, ensure_min_samples=2)
        validate_data(self, X, skip_check_array=True)
        y = self._check_y(y, _num_samples(X))
        classes, labels = np.unique(y, return_inverse=True)
        cv = self._splitter(labels, classes)
        estimator = clone(self.estimator) if self.estimator is not None else self._default_estimator()
        pred_probs = cross_val_predict(
            estimator, X, labels, cv=cv, method="predict_proba", n_jobs=self.n_jobs, params=fit_params
        )
        kwargs = dict(self.cleanlab_kwargs or {})
        kwargs.update(filter_by=self.filter_by, frac_noise=self.frac_noise)
        kwargs.update(min_examples_per_class=self.min_examples_per_class)
        # cleanlab's own multiprocessing forks the interpreter; with torch loaded that can
        # hang, and joblib (n_jobs above) already parallelises the costly part.
        kwargs.setdefault("n_jobs", 1)
        issues = find_label_issues(labels, pred_probs, **kwargs)
        self.label_issues_ = np.asarray(issues, dtype=bool)
        self.label_quality_ = get_label_quality_scores(labels, pred_probs)
        self.pred_probs_ = pred_probs
        self.classes_ = classes
        if self.label_issues_.all():
            warn(
                "CleanlabDetector flagged every row as mislabelled: the estimator cannot predict these labels "
                "out of fold. Check the features and the estimator before forgetting anything."
            )
        return self

    def transform(self, X):
        """Return ``X`` unchanged (the detector only flags rows during ``fit``).

        Parameters
        ----------
        X : array_like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        X : array_like
            The same object (a list comes back as an ndarray).
        """
        check_is_fitted(self)
        self._check_X(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        # Arrays, DataFrames and sparse matrices pass through as they are; lists become arrays.
        return X if hasattr(X, "shape") else np.asarray(X)

    def fit_resample(self, X, y, **fit_params: Any):
        """Fit, then return the rows that were not flagged (imbalanced-learn's sampler API).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows.
        y : array_like of shape (n_samples,)
            Their given labels.
        **fit_params
            Passed to the estimator's ``fit`` in every fold.

        Returns
        -------
        X_kept, y_kept : array_like
            The unflagged rows of ``X`` and ``y``.
        """
        keep = ~self.fit(X, y, **fit_params).label_issues_
        return _safe_indexing(X, keep), _safe_indexing(y, keep)

    def _default_estimator(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(random_state=self.random_state)

    def _check_X(self, X, ensure_min_samples: int = 1) -> None:
        # Validated only: the estimator receives X as given (a DataFrame keeps its columns).
        tags = self.__sklearn_tags__().input_tags
        check_array(
            X,
            accept_sparse=tags.sparse,
            dtype=None,
            ensure_all_finite=not tags.allow_nan,
            ensure_min_samples=ensure_min_samples,
            estimator=self,
        )

    def _check_y(self, y, n_samples: int) -> np.ndarray:
        if y is None:
            raise ValueError(
                "CleanlabDetector requires y to be passed, but the target y is None: "
                "it needs the labels to find label issues."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {len(y)} labels.")
        if type_of_target(y) in ("continuous", "continuous-multioutput"):
            raise ValueError("CleanlabDetector needs class labels; y looks continuous.")
        return y

    def _splitter(self, labels: np.ndarray, classes: np.ndarray):
        if len(classes) < 2:
            raise ValueError(f"CleanlabDetector needs at least 2 classes to judge labels; y has only {classes[0]}.")
        if isinstance(self.cv, (int, np.integer)):
            cv = StratifiedKFold(n_splits=int(self.cv), shuffle=True, random_state=self.random_state)
        else:
            cv = check_cv(self.cv, labels, classifier=True)
        n_splits = cv.get_n_splits()
        counts = np.bincount(labels, minlength=len(classes))
        if isinstance(cv, StratifiedKFold) and counts.min() < n_splits:
            rare = classes[counts.argmin()]
            rare = rare.item() if isinstance(rare, np.generic) else rare
            raise ValueError(
                f"Class {rare!r} has {counts.min()} rows, fewer than the {n_splits} cross-validation folds: "
                "cleanlab cannot estimate its out-of-fold probabilities. Lower cv, merge rare classes, "
                "or drop them before detection."
            )
        return cv
