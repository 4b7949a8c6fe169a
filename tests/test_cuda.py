"""The CUDA path: the public surface on a GPU (skipped without one), and loading GPU models on CPU (simulated)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklearn_unlearn import CleanlabDetector, SmallCNN, UnlearnableClassifier, make_pipeline, repair
from sklearn_unlearn.persistence import load, save
from sklearn_unlearn.unlearning import UNLEARNERS

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SMALL = {"module__hidden_layer_sizes": (32, 32), "max_epochs": 10, "random_state": 0}


def on_cuda(clf):
    return all(p.is_cuda for p in clf.module_.parameters())


@pytest.mark.cuda
@needs_cuda
def test_fit_forget_pickle_on_cuda(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL)
    assert clf.get_params()["device"] == "auto" and clf.device == "cuda"
    clf.fit(X, y)
    assert on_cuda(clf) and all(imp.is_cuda for imp in clf.importances_.values())
    clf.forget(X[:8], y[:8])
    assert on_cuda(clf) and clf.forget_log_[-1]["n_forget"] == 8
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("method", sorted(UNLEARNERS))
def test_every_method_on_cuda_matches_the_cpu(data, method):
    X, y = data
    cpu = UnlearnableClassifier(**SMALL, device="cpu").fit(X, y)
    gpu = copy.deepcopy(cpu).set_params(device="cuda")
    gpu.initialize()  # the module moves to the GPU; weights are loaded back below
    gpu.module_.load_state_dict(cpu.module_.state_dict())
    gpu.optimizer_.load_state_dict(cpu.optimizer_.state_dict())
    gpu.importances_ = {k: v.cuda() for k, v in cpu.importances_.items()}
    gpu.training_trace_ = cpu.training_trace_
    retain = {"X_retain": X[10:], "y_retain": y[10:]} if UNLEARNERS[method].needs_retain else {}
    for model in (cpu, gpu):
        model.set_params(forget_method=method).forget(X[:10], y[:10], **retain)
    assert on_cuda(gpu)
    if method != "retrain":  # retraining draws different random batches on each device
        np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-4)


@pytest.mark.cuda
@needs_cuda
def test_pipeline_class_filters_repair_and_persistence_on_cuda(tmp_path):
    X, y = load_digits(return_X_y=True)
    X = X / 16
    pipe = make_pipeline(
        CleanlabDetector(cv=3, random_state=0), UnlearnableClassifier(module=SmallCNN, max_epochs=3, random_state=0)
    )
    pipe.fit(X, y)
    clf = pipe[-1]
    assert on_cuda(clf) and clf.forget_log_
    clf.fit_class_filters(X, y, epochs=1)
    assert all(a.is_cuda for a in clf.class_filters_.values())
    forgot_3 = clf.predict(X, forget_class=3)
    repair(clf, X, y, X[:20], y[:20], treatment="newton", top_k=10)
    path = save(clf, tmp_path / "gpu.zip")
    on_cpu = load(path, device="cpu")
    assert all(not p.is_cuda for p in on_cpu.module_.parameters())
    np.testing.assert_allclose(on_cpu.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    assert forgot_3.shape == (len(X),)


def _pretend_saved_on_cuda(clf):
    clf.__dict__["device"] = "cuda"  # what a model fitted with device="cuda" carries
    return clf


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_a_model_pickled_with_cuda_loads_on_a_cpu_only_machine(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL, device="cpu").fit(X, y)
    expected = clf.predict_proba(X)
    blob = pickle.dumps(_pretend_saved_on_cuda(clf))
    with pytest.warns(UserWarning, match="no CUDA device: it is loaded on the CPU"):
        loaded = pickle.loads(blob)
    assert loaded.get_params()["device"] == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_a_file_saved_with_cuda_loads_on_a_cpu_only_machine(data, tmp_path):
    X, y = data
    clf = UnlearnableClassifier(**SMALL, device="cpu").fit(X, y)
    expected = clf.predict_proba(X)
    path = save(_pretend_saved_on_cuda(clf), tmp_path / "model.zip")
    with pytest.warns(UserWarning, match="no CUDA device"):
        loaded = load(path)
    np.testing.assert_allclose(loaded.predict_proba(X), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load(path, device="cpu").get_params()["device"] == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_one_is_a_clear_error_at_fit(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL, device="cuda")
    with pytest.raises(ValueError, match="device='cuda' asks for CUDA, but this machine has no CUDA device"):
        clf.fit(X, y)
    assert not hasattr(clf, "n_train_")


@pytest.mark.cuda
@needs_cuda
def test_accelerated_fit_and_forget_on_cuda_in_mixed_precision(data, tmp_path):
    accelerate = pytest.importorskip("accelerate")  # the device image may lack the extra
    from accelerate.state import AcceleratorState

    from sklearn_unlearn import AcceleratedUnlearnableClassifier

    X, y = data
    AcceleratorState._reset_state(True)
    precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    clf = AcceleratedUnlearnableClassifier(accelerator=accelerate.Accelerator(mixed_precision=precision), **SMALL)
    clf.fit(X, y)
    assert on_cuda(clf) and all(imp.is_cuda and imp.dtype == torch.float32 for imp in clf.importances_.values())
    clf.forget(X[:8], y[:8])
    assert on_cuda(clf) and clf.forget_log_[-1]["n_forget"] == 8 and clf.score(X, y) > 0.8
    loaded = load(save(clf, tmp_path / "model.zip"), device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    AcceleratorState._reset_state(True)
