import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_unlearn import ForgetOutcome, UnlearnableClassifier

from .conftest import assert_same_weights, split_rows, weights

SMALL = {"module__hidden_layer_sizes": (16, 16), "max_epochs": 20, "random_state": 0}


def test_fit_forget_score_and_log(data, fitted):
    X, y = data
    assert fitted.score(X, y) > 0.8
    X_f, y_f, _, _ = split_rows(X, y, 8)
    assert fitted.forget(X_f, y_f) is fitted
    entry = fitted.forget_log_[-1]
    assert entry["method"] == "assd" and entry["n_forget"] == 8 and entry["n_retain"] == len(X) - 8
    assert entry["steps"] > 0 and 0 < entry["weights_share"] <= 1 and 0 <= entry["guard_scale"] <= 1
    assert entry["seconds"] >= 0
    assert fitted.n_train_ == len(X) - 8


def test_string_labels_dataframe_and_sparse_input(data):
    X, y = data
    labels = np.array(["early", "late", "on time"])[y]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = UnlearnableClassifier(**SMALL).fit(frame, labels)
    assert list(clf.classes_) == ["early", "late", "on time"]
    assert set(clf.predict(frame)) <= set(labels)
    assert clf.predict_proba(frame).shape == (len(X), 3)
    clf.forget(frame.iloc[:5], labels[:5])
    sparse = UnlearnableClassifier(**SMALL).fit(sp.csr_matrix(X), y)
    dense = UnlearnableClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X))


def test_random_state_makes_training_reproducible_and_leaves_global_rng(data):
    X, y = data
    before = torch.random.get_rng_state()
    first = UnlearnableClassifier(**SMALL).fit(X, y)
    # (Predicting draws from the global RNG: every torch DataLoader iterator does.)
    assert torch.equal(before, torch.random.get_rng_state())
    second = UnlearnableClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_training_batches_are_shuffled_and_every_row_is_used(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    rows = clf.get_dataset(np.arange(len(X), dtype=np.float32).reshape(-1, 1), np.arange(len(X)))
    passes = [torch.cat([yb for _, yb in clf.get_iterator(rows, training=True)]) for _ in range(2)]
    for order in passes:
        assert sorted(order.tolist()) == list(range(len(X)))  # each row once per epoch
    assert not torch.equal(passes[0], passes[1])  # a new order each epoch
    assert clf.history[-1, "train_batch_count"] == int(np.ceil(len(X) / clf.batch_size))
    in_order = torch.cat([yb for _, yb in clf.get_iterator(rows, training=False)])
    assert in_order.tolist() == list(range(len(X)))  # prediction keeps the order


def test_other_iterator_settings_take_skorchs_loader(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL, iterator_train__collate_fn=None).fit(X, y)
    loader = clf.get_iterator(clf.get_dataset(X.astype(np.float32), y), training=True)
    assert isinstance(loader, torch.utils.data.DataLoader) and clf.score(X, y) > 0.8


def test_pickle_round_trip_after_forget(data, fitted):
    X, y = data
    fitted.forget(X[:5], y[:5])
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert restored.get_params()["device"] == "auto"
    restored.forget(X[5:10], y[5:10])  # the cache survived the round trip
    assert restored.n_train_ == len(X) - 10


def test_clone_of_fitted_is_unfitted(fitted):
    fresh = clone(fitted)
    with pytest.raises(NotFittedError):
        fresh.predict(np.zeros((2, 10)))
    assert fresh.get_params()["module__hidden_layer_sizes"] == (16, 16)


def test_pipeline_gridsearch_and_cross_val_score(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), UnlearnableClassifier(**SMALL))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.5)
    grid = GridSearchCV(pipe, {"unlearnableclassifier__lr": [0.01, 0.1]}, cv=2).fit(X, y)
    assert grid.best_params_["unlearnableclassifier__lr"] in (0.01, 0.1)


def test_repeated_forgets_keep_counts_consistent(data, fitted):
    X, y = data
    for start in range(0, 40, 10):
        fitted.forget(X[start : start + 10], y[start : start + 10])
    assert fitted.n_train_ == len(X) - 40 and len(fitted.forget_log_) == 4
    with pytest.raises(ValueError, match="never trained on"):
        fitted.forget(X[:10], y[:10])  # already forgotten


