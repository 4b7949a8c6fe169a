"""Saving: a file format that runs no code when loaded and holds no training rows."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import ExponentialLR

from sklearn_unlearn import SSD, SmallCNN, UnlearnableClassifier
from sklearn_unlearn.persistence import load, save

SMALL = {"module__hidden_layer_sizes": (16, 16), "max_epochs": 5, "random_state": 0}


@pytest.fixture
def forgotten(data):
    X, y = data
    clf = UnlearnableClassifier(**SMALL).fit(X, y)
    return clf.forget(X[:10], y[:10])


def test_save_and_load_give_the_same_model(forgotten, data, tmp_path):
    X, y = data
    loaded = load(save(forgotten, tmp_path / "model.zip"))
    np.testing.assert_array_equal(loaded.predict_proba(X), forgotten.predict_proba(X))
    assert loaded.forget_log_ == json.loads(json.dumps(forgotten.forget_log_, default=float))
    assert loaded.n_train_ == forgotten.n_train_ and list(loaded.classes_) == list(forgotten.classes_)
    np.testing.assert_array_equal(loaded.class_counts_, forgotten.class_counts_)
    assert loaded.training_trace_.n_steps == forgotten.training_trace_.n_steps
    for name, value in forgotten.importances_.items():
        torch.testing.assert_close(loaded.importances_[name], value)
    assert loaded.get_params()["module__hidden_layer_sizes"] == (16, 16)


def test_a_loaded_model_forgets_once_it_has_guard_rows(forgotten, data, tmp_path):
    X, y = data
    loaded = load(save(forgotten, tmp_path / "model.zip"))
    before = loaded.predict_proba(X)
    with pytest.warns(UserWarning, match="no reference rows"):
        loaded.forget(X[10:15], y[10:15])
    np.testing.assert_array_equal(loaded.predict_proba(X), before)  # the safe side: nothing applied
    assert loaded.forget_log_[-1]["guard_note"].startswith("no reference rows")
    loaded.set_guard_rows(X[15:], y[15:])
    with pytest.warns(UserWarning, match="keeps no record"):
        loaded.forget(X[15:20], y[15:20])
    entry = loaded.forget_log_[-1]  # the kept rows given, half to judge on and half to repair with
    assert entry["guard_rows"] + entry["repair_rows"] == len(X) - 20
    assert loaded.n_train_ == forgotten.n_train_ - 10


def test_strategies_callbacks_and_class_filters_round_trip(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = UnlearnableClassifier(
        module=SmallCNN,
        max_epochs=2,
        batch_size=64,
        forget_method=SSD(alpha=5.0),
        callbacks=[("decay", LRScheduler(policy=ExponentialLR, gamma=0.9))],
        random_state=0,
    ).fit(X / 16, y)
    clf.fit_class_filters(X / 16, y, epochs=1)
    loaded = load(save(clf, tmp_path / "cnn.zip"))
    np.testing.assert_array_equal(loaded.predict(X / 16, forget_class=3), clf.predict(X / 16, forget_class=3))
    assert loaded.forget_method.alpha == 5.0
    assert isinstance(dict(loaded.callbacks)["decay"], LRScheduler)


class Wide(torch.nn.Module):
    def __init__(self, n_features, n_classes, width=8):
        super().__init__()
        self.width = width
        self.net = torch.nn.Linear(n_features, n_classes)

    def forward(self, X):
        return self.net(X)


def test_an_unknown_module_class_needs_to_be_trusted(data, tmp_path):
    X, y = data
    clf = UnlearnableClassifier(module=Wide, max_epochs=2, random_state=0).fit(X, y)
    path = save(clf, tmp_path / "wide.zip")
    with pytest.raises(ValueError, match="not trusted.*test_persistence.Wide"):
        load(path)
    name = f"{Wide.__module__}.{Wide.__qualname__}"
    np.testing.assert_array_equal(load(path, trusted=[name]).predict(X), clf.predict(X))


@pytest.mark.parametrize("member", ["module.safetensors", "state.safetensors"])
def test_a_crafted_tensor_file_is_refused_without_running_it(forgotten, tmp_path, member):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    crafted = _rewritten(
        save(forgotten, tmp_path / "model.zip"), tmp_path / "crafted.zip", {member: pickle.dumps(Payload())}
    )
    with pytest.raises(ValueError, match="not tensors"):
        load(crafted)
    assert not marker.exists()


def test_a_manifest_naming_an_untrusted_callable_is_refused(forgotten, tmp_path):
    path = save(forgotten, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["params"]["train_split"] = {"__object__": "subprocess.Popen", "params": {"args": ["true"]}}
    crafted = _rewritten(path, tmp_path / "crafted.zip", {"manifest.json": json.dumps(manifest)})
    with pytest.raises(ValueError, match="subprocess.Popen"):
        load(crafted)


def test_a_file_of_the_earlier_format_is_refused_by_name(forgotten, tmp_path):
    path = save(forgotten, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    old = _rewritten(
        path, tmp_path / "old.zip", {"manifest.json": json.dumps({**manifest, "format": "sklearn-unlearn/1"})}
    )
    with pytest.raises(ValueError, match="format 'sklearn-unlearn/1'.*save it again"):
        load(old)


def test_the_weights_are_skorchs_own_safetensors_file(forgotten, data, tmp_path):
    from skorch import NeuralNetClassifier

    from sklearn_unlearn import MLP

    X, y = data
    with zipfile.ZipFile(save(forgotten, tmp_path / "model.zip")) as archive:
        weights = archive.read("module.safetensors")
    net = NeuralNetClassifier(
        MLP,
        criterion=torch.nn.CrossEntropyLoss,
        module__n_features=X.shape[1],
        module__n_classes=3,
        module__hidden_layer_sizes=(16, 16),
    )
    net.initialize().load_params(f_params=io.BytesIO(weights), use_safetensors=True)
    np.testing.assert_allclose(net.predict_proba(X.astype(np.float32)), forgotten.predict_proba(X), rtol=1e-6)


def _rewritten(source, target, replaced: dict):
    """A copy of the archive ``source`` with some members' contents replaced."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            out.writestr(name, replaced.get(name, archive.read(name)))
    return target


