"""The corrective default: relabel the wrong rows toward the model's own belief, judged against a control."""

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_unlearn import ASSD, NegGradPlus, Relabel, UnlearnableClassifier
from sklearn_unlearn.datasets import inject_label_noise
from sklearn_unlearn.unlearning import GuardRows, belief_without_label
from sklearn_unlearn.unlearning import _guard as guard

from ..conftest import assert_same_weights, weights


@pytest.fixture(scope="module")
def memorised():
    """A wide MLP trained long on 10 % flipped labels: it predicts most of the wrong labels."""
    X, y = make_classification(800, n_features=10, n_informative=6, n_classes=3, random_state=0)
    X_test, y_test, X, y = X[500:], y[500:], X[:500], y[:500]
    y_noisy, _, wrong = inject_label_noise(y, 0.1, random_state=0, return_selected=True)
    clf = UnlearnableClassifier(
        module__hidden_layer_sizes=(256, 256), max_epochs=60, lr=0.01, optimizer__momentum=0.9, batch_size=32,
        random_state=0,
    )  # fmt: skip
    with torch.random.fork_rng():
        clf.fit(X, y_noisy)
    return clf, X, y_noisy, wrong, X_test, y_test


def test_the_default_forgets_memorised_wrong_labels_without_costing_accuracy(memorised):
    clf, X, y, wrong, X_test, y_test = memorised
    assert clf.score(X[wrong], y[wrong]) > 0.8  # memorised
    forgot = copy.deepcopy(clf).forget(X[wrong], y[wrong])
    entry = forgot.forget_log_[-1]
    assert entry["method"] == "assd" and entry["steps"] >= 15 and entry["guard_scale"] > 0
    assert forgot.score(X[wrong], y[wrong]) < 0.4
    assert forgot.score(X_test, y_test) >= clf.score(X_test, y_test) - 0.01


def test_a_correction_is_judged_against_its_control(memorised):
    clf, X, y, wrong, *_ = memorised
    entry = copy.deepcopy(clf).forget(X[wrong], y[wrong]).forget_log_[-1]
    assert entry["guard_confidence_bound"] == -np.inf  # soft targets: confidence is not bounded
    assert entry["guard_erosion_allowed"] >= 0
    built = entry["guard_control"] == "built"
    assert built or (entry["guard_control"].startswith("not needed") and entry["guard_scale"] == 1.0)
    assert entry["guard_forget_agreement_after"] < entry["guard_forget_agreement_before"]


def test_a_deletion_runs_the_path_gradient_step_then_the_rule(memorised):
    clf, X, y, wrong, *_ = memorised
    keep = np.flatnonzero(~wrong)[:30]
    entry = copy.deepcopy(clf).forget(X[keep], y[keep], reason="deletion").forget_log_[-1]
    assert [stage["method"] for stage in entry["stages"]] == ["path_gradient", "assd"]


def test_a_bad_reason_is_refused_and_changes_nothing(memorised):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf)
    before = weights(model)
    with pytest.raises(ValueError, match="reason must be one of"):
        model.forget(X[wrong], y[wrong], reason="because")
    assert_same_weights(before, model)
    assert model.forget_log_ == []


@pytest.mark.parametrize("guarded", [False, True])
def test_without_repair_rows_the_relabel_stage_says_so_and_takes_the_path_gradient_step(memorised, guarded):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf)
    model.forget_state_ = model.forget_state_.replace(repair_rows=None)
    model.forget(X[wrong], y[wrong], guard=guarded)
    entry = model.forget_log_[-1]
    assert "no repair rows" in entry["note"] and entry["fallback"] == "path_gradient" and entry["steps"] == 0
    # The same move as the path-gradient step on its own, behind the same guard (or none).
    stepped = copy.deepcopy(clf).forget(X[wrong], y[wrong], method="path_gradient", guard=guarded)
    assert entry.get("guard_scale") == stepped.forget_log_[-1].get("guard_scale")
    assert ("guard_scale" in entry) == guarded
    assert_same_weights(weights(stepped), model)
    if not guarded:  # the step itself was not empty
        assert any(not torch.equal(a, b) for a, b in zip(weights(clf).values(), weights(model).values(), strict=True))


def test_the_stage_logs_what_it_judged_memorisation_on(memorised):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf)
    predicted = model.predict(X[wrong])
    still = predicted == y[wrong]
    assert 0 < still.sum() < len(still)  # some memorised, some not
    model.forget(X[wrong], y[wrong], guard=False)
    entry = model.forget_log_[-1]
    assert entry["forget_agreement"] == pytest.approx(still.mean()) and entry["kept_error"] < entry["forget_agreement"]
    # Only rows whose (wrong) label the model does not predict: nothing memorised, nothing moves.
    model = copy.deepcopy(clf)
    before = weights(model)
    model.forget(X[wrong][~still], y[wrong][~still])
    entry = model.forget_log_[-1]
    assert "nothing memorised to correct" in entry["note"] and entry["steps"] == 0
    assert_same_weights(before, model)


