"""The research tools measured: single-gradient unlearning, SD loss, failure-driven repair.

    python -m benchmarks.research_tools           # writes results/research_tools/research_tools.md and .csv
    python -m benchmarks.research_tools --quick   # a smaller run (writes nothing)

Three small experiments, each on data that takes seconds (one torch thread):

1. Single-gradient unlearning (Thudi et al.) on a 1,024-row binary task (an MLP, plain SGD, batch 64, no
   BatchNorm): the verification error (weight distance to a model retrained without the first 64 rows,
   same initial weights) of doing nothing and of the single-gradient step, after 1 and 20 epochs, with the
   unlearning-error proxy that is meant to tell the two regimes apart.
2. SD loss (Thudi et al.) at λ = 0, 1, 10 on the same task (10 epochs): weight drift, unlearning error and
   training accuracy.
3. Failure-driven repair (Tanno et al.) on sklearn's digits with half the training 1s relabelled 7
   (1×64 MLP): how well each cause ranking finds the flipped rows, and what each treatment does to the
   failures and to test accuracy when the top-ranked causes (as many as were flipped) are treated.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.metrics import unlearning_error, verification_error, weight_drift
from sklearn_unlearn.research import SDLoss, identify_causes, repair

from .common import RESULTS, markdown, report_header, write_report

PLAIN_SGD = {"lr": 0.1, "batch_size": 64, "module__batch_norm": False, "random_state": 0}


def single_gradient(X: np.ndarray, y: np.ndarray, epochs: tuple[int, ...]) -> list[dict]:
    rows = []
    for n_epochs in epochs:
        settings = {"max_epochs": n_epochs, **PLAIN_SGD}
        trained = UnlearnableClassifier(**settings).fit(X, y)
        retrained = UnlearnableClassifier(**settings).fit(X[64:], y[64:])  # the same initial weights
        unlearned = copy.deepcopy(trained).set_params(forget_method="single_gradient")
        unlearned.forget(X[:64], y[:64], guard=False)  # the step as published
        rows.append(
            {
                "experiment": "single-gradient",
                "setting": f"{n_epochs} epoch(s)",
                "verification error, nothing": verification_error(trained, retrained),
                "verification error, single-gradient": verification_error(unlearned, retrained),
                "unlearning error": unlearning_error(trained, X, y),
            }
        )
    return rows


def sd_loss(X: np.ndarray, y: np.ndarray, lams: tuple[float, ...], epochs: int) -> list[dict]:
    rows = []
    for lam in lams:
        settings = {"max_epochs": epochs, "lr": 0.1, "batch_size": 64, "random_state": 0}
        clf = UnlearnableClassifier(criterion=SDLoss, criterion__lam=lam, **settings).fit(X, y)
        rows.append(
            {
                "experiment": "SD loss",
                "setting": f"lambda {lam:g}, {epochs} epochs",
                "weight drift": weight_drift(clf),
                "unlearning error": unlearning_error(clf, X, y),
                "train accuracy %": 100 * clf.score(X, y),
            }
        )
    return rows


def failure_repair(epochs: int) -> list[dict]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    rng = np.random.default_rng(0)
    ones = np.flatnonzero(y_train == 1)
    flipped = np.zeros(len(y_train), dtype=bool)
    flipped[rng.choice(ones, len(ones) // 2, replace=False)] = True
    y_noisy = np.where(flipped, 7, y_train)
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(64,), max_epochs=epochs, lr=0.1, random_state=0)
    clf.fit(X_train, y_noisy)
    fail = np.isin(y_test, [1, 7]) & (clf.predict(X_test) != y_test)
    base_test = clf.score(X_test, y_test)
    rows = []
    for method in ("ewc", "influence"):
        causes = identify_causes(clf, X_train, y_noisy, X_test[fail], y_test[fail], method=method)
        rows.append(
            {
                "experiment": "repair: causes",
                "setting": method,
                "failures": int(fail.sum()),
                "flipped rows": int(flipped.sum()),
                "ranking AUC": roc_auc_score(flipped, causes.scores),
                "rows with r(z) > 0": int(causes.mask.sum()),
                "training rows": len(y_train),
            }
        )
    for treatment in ("newton", "finetune", "forget"):
        repaired = repair(
            copy.deepcopy(clf), X_train, y_noisy, X_test[fail], y_test[fail], treatment=treatment, top_k=flipped.sum()
        )
        rows.append(
            {
                "experiment": "repair: treatment",
                "setting": treatment,
                "failures": int(fail.sum()),
                "failure-set accuracy % before": 100 * clf.score(X_test[fail], y_test[fail]),
                "failure-set accuracy % after": 100 * repaired.score(X_test[fail], y_test[fail]),
                "test accuracy % before": 100 * base_test,
                "Δtest pt": 100 * (repaired.score(X_test, y_test) - base_test),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer epochs; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "research_tools")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = make_classification(1024, n_features=20, random_state=0)
    epochs = (1, 3) if args.quick else (1, 20)
    frames = [
        pd.DataFrame(single_gradient(X, y, epochs)),
        pd.DataFrame(sd_loss(X, y, (0.0, 1.0, 10.0), 3 if args.quick else 10)),
    ]
    repair_rows = failure_repair(5 if args.quick else 40)
    frames += [
        pd.DataFrame([r for r in repair_rows if r["experiment"] == kind])
        for kind in ("repair: causes", "repair: treatment")
    ]
    titles = [
        "## Single-gradient unlearning (1,024 rows, MLP, plain SGD, first 64 rows forgotten)",
        "## SD loss (the same task)",
        "## Failure-driven repair, causes (digits, 1×64 MLP, half the training 1s relabelled 7)",
        "## Failure-driven repair, treatments (top-ranked causes, as many as were flipped, by ewc)",
    ]
    lines = report_header("The research tools, measured", "research_tools", argv)
    for title, frame in zip(titles, frames, strict=True):
        lines += [title, "", markdown(frame.dropna(axis=1, how="all")), ""]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, "research_tools", report, pd.concat(frames, ignore_index=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
