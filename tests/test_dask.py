"""GridSearchCV and the detector's cross-validation on Dask, through joblib (docs: "Scale out")."""

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV

from sklearn_unlearn import CleanlabDetector, UnlearnableClassifier

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _search():
    model = UnlearnableClassifier(module__hidden_layer_sizes=(16,), max_epochs=5, random_state=0, device="cpu")
    return GridSearchCV(model, {"lr": [0.01, 0.1]}, cv=2, n_jobs=-1)


def test_grid_search_on_dask_matches_local(data, dask_client):
    X, y = data
    local = _search().fit(X, y)
    with distributed.get_task_stream(dask_client) as tasks, parallel_backend("dask"):
        remote = _search().fit(X, y)
    assert len(tasks.data) >= 4  # the 2 x 2 fits ran as tasks on the cluster
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])


def test_detector_cross_validation_on_dask_matches_local(data, dask_client):
    X, y = data
    y_noisy = y.copy()
    y_noisy[:20] = (y_noisy[:20] + 1) % 3
    local = CleanlabDetector(cv=3, n_jobs=-1, random_state=0).fit(X, y_noisy)
    with parallel_backend("dask"):
        remote = CleanlabDetector(cv=3, n_jobs=-1, random_state=0).fit(X, y_noisy)
    np.testing.assert_array_equal(remote.label_issues_, local.label_issues_)
    np.testing.assert_allclose(remote.pred_probs_, local.pred_probs_)


def test_audit_shadows_on_dask_match_local(data, dask_client):
    from sklearn_unlearn.metrics import membership_audit

    X, y = data
    model = UnlearnableClassifier(module__hidden_layer_sizes=(16,), max_epochs=3, random_state=0, device="cpu")
    model.fit(X[:200], y[:200])
    rows = (X[:100], y[:100], X[200:300], y[200:300])
    kwargs = {"X_reference": X[300:], "y_reference": y[300:], "n_shadow": 2, "random_state": 0, "n_jobs": -1}
    local = membership_audit(model, *rows, **kwargs)
    with distributed.get_task_stream(dask_client) as tasks, parallel_backend("dask"):
        remote = membership_audit(model, *rows, **kwargs)
    assert len(tasks.data) >= 2  # the shadows trained as tasks on the cluster
    np.testing.assert_allclose(remote.member_scores, local.member_scores, rtol=1e-5)


def test_sharded_training_on_dask_matches_local(data, dask_client):
    from sklearn.linear_model import LogisticRegression

    from sklearn_unlearn import ShardedClassifier

    X, y = data
    local = ShardedClassifier(LogisticRegression(), n_shards=4, n_jobs=-1, random_state=0).fit(X, y)
    with distributed.get_task_stream(dask_client) as tasks, parallel_backend("dask"):
        remote = ShardedClassifier(LogisticRegression(), n_shards=4, n_jobs=-1, random_state=0).fit(X, y)
        remote.forget(X[:5], y[:5])
    assert len(tasks.data) >= 4  # the shards trained as tasks on the cluster
    local.forget(X[:5], y[:5])
    np.testing.assert_allclose(remote.predict_proba(X), local.predict_proba(X))
