"""The data sets and models every benchmark draws on: one place, so a figure names one recipe.

* ``SIZES``, ``RATES``, ``paper_mlp`` — the ASSD paper's DataCo MLPs and error rates;
* ``dataco_data`` / ``digits_data`` — rows and a model factory (used by ``mia``);
* ``Task`` and ``load_task`` — the data sets of ``beyond``: the paper's, and models of ours
  it was not tuned on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_classification, make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR

from sklearn_unlearn import SmallCNN, UnlearnableClassifier, UnlearnableRegressor
from sklearn_unlearn.datasets import load_dataco, load_supply_chain

from .common import load_real

SIZES = {"2x50": (50, 50), "3x100": (100,) * 3, "5x250": (250,) * 5}
RATES = [0.0025, 0.01, 0.025, 0.05, 0.075, 0.10]


def paper_mlp(hidden, lr, weight_decay, epochs, seed):
    return UnlearnableClassifier(
        module__hidden_layer_sizes=hidden,
        max_epochs=epochs,
        lr=lr,
        optimizer__weight_decay=weight_decay,
        batch_size=1024,
        callbacks=[("lr_decay", LRScheduler(policy=ExponentialLR, gamma=0.95))],
        random_state=seed,
    )


def dataco_data(quick: bool):
    task = load_supply_chain(3000, random_state=0) if quick else load_dataco()

    def model(seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(100,) * 3,
            max_epochs=5 if quick else 25,
            lr=0.1,
            batch_size=1024,
            callbacks=[("lr_decay", LRScheduler(policy=ExponentialLR, gamma=0.95))],
            random_state=seed,
        )

    return task.X_train, task.y_train, task.X_test, task.y_test, model


def digits_data(quick: bool):
    """sklearn's 8x8 digits (30 % test), SmallCNN, plain SGD lr 0.1 annealed to 0 (cosine) over 30 epochs.

    The annealing makes the baseline stable (98.7 ± 0.2 % over 5 seeds, against 95 ± 9 % for a
    constant lr 0.1, whose last BatchNorm statistics can land badly).
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    epochs = 3 if quick else 30

    def model(seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module=SmallCNN,
            lr=0.1,
            max_epochs=epochs,
            batch_size=32,
            callbacks=[("lr_schedule", LRScheduler(policy=CosineAnnealingLR, T_max=epochs))],
            random_state=seed,
        )

    return X_train, y_train, X_test, y_test, model


MakeModel = Callable[[str, int], UnlearnableClassifier]


@dataclass
class Task:
    """Rows, a model factory ``make(size, seed)`` and the model sizes to run."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    make: MakeModel
    sizes: list[str]
    about: str
    regression: bool = False


def dataco(real: bool, synthetic_rows: int, quick: bool, data_dir=None) -> Task:
    """The paper's MLPs (Linear-BatchNorm-ReLU, SGD lr 0.1 x 0.95 per epoch, batch 1024, 25 epochs)."""
    if real and not quick:
        task, about = load_real(data_dir, features="paper"), "DataCo, real sample"
    else:
        rows = 3000 if quick else synthetic_rows
        task, about = load_supply_chain(rows, random_state=0, features="paper"), f"synthetic DataCo-like, {rows:,} rows"
    epochs = 5 if quick else 25

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return paper_mlp(SIZES[size], 0.1, 0.0, epochs, seed)

    return Task(task.X_train, task.y_train, task.X_test, task.y_test, make, list(SIZES), about)


def digits_cnn(quick: bool) -> Task:
    """sklearn's 8x8 digits with SmallCNN, as ``benchmarks.mia`` trains it (lr 0.1 annealed over 30 epochs)."""
    X_tr, y_tr, X_te, y_te, model = digits_data(quick)

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return model(seed)

    return Task(X_tr, y_tr, X_te, y_te, make, ["SmallCNN"], "digits 8x8, SmallCNN")


def cancer_wide(quick: bool) -> Task:
    """Ours: breast-cancer (569 rows, 30 % test), a wide 2x512 MLP, SGD with momentum, 150 epochs: it memorises."""
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    epochs = 10 if quick else 150

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(512, 512),
            lr=0.01,
            optimizer__momentum=0.9,
            max_epochs=epochs,
            batch_size=32,
            random_state=seed,
        )

    X_tr, X_te = scaler.transform(X_tr).astype(np.float32), scaler.transform(X_te).astype(np.float32)
    return Task(X_tr, y_tr, X_te, y_te, make, ["2x512"], "breast cancer, wide MLP, SGD + momentum")


def adam_mlp(quick: bool) -> Task:
    """Ours: 25,000 rows of make_classification (4 classes, 30 features), a 4x256 MLP trained with Adam, 40 epochs."""
    n = 4000 if quick else 25_000
    X, y = make_classification(
        n, n_features=30, n_informative=12, n_redundant=6, n_classes=4, class_sep=1.2, random_state=7
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=0)
    epochs = 5 if quick else 40

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(256,) * 4,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=256,
            random_state=seed,
        )

    return Task(X_tr, y_tr, X_te, y_te, make, ["4x256"], f"make_classification {n:,} rows, 4x256 MLP, Adam")


