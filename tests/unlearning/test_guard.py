"""The safety guard (sklearn_unlearn.unlearning: the guard): what it keeps, what it refuses, and why."""

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_unlearn import ASSD, BaseUnlearner, ForgetOutcome, UnlearnableClassifier
from sklearn_unlearn.unlearning import _guard as guard
from sklearn_unlearn.unlearning import row_fingerprints
from sklearn_unlearn.unlearning._fit import label_confidence

from ..conftest import assert_same_weights, weights


class Shrink(BaseUnlearner):
    """Multiplies every weight by ``factor``: harmless near 1, ruinous near 0."""

    name = "shrink"

    def __init__(self, factor: float = 0.0) -> None:
        self.factor = factor

    def forget(self, host, request):
        with torch.no_grad():
            for p in host.module_.parameters():
                p.mul_(self.factor)
        return ForgetOutcome(details={"factor": self.factor})


@pytest.fixture(scope="module")
def model():
    X, y = make_classification(1500, n_features=12, n_informative=8, n_classes=3, random_state=5)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(64, 64), max_epochs=15, random_state=0).fit(X, y)
    return clf, X, y


def test_a_ruinous_update_is_refused_and_logged(model):
    clf, X, y = model
    clf = copy.deepcopy(clf).set_params(forget_method=Shrink(0.0))
    before = weights(clf)
    clf.forget(X[:10], y[:10])
    entry = clf.forget_log_[-1]
    assert entry["guard_scale"] == 0.0 and entry["guard_rows"] > 0
    assert_same_weights(before, clf)
    ruined = copy.deepcopy(clf).forget(X[10:20], y[10:20], guard=False)
    assert ruined.score(X, y) < 0.5  # what the guard prevented


def test_the_kept_scale_is_the_largest_the_rule_accepts(model):
    clf, X, y = model
    clf = copy.deepcopy(clf).set_params(forget_method=Shrink(0.5))
    kept = copy.deepcopy(clf).forget(X[:10], y[:10]).forget_log_[-1]
    # Brute force over the scales: each one the rule would accept, checked by hand.
    rows = clf.forget_state_.guard_rows.without(X[:10].astype(np.float32), y[:10])
    conf0, acc0 = rows.scores(clf.module_)
    base = {k: v.clone() for k, v in clf.module_.named_parameters()}
    forget0 = float(
        label_confidence(clf.module_, torch.as_tensor(X[:10], dtype=torch.float32), torch.as_tensor(y[:10]))[0].mean()
    )
    accepted = []
    for scale in guard.SCALES:
        probe = copy.deepcopy(clf)
        with torch.no_grad():
            for name, p in probe.module_.named_parameters():
                p.copy_(base[name] * (1 - scale * 0.5))
        conf, acc = rows.scores(probe.module_)
        forget = float(
            label_confidence(probe.module_, torch.as_tensor(X[:10], dtype=torch.float32), torch.as_tensor(y[:10]))[
                0
            ].mean()
        )
        ok = conf >= min(float(rows.anchor.mean()) - guard.TOLERANCE, conf0) and acc >= min(
            float(rows.anchor_correct.float().mean()) - guard.TOLERANCE, acc0
        )
        ok = ok and (conf0 - conf <= 0 or forget0 - forget >= guard.SPECIFICITY * (conf0 - conf))
        if ok:
            accepted.append(scale)
    assert kept["guard_scale"] == (max(accepted) if accepted else 0.0)


def test_a_harmless_update_is_kept_in_full(model):
    clf, X, y = model
    clf = copy.deepcopy(clf).set_params(forget_method=Shrink(1.0))
    assert clf.forget(X[:10], y[:10]).forget_log_[-1]["guard_scale"] == 1.0


def test_forgetting_correct_rows_of_a_model_that_did_not_memorise_them_changes_little(model):
    clf, X, y = model
    test_before = clf.score(X[1000:], y[1000:])
    deleted = copy.deepcopy(clf).set_params(forget_method="path_gradient").forget(X[:100], y[:100])
    assert abs(deleted.score(X[1000:], y[1000:]) - test_before) <= 0.01


