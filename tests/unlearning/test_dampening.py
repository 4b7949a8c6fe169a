"""ASSD and SSD against the formulas of the methods page, computed by hand."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.unlearning import assd_percentile, percentile

from ..conftest import split_rows


def hand_minibatch_importances(module, X, y, batch_size):
    module = copy.deepcopy(module).eval()
    device = next(module.parameters()).device  # the model may live on a GPU
    X, y = X.to(device), y.to(device)
    totals = {n: torch.zeros_like(p) for n, p in module.named_parameters()}
    n_batches = 0
    for start in range(0, len(X), batch_size):
        module.zero_grad()
        F.cross_entropy(module(X[start : start + batch_size]), y[start : start + batch_size]).backward()
        for n, p in module.named_parameters():
            totals[n] += p.grad**2
        n_batches += 1
    return {n: v / n_batches for n, v in totals.items()}


def hand_dampen(module, imp_D, imp_Df, alpha, lam):
    expected = {}
    for name, p in module.named_parameters():
        d, f = imp_D[name], imp_Df[name]
        theta = p.detach().clone()
        selected = f > alpha * d
        beta = torch.clamp(lam * d / f, max=1.0)
        theta[selected] = theta[selected] * beta[selected]
        expected[name] = theta
    return expected


@pytest.fixture
def minibatch_net(data):
    X, y = data
    clf = UnlearnableClassifier(
        module__hidden_layer_sizes=(12, 8), importance="minibatch", batch_size=32, max_epochs=4, random_state=0
    )
    return clf.fit(X, y)


def tensors(X, y):
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)


def test_assd_matches_the_formulas(data, minibatch_net):
    X, y = data
    X_f, y_f, X_r, y_r = split_rows(X, y, 20)
    module = minibatch_net.module_
    imp_r = hand_minibatch_importances(module, *tensors(X_r, y_r), 32)
    imp_f = hand_minibatch_importances(module, *tensors(X_f, y_f), 32)
    ratios = torch.cat([(imp_f[n] / imp_r[n]).flatten() for n in imp_r]).numpy()
    ratios = ratios[np.isfinite(ratios)]
    p = 100 - math.log(1 + 100 * len(X_f) / len(X))
    alpha = np.percentile(ratios, p)
    expected = hand_dampen(module, imp_r, imp_f, alpha, 1.0)

    # The authors' ASSD: the rule alone, unguarded, mini-batch importances from the retain rows.
    minibatch_net.set_params(forget_method__mode="rule")
    minibatch_net.forget(X_f, y_f, X_retain=X_r, y_retain=y_r, guard=False)

    log = minibatch_net.forget_log_[-1]
    assert log["alpha"] == pytest.approx(alpha, rel=1e-6)
    assert log["n_dampened"] > 0
    for name, p in minibatch_net.module_.named_parameters():
        torch.testing.assert_close(p.detach(), expected[name], rtol=0, atol=1e-6)


def test_ssd_matches_the_formulas(data, minibatch_net):
    X, y = data
    X_f, y_f, X_r, y_r = split_rows(X, y, 20)
    module = minibatch_net.module_
    imp_r = hand_minibatch_importances(module, *tensors(X_r, y_r), 32)
    imp_f = hand_minibatch_importances(module, *tensors(X_f, y_f), 32)
    # SSD's I_D is over retain + forget rows; here the row-weighted mix of the two passes.
    imp_D = {n: (len(X_r) * imp_r[n] + len(X_f) * imp_f[n]) / len(X) for n in imp_r}
    expected = hand_dampen(module, imp_D, imp_f, alpha=2.0, lam=0.5)

    minibatch_net.set_params(forget_method="ssd", forget_method__alpha=2.0, forget_method__lam=0.5)
    minibatch_net.forget(X_f, y_f, X_retain=X_r, y_retain=y_r, guard=False)

    assert minibatch_net.forget_log_[-1]["n_dampened"] > 0
    for name, p in minibatch_net.module_.named_parameters():
        torch.testing.assert_close(p.detach(), expected[name], rtol=0, atol=1e-6)


def test_per_sample_cache_with_subtraction_equals_retain_importances(data, fitted):
    X, y = data
    X_f, y_f, X_r, y_r = split_rows(X, y, 30)
    rule_only = copy.deepcopy(fitted).set_params(forget_method__mode="rule")
    from_cache = copy.deepcopy(rule_only).forget(X_f, y_f, guard=False)
    from_rows = copy.deepcopy(rule_only).forget(X_f, y_f, X_retain=X_r, y_retain=y_r, guard=False)
    direct = fitted.compute_importances(*tensors(X_r, y_r))
    for name in direct:
        torch.testing.assert_close(from_cache.importances_[name], direct[name], rtol=1e-4, atol=1e-9)
    assert from_cache.forget_log_[-1]["alpha"] == pytest.approx(from_rows.forget_log_[-1]["alpha"], rel=1e-3)
    for a, b in zip(from_cache.module_.parameters(), from_rows.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fraction, expected", [(0.01, 99.31), (0.05, 98.21), (0.10, 97.60)])
def test_assd_percentile_examples(fraction, expected):
    assert assd_percentile(int(fraction * 10_000), 10_000) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("q", [0, 3.3, 50, 97.6, 99.31, 100])
@pytest.mark.parametrize("n", [1, 2, 17, 10_001])
def test_percentile_matches_numpy(n, q):
    values = torch.from_numpy(np.random.default_rng(n).lognormal(size=n).astype(np.float32))
    assert percentile(values, q) == pytest.approx(np.percentile(values.numpy().astype(np.float64), q), rel=1e-6)


def test_ssd_selects_rows_with_zero_retain_importance():
    from sklearn_unlearn.unlearning import dampen

    theta = {"w": torch.tensor([1.0, 2.0, 3.0])}
    imp_D = {"w": torch.tensor([0.0, 1.0, 1.0])}
    imp_Df = {"w": torch.tensor([1.0, 20.0, 5.0])}
    counts = dampen(theta, imp_D, imp_Df, alpha=10.0, lam=1.0)
    torch.testing.assert_close(theta["w"], torch.tensor([0.0, 2.0 / 20.0, 3.0]))
    assert counts == {"w": 2}


def test_percentile_beyond_torch_quantile_limit():
    # torch.quantile refuses more than 2**24 values; models have far more parameters.
    values = torch.from_numpy(np.random.default_rng(0).lognormal(size=20_000_000).astype(np.float32))
    q = assd_percentile(1, 100)
    expected = np.percentile(values.numpy(), q)
    assert percentile(values, q) == pytest.approx(float(expected), rel=1e-6)
