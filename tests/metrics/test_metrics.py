import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.metrics import (
    forget_report,
    membership_inference,
    top_hessian_eigenvalue,
    unlearning_error,
    verification_error,
    weight_drift,
)
from sklearn_unlearn.research import SDLoss

PLAIN_SGD = {"lr": 0.1, "batch_size": 64, "module__batch_norm": False, "random_state": 0}


@pytest.fixture(scope="module")
def binary():
    return make_classification(1024, n_features=20, random_state=0)


def test_verification_error_is_the_weight_distance(binary):
    X, y = binary
    a = UnlearnableClassifier(max_epochs=1, **PLAIN_SGD).fit(X, y)
    b = copy.deepcopy(a)
    assert verification_error(a, b) == 0.0
    with torch.no_grad():
        next(b.module_.parameters()).add_(0.5)
    n = next(b.module_.parameters()).numel()
    assert verification_error(a, b) == pytest.approx(0.5 * np.sqrt(n), rel=1e-5)
    other = UnlearnableClassifier(max_epochs=1, module__hidden_layer_sizes=(8,), **PLAIN_SGD).fit(X, y)
    with pytest.raises(ValueError, match="same architecture"):
        verification_error(a, other)


def test_power_iteration_finds_the_top_eigenvalue():
    # A linear model with squared loss has Hessian 2·XᵀX/n: compare with numpy.
    torch.manual_seed(0)
    X = torch.randn(200, 5) * torch.tensor([3.0, 1.0, 1.0, 0.5, 0.1])
    y = torch.randn(200, 1)
    model = torch.nn.Linear(5, 1, bias=False)
    estimate = top_hessian_eigenvalue(model, torch.nn.functional.mse_loss, X, y, max_iter=200, tol=1e-6)
    expected = np.linalg.eigvalsh(2 * (X.T @ X).numpy() / 200).max()
    assert estimate == pytest.approx(expected, rel=1e-3)


def test_sd_loss_lowers_weight_drift_and_unlearning_error(binary):
    X, y = binary
    settings = {"max_epochs": 10, "lr": 0.1, "batch_size": 64, "random_state": 0}
    plain = UnlearnableClassifier(**settings).fit(X, y)
    penalised = UnlearnableClassifier(criterion=SDLoss, criterion__lam=1.0, **settings).fit(X, y)
    assert weight_drift(penalised) < 0.6 * weight_drift(plain)  # benchmarks.research_tools: 0.81 vs 2.07
    assert unlearning_error(penalised, X, y) < 0.6 * unlearning_error(plain, X, y)  # 2.36 vs 5.91
    assert penalised.score(X, y) > plain.score(X, y) - 0.02


def test_unlearning_error_sigma_forms(binary):
    X, y = binary
    clf = UnlearnableClassifier(max_epochs=2, **PLAIN_SGD).fit(X, y)
    root, top = unlearning_error(clf, X, y), unlearning_error(clf, X, y, sigma="top_eig")
    trace = clf.training_trace_
    factor = trace.mean_lr**2 * trace.n_steps / 2 * weight_drift(clf)
    assert top / factor == pytest.approx((root / factor) ** 2, rel=1e-6)
    with pytest.raises(ValueError, match="sigma"):
        unlearning_error(clf, X, y, sigma="largest")
    with pytest.raises(NotFittedError):
        unlearning_error(UnlearnableClassifier(), X, y)


def test_mia_tells_members_from_unseen_rows_and_the_report_agrees():
    X, y = make_classification(1200, n_features=20, n_informative=5, flip_y=0.2, random_state=1)
    settings = {"max_epochs": 100, "lr": 0.1, "module__hidden_layer_sizes": (128,), "batch_size": 32}
    overfit = UnlearnableClassifier(module__batch_norm=False, random_state=0, **settings).fit(X[:600], y[:600])
    retain, members, test, unseen = slice(100, 600), slice(0, 100), slice(600, 1000), slice(1000, 1200)
    on_members = membership_inference(overfit, X[retain], X[members], X[test])
    on_unseen = membership_inference(overfit, X[retain], X[unseen], X[test])
    assert on_members > on_unseen + 0.08  # measured 0.68 vs 0.545
    reference = UnlearnableClassifier(module__batch_norm=False, random_state=0, **settings).fit(X[100:600], y[100:600])
    report = forget_report(overfit, X[retain], y[retain], X[members], y[members], X[test], y[test], reference=reference)
    assert set(report) == {
        f"{p}{k}" for p in ("", "reference_") for k in ("retain_accuracy", "forget_accuracy", "test_accuracy", "mia")
    }
    assert report["mia"] == on_members
    assert report["forget_accuracy"] == overfit.score(X[members], y[members]) > 0.95
    assert report["reference_forget_accuracy"] < report["forget_accuracy"] - 0.15  # rows it never saw
    assert report["reference_mia"] < report["mia"]
