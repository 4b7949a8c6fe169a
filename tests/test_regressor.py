"""UnlearnableRegressor: a scikit-learn regressor and a skorch NeuralNetRegressor that forgets wrong targets."""

import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_friedman1, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_unlearn import ResidualDetector, UnlearnableRegressor, make_pipeline
from sklearn_unlearn.datasets import load_dataco
from sklearn_unlearn.persistence import load, save

from .conftest import assert_same_weights, weights

SMALL = {"module__hidden_layer_sizes": (32,), "max_epochs": 5, "random_state": 0}


@pytest.fixture(scope="module")
def rows():
    X, y = make_regression(400, n_features=6, noise=1.0, random_state=0)
    return X, y / 100


@pytest.fixture(scope="module")
def typos():
    """make_friedman1 with 5 % of the targets keyed ten times too large, and a model that memorised them."""
    X, y = make_friedman1(700, noise=0.5, random_state=0)
    X_test, y_test, X, y = X[500:], y[500:], X[:500], y[:500]
    wrong = np.zeros(500, dtype=bool)
    wrong[np.random.default_rng(0).choice(500, 25, replace=False)] = True
    y_typo = np.where(wrong, 10 * y, y)
    reg = UnlearnableRegressor(
        module__hidden_layer_sizes=(256, 256), optimizer=torch.optim.Adam, lr=1e-3, max_epochs=150, batch_size=32,
        random_state=0,
    )  # fmt: skip
    with torch.random.fork_rng():
        reg.fit(X, y_typo)
    return reg, X, y_typo, wrong, X_test, y_test


def test_fit_predict_score_in_the_shapes_sklearn_expects(rows):
    X, y = rows
    reg = UnlearnableRegressor(**SMALL).fit(X, y)
    assert reg.predict(X).shape == (len(X),) and reg.n_outputs_ == 1
    assert -1 < reg.score(X, y) <= 1
    both = UnlearnableRegressor(**SMALL).fit(X, np.c_[y, -y])
    assert both.predict(X).shape == (len(X), 2) and both.n_outputs_ == 2


def test_the_default_forget_is_safe_and_its_step_moves_away_from_the_typos(typos):
    reg, X, y, wrong, X_test, y_test = typos
    distance = lambda model: np.abs(model.predict(X[wrong]) - y[wrong]).mean()  # noqa: E731
    retrained = copy.deepcopy(reg).set_params(forget_method="retrain")
    retrained.forget(X[wrong], y[wrong], X_retain=X[~wrong], y_retain=y[~wrong])
    assert distance(retrained) > 2 * distance(reg)  # the baseline leans toward the typos
    forgot = copy.deepcopy(reg).forget(X[wrong], y[wrong])
    assert [stage["method"] for stage in forgot.forget_log_[-1]["stages"]] == ["path_gradient", "assd"]
    assert forgot.score(X_test, y_test) >= reg.score(X_test, y_test) - 0.05  # the guard keeps it safe
    step = copy.deepcopy(reg).forget(X[wrong], y[wrong], method="path_gradient", guard=False)
    assert distance(step) > 2 * distance(reg)  # unguarded, the step does move the predictions away


@pytest.mark.parametrize("method", ["relabel", "scrub"])
def test_classifier_only_methods_are_refused_and_change_nothing(rows, method):
    X, y = rows
    reg = UnlearnableRegressor(**SMALL).fit(X, y)
    before = weights(reg)
    with pytest.raises(ValueError, match="class labels"):
        reg.forget(X[:5], y[:5], method=method)
    with pytest.raises(ValueError, match="class labels"):
        UnlearnableRegressor(forget_method=method, **SMALL).fit(X, y)
    assert_same_weights(before, reg)


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda y: np.where(np.arange(len(y)) == 3, np.nan, y), "finite"),
        (lambda y: np.where(np.arange(len(y)) == 3, np.inf, y), "finite"),
        (lambda y: np.array(["a"] * len(y)), "finite numbers"),
        (lambda y: y[:-1], "inconsistent"),
    ],
)
def test_bad_targets_are_named_and_a_fitted_model_is_left_alone(rows, bad, message):
    X, y = rows
    reg = UnlearnableRegressor(**SMALL).fit(X, y)
    before = weights(reg)
    with pytest.raises(ValueError, match=message):
        reg.fit(X, bad(y))
    with pytest.raises(ValueError, match=message):
        reg.forget(X[:5], bad(y)[:5] if len(bad(y)) == len(y) else y[:4])
    assert_same_weights(before, reg)


def test_forget_checks_the_rows_were_trained_on(rows):
    X, y = rows
    reg = UnlearnableRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="never trained on"):
        reg.forget(X[:5], y[:5] + 1.0)  # the same rows with other targets were never trained on


def test_save_and_load_give_the_same_regressor(rows, tmp_path):
    X, y = rows
    reg = UnlearnableRegressor(**SMALL).fit(X, y).forget(X[:5], y[:5])
    loaded = load(save(reg, tmp_path / "reg.zip"))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    torch.testing.assert_close(loaded.forget_state_.target_scale, reg.forget_state_.target_scale)
    assert loaded.predict(X).shape == (len(X),)


def test_clone_and_grid_search(rows):
    X, y = rows
    search = GridSearchCV(UnlearnableRegressor(**SMALL), {"lr": [0.001, 0.01]}, cv=2).fit(X, y)
    assert search.best_params_["lr"] in (0.001, 0.01)
    assert clone(search.best_estimator_).get_params()["lr"] == search.best_params_["lr"]


def test_detect_then_forget_in_one_pipeline(typos):
    _, X, y, wrong, _, _ = typos
    pipe = make_pipeline(ResidualDetector(random_state=0), UnlearnableRegressor(**SMALL)).fit(X, y)
    found = pipe.label_issues_
    assert found[wrong].mean() > 0.8 and found[~wrong].mean() < 0.1
    assert pipe[-1].forget_log_[-1]["n_forget"] == found.sum()


def test_the_dataco_delay_in_days_and_its_leak():
    task = load_dataco(target="delay_days")
    assert task.y_train.dtype == np.float32 and set(np.unique(task.y_train)) <= set(range(-2, 5))
    assert "leaks" in task.DESCR and task.target_names is None
    with pytest.raises(ValueError, match="target must be one of"):
        load_dataco(target="weeks")


@parametrize_with_checks(
    [UnlearnableRegressor(max_epochs=20, random_state=0)],
    expected_failed_checks=lambda est: {
        "check_no_attributes_set_in_init": (
            "skorch's NeuralNet sets history_, initialized_ and virtual_params_ in __init__ by design."
        ),
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_a_diverging_fit_is_refused_and_leaves_the_model_as_it_was():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)  # targets of spread ~150
    reg = UnlearnableRegressor(max_epochs=20, random_state=0)
    with pytest.raises(ValueError, match="Training diverged.*TransformedTargetRegressor"):
        reg.fit(X, y)
    assert not hasattr(reg, "module_")
    assert np.isfinite(UnlearnableRegressor(max_epochs=20, random_state=0).fit(X, y / y.std()).predict(X)).all()
