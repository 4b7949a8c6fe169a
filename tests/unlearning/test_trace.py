import copy

import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_unlearn import MLP, UnlearnableClassifier

PLAIN_SGD = {"lr": 0.1, "batch_size": 64, "module__batch_norm": False, "random_state": 0}


@pytest.fixture(scope="module")
def binary():
    return make_classification(1024, n_features=20, random_state=0)


def test_training_trace_records_w0_steps_and_lr(binary):
    X, y = binary
    clf = UnlearnableClassifier(max_epochs=3, **PLAIN_SGD).fit(X, y)
    trace = clf.training_trace_
    assert trace.n_epochs == 3 and trace.n_steps == 3 * 1024 // 64
    assert trace.mean_lr == pytest.approx(0.1) and trace.mean_batch_size == pytest.approx(64)
    torch.manual_seed(PLAIN_SGD["random_state"])  # what fit's initialisation draws from
    fresh = MLP(n_features=X.shape[1], n_classes=2, batch_norm=False)
    for name, w0 in trace.initial_weights.items():
        torch.testing.assert_close(w0, dict(fresh.named_parameters())[name].detach())
    # Retraining from scratch starts a new trace; fine-tuning continues the old one.
    tuned = copy.deepcopy(clf).set_params(forget_method="finetune").forget(X[:8], y[:8], X_retain=X[8:], y_retain=y[8:])
    assert tuned.training_trace_.n_epochs == 4
    retrained = (
        copy.deepcopy(clf).set_params(forget_method="retrain").forget(X[:8], y[:8], X_retain=X[8:], y_retain=y[8:])
    )
    assert retrained.training_trace_.n_epochs == 3
