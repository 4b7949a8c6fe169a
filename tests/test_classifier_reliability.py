"""A hostile or careless user: clear errors, nothing half-done, nothing silently wrong.

Each failure the reliability probe found has a regression test here (R1-R12 and the
repeated-forget collapse); data-file and persistence cases are in test_datasets.py and
test_persistence.py.
"""

import copy
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import Callback, EpochScoring
from skorch.dataset import ValidSplit

from sklearn_unlearn import ASSD, UnlearnableClassifier

from .conftest import assert_same_weights, weights

SMALL = {"module__hidden_layer_sizes": (16, 16), "max_epochs": 3, "random_state": 0, "device": "cpu"}


@pytest.fixture
def toy():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
    return X, y


def state(clf):
    return {
        "weights": weights(clf),
        "n_features_in_": clf.n_features_in_,
        "n_train_": clf.n_train_,
        "log": copy.deepcopy(clf.forget_log_),
        "importances": {k: v.clone() for k, v in clf.importances_.items()},
    }


def assert_unchanged(before, clf, X):
    assert_same_weights(before["weights"], clf)
    assert clf.n_features_in_ == before["n_features_in_"] and clf.n_train_ == before["n_train_"]
    assert clf.forget_log_ == before["log"]
    assert all(torch.equal(clf.importances_[k], v) for k, v in before["importances"].items())
    clf.predict(X)  # still usable


BAD_REFITS = {
    "R1 y one row short": (lambda X, y: (np.hstack([X, X[:, :2]]), y[:-1]), {}, "labels but X has"),
    "R2 negative lr": (lambda X, y: (X, y), {"lr": -0.05}, "'lr' parameter"),
    "R2 batch size 0": (lambda X, y: (X, y), {"batch_size": 0}, "'batch_size' parameter"),
    "R2 3-D X": (lambda X, y: (X.reshape(len(X), 2, 3), y), {}, "cannot run on X of shape"),
    "negative epochs": (lambda X, y: (X, y), {"max_epochs": -1}, "'max_epochs' parameter"),
    "one class": (lambda X, y: (X, np.zeros(len(y))), {}, "single class"),
    "R3 beyond float32": (lambda X, y: (X * 1e39, y), {}, "float32's range"),
    "module returns the wrong shape": (lambda X, y: (X, y), {"module__hidden_layer_sizes": ()}, None),
}


@pytest.mark.parametrize("case", sorted(BAD_REFITS))
def test_a_failed_refit_leaves_the_fitted_model_exactly_as_it_was(toy, case):
    X, y = toy
    make, params, message = BAD_REFITS[case]
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    before = state(clf)
    X_bad, y_bad = make(X, y)
    good_params = {k: clf.get_params()[k] for k in params}
    if message is None:  # a setting that is fine: the refit succeeds, nothing to check here
        return
    with pytest.raises(ValueError, match=message):
        clf.set_params(**params).fit(X_bad, y_bad)
    clf.set_params(**good_params)
    assert_unchanged(before, clf, X)


def test_a_failed_first_fit_leaves_an_unfitted_model(toy):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL)
    with pytest.raises(ValueError):
        clf.fit(X * 1e39, y)
    assert not hasattr(clf, "n_train_") and not hasattr(clf, "n_features_in_")
    clf.fit(X, y)  # and can be fitted afterwards


def test_a_module_that_returns_the_wrong_shape_is_named(toy):
    X, y = toy

    class OneOutput(torch.nn.Module):
        def __init__(self, n_features, n_classes):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, 1)

        def forward(self, X):
            return self.linear(X)

    with pytest.raises(ValueError, match=r"one logit per class, shape \(n_samples, 3\); OneOutput returned \(2, 1\)"):
        UnlearnableClassifier(module=OneOutput, max_epochs=1).fit(X, y)


def test_R4_a_bad_parameter_set_after_fit_is_refused_before_the_forget(toy):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    before = state(clf)
    clf.set_params(lr=-1.0, forget_method="finetune")
    with pytest.raises(ValueError, match="'lr' parameter"):
        clf.forget(X[:5], y[:5], X_retain=X[5:], y_retain=y[5:])
    assert_unchanged(before, clf, X)


def test_R5_retain_rows_must_be_the_kept_rows(toy):
    X, y = toy
    X_new, y_new = make_classification(
        n_samples=50, n_features=6, n_informative=4, n_redundant=0, n_classes=3, random_state=99
    )
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    before = state(clf)
    with pytest.raises(ValueError, match="exactly the rows the model keeps"):
        clf.forget(X_new[:5], y_new[:5], X_retain=X, y_retain=y)  # rows never trained on
    with pytest.raises(ValueError, match="exactly the rows the model keeps"):
        clf.forget(X[:5], y[:5], X_retain=X_new, y_retain=y_new)  # retain rows never trained on
    with pytest.raises(ValueError, match="exactly the rows the model keeps"):
        clf.forget(X[:5], y[:5], X_retain=X[10:], y_retain=y[10:])  # five kept rows left out
    assert_unchanged(before, clf, X)
    clf.forget(X[:5], y[:5], X_retain=X[5:], y_retain=y[5:])
    assert clf.n_train_ == len(X) - 5
    with pytest.raises(ValueError, match="never trained on"):
        clf.forget(X_new[:5], y_new[:5])  # the record still knows what it was trained on


