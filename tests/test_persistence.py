import pickle

import numpy as np
import pytest

from sklearn_unlearn import SmallCNN, UnlearnableClassifier
from sklearn_unlearn.persistence import TRUSTED_TYPES

sio = pytest.importorskip("skops.io")


@pytest.fixture
def forgotten(data):
    X, y = data
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(16, 16), max_epochs=5, random_state=0).fit(X, y)
    return clf.forget(X[:10], y[:10])


def _same_and_still_forgets(loaded, original, X, y):
    np.testing.assert_allclose(loaded.predict_proba(X), original.predict_proba(X), atol=1e-6)
    assert loaded.forget_log_ == original.forget_log_ and loaded.n_train_ == original.n_train_
    assert loaded.training_trace_.n_steps == original.training_trace_.n_steps
    loaded.forget(X[10:15], y[10:15])  # the cache and fingerprints came along
    original.forget(X[10:15], y[10:15])
    np.testing.assert_allclose(loaded.predict_proba(X), original.predict_proba(X), atol=1e-6)
    with pytest.raises(ValueError, match="never trained on"):
        loaded.forget(X[:3], y[:3])  # already forgotten


def test_pickle_after_forget(forgotten, data):
    X, y = data
    _same_and_still_forgets(pickle.loads(pickle.dumps(forgotten)), forgotten, X, y)


def test_skops_after_forget_with_the_documented_trusted_types(forgotten, data, tmp_path):
    X, y = data
    path = tmp_path / "model.skops"
    sio.dump(forgotten, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)  # nothing is trusted by default
    _same_and_still_forgets(sio.load(path, trusted=TRUSTED_TYPES), forgotten, X, y)


def test_skops_keeps_class_filters(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = UnlearnableClassifier(module=SmallCNN, max_epochs=2, batch_size=64, random_state=0).fit(X / 16, y)
    clf.fit_class_filters(X / 16, y, epochs=1)
    sio.dump(clf, tmp_path / "cnn.skops")
    loaded = sio.load(tmp_path / "cnn.skops", trusted=TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict(X / 16, forget_class=3), clf.predict(X / 16, forget_class=3))
