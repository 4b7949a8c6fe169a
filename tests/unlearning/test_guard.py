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
    # Four copies of every row (one of each is kept): as a deletion, since a correction of most rows is refused.
    clf.forget(X[:800], y[:800], reason="deletion")
    assert len(clf.forget_state_.guard_rows) == n_guard
    assert clf.forget_log_[-1]["guard_rows"] == n_guard
    clf.forget(X[800:850], y[800:850])  # the last copy of 50 rows
    gone = np.isin(clf.forget_state_.guard_rows.fingerprints, row_fingerprints(X[800:850], y[800:850]))
    assert not gone.any() and len(clf.forget_state_.guard_rows) < n_guard


def _bump_module() -> torch.nn.Sequential:
    """Class 1 where x > 0; hidden units 1-3 form a triangle on (1.5, 2.5) that does nothing yet."""
    module = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        module[0].weight.copy_(torch.tensor([[1.0], [1.0], [1.0], [1.0]]))
        module[0].bias.copy_(torch.tensor([0.0, -1.5, -2.0, -2.5]))
        module[2].weight.zero_()
        module[2].bias.zero_()
        module[2].weight[1, 0] = 4.0  # class 1's logit grows with x > 0
        module[2].bias[0] = 2.0
    return module


def test_a_move_that_keeps_every_trained_row_but_breaks_what_lies_between_them_is_refused():
    # Class 1 rows at x = 1 and x = 3, class 0 at x = -1 and -3. The move adds a deep dip to
    # class 1's logit on (1.5, 2.5): every row keeps its label, the midpoint x = 2 of a
    # class-1 pair (1, 3) flips to class 0. A model that memorised its rows does exactly this.
    X = np.array([[1.0], [3.0], [-1.0], [-3.0]] * 16, dtype=np.float32)
    y = np.array([1, 1, 0, 0] * 16)
    module = _bump_module()
    rows = guard.GuardRows._of(module, X, y, np.arange(len(X)))
    between = guard.BetweenRows.draw(rows.y, np.random.default_rng(0)).anchored(module, rows.X, rows.y, rows.fit)
    assert bool(between.anchor_correct.all())
    before = {k: p.detach().clone() for k, p in module.named_parameters()}
    scores_before = rows.scores(module)
    with torch.no_grad():
        module[2].weight[1, 1:] = torch.tensor([-400.0, 800.0, -400.0])
    moved = {k: p.detach().clone() for k, p in module.named_parameters()}
    X_f, y_f = torch.tensor([[2.0]]), torch.tensor([0])
    assert rows.scores(module)[1] == 1.0  # the trained rows keep their labels after the move

    for with_between, kept in ((False, 1.0), (True, 0.0)):
        module.load_state_dict(moved)
        judged = guard.replace(rows, between=between) if with_between else rows
        report, _ = guard.guard_update(module, before, judged, scores_before, (X_f, y_f))
        assert report["guard_scale"] == kept
    assert report["guard_between_accuracy_after"] == report["guard_between_accuracy_before"] == 1.0
    assert all(torch.equal(p, before[k]) for k, p in module.named_parameters())


def test_between_rows_pair_rows_of_one_class_and_follow_the_rows_they_are_made_of():
    y = torch.tensor([0, 0, 0, 1, 1, 2, 0, 1])
    between = guard.BetweenRows.draw(y, np.random.default_rng(3))
    assert len(between) == 7  # the lone class-2 row has no partner
    assert bool((y[between.first] == y[between.second]).all())
    assert bool((between.first != between.second).all())
    X = torch.arange(8, dtype=torch.float32)[:, None] * 10
    keep = torch.tensor([True, False, True, True, True, True, True, True])
    kept = between.subset(keep)
    midpoints = {tuple(r.tolist()) for r in between.rows(X, y)[0][keep[between.first] & keep[between.second]]}
    assert {tuple(r.tolist()) for r in kept.rows(X[keep], y[keep])[0]} == midpoints
    assert len(kept) < len(between)


def test_a_classifier_judges_between_rows_and_logs_them(model):
    clf, X, y = model
    forgot = copy.deepcopy(clf).forget(X[:30], y[:30])
    entry = forgot.forget_log_[-1]
    assert entry["guard_between_rows"] > 0.9 * entry["guard_rows"]
    assert entry["guard_between_rows"] == len(forgot.forget_state_.guard_rows.between)
    assert 0.5 < entry["guard_between_accuracy_before"] <= 1.0
