"""The membership audit: calibrated on rows never trained on, sharp on memorised rows, clear on bad input."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.metrics import forget_report, logit_confidence, membership_audit, train_shadows


def random_label_rows(n, seed):
    """Rows whose labels are noise: only a model that memorised a row can be sure of its label."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)), rng.integers(0, 2, size=n)


@pytest.fixture(scope="module")
def memorised():
    X, y = random_label_rows(1600, 0)
    trained, unseen, nonmembers, reference = (slice(0, 400), slice(400, 800), slice(800, 1200), slice(1200, 1600))
    # Distance-weighted neighbours: certain of every training row, graded on every other row.
    model = KNeighborsClassifier(n_neighbors=5, weights="distance").fit(X[trained], y[trained])
    return model, X, y, trained, unseen, nonmembers, reference


def test_the_audit_sees_memorised_rows(memorised):
    model, X, y, trained, _, nonmembers, reference = memorised
    audit = membership_audit(
        model, X[trained], y[trained], X[nonmembers], y[nonmembers],
        X_reference=X[reference], y_reference=y[reference], random_state=0,
    )  # fmt: skip
    assert audit.attack == "offline_lira" and audit.n_shadow == 8
    assert audit.auc > 0.7 and audit.tpr_at_fpr(0.01) > 0.3


def test_the_audit_is_calibrated_on_rows_never_trained_on(memorised):
    model, X, y, _, unseen, nonmembers, reference = memorised
    audit = membership_audit(
        model, X[unseen], y[unseen], X[nonmembers], y[nonmembers],
        X_reference=X[reference], y_reference=y[reference], random_state=0,
    )  # fmt: skip
    assert abs(audit.auc - 0.5) <= 0.1
    assert audit.tpr_at_fpr(0.01) <= 0.05


def test_without_reference_rows_the_loss_threshold_runs_and_says_so(memorised):
    model, X, y, trained, _, nonmembers, _ = memorised
    audit = membership_audit(model, X[trained], y[trained], X[nonmembers], y[nonmembers])
    assert audit.attack == "loss_threshold" and audit.n_shadow == 0
    np.testing.assert_allclose(audit.member_scores, logit_confidence(model, X[trained], y[trained]))


def test_a_roc_of_rates_and_a_plot(memorised, tmp_path):
    model, X, y, trained, _, nonmembers, reference = memorised
    audit = membership_audit(
        model, X[trained], y[trained], X[nonmembers], y[nonmembers], X_reference=X[reference], y_reference=y[reference]
    )
    fpr, tpr = audit.roc()
    assert fpr[0] == 0 and fpr[-1] == 1 and (np.diff(tpr) >= 0).all()
    assert audit.tpr_at_fpr(0.001) <= audit.tpr_at_fpr(0.01) <= audit.tpr_at_fpr(1.0) == 1.0
    ax = audit.plot(label="neighbours")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    ax.figure.savefig(tmp_path / "roc.png")


def test_a_confident_model_keeps_a_finite_score():
    X, y = random_label_rows(200, 1)
    model = KNeighborsClassifier(n_neighbors=1).fit(X, y)
    phi = logit_confidence(model, X, y)  # p = 1 exactly for every training row
    assert np.isfinite(phi).all() and (phi > 30).all()


def test_parallel_shadows_give_the_same_audit(memorised):
    model, X, y, trained, _, nonmembers, reference = memorised
    rows = (X[trained], y[trained], X[nonmembers], y[nonmembers])
    kwargs = {"X_reference": X[reference], "y_reference": y[reference], "n_shadow": 4, "random_state": 3}
    one = membership_audit(LogisticRegression().fit(X[trained], y[trained]), *rows, **kwargs)
    two = membership_audit(LogisticRegression().fit(X[trained], y[trained]), *rows, n_jobs=2, **kwargs)
    np.testing.assert_allclose(one.member_scores, two.member_scores)


