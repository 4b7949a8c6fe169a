import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_unlearn import UnlearnableClassifier


@pytest.fixture(autouse=True)
def _few_threads():
    # CI has 2 cores; oversubscription makes small-model tests slower, not faster.
    torch.set_num_threads(2)


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=400, n_features=10, n_informative=6, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, y


@pytest.fixture
def fitted(data):
    X, y = data
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(16, 16), max_epochs=20, random_state=0)
    return clf.fit(X, y)


def weights(clf):
    return {k: v.detach().clone() for k, v in clf.module_.state_dict().items()}


def assert_same_weights(before, clf):
    after = clf.module_.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), f"{k} changed"


def split_rows(X, y, n_forget):
    idx = np.arange(len(X))
    return X[idx[:n_forget]], y[idx[:n_forget]], X[idx[n_forget:]], y[idx[n_forget:]]