def test_without_guard_rows_nothing_is_applied(model):
    clf, X, y = model
    clf = copy.deepcopy(clf)
    clf.forget_state_.guard_rows = None
    before = weights(clf)
    with pytest.warns(UserWarning, match="no reference rows"):
        clf.forget(X[:10], y[:10])
    assert_same_weights(before, clf)
    assert clf.forget_log_[-1]["guard_note"].startswith("no reference rows")


def test_the_room_is_shared_by_successive_forgets(model):
    clf, X, y = model
    clf = copy.deepcopy(clf).set_params(forget_method=Shrink(0.97))
    for start in range(0, 200, 10):
        clf.forget(X[start : start + 10], y[start : start + 10])
    rows = clf.forget_state_.guard_rows
    confidence, accuracy = rows.scores(clf.module_)
    assert confidence >= float(rows.anchor.mean()) - guard.TOLERANCE - 1e-6
    assert accuracy >= float(rows.anchor_correct.float().mean()) - guard.TOLERANCE - 1e-6


def test_guard_rows_never_hold_forgotten_rows_and_stay_in_memory_only(model):
    import pickle

    clf, X, y = model
    clf = copy.deepcopy(clf)
    rows = clf.forget_state_.guard_rows
    victim = rows.X[:3].numpy(), rows.y[:3].numpy()
    clf.forget(*victim)
    remaining = clf.forget_state_.guard_rows
    assert len(remaining) == len(rows) - 3
    assert not np.isin(row_fingerprints(*victim), remaining.fingerprints).any()
    assert pickle.loads(pickle.dumps(clf)).forget_state_.guard_rows is None


@pytest.mark.parametrize("value", ["yes", 1.5])
def test_the_guard_switch_is_validated(model, value):
    clf, X, y = model
    with pytest.raises(ValueError, match="guard"):
        copy.deepcopy(clf).set_params(guard=value).forget(X[:5], y[:5])
    with pytest.raises(ValueError, match="guard"):
        copy.deepcopy(clf).forget(X[:5], y[:5], guard=value)


def test_a_two_stage_forget_logs_the_scale_kept_for_each_stage(model):
    clf, X, y = model
    clf = copy.deepcopy(clf).set_params(forget_method=ASSD(mode="path_gradient"))
    entry = copy.deepcopy(clf).forget(X[:20], y[:20]).forget_log_[-1]
    assert [stage["method"] for stage in entry["stages"]] == ["path_gradient", "assd"]
    assert entry["guard_scales"] == [stage["guard_scale"] for stage in entry["stages"]]
    assert all(0.0 <= scale <= 1.0 for scale in entry["guard_scales"])
    unguarded = copy.deepcopy(clf).forget(X[:20], y[:20], guard=False).forget_log_[-1]
    assert unguarded["guard_scales"] == [None, None]


def test_forgetting_some_copies_of_repeated_rows_keeps_their_guard_rows():
    # Tabular data often repeats rows. The guard sample must lose a row only when no copy of it is kept.
    X, y = make_classification(200, n_features=6, n_informative=4, n_classes=2, random_state=1)
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)  # every row five times
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(16,), max_epochs=3, random_state=0).fit(X, y)
    n_guard = len(clf.forget_state_.guard_rows)
    clf.forget(X[:800], y[:800])  # four copies of every row: one of each is kept
    assert len(clf.forget_state_.guard_rows) == n_guard
    assert clf.forget_log_[-1]["guard_rows"] == n_guard
    clf.forget(X[800:850], y[800:850])  # the last copy of 50 rows
    gone = np.isin(clf.forget_state_.guard_rows.fingerprints, row_fingerprints(X[800:850], y[800:850]))
    assert not gone.any() and len(clf.forget_state_.guard_rows) < n_guard
