"""The CUDA path: skipped where no GPU is present (CI), run where one is lent."""

import pickle

import pytest
import torch

from sklearn_unlearn import UnlearnableClassifier

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_fit_forget_pickle_on_cuda(data):
    X, y = data
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(32, 32), max_epochs=10, random_state=0)
    assert clf.device == "auto"
    clf.fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    assert all(imp.is_cuda for imp in clf.importances_.values())
    before = clf.score(X, y)
    clf.forget(X[:8], y[:8])
    assert all(p.is_cuda for p in clf.module_.parameters())
    assert clf.forget_log_[-1]["n_forget"] == 8
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.score(X, y) == pytest.approx(clf.score(X, y))
    assert abs(clf.score(X, y) - before) < 0.2
