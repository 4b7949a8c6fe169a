import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_unlearn.research import SDLoss

PLAIN_SGD = {"lr": 0.1, "batch_size": 64, "module__batch_norm": False, "random_state": 0}


@pytest.fixture(scope="module")
def binary():
    return make_classification(1024, n_features=20, random_state=0)


def test_sd_loss_formula():
    logits = torch.tensor([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([2, 1])
    expected = torch.nn.functional.cross_entropy(logits, target) + 0.5 * logits.std(dim=1).mean() / 3
    torch.testing.assert_close(SDLoss(lam=0.5)(logits, target), expected)
    assert SDLoss(lam=0.5, reduction="none")(logits, target).shape == (2,)
    with pytest.raises(ValueError, match="lam"):
        SDLoss(lam=-1.0)
