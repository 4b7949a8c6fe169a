import copy

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.research import identify_causes, repair

from ..conftest import assert_same_weights, weights


@pytest.fixture(scope="module")
def flipped_digits():
    """Half the training 1s relabelled 7; the failures are test 1s/7s the model gets wrong."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    rng = np.random.default_rng(0)
    ones = np.flatnonzero(y_train == 1)
    flipped = np.zeros(len(y_train), dtype=bool)
    flipped[rng.choice(ones, len(ones) // 2, replace=False)] = True
    y_noisy = np.where(flipped, 7, y_train)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(64,), max_epochs=40, lr=0.1, random_state=0).fit(
        X_train, y_noisy
    )
    predicted = clf.predict(X_test)
    fail = np.isin(y_test, [1, 7]) & (predicted != y_test)
    return clf, X_train, y_noisy, flipped, X_test, y_test, fail


@pytest.mark.parametrize("method", ["ewc", "influence"])
def test_causes_rank_the_flipped_rows_first(flipped_digits, method):
    clf, X_train, y_noisy, flipped, X_test, y_test, fail = flipped_digits
    assert fail.sum() >= 20  # the flipped block does cause failures (34 in benchmarks.research_tools)
    before = weights(clf)
    causes = identify_causes(clf, X_train, y_noisy, X_test[fail], y_test[fail], method=method)
    assert roc_auc_score(flipped, causes.scores) > 0.95  # 0.976 (ewc), 0.999 (influence)
    assert causes.mask.dtype == bool and causes.mask.sum() == (causes.scores > 0).sum()
    assert_same_weights(before, clf)  # scoring never changes the model
    top = identify_causes(clf, X_train, y_noisy, X_test[fail], y_test[fail], method=method, top_k=flipped.sum())
    # Measured: 37 of the top 63 are flipped rows (ewc), 52+ (influence).
    assert top.mask.sum() == flipped.sum() and (top.mask & flipped).sum() > 0.5 * flipped.sum()


@pytest.mark.parametrize("treatment", ["newton", "finetune"])
def test_repair_fixes_the_failures_without_losing_test_accuracy(flipped_digits, treatment):
    clf, X_train, y_noisy, flipped, X_test, y_test, fail = flipped_digits
    base_test = clf.score(X_test, y_test)
    repaired = repair(
        copy.deepcopy(clf), X_train, y_noisy, X_test[fail], y_test[fail], treatment=treatment, top_k=flipped.sum()
    )
    assert repaired.score(X_test[fail], y_test[fail]) > 0.8  # from 0 (0.94 newton, 0.85 finetune)
    assert repaired.score(X_test, y_test) >= base_test - 0.01  # +5.7 pt, +5.4 pt
    entry = repaired.forget_log_[-1]
    assert entry["causes"] == flipped.sum() and entry["cause_method"] == "ewc"


def test_repair_with_the_default_forget_runs_assd_and_logs(flipped_digits):
    clf, X_train, y_noisy, flipped, X_test, y_test, fail = flipped_digits
    base_test = clf.score(X_test, y_test)
    repaired = repair(copy.deepcopy(clf), X_train, y_noisy, X_test[fail], y_test[fail], top_k=flipped.sum())
    assert repaired.forget_log_[-1]["method"] == "assd"
    assert repaired.n_train_ == len(X_train) - flipped.sum()
    # The relabel stage repairs the failures (0 -> 0.94 in benchmarks.research_tools) at no test cost.
    assert repaired.score(X_test[fail], y_test[fail]) > 0.8
    assert repaired.score(X_test, y_test) >= base_test - 0.01


def test_bad_arguments_name_the_problem(flipped_digits):
    clf, X_train, y_noisy, _, X_test, y_test, fail = flipped_digits
    before = weights(clf)
    with pytest.raises(ValueError, match="method"):
        identify_causes(clf, X_train, y_noisy, X_test[fail], y_test[fail], method="shapley")
    with pytest.raises(ValueError, match="top_k or top_frac"):
        identify_causes(clf, X_train, y_noisy, X_test[fail], y_test[fail], top_k=3, top_frac=0.1)
    with pytest.raises(ValueError, match="treatment"):
        repair(clf, X_train, y_noisy, X_test[fail], y_test[fail], treatment="prune")
    with pytest.raises(ValueError, match="y_fail"):
        identify_causes(clf, X_train, y_noisy, X_test[fail], np.full(fail.sum(), 42))
    with pytest.raises(ValueError, match="X_fail is empty"):
        identify_causes(clf, X_train, y_noisy, X_test[:0], y_test[:0])
    assert_same_weights(before, clf)
