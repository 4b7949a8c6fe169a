import numpy as np

from sklearn_unlearn import EpochProgress, UnlearnableClassifier


def _rows(n=10_000):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] > 0).astype(int)


def test_verbose_shows_epochs_and_importance_bar_silent_otherwise(capsys):
    X, y = _rows()
    settings = {"module__hidden_layer_sizes": (8,), "max_epochs": 1, "batch_size": 512, "random_state": 0}
    UnlearnableClassifier(verbose=0, **settings).fit(X, y).forget(X[:10], y[:10])
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    UnlearnableClassifier(verbose=1, **settings).fit(X, y)
    loud = capsys.readouterr()
    assert "train_loss" in loud.out and "importances" in loud.err


def test_epoch_progress_callback_counts_epochs(capsys):
    X, y = _rows(500)
    clf = UnlearnableClassifier(max_epochs=3, callbacks=[EpochProgress(desc="fit")], random_state=0).fit(X, y)
    assert "fit" in capsys.readouterr().err
    assert clf.forget(X[:5], y[:5]).n_train_ == 495
