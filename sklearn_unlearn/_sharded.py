"""ShardedClassifier: exact deletion by sharded training (SISA), as a scikit-learn meta-estimator."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._classifier import UnlearnableClassifier
from .unlearning import row_fingerprints

_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


@dataclass
class _Shard:
    """One shard: its rows in their original order, each row's slice, the model and its checkpoints."""

    X: np.ndarray
    y: np.ndarray
    slices: np.ndarray
    seed: int
    model: Any = None
    # checkpoints[k]: the model after the stage that added slice k (None where no row had arrived yet).
    checkpoints: list = field(default_factory=list)


class _OneClass:
    """What a shard whose rows all carry one label predicts: that label, with certainty."""

    def __init__(self, label: Any) -> None:
        self.classes_ = np.array([label])

    def predict_proba(self, X) -> np.ndarray:
        return np.ones((len(X), 1))


class ShardedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """An ensemble over shards of the training rows whose ``forget`` is an exact retrain of what changed.

    ``fit`` splits the rows into ``n_shards`` shards by a keyed hash of each row's content
    (its features and label), so the same row lands in the same shard whatever its position,
    trains one clone of ``estimator`` per shard on that shard's rows in their original order,
    and predicts by averaging the shards' probabilities (soft voting). ``forget`` removes the
    rows from the shards that hold them and retrains only those shards. Afterwards the
    ensemble is the one a fresh ``fit`` on the kept rows with the same ``random_state``
    gives: the forgotten rows left no trace, which is what a deletion request asks for.

    With ``n_slices > 1`` each shard trains in stages (SISA's slices): its rows are split
    into slices by another keyed hash, stage ``k`` calls ``partial_fit`` on the rows of
    slices ``1..k`` and the model is kept after each stage. A deletion then retrains from
    the stage before the first slice it touches. The estimator must have ``partial_fit``.

    The ensemble keeps its training rows, because it needs them to retrain; after
    ``forget`` the forgotten rows are gone from it, from its pickle and from every file
    made from it.

    Parameters
    ----------
    estimator : classifier, default=None
        The model each shard clones; None means ``UnlearnableClassifier()``. It needs
        ``predict_proba``; its ``random_state``, when it has one, is set per shard.
    n_shards : int, default=4
        Shards. More shards make a deletion cheaper (a shard holds fewer rows) and each
        model weaker (it sees fewer rows).
    n_slices : int, default=1
        Training stages per shard (see above).
    n_jobs : int, optional
        Shards trained in parallel through joblib (a Dask cluster serves through
        ``joblib.parallel_backend("dask")``).
    random_state : int, RandomState or None, default=None
        Sets the hash key (which rows share a shard) and the shards' seeds. With an int,
        ``fit`` and ``forget`` are reproducible, and a deletion equals a fresh fit.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen in ``fit``, sorted.
    n_features_in_ : int
        Features per row.
    estimators_ : list
        One fitted model per shard (None for a shard every row of which was forgotten).
    shard_sizes_ : ndarray of int
        Rows each shard holds now.
    forget_log_ : list of dict
        One entry per ``forget``: rows forgotten, shards and stages retrained, seconds.

    See Also
    --------
    UnlearnableClassifier : One model with an approximate, parameter-free ``forget``.

    Notes
    -----
    Duplicates: a ``forget`` removes one stored copy per row it is given, as
    ``UnlearnableClassifier.forget`` does; to remove every copy of a repeated row, pass it
    as often as it was trained on. A shard whose rows all carry one label predicts that
    label with certainty (most estimators cannot be fitted on one class); a shard left
    without rows is dropped and the others predict. Forgetting every row is refused.

    References
    ----------
    .. [1] Bourtoule, Chandrasekaran, Choquette-Choo, Jia, Travers, Zhang, Lie, Papernot.
       "Machine Unlearning". IEEE S&P 2021.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_unlearn import ShardedClassifier
    >>> X, y = make_classification(400, random_state=0)
    >>> ensemble = ShardedClassifier(LogisticRegression(), n_shards=4, random_state=0).fit(X, y)
    >>> ensemble.forget(X[:3], y[:3]).forget_log_[-1]["n_forget"]
    3
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_shards": [Interval(Integral, 1, None, closed="left")],
        "n_slices": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_shards: int = 4,
        n_slices: int = 1,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_shards = n_shards
        self.n_slices = n_slices
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def fit(self, X, y) -> ShardedClassifier:
        """Split the rows into shards and train one model per shard.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Numeric rows.
        y : array_like of shape (n_samples,)
            Labels of any type.

        Returns
        -------
        self
            The fitted ensemble.

        Raises
        ------
        ValueError
            For fewer rows than shards, a single class, or slices with an estimator
            that has no ``partial_fit``.
        """
        self._validate_params()
        estimator = self._base_estimator()
        if self.n_slices > 1 and not hasattr(estimator, "partial_fit"):
            raise ValueError(
                f"n_slices={self.n_slices} trains each shard in stages with partial_fit, which "
                f"{type(estimator).__name__} does not have; use n_slices=1 or an estimator with partial_fit."
            )
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"y has a single class ({classes[0]!r}); a classifier needs at least 2.")
        if self.n_shards > len(X):
            raise ValueError(f"n_shards={self.n_shards} is more than the {len(X)} rows: every shard needs a row.")
        rng = check_random_state(self.random_state)
        keys = rng.randint(1, 2**62, size=2, dtype=np.int64).astype(np.uint64)
        seeds = rng.randint(2**31 - 1, size=self.n_shards)
        shard_of, slice_of = self._assign(X, y, classes, keys)
        shards = [
            _Shard(X[shard_of == s], y[shard_of == s], slice_of[shard_of == s], int(seeds[s]))
            for s in range(self.n_shards)
        ]
        self.classes_, self._keys = classes, keys
        self._shards = self._train(estimator, shards, [0] * len(shards))
        self.forget_log_ = []
        return self

    def forget(self, X, y) -> ShardedClassifier:
        """Remove the rows exactly: take them out of their shards and retrain only those shards.

        A failed call (bad input, rows never trained on, an error while retraining, Ctrl-C)
        leaves the ensemble exactly as it was.

        Parameters
        ----------
        X : array_like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array_like of shape (n_forget,)
            Their labels as trained.

        Returns
        -------
        self
            The ensemble a fresh ``fit`` on the kept rows would give.

        Raises
        ------
        ValueError
            For rows the ensemble does not hold (never trained on, or already forgotten),
            unknown labels, the wrong number of features, or a request to forget every row.
        """
        check_is_fitted(self)
        start = time.perf_counter()
        X, y = self._checked_rows(X, y)
        shard_of, slice_of = self._assign(X, y, self.classes_, self._keys)
        kept, first_slice = {}, {}
        for s in np.unique(shard_of).tolist():
            shard, asked = self._shards[s], shard_of == s
            keep = _without(shard.X, shard.y, X[asked], y[asked])
            if keep is None:
                raise ValueError(
                    "Some of the rows to forget were never trained on (or were already forgotten): the ensemble can "
                    "only forget rows it holds, with the labels it was trained with. Nothing was changed."
                )
            kept[s], first_slice[s] = keep, int(slice_of[asked].min())
        if self.shard_sizes_.sum() == len(y):
            raise ValueError("Forgetting every row leaves no model; train a new one instead. Nothing was changed.")
        changed = {
            s: _Shard(sh.X[kept[s]], sh.y[kept[s]], sh.slices[kept[s]], sh.seed, sh.model, sh.checkpoints)
            for s, sh in ((s, self._shards[s]) for s in kept)
        }
        order = sorted(changed)
        retrained = self._train(self._base_estimator(), [changed[s] for s in order], [first_slice[s] for s in order])
        shards = list(self._shards)
        for s, shard in zip(order, retrained, strict=True):
            shards[s] = shard
        self._shards = shards  # only now: a failure above changed nothing
        stages = sum(self.n_slices - first_slice[s] for s in order)
        self.forget_log_.append(
            {
                "method": "exact",
                "n_forget": len(X),
                "shards_retrained": order,
                "stages_retrained": stages,
                "seconds": time.perf_counter() - start,
            }
        )
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The mean of the shards' class probabilities (soft voting).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        total, models = np.zeros((len(X), len(self.classes_))), [sh.model for sh in self._shards if sh.model]
        for model in models:
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
            columns = np.searchsorted(self.classes_, np.asarray(model.classes_))
            total[:, columns] += proba
        return total / len(models)

    def predict(self, X) -> np.ndarray:
        """The label with the highest mean probability.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        best = self.predict_proba(X).argmax(axis=1)
        return self.classes_[best]

    @property
    def estimators_(self) -> list:
        """One fitted model per shard (None for a shard left without rows)."""
        check_is_fitted(self)
        return [sh.model for sh in self._shards]

    @property
    def shard_sizes_(self) -> np.ndarray:
        """Rows each shard holds now."""
        check_is_fitted(self)
        return np.array([len(sh.y) for sh in self._shards])

    def __sklearn_is_fitted__(self) -> bool:
        return "_shards" in self.__dict__

    # --- internals -----------------------------------------------------------------------

    def _base_estimator(self):
        return UnlearnableClassifier() if self.estimator is None else self.estimator

    def _checked_rows(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = validate_data(self, X, dtype=np.float64, reset=False)
        y = column_or_1d(y, warn=True)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels; they must match.")
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            shown = ", ".join(repr(v) for v in np.unique(y[unknown])[:5].tolist())
            raise ValueError(f"y contains labels never seen in fit: {shown}. The model knows {self.classes_.tolist()}.")
        return X, y

    def _assign(self, X, y, classes, keys) -> tuple[np.ndarray, np.ndarray]:
        """Each row's shard and slice, from keyed hashes of its content (not its position)."""
        prints = row_fingerprints(X, np.searchsorted(classes, y))
        return _mix(prints ^ keys[0]) % np.uint64(self.n_shards), _mix(prints ^ keys[1]) % np.uint64(self.n_slices)

    def _train(self, estimator, shards: list[_Shard], from_slices: list[int]) -> list[_Shard]:
        jobs = (
            delayed(_train_shard)(estimator, shard, self.classes_, self.n_slices, from_slice)
            for shard, from_slice in zip(shards, from_slices, strict=True)
        )
        return list(Parallel(n_jobs=self.n_jobs)(jobs))


def _train_shard(estimator, shard: _Shard, classes: np.ndarray, n_slices: int, from_slice: int) -> _Shard:
    """The shard trained on its rows, from the stage before ``from_slice`` (0: from scratch)."""
    seed = shard.seed
    if len(shard.y) == 0:
        return _Shard(shard.X, shard.y, shard.slices, seed, None, [None] * n_slices)
    if n_slices == 1 or len(np.unique(shard.y)) == 1:
        model = _fit_stage(estimator, shard, seed, classes, None, None)
        return _Shard(shard.X, shard.y, shard.slices, seed, model, [])
    checkpoints = list(shard.checkpoints[:from_slice]) + [None] * (n_slices - from_slice)
    model = copy.deepcopy(checkpoints[from_slice - 1]) if from_slice > 0 else None
    for stage in range(from_slice, n_slices):
        rows = shard.slices <= stage
        if rows.any():
            model = _fit_stage(estimator, shard, seed + stage, classes, model, rows)
            checkpoints[stage] = copy.deepcopy(model)
    return _Shard(shard.X, shard.y, shard.slices, seed, model, checkpoints)


def _fit_stage(estimator, shard: _Shard, seed: int, classes, model, rows):
    """One training call, with every random number it draws fixed by ``seed``."""
    X, y = (shard.X, shard.y) if rows is None else (shard.X[rows], shard.y[rows])
    with torch.random.fork_rng(devices=[]):  # torch-based estimators draw batch orders from here
        torch.manual_seed(seed)
        if rows is None and len(np.unique(y)) == 1:
            return _OneClass(y[0])
        if model is None:
            model = clone(estimator)
            params = model.get_params(deep=False)
            if "random_state" in params:
                model.set_params(random_state=seed)
            if "classes" in params:  # skorch: every shard's outputs cover every class
                model.set_params(classes=classes)
        if rows is None:
            return model.fit(X, y)
        return model.partial_fit(X, y, classes=classes)


def _without(X: np.ndarray, y: np.ndarray, X_f: np.ndarray, y_f: np.ndarray) -> np.ndarray | None:
    """The mask of rows kept after removing one stored copy per forget row; None if one is missing."""
    index: dict[tuple, list[int]] = {}
    for i, (row, label) in enumerate(zip(X, y, strict=True)):
        index.setdefault((row.tobytes(), label), []).append(i)
    keep = np.ones(len(y), dtype=bool)
    for row, label in zip(X_f, y_f, strict=True):
        copies = index.get((row.tobytes(), label))
        if not copies:
            return None
        keep[copies.pop()] = False
    return keep


def _mix(h: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: turns related keys into independent-looking hashes.
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * _MIX_1
        h = h ^ (h >> np.uint64(27))
        h = h * _MIX_2
        return h ^ (h >> np.uint64(31))