def wide_digits(quick: bool) -> Task:
    """Ours, never used to choose a rule: sklearn's digits as flat rows, a 1x1024 MLP, Adam, 60 epochs."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16, y, test_size=0.3, random_state=1, stratify=y)
    epochs = 5 if quick else 60

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(1024,),
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=64,
            random_state=seed,
        )

    X_tr, X_te = X_tr.astype(np.float32), X_te.astype(np.float32)
    return Task(X_tr, y_tr, X_te, y_te, make, ["1x1024"], "digits as rows, wide MLP, Adam")


def wide_5class(quick: bool) -> Task:
    """Ours, never used to choose a rule: 10,000 make_classification rows, 5 classes, a 3x512 MLP, SGD + momentum."""
    n = 3000 if quick else 10_000
    X, y = make_classification(n, n_features=40, n_informative=20, n_classes=5, class_sep=0.8, random_state=11)
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0)
    epochs = 5 if quick else 60

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(512,) * 3,
            lr=0.01,
            optimizer__momentum=0.9,
            max_epochs=epochs,
            batch_size=128,
            random_state=seed,
        )

    return Task(X_tr, y_tr, X_te, y_te, make, ["3x512"], f"make_classification {n:,} rows, 5 classes, 3x512, momentum")


def wide_8class(quick: bool) -> Task:
    """Ours, added after the between-rows check was chosen and never used to choose anything: 12,000
    make_classification rows, 8 classes, a 2x1024 MLP, Adam, 40 epochs."""
    n = 3000 if quick else 12_000
    X, y = make_classification(
        n, n_features=24, n_informative=16, n_classes=8, n_clusters_per_class=1, class_sep=1.0, random_state=23
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0)
    epochs = 5 if quick else 40

    def make(size: str, seed: int) -> UnlearnableClassifier:
        return UnlearnableClassifier(
            module__hidden_layer_sizes=(1024, 1024),
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=64,
            random_state=seed,
        )

    return Task(X_tr, y_tr, X_te, y_te, make, ["2x1024"], f"make_classification {n:,} rows, 8 classes, 2x1024, Adam")


def real_days(quick: bool, data_dir=None) -> Task:
    """The DataCo sample's delay in days (a regression), the paper's MLP shapes as regressors."""
    task = (
        load_dataco(features="paper", target="delay_days")
        if data_dir is None
        else load_real(data_dir, target="delay_days")
    )
    epochs = 5 if quick else 40

    def make(size: str, seed: int) -> UnlearnableRegressor:
        return UnlearnableRegressor(
            module__hidden_layer_sizes=SIZES[size],
            max_epochs=epochs,
            lr=0.01,
            optimizer__momentum=0.9,
            batch_size=128,
            callbacks=[("lr_decay", LRScheduler(policy=ExponentialLR, gamma=0.95))],
            random_state=seed,
        )

    sizes = ["2x50"] if quick else ["3x100", "5x250"]
    return Task(task.X_train, task.y_train, task.X_test, task.y_test, make, sizes, "DataCo, delay in days", True)


def friedman(quick: bool) -> Task:
    """Ours: make_friedman1 (6,000 rows, noise 1), a 3x256 MLP trained with Adam for 100 epochs."""
    n = 1500 if quick else 6000
    X, y = make_friedman1(n, noise=1.0, random_state=3)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X.astype(np.float32), y.astype(np.float32), test_size=0.25, random_state=0
    )
    epochs = 5 if quick else 100

    def make(size: str, seed: int) -> UnlearnableRegressor:
        return UnlearnableRegressor(
            module__hidden_layer_sizes=(256,) * 3,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=64,
            random_state=seed,
        )

    return Task(X_tr, y_tr, X_te, y_te, make, ["3x256"], f"make_friedman1, {n:,} rows, 3x256, Adam", True)


def load_task(name: str, synthetic_rows: int, quick: bool, data_dir=None) -> Task:
    if name in ("real", "synthetic"):
        return dataco(name == "real", synthetic_rows, quick, data_dir)
    if name == "real_days":
        return real_days(quick, data_dir)
    builders = {
        "digits": digits_cnn,
        "cancer": cancer_wide,
        "adam": adam_mlp,
        "wide_digits": wide_digits,
        "wide_5class": wide_5class,
        "wide_8class": wide_8class,
        "friedman": friedman,
    }
    return builders[name](quick)


TASKS = (
    "real",
    "synthetic",
    "digits",
    "cancer",
    "adam",
    "wide_digits",
    "wide_5class",
    "wide_8class",
    "real_days",
    "friedman",
)
REGRESSION_TASKS = ("real_days", "friedman")