def test_shadows_trained_once_give_the_audit_the_reference_rows_give(memorised):
    model, X, y, trained, _, nonmembers, reference = memorised
    rows = (X[trained], y[trained], X[nonmembers], y[nonmembers])
    direct = membership_audit(model, *rows, X_reference=X[reference], y_reference=y[reference], random_state=5)
    shadows = train_shadows(model, X[reference], y[reference], random_state=5)
    reused = membership_audit(model, *rows, shadows=shadows)
    assert len(shadows) == 8 and reused.n_shadow == 8
    np.testing.assert_allclose(reused.member_scores, direct.member_scores)
    np.testing.assert_allclose(reused.nonmember_scores, direct.nonmember_scores)


def test_shadows_are_refused_next_to_reference_rows_or_alone(memorised):
    model, X, y, trained, _, nonmembers, reference = memorised
    rows = (X[trained], y[trained], X[nonmembers], y[nonmembers])
    shadows = train_shadows(model, X[reference], y[reference], n_shadow=2, random_state=0)
    with pytest.raises(ValueError, match="not both"):
        membership_audit(model, *rows, shadows=shadows, X_reference=X[reference], y_reference=y[reference])
    with pytest.raises(ValueError, match="at least 2 shadows"):
        membership_audit(model, *rows, shadows=shadows[:1])
    with pytest.raises(ValueError, match="at least 2"):
        train_shadows(model, X[reference], y[reference], n_shadow=1)
    with pytest.raises(ValueError, match="at least 4 reference rows"):
        train_shadows(model, X[:3], y[:3])


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda r: {**r, "X_nonmembers": r["X_nonmembers"][:19], "y_nonmembers": r["y_nonmembers"][:19]},
            "at least 20",
        ),
        (lambda r: {**r, "X_nonmembers": r["X_nonmembers"][:, :3]}, "same table"),
        (lambda r: {**r, "y_members": r["y_members"] + 5}, "does not know"),
        (lambda r: {**r, "X_reference": r["X_members"][:50], "y_reference": r["y_members"][:50]}, "also audited"),
        (lambda r: {**r, "X_reference": r["X_reference"][:, :2]}, "features"),
        (lambda r: {**r, "y_reference": None}, "both"),
        (lambda r: {**r, "n_shadow": 1}, "at least 2"),
    ],
)
def test_bad_input_is_named(memorised, change, message):
    model, X, y, trained, _, nonmembers, reference = memorised
    rows = {
        "X_members": X[trained], "y_members": y[trained], "X_nonmembers": X[nonmembers], "y_nonmembers": y[nonmembers],
        "X_reference": X[reference], "y_reference": y[reference],
    }  # fmt: skip
    with pytest.raises(ValueError, match=message):
        membership_audit(model, **change(rows))


def test_a_model_without_probabilities_is_refused(memorised):
    _, X, y, trained, _, nonmembers, _ = memorised
    with pytest.raises(TypeError, match="predict_proba"):
        membership_audit(LinearSVC().fit(X[trained], y[trained]), X[trained], y[trained], X[nonmembers], y[nonmembers])


def test_forget_report_adds_the_audit_for_both_models(data):
    X, y = data
    small = {"module__hidden_layer_sizes": (16,), "max_epochs": 5, "random_state": 0}
    forget, retain, test = slice(0, 40), slice(40, 300), slice(300, 400)
    clf = UnlearnableClassifier(**small).fit(X[:300], y[:300]).forget(X[forget], y[forget])
    retrained = UnlearnableClassifier(**small).fit(X[retain], y[retain])
    report = forget_report(
        clf, X[retain], y[retain], X[forget], y[forget], X[test], y[test],
        reference=retrained, X_reference=X[retain], y_reference=y[retain], n_shadow=2, random_state=0,
    )  # fmt: skip
    for prefix in ("", "reference_"):
        assert 0 <= report[f"{prefix}audit_auc"] <= 1
        assert 0 <= report[f"{prefix}audit_tpr_at_0.1pct_fpr"] <= report[f"{prefix}audit_tpr_at_1pct_fpr"] <= 1
