"""Forgetting a whole class with weight filtering (after Poppi et al.) against retraining without it.

    python -m benchmarks.class_forgetting            # digits, SmallCNN and MLP, every class, 3 seeds
    python -m benchmarks.class_forgetting --quick    # a CI-sized run (writes nothing)

Per model and seed: train on sklearn's 8x8 digits (70 % train), learn the class filters once
(``fit_class_filters``), then for every class c score ``predict(X_test, forget_class=c)``: accuracy on
the test rows of class c (-> 0 is forgotten) and on the other classes (-> unchanged). The reference
retrains the same model without class c's rows (for every class). Seconds: filter training (once, all
classes) vs the ten retrains.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_unlearn import SmallCNN, UnlearnableClassifier

from .common import RESULTS, command_line, machine_line, write_report

MODELS = {
    "SmallCNN": {"module": SmallCNN, "batch_size": 32, "max_epochs": 20, "lr": 0.1},
    "MLP 3x100": {"batch_size": 32, "max_epochs": 20, "lr": 0.1},
}


def class_accuracies(predicted: np.ndarray, y: np.ndarray, c) -> tuple[float, float]:
    return float((predicted[y == c] == c).mean()), float((predicted[y != c] == y[y != c]).mean())


def run_once(model_name: str, settings: dict, data, seed: int, classes) -> list[dict]:
    X_train, X_test, y_train, y_test = data
    clf = UnlearnableClassifier(random_state=seed, **settings).fit(X_train, y_train)
    start = time.perf_counter()
    clf.fit_class_filters(X_train, y_train)
    filter_seconds = time.perf_counter() - start
    original = clf.predict(X_test)
    records = []
    for c in classes:
        kept = y_train != c
        start = time.perf_counter()
        retrained = UnlearnableClassifier(random_state=seed, **settings).fit(X_train[kept], y_train[kept])
        retrain_seconds = time.perf_counter() - start
        for method, predicted, seconds in (
            ("original", original, 0.0),
            ("weight filter", clf.predict(X_test, forget_class=c), filter_seconds / len(classes)),
            ("retrain without c", retrained.predict(X_test), retrain_seconds),
        ):
            forgotten, others = class_accuracies(predicted, y_test, c)
            records.append(
                {
                    "model": model_name,
                    "seed": seed,
                    "class": c,
                    "method": method,
                    "forgotten_acc": forgotten,
                    "others_acc": others,
                    "seconds": seconds,
                }
            )
    return records


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby(["model", "method"], sort=False)
    summary = grouped.agg(
        forgotten_mean=("forgotten_acc", "mean"),
        forgotten_max=("forgotten_acc", "max"),
        others_mean=("others_acc", "mean"),
        others_min=("others_acc", "min"),
        seconds=("seconds", "mean"),
    ).reset_index()
    for column in ("forgotten_mean", "forgotten_max", "others_mean", "others_min"):
        summary[column] = (summary[column] * 100).round(1)
    return summary.rename(
        columns={
            "forgotten_mean": "class c acc % (mean)",
            "forgotten_max": "class c acc % (worst)",
            "others_mean": "other classes acc % (mean)",
            "others_min": "other classes acc % (worst)",
            "seconds": "s per class",
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "class_forgetting")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    X, y = load_digits(return_X_y=True)
    data = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    models, classes = MODELS, np.unique(y)
    if args.quick:
        models = {"SmallCNN": {**MODELS["SmallCNN"], "max_epochs": 3}}
        args.seeds, classes = 1, classes[:2]
    records = []
    for name, settings in models.items():
        for seed in range(args.seeds):
            records.extend(run_once(name, settings, data, seed, classes))
        print(f"{name}: done", flush=True)
    frame = pd.DataFrame(records)
    lines = [
        "# Class forgetting on digits: weight filtering vs retraining",
        "",
        f"Command: `{command_line('class_forgetting', argv)}`  ",
        f"Machine: {machine_line()}  ",
        f"{args.seeds} seeds x {len(classes)} classes; accuracies on the test split in %. Weight filter seconds are "
        "the one filter-training round divided by the number of classes it serves.",
        "",
        summarise(frame).to_markdown(index=False, floatfmt=".3g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, "class_forgetting", report, frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