@pytest.mark.parametrize("method", ["finetune", "retrain"])
def test_methods_that_need_retain_rows(data, method):
    X, y = data
    X_f, y_f, X_r, y_r = split_rows(X, y, 20)
    clf = UnlearnableClassifier(forget_method=method, **SMALL).fit(X, y)
    before = weights(clf)
    with pytest.raises(ValueError, match="X_retain"):
        clf.forget(X_f, y_f)
    assert_same_weights(before, clf)
    clf.forget(X_f, y_f, X_retain=X_r, y_retain=y_r)
    assert clf.n_train_ == len(X_r) and clf.score(X, y) > 0.7
    assert any(not torch.equal(before[k], v) for k, v in clf.module_.state_dict().items())


def test_retrain_matches_fitting_on_retain_rows(data):
    X, y = data
    X_f, y_f, X_r, y_r = split_rows(X, y, 20)
    retrained = UnlearnableClassifier(forget_method="retrain", **SMALL).fit(X, y)
    retrained.forget(X_f, y_f, X_retain=X_r, y_retain=y_r)
    direct = UnlearnableClassifier(**SMALL).fit(X_r, y_r)
    np.testing.assert_allclose(retrained.predict_proba(X), direct.predict_proba(X), atol=1e-6)


# --- bad input: a clear error, and the model exactly as it was --------------------------------

BAD_FORGETS = {
    "wrong number of features": (lambda X, y: (X[:5, :4], y[:5]), "features"),
    "1-D X": (lambda X, y: (X[0], y[:1]), "2D array"),
    "NaN": (lambda X, y: (np.where(np.eye(5, X.shape[1]) > 0, np.nan, X[:5]), y[:5]), "NaN"),
    "inf": (lambda X, y: (np.full((5, X.shape[1]), np.inf), y[:5]), "infinity"),
    "mismatched lengths": (lambda X, y: (X[:5], y[:4]), "must match"),
    "empty forget set": (lambda X, y: (X[:0], y[:0]), "empty|0 sample"),
    "unknown label": (lambda X, y: (X[:5], np.full(5, 7)), "never seen in fit"),
    "whole training set": (lambda X, y: (X, y), "keeps only"),
    "rows never trained on": (lambda X, y: (X[:5] + 100.0, y[:5]), "never trained on"),
}


@pytest.mark.parametrize("case", sorted(BAD_FORGETS))
def test_bad_forget_input_leaves_model_untouched(data, fitted, case):
    X, y = data
    make, message = BAD_FORGETS[case]
    X_bad, y_bad = make(X, y)
    X_copy, before, log = np.array(X_bad, copy=True), weights(fitted), list(fitted.forget_log_)
    with pytest.raises(ValueError, match=message):
        fitted.forget(X_bad, y_bad)
    assert_same_weights(before, fitted)
    assert fitted.forget_log_ == log and fitted.n_train_ == len(X)
    np.testing.assert_array_equal(X_bad, X_copy)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"forget_method": "nope"}, "forget_method"),
        ({"forget_method": "ssd", "forget_method__alpha": 0.0}, "alpha"),
        ({"forget_method": "ssd", "forget_method__alpha": -1.0}, "alpha"),
        ({"forget_method": "ssd", "forget_method__lam": 0}, "lam"),
        ({"forget_method": object()}, "forget_method"),
    ],
)
def test_bad_settings_leave_model_untouched(data, fitted, params, message):
    X, y = data
    before = weights(fitted)
    fitted.set_params(**params)
    with pytest.raises((ValueError, TypeError), match=message):
        fitted.forget(X[:5], y[:5])
    assert_same_weights(before, fitted)


def test_bad_retain_rows(data, fitted):
    X, y = data
    before = weights(fitted)
    with pytest.raises(ValueError, match="features"):
        fitted.forget(X[:5], y[:5], X_retain=X[5:, :3], y_retain=y[5:])
    with pytest.raises(ValueError, match="both"):
        fitted.forget(X[:5], y[:5], X_retain=X[5:])
    assert_same_weights(before, fitted)


