"""The forget subsystem's registry, parameters and protocol (sklearn_unlearn.unlearning)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_unlearn import SSD, ForgetHost, ForgetOutcome, PathGradient, UnlearnableClassifier
from sklearn_unlearn.unlearning import UNLEARNERS, BaseUnlearner, make_unlearner

from ..conftest import assert_same_weights, weights

SMALL = {"module__hidden_layer_sizes": (16, 16), "max_epochs": 10, "random_state": 0}


def test_every_registered_name_builds_its_class():
    for name, cls in UNLEARNERS.items():
        unlearner = make_unlearner(name)
        assert type(unlearner) is cls and unlearner.name == name


def test_method_parameters_reach_the_method_through_the_name(data):
    X, y = data
    clf = UnlearnableClassifier(forget_method="ssd", forget_method__alpha=3.0, **SMALL).fit(X, y)
    clf.forget(X[:5], y[:5])
    assert clf.forget_log_[-1]["alpha"] == 3.0
    assert clone(clf).get_params()["forget_method__alpha"] == 3.0
    clf.set_params(forget_method__lam=0.5).forget(X[5:10], y[5:10])
    assert clf.forget_log_[-1]["lam"] == 0.5


def test_a_strategy_object_is_cloned_not_changed(data):
    X, y = data
    ssd = SSD(alpha=7.0)
    clf = UnlearnableClassifier(forget_method=ssd, forget_method__alpha=2.0, **SMALL).fit(X, y)
    clf.forget(X[:5], y[:5])
    assert clf.forget_log_[-1]["alpha"] == 2.0 and ssd.alpha == 7.0


def test_grid_search_over_a_method_parameter(data):
    X, y = data
    clf = UnlearnableClassifier(forget_method="ssd", **SMALL)
    grid = GridSearchCV(clf, {"forget_method__alpha": [5.0, 20.0]}, cv=2).fit(X, y)
    assert grid.best_params_["forget_method__alpha"] in (5.0, 20.0)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"forget_method": "ssd", "forget_method__alpha": -1.0}, "alpha"),
        ({"forget_method": "path_gradient", "forget_method__n_points": 0}, "n_points"),
        ({"forget_method": "assd", "forget_method__alpha": 1.0}, "no parameter alpha"),
        ({"forget_method": PathGradient, "forget_method__n_points": 3}, "forget_method"),
    ],
)
def test_bad_method_parameters_are_refused_at_fit(data, params, message):
    X, y = data
    clf = UnlearnableClassifier(**params, **SMALL)
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "n_train_")


def test_bad_method_parameter_set_after_fit_is_refused_before_anything_changes(data, fitted):
    X, y = data
    before = weights(fitted)
    fitted.set_params(forget_method="ssd", forget_method__lam=0.0)
    with pytest.raises(ValueError, match="lam"):
        fitted.forget(X[:5], y[:5])
    assert_same_weights(before, fitted)
    assert fitted.forget_log_ == []


def test_alpha_and_lam_belong_to_the_method_not_the_estimator(data):
    X, y = data
    with pytest.raises(ValueError, match="unexpected argument.*alpha"):
        UnlearnableClassifier(forget_method="ssd", alpha=4.0, **SMALL).fit(X, y)
    clf = UnlearnableClassifier(forget_method="ssd", forget_method__alpha=4.0, forget_method__lam=0.5, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y).forget(X[:5], y[:5])
    assert clf.forget_log_[-1]["alpha"] == 4.0 and clf.forget_log_[-1]["lam"] == 0.5


def test_each_forget_sees_a_forget_host(data):
    X, y = data
    seen = []

    class Spy(BaseUnlearner):
        def forget(self, host, request):
            seen.append(isinstance(host, ForgetHost))
            return ForgetOutcome(None, {})

    UnlearnableClassifier(forget_method=Spy(), **SMALL).fit(X, y).forget(X[:5], y[:5])
    assert seen == [True]


class HalveTheHead(BaseUnlearner):
    """A user-defined method: one class, no change to the classifier (the docs' example)."""

    name = "halve_the_head"

    def __init__(self, factor: float = 0.5) -> None:
        self.factor = factor

    def forget(self, host, request):
        last = [m for m in host.module_.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            last.weight.mul_(self.factor)
        return ForgetOutcome(None, {"factor": self.factor})


def test_a_user_defined_method_plugs_in_with_its_parameters(data, fitted):
    X, y = data
    fitted.set_params(forget_method=HalveTheHead(), forget_method__factor=0.25)
    head = fitted.module_.layers[-1].weight.detach().clone()
    fitted.forget(X[:4], y[:4], guard=False)
    torch.testing.assert_close(fitted.module_.layers[-1].weight.detach(), head * 0.25)
    entry = fitted.forget_log_[-1]
    assert entry["method"] == "halve_the_head" and entry["factor"] == 0.25 and fitted.n_train_ == len(X) - 4


def test_a_method_that_returns_no_outcome_is_rolled_back(data, fitted):
    X, y = data

    class ForgetsToReturn:
        def forget(self, host, request):
            with torch.no_grad():
                for p in host.module_.parameters():
                    p.mul_(0.5)

    before, log, n_train = weights(fitted), list(fitted.forget_log_), fitted.n_train_
    fitted.set_params(forget_method=ForgetsToReturn())
    with pytest.raises(TypeError, match="must return a ForgetOutcome"):
        fitted.forget(X[:5], y[:5])
    assert_same_weights(before, fitted)
    assert fitted.forget_log_ == log and fitted.n_train_ == n_train
    # The record of trained rows is intact: the same rows can still be forgotten.
    fitted.set_params(forget_method="assd").forget(X[:5], y[:5])


def test_a_method_that_edits_the_records_in_place_is_rolled_back(data, fitted):
    X, y = data

    class Vandal:
        def forget(self, host, request):
            for value in host.importance_split(request).all.values():  # the cache itself
                value.zero_()
            raise RuntimeError("late failure")

    cache = {k: v.clone() for k, v in fitted.importances_.items()}
    fitted.set_params(forget_method=Vandal())
    with pytest.raises(RuntimeError, match="late failure"):
        fitted.forget(X[:5], y[:5])
    assert fitted.forget_log_ == []
    assert all(torch.equal(fitted.importances_[k], v) for k, v in cache.items())
    assert np.isfinite(fitted.predict_proba(X)).all()


def test_the_docs_example_method_runs(data):
    # The "Your own method" example on the methods page, as written there, behind the guard.
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "methods.md").read_text()
    code = re.search(r"## Your own method.*?```python\n(.*?)```", page, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "methods.md", "exec"), namespace)
    X, y = data
    clf = namespace["clf"].set_params(max_epochs=5, random_state=0).fit(X, y)
    before = {k: v.detach().clone() for k, v in clf.module_.named_parameters()}
    clf.forget(X[:4], y[:4])
    entry = clf.forget_log_[-1]
    assert entry["share"] == 0.05 and 0 <= entry["guard_scale"] <= 1
    start = clf.training_trace_.initial_weights
    for name, p in clf.module_.named_parameters():
        expected = before[name] + entry["guard_scale"] * 0.05 * (start[name].to(p.device) - before[name])
        torch.testing.assert_close(p.detach(), expected)
