import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_unlearn import MLP, SmallCNN
from sklearn_unlearn.unlearning import minibatch_importances, per_sample_importances


def loss_fn(output, target):
    return F.cross_entropy(output, target)


def explicit_per_sample(module, X, y):
    """Reference: one backward per row."""
    module = copy.deepcopy(module).eval()
    totals = {n: torch.zeros_like(p) for n, p in module.named_parameters()}
    for x, t in zip(X, y, strict=True):
        module.zero_grad()
        loss_fn(module(x[None]), t[None]).backward()
        for n, p in module.named_parameters():
            totals[n] += p.grad**2
    return {n: v / len(X) for n, v in totals.items()}


class Bilinear(nn.Module):
    """A module with a parameter no fast path knows, to exercise the torch.func fallback."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(6))
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        return self.head(x * self.scale)


def trained_bn(module, X):
    # Move BatchNorm running statistics away from their defaults so the fast path must use them.
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(X)
    return module


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: MLP(6, 3, hidden_layer_sizes=(5, 4)), (40, 6)),
        (lambda: SmallCNN(1, 3, channels=(3, 4)), (24, 1, 6, 6)),
        (lambda: Bilinear(), (30, 6)),
    ],
)
def test_per_sample_matches_one_backward_per_row(make, shape):
    torch.manual_seed(0)
    module = make()
    X = torch.randn(*shape)
    y = torch.randint(0, 3, (shape[0],))
    trained_bn(module, X)
    fast = per_sample_importances(module, X, y, loss_fn, batch_size=7)
    reference = explicit_per_sample(module, X, y)
    for name in reference:
        torch.testing.assert_close(fast[name], reference[name], rtol=1e-4, atol=1e-7)
    assert module.training, "the module's mode must be restored"


def test_minibatch_is_mean_over_batches_of_squared_batch_gradients():
    torch.manual_seed(1)
    module = MLP(6, 3, hidden_layer_sizes=(5,)).eval()
    X, y = torch.randn(25, 6), torch.randint(0, 3, (25,))
    got = minibatch_importances(module, X, y, loss_fn, batch_size=10)
    expected = {n: torch.zeros_like(p) for n, p in module.named_parameters()}
    for start in (0, 10, 20):  # the last batch is short
        module.zero_grad()
        loss_fn(module(X[start : start + 10]), y[start : start + 10]).backward()
        for n, p in module.named_parameters():
            expected[n] += p.grad**2 / 3
    for name in expected:
        torch.testing.assert_close(got[name], expected[name])


def test_per_sample_does_not_depend_on_batch_size():
    torch.manual_seed(2)
    module = MLP(6, 3, hidden_layer_sizes=(5,))
    X, y = torch.randn(50, 6), torch.randint(0, 3, (50,))
    a = per_sample_importances(module, X, y, loss_fn, batch_size=3)
    b = per_sample_importances(module, X, y, loss_fn, batch_size=50)
    for name in a:
        torch.testing.assert_close(a[name], b[name])