def test_unfitted_model_refuses_to_forget(data):
    X, y = data
    with pytest.raises(NotFittedError):
        UnlearnableClassifier().forget(X[:5], y[:5])


def test_a_failing_method_is_rolled_back(data, fitted):
    X, y = data

    class Broken:
        def forget(self, net, request):
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.mul_(0)
            raise RuntimeError("boom")

    before = weights(fitted)
    cache = {k: v.clone() for k, v in fitted.importances_.items()}
    fitted.set_params(forget_method=Broken())
    with pytest.raises(RuntimeError, match="boom"):
        fitted.forget(X[:5], y[:5])
    assert_same_weights(before, fitted)
    assert all(torch.equal(fitted.importances_[k], v) for k, v in cache.items())
    assert fitted.forget_log_ == []


def test_custom_unlearner_object(data, fitted):
    X, y = data

    class DoNothing:
        def forget(self, net, request):
            return ForgetOutcome(None, {"note": request.n_forget})

    fitted.set_params(forget_method=DoNothing()).forget(X[:3], y[:3])
    assert fitted.forget_log_[-1]["method"] == "DoNothing" and fitted.forget_log_[-1]["note"] == 3


def test_caller_arrays_are_not_mutated(data):
    X, y = data
    X32 = X.astype(np.float32)
    X_copy, y_copy = X32.copy(), y.copy()
    clf = UnlearnableClassifier(**SMALL).fit(X32, y)
    clf.forget(X32[:10], y[:10])
    np.testing.assert_array_equal(X32, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_partial_fit_marks_cache_stale(data, fitted):
    X, y = data
    fitted.partial_fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="stale"):
        fitted.forget(X[:5], y[:5])
    # The rows it keeps: every row it was trained on (X[:50] twice) minus the forgotten ones.
    with pytest.raises(ValueError, match="exactly the rows the model keeps"):
        fitted.forget(X[:5], y[:5], X_retain=X[5:], y_retain=y[5:])
    kept_X, kept_y = np.concatenate([X[5:], X[:50]]), np.concatenate([y[5:], y[:50]])
    fitted.forget(X[:5], y[:5], X_retain=kept_X, y_retain=kept_y)
    assert fitted.n_train_ == len(kept_X)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_compile_true_gives_the_same_model_and_the_same_forgets():
    # skorch's compile=True wraps the module in torch.compile; the "eager" backend keeps the wrapping
    # (and its parameter names) without the minutes a real compile takes on a CPU.
    X, y = make_classification(400, n_features=8, n_informative=5, n_classes=3, random_state=0)
    params = {"module__hidden_layer_sizes": (16, 16), "max_epochs": 3, "random_state": 0}
    plain = UnlearnableClassifier(**params).fit(X, y)
    compiled = UnlearnableClassifier(**params, compile=True, compile__backend="eager").fit(X, y)
    assert type(compiled.module_).__name__ == "OptimizedModule"
    np.testing.assert_allclose(compiled.predict_proba(X), plain.predict_proba(X), atol=1e-6)
    for method in ("assd", "path_gradient", "ssd"):
        expected = copy.deepcopy(plain).set_params(forget_method=method).forget(X[:20], y[:20], guard=False)
        got = copy.deepcopy(compiled).set_params(forget_method=method).forget(X[:20], y[:20], guard=False)
        np.testing.assert_allclose(got.predict_proba(X), expected.predict_proba(X), atol=1e-6)


def test_max_epochs_zero_builds_an_untrained_model_that_can_forget():
    # skorch's meaning: fit initialises and trains for no epoch. No row has moved a weight, so the
    # gradient methods have nothing to undo and leave the weights as they are.
    X, y = make_classification(200, n_features=6, n_informative=4, n_classes=3, random_state=0)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(8,), max_epochs=0, random_state=0).fit(X, y)
    assert len(clf.history) == 0 and clf.n_train_ == 200 and list(clf.classes_) == [0, 1, 2]
    before = weights(clf)
    clf.set_params(forget_method="path_gradient").forget(X[:5], y[:5])
    assert_same_weights(before, clf)
    assert clf.forget_log_[-1]["epochs"] == 0 and clf.n_train_ == 195
