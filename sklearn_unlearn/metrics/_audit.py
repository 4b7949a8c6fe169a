"""Per-row membership audit: offline LiRA with shadow models from ``sklearn.base.clone``.

The audited model's logit-scaled confidence in each row's label, ``φ = log p_y − log Σ_{k≠y} p_k``,
is compared with the same quantity under shadow models that never saw the row. A member
(a row the model learned) sits high in its own "never seen" distribution; a row the model
forgot, or never trained on, sits where the shadows put it. Every row is scored against
its own shadows, so hard rows (wrong labels, outliers) do not pass as members just because
they are hard.

References
----------
.. [1] Carlini, Chien, Nasr, Song, Terzis, Tramèr. "Membership Inference Attacks From
   First Principles". IEEE S&P 2022.
.. [2] Hayes, Shumailov, Triantafillou, Khalifa, Papernot. "Inexact Unlearning Needs More
   Careful Evaluations to Avoid a False Sense of Privacy". arXiv:2403.01218, 2024.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import norm
from sklearn.base import clone
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

ATTACKS = ("offline_lira", "loss_threshold")
MIN_NONMEMBERS = 20
_EPS = 1e-30  # a probability floor far below float32's smallest normal, only to keep log finite


@dataclass
class MembershipAudit:
    """What a membership audit found: one score per row, higher meaning "more likely trained on".

    Parameters
    ----------
    member_scores : ndarray of float
        The score of each row whose membership is in question.
    nonmember_scores : ndarray of float
        The score of each row the model never trained on; they calibrate the false-positive rate.
    attack : {"offline_lira", "loss_threshold"}
        Which attack ran: LiRA with shadow models, or the global loss threshold (without
        reference rows).
    n_shadow : int
        Shadow models trained (0 for the loss threshold).
    """

    member_scores: np.ndarray
    nonmember_scores: np.ndarray
    attack: str
    n_shadow: int = 0
    _labels: np.ndarray = field(init=False, repr=False)
    _scores: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._labels = np.r_[np.ones(len(self.member_scores)), np.zeros(len(self.nonmember_scores))]
        self._scores = np.r_[self.member_scores, self.nonmember_scores]

    @property
    def auc(self) -> float:
        """Area under the ROC curve of members against non-members (0.5: cannot tell them apart)."""
        return float(roc_auc_score(self._labels, self._scores))

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """The ROC curve.

        Returns
        -------
        fpr : ndarray
            False-positive rates (share of non-members called members).
        tpr : ndarray
            True-positive rates (share of members called members), at each ``fpr``.
        """
        fpr, tpr, _ = roc_curve(self._labels, self._scores)
        return fpr, tpr

    def tpr_at_fpr(self, fpr: float) -> float:
        """The share of members found at a false-positive rate of at most ``fpr``.

        With ``n`` non-members, rates below ``1/n`` mean "no non-member called member";
        the audit can only resolve rates down to that.

        Parameters
        ----------
        fpr : float
            The false-positive rate, e.g. 0.01 or 0.001.

        Returns
        -------
        float
            The true-positive rate at the strictest threshold that keeps the false
            positives within ``fpr``.
        """
        if not 0 <= fpr <= 1:
            raise ValueError(f"fpr must be in [0, 1]; got {fpr!r}.")
        rates, found = self.roc()
        return float(found[rates <= fpr].max())

    def plot(self, ax=None, label: str | None = None):
        """The ROC curve on log-log axes, as in the LiRA paper.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        label : str, optional
            Legend entry (the AUC and TPR at 1 % FPR are appended).

        Returns
        -------
        matplotlib Axes
            The axes drawn on.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        fpr, tpr = self.roc()
        floor = 1.0 / max(len(self.nonmember_scores), 1)
        text = f"AUC {self.auc:.2f}, TPR@1% {self.tpr_at_fpr(0.01):.2f}"
        ax.plot(np.maximum(fpr, floor / 2), np.maximum(tpr, floor / 2), label=f"{label}: {text}" if label else text)
        ax.plot([floor / 2, 1], [floor / 2, 1], color="#999999", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(floor / 2, 1)
        ax.set_ylim(floor / 2, 1.05)
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate")
        ax.legend(loc="lower right", fontsize=8)
        return ax


def membership_audit(
    estimator,
    X_members,
    y_members,
    X_nonmembers,
    y_nonmembers,
    *,
    X_reference=None,
    y_reference=None,
    n_shadow: int = 8,
    shadows: list | None = None,
    random_state=None,
    n_jobs: int | None = None,
) -> MembershipAudit:
    """Audit which rows a fitted classifier still shows signs of having trained on (offline LiRA).

    ``n_shadow`` clones of ``estimator`` (``sklearn.base.clone``: its parameters, unfitted)
    are trained on random halves of the reference rows. For every audited row, the
    shadows' logit-scaled confidences in its label form the distribution of a model that
    never saw it (a Gaussian with the row's own mean and a variance pooled over rows, the
    fixed-variance form of offline LiRA, which suits few shadows); the audited model's
    confidence is scored by where it falls in it. Without reference rows the audit falls
    back to the global loss threshold: the score is the confidence itself, the same
    threshold for every row.

    Parameters
    ----------
    estimator : fitted classifier with predict_proba and classes_
        The model under audit: after ``forget``, or any scikit-learn classifier.
    X_members : array_like of shape (n_members, n_features)
        Rows whose membership is in question (e.g. the forgotten rows).
    y_members : array_like of shape (n_members,)
        Their labels (as trained: for a label error, the wrong label).
    X_nonmembers : array_like of shape (n_nonmembers, n_features)
        Rows from the same distribution that the model never trained on (at least 20).
    y_nonmembers : array_like of shape (n_nonmembers,)
        Their labels, drawn as the members' were: to audit rows with wrong labels, give the
        non-members wrong labels the same way, or a model that never saw the members will
        still score them apart (it is surer of true labels than its shadows are).
    X_reference : array_like, optional
        Rows to train the shadows on, from the same distribution, none of them a member
        or a non-member (e.g. the rows the model keeps, or other held-out rows).
    y_reference : array_like, optional
        Their labels.
    n_shadow : int, default=8
        Shadow models.
    shadows : list of fitted classifiers, optional
        Shadows trained already (by ``train_shadows``, on rows that include no audited
        row), in place of ``X_reference``: audit several models of the same kind, say one
        per forget method, against one set of shadows.
    random_state : int, RandomState or None, default=None
        Draws the halves and seeds the shadows (their ``random_state`` when they have one).
    n_jobs : int, optional
        Shadows trained in parallel through joblib (a Dask cluster serves through
        ``joblib.parallel_backend("dask")``).

    Returns
    -------
    MembershipAudit
        Per-row scores, ``auc``, ``tpr_at_fpr`` and ``plot``.

    Raises
    ------
    ValueError
        For members and non-members of different feature counts, labels the model does
        not know, fewer than 20 non-members, reference rows that repeat an audited row,
        an ``n_shadow`` below 2, or both ``shadows`` and reference rows.
    TypeError
        For an estimator without ``predict_proba``.

    See Also
    --------
    forget_report : Accuracies, the population attack and this audit, next to a reference model.
    train_shadows : Shadows to reuse across audits.

    References
    ----------
    .. [1] Carlini, Chien, Nasr, Song, Terzis, Tramèr. "Membership Inference Attacks From
       First Principles". IEEE S&P 2022.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_unlearn.metrics import membership_audit
    >>> X, y = make_classification(600, random_state=0)
    >>> model = LogisticRegression().fit(X[:200], y[:200])
    >>> audit = membership_audit(model, X[:100], y[:100], X[200:300], y[200:300],
    ...                          X_reference=X[300:], y_reference=y[300:], random_state=0)
    >>> audit.attack, 0.0 <= audit.auc <= 1.0
    ('offline_lira', True)
    """
    members, nonmembers = check_audited_rows(estimator, X_members, y_members, X_nonmembers, y_nonmembers)
    if (X_reference is None) != (y_reference is None):
        raise ValueError("Pass both X_reference and y_reference, or neither.")
    if shadows is not None and X_reference is not None:
        raise ValueError("Pass shadows or X_reference and y_reference, not both: the shadows are trained already.")
    target = [logit_confidence(estimator, X, y) for X, y in (members, nonmembers)]
    if shadows is not None:
        if len(shadows) < 2:
            raise ValueError(f"Pass at least 2 shadows (a distribution needs two); got {len(shadows)}.")
        return lira_scores(target, list(shadows), members, nonmembers)
    if X_reference is None:
        return MembershipAudit(target[0], target[1], "loss_threshold", 0)
    reference = check_reference_rows(X_reference, y_reference, members, nonmembers)
    shadows = train_shadows(estimator, *reference, n_shadow=n_shadow, random_state=random_state, n_jobs=n_jobs)
    return lira_scores(target, shadows, members, nonmembers)


def lira_scores(target: list[np.ndarray], shadows: list, members: tuple, nonmembers: tuple) -> MembershipAudit:
    """Offline LiRA (fixed variance): each row's confidence against its shadows' distribution.

    Parameters
    ----------
    target : list of two ndarrays
        The audited model's logit-scaled confidences on the members and non-members.
    shadows : list of fitted classifiers
        Models that never saw an audited row.
    members, nonmembers : tuple of (X, y)
        The audited rows.

    Returns
    -------
    MembershipAudit
        The scores (the Gaussian tail probability's complement, higher = member).
    """
    rows = [np.stack([logit_confidence(s, X, y) for s in shadows]) for X, y in (members, nonmembers)]
    means = [r.mean(axis=0) for r in rows]
    pooled = np.concatenate([(r - m) for r, m in zip(rows, means, strict=True)], axis=1)
    scale = max(float(pooled.std(ddof=1)), 1e-8)
    scores = [norm.logcdf((t - m) / scale) for t, m in zip(target, means, strict=True)]
    return MembershipAudit(scores[0], scores[1], "offline_lira", len(shadows))


def train_shadows(estimator, X, y, *, n_shadow: int = 8, random_state=None, n_jobs: int | None = None) -> list:
    """Shadow models for ``membership_audit``: clones of ``estimator``, each trained on a random half of ``(X, y)``.

    Train them once on rows that include no row you will audit (the rows a model keeps
    after ``forget``, or other held-out rows), then pass them as ``shadows=`` to audit
    several models of the same kind.

    Parameters
    ----------
    estimator : classifier
        Cloned with its parameters (``sklearn.base.clone``: unfitted).
    X : array_like of shape (n_samples, n_features)
        Reference rows.
    y : array_like of shape (n_samples,)
        Their labels.
    n_shadow : int, default=8
        How many shadows (at least 2).
    random_state : int, RandomState or None, default=None
        Draws the halves and the shadows' seeds (their ``random_state`` when they have one).
    n_jobs : int, optional
        Shadows trained in parallel through joblib.

    Returns
    -------
    list of fitted classifiers
        The shadows.

    Raises
    ------
    ValueError
        For an ``n_shadow`` below 2, or fewer than 4 reference rows.
    """
    if not isinstance(n_shadow, (int, np.integer)) or n_shadow < 2:
        raise ValueError(f"n_shadow must be an int of at least 2 (a distribution needs two shadows); got {n_shadow!r}.")
    if len(X) < 4 or len(X) != len(y):
        raise ValueError(f"Pass at least 4 reference rows with one label each; got {len(X)} rows and {len(y)} labels.")
    rng = check_random_state(random_state)
    halves = [np.sort(rng.choice(len(X), size=len(X) // 2, replace=False)) for _ in range(n_shadow)]
    seeds = rng.randint(2**31 - 1, size=n_shadow)
    return Parallel(n_jobs=n_jobs)(
        delayed(_fit_shadow)(estimator, _rows(X, half), _rows(y, half), int(seed))
        for half, seed in zip(halves, seeds, strict=True)
    )


def logit_confidence(estimator, X, y) -> np.ndarray:
    """``φ = log p_y − log Σ_{k≠y} p_k`` per row: LiRA's logit-scaled confidence in each row's label.

    The sum over the other classes is taken directly (not as ``1 − p_y``), so a model sure
    of a label keeps its large, finite ``φ``.

    Parameters
    ----------
    estimator : fitted classifier with predict_proba and classes_
        The model.
    X : array_like
        Rows.
    y : array_like
        Their labels, among ``estimator.classes_``.

    Returns
    -------
    ndarray of float
        One value per row.
    """
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    columns = _label_columns(estimator, y)
    rows = np.arange(len(columns))
    label = proba[rows, columns]
    mask = np.ones_like(proba, dtype=bool)
    mask[rows, columns] = False
    others = np.where(mask, proba, 0.0).sum(axis=1)
    return np.log(np.maximum(label, _EPS)) - np.log(np.maximum(others, _EPS))


def _label_columns(estimator, y) -> np.ndarray:
    classes = np.asarray(estimator.classes_)
    y = np.asarray(y)
    known = np.isin(y, classes)
    if not known.all():
        shown = ", ".join(repr(v) for v in np.unique(y[~known])[:5].tolist())
        raise ValueError(f"Labels the model does not know: {shown}. It knows {classes.tolist()}.")
    order = np.argsort(classes, kind="stable")
    return order[np.searchsorted(classes, y, sorter=order)]


def _fit_shadow(estimator, X, y, seed: int) -> Any:
    shadow = clone(estimator)
    if "random_state" in shadow.get_params(deep=False):
        shadow.set_params(random_state=seed)
    return shadow.fit(X, y)


def _rows(values, index: np.ndarray):
    return values.iloc[index] if hasattr(values, "iloc") else np.asarray(values)[index]


def check_audited_rows(estimator, X_members, y_members, X_nonmembers, y_nonmembers) -> tuple[tuple, tuple]:
    """The members and non-members as ``(X, y)`` pairs, or a clear error (see ``membership_audit``)."""
    if not callable(getattr(estimator, "predict_proba", None)):
        raise TypeError(
            f"{type(estimator).__name__} has no predict_proba: the audit needs the model's confidence in each label."
        )
    check_is_fitted(estimator)
    pairs = []
    for name, X, y in (("members", X_members, y_members), ("non-members", X_nonmembers, y_nonmembers)):
        X_arr, y_arr = np.asarray(X), np.asarray(y)
        if X_arr.ndim < 2 or len(X_arr) != len(y_arr) or len(X_arr) == 0:
            raise ValueError(
                f"The {name} must be a non-empty 2-D X with one label per row; got X {X_arr.shape}, y {y_arr.shape}."
            )
        pairs.append((X, y_arr))
    if np.asarray(X_members).shape[1:] != np.asarray(X_nonmembers).shape[1:]:
        raise ValueError(
            f"Members have {np.asarray(X_members).shape[1:]} features per row and non-members "
            f"{np.asarray(X_nonmembers).shape[1:]}: they must come from the same table."
        )
    if len(pairs[1][1]) < MIN_NONMEMBERS:
        raise ValueError(
            f"{len(pairs[1][1])} non-members cannot calibrate a false-positive rate: pass at least {MIN_NONMEMBERS} "
            "rows the model never trained on (1,000 resolve a rate of 0.1 %)."
        )
    return pairs[0], pairs[1]


def check_reference_rows(X_reference, y_reference, members: tuple, nonmembers: tuple) -> tuple:
    """The reference rows as ``(X, y)``, or a clear error if they are too few or repeat an audited row."""
    X_ref, y_ref = np.asarray(X_reference), np.asarray(y_reference)
    if len(X_ref) != len(y_ref) or X_ref.shape[1:] != np.asarray(members[0]).shape[1:]:
        raise ValueError(
            f"The reference rows must have the audited rows' features and one label per row; got X {X_ref.shape}, "
            f"y {y_ref.shape}."
        )
    if len(X_ref) < 4:
        raise ValueError(f"{len(X_ref)} reference rows are too few to train shadow models on halves of them.")
    audited = {row.tobytes() for X, _ in (members, nonmembers) for row in np.ascontiguousarray(X, dtype=np.float64)}
    shared = sum(row.tobytes() in audited for row in np.ascontiguousarray(X_ref, dtype=np.float64))
    if shared:
        raise ValueError(
            f"{shared} reference rows are also audited rows: shadows must never see a member or a non-member, "
            "or they cannot say what 'never seen' looks like."
        )
    return X_reference, y_ref
