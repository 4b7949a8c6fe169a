"""Training and forgetting under Hugging Face Accelerate: two CPU processes (gloo) and one, mixed precision."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from sklearn.datasets import make_classification, make_regression

import sklearn_unlearn
from sklearn_unlearn import AcceleratedUnlearnableClassifier, AcceleratedUnlearnableRegressor, UnlearnableClassifier
from sklearn_unlearn.persistence import load, save

RUN = Path(__file__).parent / "accelerated" / "run_processes.py"


def launch(out: Path, n_processes: int) -> list[dict]:
    """Run the script in ``n_processes`` processes (torchrun; plain python for one) and read what each wrote."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if n_processes == 1:
        command = [sys.executable, str(RUN), str(out)]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n_processes}"]
        command += [str(RUN), str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = []
    for rank in range(n_processes):
        with np.load(out / f"rank{rank}.npz") as saved:
            arrays = {k: saved[k] for k in saved.files if k != "result"}
            runs.append({**json.loads(str(saved["result"])), "arrays": arrays})
    return runs


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    return launch(out, 2), out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    return launch(tmp_path_factory.mktemp("one"), 1)[0]


@pytest.fixture
def fresh_accelerate_state():
    """Accelerate keeps one state per process; each test here builds its own accelerator."""
    AcceleratorState._reset_state(True)
    yield
    AcceleratorState._reset_state(True)


def test_two_processes_end_with_the_same_model(two_processes):
    (first, second), _ = two_processes
    assert first["n_processes"] == second["n_processes"] == 2
    for key, value in first["arrays"].items():  # weights after fit and at the end, predictions, importances
        np.testing.assert_array_equal(value, second["arrays"][key], err_msg=key)
    assert first["forget_log"] == second["forget_log"] and json.loads(first["forget_log"])[0]["n_forget"] == 40
    assert first["trace"] == second["trace"] and first["n_train"] == second["n_train"] == 3960


def test_two_processes_train_on_all_rows_once_per_epoch(two_processes, one_process):
    (first, _), _ = two_processes
    steps, epochs, rows = first["trace"]
    # 32 rows a process, 2 processes: the global batch of the one-process run (64), the same steps.
    assert epochs == 10 and steps == one_process["trace"][0]
    assert 4000 * 10 <= rows <= 4000 * 10 + 10 * 2 * 32  # every row each epoch (Accelerate pads the last batch)


def test_two_processes_reach_the_accuracy_of_one(two_processes, one_process):
    (first, _), _ = two_processes
    assert abs(first["fit_score"] - one_process["fit_score"]) <= 0.01
    assert abs(first["score"] - one_process["score"]) <= 0.01


def test_disagreeing_or_failing_forgets_change_nothing_anywhere(two_processes):
    (first, second), _ = two_processes
    for run in (first, second):
        assert "process 1 differs from process 0" in run["disagree_error"] and run["disagree_left_weights_unchanged"]
        assert "never trained on" in run["unknown_error"] and run["unknown_left_weights_unchanged"]
        assert run["agree_error"] is None
    assert second["unknown_error"].startswith("forget failed on process 0")


def test_the_file_process_0_wrote_loads_in_one_process(two_processes):
    (first, _), out = two_processes
    model = load(out / "model.zip")
    assert type(model) is UnlearnableClassifier
    X, _ = make_classification(
        n_samples=8000, n_features=12, n_informative=6, n_classes=3, class_sep=1.5, flip_y=0, random_state=0
    )
    np.testing.assert_allclose(model.predict_proba(X[4000:]), first["arrays"]["proba"], atol=1e-6)


@pytest.fixture
def rows():
    X, y = make_classification(n_samples=600, n_features=10, n_informative=6, n_classes=3, random_state=1)
    return X, y


def test_one_process_fits_forgets_and_saves_like_the_plain_estimator(rows, tmp_path, fresh_accelerate_state):
    X, y = rows
    clf = AcceleratedUnlearnableClassifier(accelerator=Accelerator(cpu=True), max_epochs=5, random_state=0)
    before = X.copy()
    clf.fit(X[:500], y[:500]).forget(X[:10], y[:10])
    np.testing.assert_array_equal(X, before)
    assert clf.forget_log_[-1]["n_forget"] == 10 and clf.n_train_ == 490
    assert clf.score(X[500:], y[500:]) > 0.6
    model = load(save(clf, tmp_path / "model.zip"))
    assert type(model) is UnlearnableClassifier and model.get_params()["device"] == "auto"
    np.testing.assert_allclose(model.predict_proba(X[500:]), clf.predict_proba(X[500:]), atol=1e-6)
    assert "accelerator" not in model.get_params()


def test_mixed_precision_trains_and_forgets_with_float32_importances(rows, fresh_accelerate_state):
    X, y = rows
    clf = AcceleratedUnlearnableClassifier(
        accelerator=Accelerator(cpu=True, mixed_precision="bf16"), max_epochs=5, random_state=0
    ).fit(X[:500], y[:500])
    assert all(v.dtype == torch.float32 for v in clf.importances_.values())
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    clf.forget(X[:10], y[:10])
    assert clf.forget_log_[-1]["n_forget"] == 10 and clf.score(X[500:], y[500:]) > 0.6


def test_gradient_accumulation_counts_optimizer_steps_not_batches(rows, fresh_accelerate_state):
    X, y = rows
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=2)
    clf = AcceleratedUnlearnableClassifier(accelerator=accelerator, max_epochs=2, batch_size=50, random_state=0)
    trace = clf.fit(X[:400], y[:400]).training_trace_
    assert trace.n_rows_seen == 800 and trace.n_steps == 8  # 8 batches an epoch, a step every second one


def test_the_regressor_twin_fits_and_forgets(fresh_accelerate_state):
    X, y = make_regression(n_samples=400, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    reg = AcceleratedUnlearnableRegressor(accelerator=Accelerator(cpu=True), max_epochs=20, random_state=0)
    reg.fit(X[:300], y[:300]).forget(X[:5], y[:5], reason="deletion")
    assert reg.forget_log_[-1]["n_forget"] == 5 and reg.score(X[300:], y[300:]) > 0.5


def test_keeping_the_module_wrapped_is_refused(rows, fresh_accelerate_state):
    X, y = rows
    clf = AcceleratedUnlearnableClassifier(accelerator=Accelerator(cpu=True), unwrap_after_train=False)
    with pytest.raises(ValueError, match="unwrap_after_train must be True"):
        clf.fit(X, y)
    assert not hasattr(clf, "module_")


def test_without_accelerate_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "accelerate", None)
    monkeypatch.setitem(sys.modules, "accelerate.utils", None)
    monkeypatch.delitem(sys.modules, "sklearn_unlearn._accelerated")
    with pytest.raises(ImportError, match=r"pip install 'sklearn-unlearn\[accelerate\]'"):
        sklearn_unlearn.AcceleratedUnlearnableClassifier  # noqa: B018
    monkeypatch.undo()
    importlib.import_module("sklearn_unlearn._accelerated")
