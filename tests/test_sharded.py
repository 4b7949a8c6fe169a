"""ShardedClassifier: a forget that is exactly a fresh fit on the kept rows, at a fraction of its cost."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_unlearn
from sklearn_unlearn import ShardedClassifier, UnlearnableClassifier


@pytest.fixture(scope="module")
def rows():
    X, y = make_classification(600, n_features=8, n_informative=5, n_classes=3, random_state=0)
    return X, y


def _net(**params):
    return UnlearnableClassifier(module__hidden_layer_sizes=(16,), max_epochs=3, device="cpu", **params)


ESTIMATORS = {
    "linear": (lambda: LogisticRegression(max_iter=500), 1),
    "linear, sliced": (lambda: SGDClassifier(loss="log_loss", random_state=0), 3),
    "network": (_net, 1),
    "network, sliced": (_net, 3),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_forget_is_a_fresh_fit_on_the_kept_rows(rows, name):
    X, y = rows
    make, n_slices = ESTIMATORS[name]
    settings = {"n_shards": 4, "n_slices": n_slices, "random_state": 0}
    forgotten = ShardedClassifier(make(), **settings).fit(X, y).forget(X[10:17], y[10:17])
    kept = np.r_[0:10, 17 : len(X)]
    fresh = ShardedClassifier(make(), **settings).fit(X[kept], y[kept])
    assert np.abs(forgotten.predict_proba(X) - fresh.predict_proba(X)).max() <= 1e-6
    np.testing.assert_array_equal(forgotten.shard_sizes_, fresh.shard_sizes_)


def test_only_the_shards_that_held_the_rows_are_retrained(rows):
    X, y = rows
    ensemble = ShardedClassifier(LogisticRegression(max_iter=500), n_shards=8, random_state=0).fit(X, y)
    before = ensemble.estimators_
    ensemble.forget(X[:1], y[:1])
    entry = ensemble.forget_log_[-1]
    assert len(entry["shards_retrained"]) == 1 and entry["n_forget"] == 1
    (retrained,) = entry["shards_retrained"]
    for index, (old, new) in enumerate(zip(before, ensemble.estimators_, strict=True)):
        assert (old is new) == (index != retrained)


def test_a_deletion_retrains_from_the_stage_before_its_slice(rows):
    X, y = rows
    ensemble = ShardedClassifier(SGDClassifier(loss="log_loss", random_state=0), n_shards=2, n_slices=4, random_state=0)
    ensemble.fit(X, y).forget(X[:1], y[:1])
    assert 1 <= ensemble.forget_log_[-1]["stages_retrained"] <= 4


def test_rows_go_to_shards_by_content_not_position(rows):
    X, y = rows
    order = np.random.default_rng(1).permutation(len(X))
    a = ShardedClassifier(LogisticRegression(max_iter=500), n_shards=5, random_state=3).fit(X, y)
    b = ShardedClassifier(LogisticRegression(max_iter=500), n_shards=5, random_state=3).fit(X[order], y[order])
    for shard_a, shard_b in zip(a._shards, b._shards, strict=True):
        assert sorted(map(bytes, shard_a.X)) == sorted(map(bytes, shard_b.X))


def test_repeated_rows_are_forgotten_one_copy_per_request(rows):
    X, y = rows
    X2, y2 = np.vstack([X, X[:1]]), np.r_[y, y[:1]]  # the first row twice
    ensemble = ShardedClassifier(LogisticRegression(max_iter=500), n_shards=3, random_state=0).fit(X2, y2)
    ensemble.forget(X[:1], y[:1])
    assert ensemble.shard_sizes_.sum() == len(X)  # one copy left
    ensemble.forget(X[:1], y[:1])
    with pytest.raises(ValueError, match="never trained on"):
        ensemble.forget(X[:1], y[:1])


def test_bad_requests_change_nothing(rows):
    X, y = rows
    ensemble = ShardedClassifier(LogisticRegression(max_iter=500), n_shards=3, random_state=0).fit(X, y)
    before = ensemble.predict_proba(X)
    for bad, message in [
        ((X[:3] + 100.0, y[:3]), "never trained on"),
        ((X[:3], (y[:3] + 1) % 3), "never trained on"),  # a row is known by its label too
        ((X[:3, :5], y[:3]), "features"),
        ((X[:3], np.array([7, 7, 7])), "never seen in fit"),
        ((X, y), "every row"),
    ]:
        with pytest.raises(ValueError, match=message):
            ensemble.forget(*bad)
    np.testing.assert_array_equal(ensemble.predict_proba(X), before)
    assert ensemble.forget_log_ == [] and ensemble.shard_sizes_.sum() == len(X)


def test_an_interrupted_retrain_changes_nothing(rows):
    X, y = rows

    class Stops(LogisticRegression):
        armed = False

        def fit(self, X, y, sample_weight=None):
            if Stops.armed:
                raise KeyboardInterrupt
            return super().fit(X, y, sample_weight)

    ensemble = ShardedClassifier(Stops(max_iter=500), n_shards=3, random_state=0).fit(X, y)
    before = ensemble.predict_proba(X)
    Stops.armed = True
    with pytest.raises(KeyboardInterrupt):
        ensemble.forget(X[:20], y[:20])
    np.testing.assert_array_equal(ensemble.predict_proba(X), before)


def test_a_shard_emptied_by_forgetting_is_dropped():
    X, y = make_classification(40, n_features=4, random_state=0)
    ensemble = ShardedClassifier(LogisticRegression(), n_shards=4, random_state=0).fit(X, y)
    shard = ensemble._shards[0]
    ensemble.forget(shard.X, shard.y)
    assert ensemble.estimators_[0] is None and ensemble.shard_sizes_[0] == 0
    assert ensemble.predict_proba(X).shape == (40, 2) and np.isfinite(ensemble.predict_proba(X)).all()


def test_a_single_class_shard_predicts_its_class():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.array([0, 1] * 6)
    ensemble = ShardedClassifier(LogisticRegression(), n_shards=6, random_state=0).fit(X, y)
    np.testing.assert_allclose(ensemble.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize("fmt", ["pickle", "joblib"])
def test_forgotten_rows_leave_the_saved_ensemble(rows, tmp_path, fmt):
    X, y = rows
    ensemble = ShardedClassifier(_net(random_state=0), n_shards=3, random_state=0).fit(X, y)
    ensemble.forget(X[:20], y[:20])
    if fmt == "pickle":
        blob = pickle.dumps(ensemble)
    else:
        joblib.dump(ensemble, tmp_path / "ensemble.joblib")
        blob = (tmp_path / "ensemble.joblib").read_bytes()
    assert not any(row.astype(np.float64).tobytes() in blob for row in X[:20])
    assert sum(row.astype(np.float64).tobytes() in blob for row in X[20:60]) == 40  # kept rows are there


def test_bad_settings_are_named(rows):
    X, y = rows
    with pytest.raises(ValueError, match="n_shards"):
        ShardedClassifier(LogisticRegression(), n_shards=0).fit(X, y)
    with pytest.raises(ValueError, match="more than the 5 rows"):
        ShardedClassifier(LogisticRegression(), n_shards=6).fit(X[:5], y[:5])
    with pytest.raises(ValueError, match="partial_fit"):
        ShardedClassifier(LogisticRegression(), n_slices=2).fit(X, y)


def test_pipeline_search_and_clone(rows):
    X, y = rows
    ensemble = ShardedClassifier(LogisticRegression(max_iter=500), random_state=0)
    assert clone(ensemble).get_params()["estimator__C"] == 1.0
    pipe = make_pipeline(StandardScaler(), ensemble)
    search = GridSearchCV(
        pipe, {"shardedclassifier__n_shards": [2, 4], "shardedclassifier__estimator__C": [0.1, 1.0]}, cv=2
    )
    search.fit(X, y)
    sklearn_unlearn.forget(search, X[:2], y[:2])  # raw rows, through the best pipeline's scaler
    assert search.best_estimator_[-1].forget_log_[-1]["n_forget"] == 2


def test_the_default_estimator_is_the_unlearnable_classifier(rows):
    X, y = rows
    with torch.random.fork_rng():
        ensemble = ShardedClassifier(n_shards=2, random_state=0).fit(X[:200], y[:200])
    assert all(isinstance(model, UnlearnableClassifier) for model in ensemble.estimators_)


@parametrize_with_checks(
    [
        ShardedClassifier(LogisticRegression(), n_shards=2, random_state=0),
        ShardedClassifier(UnlearnableClassifier(max_epochs=20), n_shards=2, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