def test_parameters_that_cannot_be_saved_safely_are_named(data, tmp_path):
    X, y = data
    clf = UnlearnableClassifier(**SMALL, callbacks=[("odd", _OpaqueCallback(3))]).fit(X, y)
    with pytest.raises(TypeError, match="callbacks"):
        save(clf, tmp_path / "model.zip")


class _OpaqueCallback(Callback):
    def __init__(self, every):
        self._every = every  # not kept under its own name, so it cannot be written down


def _training_row_bytes(X):
    return [row.astype(np.float32).tobytes() for row in X]


@pytest.mark.parametrize("fmt", ["pickle", "save"])
def test_the_saved_model_holds_no_training_row_and_no_row_record(forgotten, data, tmp_path, fmt):
    X, y = data
    if fmt == "pickle":
        blob = pickle.dumps(forgotten)
        restored = pickle.loads(blob)
        assert restored.forget_state_.trained_rows is None and restored.forget_state_.guard_rows is None
    else:
        path = save(forgotten, tmp_path / "model.zip")
        with zipfile.ZipFile(path) as archive:
            blob = b"".join(archive.read(name) for name in archive.namelist())
    # Row bytes could only be there as part of a stored row; the in-memory record and guard rows are not.
    found = sum(row in blob for row in _training_row_bytes(X[:200]))
    assert found == 0
    state = forgotten.forget_state_
    assert state.trained_rows is not None and len(state.guard_rows) > 0  # still in memory


def test_a_copy_in_memory_keeps_the_guard_rows(forgotten):
    import copy

    twin = copy.deepcopy(forgotten)
    assert len(twin.forget_state_.guard_rows) == len(forgotten.forget_state_.guard_rows)