def test_memorised_means_agreeing_more_often_than_the_model_errs():
    from sklearn_unlearn.unlearning._relabel import memorised

    assert memorised(0.6, 200, 0.02, 512)
    assert not memorised(0.08, 18_000, 0.13, 512)  # agrees less often than it errs: chance
    assert not memorised(0.15, 40, 0.13, 512)  # a little more, on few rows: within the noise
    assert memorised(0.25, 4_000, 0.13, 512)


def test_a_model_that_never_memorised_its_wrong_labels_is_left_as_it_is():
    X, y = make_classification(1500, n_features=10, n_informative=4, flip_y=0.2, random_state=1)
    y_noisy, _, wrong = inject_label_noise(y, 0.1, random_state=0, return_selected=True)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(8,), max_epochs=5, random_state=0).fit(X, y_noisy)
    assert clf.score(X[wrong], y_noisy[wrong]) < 1 - clf.score(X[~wrong], y_noisy[~wrong]) + 0.05
    before = weights(clf)
    clf.forget(X[wrong], y_noisy[wrong])
    assert "nothing memorised to correct" in clf.forget_log_[-1]["note"]
    assert_same_weights(before, clf)


def test_the_same_correction_gives_the_same_model(memorised):
    clf, X, y, wrong, *_ = memorised
    a = copy.deepcopy(clf).forget(X[wrong], y[wrong])
    b = copy.deepcopy(clf).forget(X[wrong], y[wrong])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_only_the_selected_weights_move(memorised):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf).set_params(forget_method=ASSD(mode="relabel"))
    before = {k: v.clone() for k, v in model.module_.named_parameters()}
    model.forget(X[wrong], y[wrong], guard=False)
    entry = model.forget_log_[-1]
    for name, p in model.module_.named_parameters():
        moved = int((p.detach() != before[name]).sum())
        assert moved <= entry["selected_per_parameter"][name]
    assert 0 < entry["weights_share"] < 1


def test_the_forget_rows_weigh_what_they_weighed_in_training(memorised):
    clf, X, y, wrong, *_ = memorised
    share = copy.deepcopy(clf).forget(X[wrong], y[wrong], guard=False)
    assert share.forget_log_[-1]["forget_weight"] == pytest.approx(wrong.sum() / (~wrong).sum())
    assert share.score(X[wrong], y[wrong]) < 0.25 * clf.score(X[wrong], y[wrong])
    # The weight is what pulls: next to nothing, and the rows keep more of their labels.
    faint = Relabel(forget_weight=1e-6)
    barely = copy.deepcopy(clf).set_params(forget_method=faint).forget(X[wrong], y[wrong], guard=False)
    assert barely.forget_log_[-1]["forget_weight"] == 1e-6
    assert barely.score(X[wrong], y[wrong]) > share.score(X[wrong], y[wrong]) + 0.2


@pytest.mark.parametrize("weight", [0, -1.0, "all"])
def test_a_bad_forget_weight_is_refused(memorised, weight):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf).set_params(forget_method=Relabel(forget_weight=weight))
    before = weights(model)
    with pytest.raises(ValueError, match="forget_weight"):
        model.forget(X[wrong], y[wrong])
    assert_same_weights(before, model)


def test_belief_without_label_gives_the_label_nothing():
    proba = torch.tensor([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0], [0.1, 0.3, 0.6]])
    target = belief_without_label(proba, torch.tensor([0, 0, 2]))
    torch.testing.assert_close(target.sum(dim=1), torch.ones(3))
    assert target[0, 0] == 0 and target[1, 0] == 0 and target[2, 2] == 0
    torch.testing.assert_close(target[0], torch.tensor([0.0, 2 / 3, 1 / 3]))
    torch.testing.assert_close(target[1], torch.tensor([0.0, 0.5, 0.5]))  # all mass on the label: the others, evenly


def _flipping_stage():
    """A linear model and a move that gets many guard rows wrong (its weights negated)."""
    torch.manual_seed(0)
    module = torch.nn.Linear(4, 2)
    X, y = torch.randn(200, 4), torch.randint(0, 2, (200,))
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
        module.bias.zero_()
    y = (X[:, 0] < 0).long()  # the model is right on every row
    rows = GuardRows._of(module, X.numpy(), y.numpy(), np.arange(200))
    before = {k: p.detach().clone() for k, p in module.named_parameters()}
    scores = rows.scores(module)
    flipped = copy.deepcopy(module)
    with torch.no_grad():
        flipped.weight.mul_(-1)
    return module, before, rows, scores, flipped, (X[:5], y[:5])


def test_the_controls_losses_lower_the_reference_for_later_forgets():
    module, before, rows, scores, flipped, forget = _flipping_stage()
    module.load_state_dict(flipped.state_dict())  # the stage costs what its control costs
    built = []
    control = lambda: built.append(1) or flipped  # noqa: E731
    report, anchored = guard.guard_update(module, before, rows, scores, forget, control)
    assert built == [1] and report["guard_control"] == "built"
    assert report["guard_erosion_allowed"] > 0.5
    assert float(anchored.anchor_correct.float().mean()) < float(rows.anchor_correct.float().mean())


