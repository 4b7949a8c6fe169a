"""Fit → detect → forget in one sklearn Pipeline, and forget routed through fitted transforms.

sklearn's Pipeline cannot drop rows, and metadata routing cannot pass a row mask from one
step to another, so ``UnlearnPipeline`` reads the detector's ``label_issues_`` itself
once the transforms are fitted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline as sklearn_make_pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._detection import CleanlabDetector
from ._residuals import ResidualDetector
from .unlearning import correction_problem

DETECTED_ACTIONS = ("forget", "drop", "keep")


class UnlearnPipeline(Pipeline):
    """A Pipeline that forgets (or drops) the rows its detector step flags.

    ``fit`` fits the transforms (a ``CleanlabDetector`` among them finds suspect
    rows on the rows it is given, i.e. only the training fold inside cross-validation),
    then handles the flagged rows per ``detected``:

    - ``"forget"``: fit the final estimator on all rows, then ``forget`` the flagged ones
      with its ``forget_method`` (a method that needs retain rows, such as ``"finetune"``,
      gets the unflagged rows);
    - ``"drop"``: fit the final estimator on the unflagged rows only (what cleanlab's
      ``CleanLearning`` does);
    - ``"keep"``: ignore the flags (the baseline).

    Everything else is sklearn's ``Pipeline``: ``clone``,
    ``GridSearchCV`` over ``detected`` and step parameters, ``set_output``,
    a ``ColumnTransformer`` in front.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in Pipeline; the detector must not be the last step.
    detected : {"forget", "drop", "keep"}, default="forget"
        What to do with rows a detector flags.
    transform_input : list of str or None, default=None
        As in ``Pipeline``.
    memory : str, joblib.Memory or None, default=None
        As in ``Pipeline``: caches the fitted transforms.
    verbose : bool, default=False
        As in ``Pipeline``: print the time each step takes.

    Attributes
    ----------
    label_issues_ : ndarray of bool, shape (n_samples,)
        Rows flagged by any detector step in the last ``fit`` (all False without one).

    Notes
    -----
    A detector flags correct rows too, so the forget set is larger than the set of real
    errors and mostly correct; the docs' workflow page compares ``"forget"``, ``"drop"``
    and cleanlab's ``CleanLearning`` on that case.

    Fit parameters use the ``step__param`` form (metadata routing off). If ``fit`` fails
    (e.g. every row flagged), every step is reset to an unfitted clone, so no half-fitted
    pipeline is left behind.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklearn_unlearn import CleanlabDetector, UnlearnableClassifier, make_pipeline
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     MinMaxScaler(),
    ...     CleanlabDetector(LogisticRegression(max_iter=500), cv=3, random_state=0),
    ...     UnlearnableClassifier(max_epochs=3, random_state=0),
    ... ).fit(X, y)
    >>> bool(pipe[-1].forget_log_[-1]["n_forget"] == pipe.label_issues_.sum())
    True
    """

    _parameter_constraints: dict = {
        **Pipeline._parameter_constraints,
        "detected": [StrOptions(set(DETECTED_ACTIONS))],
    }

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        detected: str = "forget",
        transform_input: list[str] | None = None,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.detected = detected

    def fit(self, X, y=None, **params: Any) -> UnlearnPipeline:
        """Fit the transforms, detect suspect rows, then fit and forget/drop per ``detected``.

        Parameters
        ----------
        X : iterable
            Training data, as the first step takes it.
        y : array_like of shape (n_samples,)
            Training labels (detection needs them).
        **params
            ``step__param`` fit parameters.

        Returns
        -------
        self
            The fitted pipeline.
        """
        self._validate_params()
        self._check_detection_steps()
        original = list(self.steps)
        try:
            self._fit_detect_forget(X, y, params)
        except BaseException:
            self.steps = [(name, _unfitted(step)) for name, step in original]
            self.__dict__.pop("label_issues_", None)
            raise
        return self

    def forget(self, X, y, *, X_retain=None, y_retain=None) -> UnlearnPipeline:
        """Push ``X`` (and ``X_retain``) through the fitted transforms and forget with the last step.

        Parameters
        ----------
        X : iterable
            Rows to forget, in the raw form the pipeline was fitted on.
        y : array_like of shape (n_forget,)
            Their labels as trained.
        X_retain, y_retain : optional
            Retain rows, for methods that need them.

        Returns
        -------
        self
            The pipeline, its last step without the rows.
        """
        return forget(self, X, y, X_retain=X_retain, y_retain=y_retain)

    def _fit_detect_forget(self, X, y, params: dict[str, Any]) -> None:
        final_name, final = self.steps[-1]
        final_params = {k[len(final_name) + 2 :]: v for k, v in params.items() if k.startswith(final_name + "__")}
        head_params = {k: v for k, v in params.items() if not k.startswith(final_name + "__")}
        # A copy, so the caller's list of steps never sees the placeholder.
        self.steps = [*self.steps[:-1], (final_name, "passthrough")]
        try:
            Xt = super().fit_transform(X, y, **head_params)
        finally:
            self.steps[-1] = (final_name, final)
        flagged = self._flagged_rows(_num_rows(Xt))
        if flagged.all() and self.detected != "keep":
            raise ValueError(
                f"The detector flagged all {flagged.size} rows: nothing would be left to learn from. "
                "Check the detector's estimator and features, or use detected='keep'."
            )
        if self.detected == "forget" and final not in ("passthrough", None):
            _check_correctable(flagged, y, is_classifier(final))
        self.label_issues_ = flagged
        if final == "passthrough" or final is None:
            return
        if self.detected == "drop" and flagged.any():
            final.fit(_safe_indexing(Xt, ~flagged), _safe_indexing(y, ~flagged), **final_params)
            return
        final.fit(Xt, y, **final_params)
        if self.detected == "forget" and flagged.any():
            retain = {}
            if getattr(final, "needs_retain_rows", lambda: False)():
                retain = {"X_retain": _safe_indexing(Xt, ~flagged), "y_retain": _safe_indexing(y, ~flagged)}
            final.forget(_safe_indexing(Xt, flagged), _safe_indexing(y, flagged), **retain)

    def _flagged_rows(self, n_rows: int) -> np.ndarray:
        flagged = np.zeros(n_rows, dtype=bool)
        for _, _, step in self._iter(with_final=False, filter_passthrough=True):
            issues = getattr(step, "label_issues_", None)
            if issues is not None:
                flagged |= np.asarray(issues, dtype=bool)
        return flagged

    def _check_detection_steps(self) -> None:
        final_name, final = self.steps[-1]
        if isinstance(final, (CleanlabDetector, ResidualDetector)):
            raise ValueError(
                f"The detector {final_name!r} is the last step: a detector flags rows for the estimator "
                "after it. Put a classifier or regressor (e.g. UnlearnableClassifier) last."
            )
        if self.detected == "forget" and final not in ("passthrough", None) and not hasattr(final, "forget"):
            raise TypeError(
                f"detected='forget' needs a last step that can forget; {type(final).__name__} has no "
                "forget method. Use UnlearnableClassifier, or detected='drop'."
            )


def make_pipeline(
    *steps: Any,
    detected: str = "forget",
    transform_input: list[str] | None = None,
    memory: Any = None,
    verbose: bool = False,
) -> UnlearnPipeline:
    """Build an ``UnlearnPipeline`` with step names derived from the classes, as sklearn does.

    Parameters
    ----------
    *steps : estimators
        The steps, in order; the last one is the classifier.
    detected : {"forget", "drop", "keep"}, default="forget"
        What to do with the rows a detector step flags (see ``UnlearnPipeline``).
    transform_input : list of str or None, default=None
        As in ``Pipeline``.
    memory : str, joblib.Memory or None, default=None
        As in ``Pipeline``.
    verbose : bool, default=False
        As in ``Pipeline``.

    Returns
    -------
    UnlearnPipeline
        The pipeline, unfitted.
    """
    named = sklearn_make_pipeline(*steps).steps
    return UnlearnPipeline(named, detected=detected, transform_input=transform_input, memory=memory, verbose=verbose)


def _check_correctable(flagged: np.ndarray, y, classifier: bool) -> None:
    """Refuse, before the last step is fitted, flags that ``forget`` would refuse as a correction."""
    per_class = ()
    if classifier:
        classes, encoded = np.unique(np.asarray(y), return_inverse=True)
        per_class = (np.bincount(encoded[flagged], minlength=len(classes)), np.bincount(encoded), classes)
    problem = correction_problem(int(flagged.sum()), flagged.size, *per_class)
    if problem:
        raise ValueError(
            f"The detector flagged {int(flagged.sum())} of {flagged.size} rows, {problem}: forgetting them "
            "would not correct some labels but rewrite the data. Check the detector, or use detected='drop'."
        )


def forget(estimator: Any, X, y, *, X_retain=None, y_retain=None) -> Any:
    """Forget rows with an estimator, a Pipeline whose last step can forget, or a fitted search.

    ``X`` is given in the raw form the estimator was fitted on; a Pipeline pushes it (and
    ``X_retain``) through its fitted transforms before the last step forgets. A fitted
    ``GridSearchCV`` forgets with its ``best_estimator_``.

    Parameters
    ----------
    estimator : fitted estimator, Pipeline or search
        What forgets: an estimator with ``forget``, a Pipeline ending in one, or a fitted
        search whose best estimator is one.
    X : array_like
        Rows to forget, in raw form.
    y : array_like
        Their targets as trained.
    X_retain : array_like, optional
        The kept rows, for methods that need them.
    y_retain : array_like, optional
        Their targets.

    Returns
    -------
    estimator
        The same object, after the forget.
    """
    target = getattr(estimator, "best_estimator_", estimator)
    if isinstance(target, Pipeline):
        check_is_fitted(target)
        last = target._final_estimator
        if not hasattr(last, "forget"):
            raise TypeError(
                f"The pipeline's last step, {type(last).__name__}, cannot forget (it has no forget method)."
            )
        if len(target.steps) > 1:
            head = target[:-1]
            X = head.transform(X)
            X_retain = None if X_retain is None else head.transform(X_retain)
        last.forget(X, y, **_retain(X_retain, y_retain))
        return estimator
    if not hasattr(target, "forget"):
        raise TypeError(f"{type(target).__name__} cannot forget (it has no forget method).")
    target.forget(X, y, **_retain(X_retain, y_retain))
    return estimator


def _retain(X_retain, y_retain) -> dict:
    # Only a method that asked for them gets retain rows (an exact ensemble takes none).
    return {} if X_retain is None and y_retain is None else {"X_retain": X_retain, "y_retain": y_retain}


def _unfitted(step: Any) -> Any:
    return step if step in ("passthrough", None) else clone(step)


def _num_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)