class Interrupt(Callback):
    def __init__(self, armed=False):
        self.armed = armed

    def on_batch_end(self, net, training=False, **kwargs):
        if self.armed and training:
            raise KeyboardInterrupt


@pytest.mark.parametrize("method", ["retrain", "finetune"])
def test_R8_ctrl_c_during_a_forget_raises_and_rolls_back(toy, method):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL, callbacks=[("stop", Interrupt())]).fit(X, y)
    before, steps = state(clf), clf.training_trace_.n_steps
    clf.set_params(forget_method=method, callbacks__stop__armed=True)
    with pytest.raises(KeyboardInterrupt):
        clf.forget(X[:5], y[:5], X_retain=X[5:], y_retain=y[5:])
    assert_unchanged(before, clf, X)
    assert clf.training_trace_.n_steps == steps


def test_ctrl_c_during_fit_keeps_skorchs_convention(toy):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL, callbacks=[("stop", Interrupt(armed=True))]).fit(X, y)
    assert len(clf.history) == 1 and clf.n_train_ == len(X)  # stopped early, model kept, as skorch does


def test_R12_a_validation_split_and_epoch_scoring_work(toy):
    X, y = toy
    scoring = EpochScoring("accuracy", lower_is_better=False, on_train=False, name="valid_accuracy")
    clf = UnlearnableClassifier(**SMALL, train_split=ValidSplit(5), callbacks=[("score", scoring)]).fit(X, y)
    assert {"valid_loss", "valid_acc", "valid_accuracy"} <= set(clf.history[-1])
    assert clf.n_train_ == 240  # the validation fold was never trained on
    X32, record = X.astype(np.float32), clf.forget_state_.trained_rows
    missing = [i for i in range(len(X)) if record.count_missing(X32[i : i + 1], y[i : i + 1])]
    assert len(missing) == 60
    with pytest.raises(ValueError, match="never trained on"):
        clf.forget(X[missing[:3]], y[missing[:3]])


def test_repeated_forgets_never_zero_a_weight_by_arithmetic():
    # The old cache subtracted importances taken at different weights; entries came out at 0,
    # and the dampening rule then set those weights to exactly 0, forget after forget.
    X, y = make_classification(3000, n_features=12, n_informative=8, n_classes=3, random_state=3)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(32, 32), max_epochs=10, random_state=0).fit(X, y)
    clf.set_params(forget_method=ASSD(mode="rule"))
    zeros_before = sum(int((p == 0).sum()) for p in clf.module_.parameters())
    cache_zeros = sum(int((v == 0).sum()) for v in clf.importances_.values())
    for start in range(0, 400, 20):  # twenty forgets, unguarded: the arithmetic alone
        clf.forget(X[start : start + 20], y[start : start + 20], guard=False)
    zeros_after = sum(int((p == 0).sum()) for p in clf.module_.parameters())
    assert zeros_after <= zeros_before + cache_zeros + 5
    assert clf.forget_state_.importance_point is not None  # every forget took its importances at the fitted weights


def test_default_forget_survives_fifty_small_deletions():
    X, y = make_classification(4000, n_features=12, n_informative=8, n_classes=3, random_state=4)
    X_test, y_test, X, y = X[3000:], y[3000:], X[:3000], y[:3000]
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(64, 64), max_epochs=15, random_state=0).fit(X, y)
    baseline = clf.score(X_test, y_test)
    for start in range(0, 50 * 8, 8):
        clf.forget(X[start : start + 8], y[start : start + 8], reason="deletion")
    assert clf.score(X_test, y_test) >= baseline - 0.02
    assert clf.n_train_ == 3000 - 400


def test_forget_class_updates_the_counts_and_the_record(toy):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    clf.fit_class_filters(X, y, epochs=1)
    clf.forget_class(clf.classes_[1])
    assert clf.n_train_ == int((y != 1).sum()) and clf.class_counts_[1] == 0
    with pytest.raises(ValueError, match="never trained on"):
        clf.forget(X[y == 1][:3], y[y == 1][:3])
    assert (clf.forget_state_.guard_rows.y != 1).all()


def test_a_batch_size_set_to_zero_after_fit_is_refused_by_name(toy):
    X, y = toy
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    clf.set_params(batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int or -1"):
        clf.predict(X)


def test_warnings_point_at_the_callers_line(toy, tmp_path):
    from sklearn_unlearn.persistence import load, save

    X, y = toy
    loaded = load(save(UnlearnableClassifier(**SMALL).fit(X, y), tmp_path / "model.zip"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded.forget(X[:5], y[:5])  # no record of rows, no guard rows: two warnings
    assert len(caught) == 2 and {w.filename for w in caught} == {__file__}