def test_the_control_is_built_only_when_the_move_fails_without_it():
    module, before, rows, scores, flipped, forget = _flipping_stage()
    built = []
    control = lambda: built.append(1) or flipped  # noqa: E731
    report, anchored = guard.guard_update(module, before, rows, scores, forget, control)  # a move of nothing
    assert report["guard_scale"] == 1.0 and built == []
    assert report["guard_control"].startswith("not needed") and anchored is rows
    module.load_state_dict(flipped.state_dict())
    report, _ = guard.guard_update(module, before, rows, scores, forget)  # the same move, no control: refused
    assert report["guard_scale"] < 1.0


def test_peers_need_the_kept_rows(memorised):
    clf, X, y, wrong, *_ = memorised
    model = copy.deepcopy(clf).set_params(forget_method=NegGradPlus())
    with pytest.raises(ValueError, match="needs the retain rows"):
        model.forget(X[wrong], y[wrong])
    for method in ("neggrad_plus", "scrub"):
        peer = copy.deepcopy(clf).set_params(forget_method=method)
        peer.forget(X[wrong], y[wrong], X_retain=X[~wrong], y_retain=y[~wrong])
        assert np.isfinite(peer.predict_proba(X)).all() and peer.importances_ is not None


@pytest.mark.parametrize(
    "rows, message",
    [
        (lambda y: np.arange(int(0.6 * len(y))), "more than half"),
        (lambda y: np.flatnonzero(y == 0), "every row labelled 0"),
    ],
    ids=["most of the rows", "a whole class"],
)
def test_a_correction_that_cannot_be_one_is_refused_and_changes_nothing(memorised, rows, message):
    clf, X, y, *_ = memorised
    chosen = rows(y)
    model = copy.deepcopy(clf)
    before = weights(model)
    with pytest.raises(ValueError, match=message) as refused:
        model.forget(X[chosen], y[chosen])
    assert "reason='deletion'" in str(refused.value)
    assert_same_weights(before, model)
    assert model.forget_log_ == [] and np.array_equal(model.class_counts_, clf.class_counts_)
    # The rows can still be removed as a deletion: behind the guard, which decides what it may move.
    model.forget(X[chosen], y[chosen], reason="deletion")
    assert model.forget_log_[-1]["n_forget"] == len(chosen)


def _train_stub(monkeypatch, rows_seen, agreements):
    """``Relabel._train`` on a stub host whose forget rows agree with their labels as ``agreements`` says, check by check."""
    from types import SimpleNamespace

    from sklearn_unlearn.unlearning import _relabel

    shares = iter(agreements)
    monkeypatch.setattr(_relabel, "_agreement", lambda module, rows: next(shares))
    torch.manual_seed(0)
    module = torch.nn.Linear(4, 3)
    X = torch.randn(64, 4)
    y = module(X).argmax(dim=1)
    host = SimpleNamespace(eval_loss=torch.nn.functional.cross_entropy, trace=SimpleNamespace(n_rows_seen=rows_seen))
    target = torch.full((64, 3), 1 / 3)
    stage = Relabel(lr=1e-12, batch_size=256)
    return stage._train(host, module, (X, y), X, target, None, 15, until=(X, y), weight=0.1)


@pytest.mark.parametrize("rows_seen", [1_000, 200 * 768 * 10], ids=["small budget", "budget of 200 steps"])
def test_rows_that_do_not_move_get_four_times_the_steps_whatever_the_budget(monkeypatch, rows_seen):
    assert _train_stub(monkeypatch, rows_seen, [0.9] * 100) == 60


def test_rows_on_course_go_on_past_four_times_the_steps_within_the_budget(monkeypatch):
    # 10 % of 200 x 768 x 10 rows is 200 steps of 3 x 256 rows (the stage's two batches and the
    # control's one). Agreement falls 0.025 per 5 steps: past 60 steps it would reach 0.1 in time.
    falling = [0.9 - 0.025 * k for k in range(100)]
    assert _train_stub(monkeypatch, 200 * 768 * 10, falling) == 15 + 5 * 32  # stops when done
    # Half that budget (100 steps): at that pace it would not get there, so it stops at 60.
    assert _train_stub(monkeypatch, 100 * 768 * 10, falling) == 60
    # Rows that come close and stay just above 0.1 seem on course to the end: the budget caps them.
    close = [max(0.9 - 0.05 * k, 0.11) for k in range(100)]
    assert _train_stub(monkeypatch, 200 * 768 * 10, close) == 200


@pytest.mark.parametrize(
    ("start", "now", "taken", "left", "expected"),
    [(0.9, 0.5, 40, 40, True), (0.9, 0.5, 40, 39, False), (0.9, 0.9, 40, 10_000, False), (0.5, 0.6, 5, 100, False)],
    ids=["just in time", "one step short", "stalled", "going the wrong way"],
)
def test_on_course_projects_the_pace_so_far(start, now, taken, left, expected):
    from sklearn_unlearn.unlearning._relabel import on_course

    assert on_course(start, now, taken, left, 0.1) is expected
