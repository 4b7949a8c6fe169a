"""Forgetting mislabelled rows, judged by accuracy and membership inference, on DataCo and digits.

    python -m benchmarks.mia            # DataCo 6k sample (3x100 MLP) + digits (SmallCNN), 2.5 % and 10 %, 5 seeds
    python -m benchmarks.mia --quick    # a CI-sized run (writes nothing)

For each dataset, error rate and seed: relabel that share of the training rows uniformly to another
class, train the model on them (baseline), then forget the relabelled rows with the package default
(a path-gradient step, then ASSD, each guarded), with the ASSD rule alone and unguarded (per-sample
importances from the cache), and by retraining without them (the reference). Reports
test accuracy, accuracy on the forgotten rows against the wrong labels they were trained with
(lower = forgotten), and the SSD code's MIA (share of forgotten rows an entropy-based attacker
calls "member"; the ideal is the retrained model's value), mean ± std over seeds.

Models: DataCo, paper features, the paper's 3x100 Linear-BatchNorm-ReLU MLP (batch 1024, 25 epochs,
lr 0.1, lr x 0.95 per epoch); digits (sklearn's 8x8, 30 % test), SmallCNN (batch 32, 30 epochs, lr 0.1
annealed to 0, cosine).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import pandas as pd
import torch

from sklearn_unlearn import ASSD
from sklearn_unlearn.datasets import inject_label_noise
from sklearn_unlearn.metrics import forget_report

from .common import RESULTS, command_line, machine_line, timed, write_report
from .tasks import dataco_data, digits_data

DATASETS = {"DataCo": dataco_data, "digits": digits_data}


def run_once(name, data, rate: float, seed: int) -> list[dict]:
    X_train, y_train, X_test, y_test, model = data
    y_noisy, _, chosen = inject_label_noise(y_train, rate, random_state=seed, return_selected=True)
    X_f, y_f, X_r, y_r = X_train[chosen], y_noisy[chosen], X_train[~chosen], y_noisy[~chosen]
    models = {"baseline": timed(lambda: model(seed).fit(X_train, y_noisy))}
    plans = (
        ("default", "assd", {}, True),
        ("ASSD rule alone, unguarded", ASSD(mode="rule"), {}, False),
        ("retrain", "retrain", {"X_retain": X_r, "y_retain": y_r}, True),
    )
    for label, method, retain, guard in plans:
        clone = copy.deepcopy(models["baseline"][0]).set_params(forget_method=method)
        models[label] = timed(
            lambda clone=clone, retain=retain, guard=guard: clone.forget(X_f, y_f, guard=guard, **retain)
        )
    records = []
    for method, (clf, seconds) in models.items():
        report = forget_report(clf, X_r, y_r, X_f, y_f, X_test, y_test)
        records.append({"dataset": name, "rate": rate, "seed": seed, "method": method, "seconds": seconds, **report})
    return records


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    def mean_std(values: pd.Series) -> str:
        return (
            f"{values.mean() * 100:.1f} ± {values.std(ddof=1) * 100:.1f}"
            if len(values) > 1
            else f"{values.mean() * 100:.1f}"
        )

    grouped = frame.groupby(["dataset", "rate", "method"], sort=False)
    summary = grouped.agg(
        test=("test_accuracy", mean_std),
        forget=("forget_accuracy", mean_std),
        mia=("mia", mean_std),
        seconds=("seconds", "mean"),
    ).reset_index()
    summary["rate"] = summary["rate"].map(lambda r: f"{r:.1%}")
    return summary.rename(columns={"test": "test acc %", "forget": "forget acc %", "mia": "MIA %", "seconds": "s"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--rates", type=float, nargs="+", default=[0.025, 0.1])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "mia")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    if args.quick:
        args.rates, args.seeds = [0.1], 2
    records = []
    for name in args.datasets:
        data = DATASETS[name](args.quick)
        for rate in args.rates:
            for seed in range(args.seeds):
                records.extend(run_once(name, data, rate, seed))
            print(f"{name} {rate:.1%}: done", flush=True)
    frame = pd.DataFrame(records)
    lines = [
        "# Forgetting mislabelled rows: accuracy and membership inference",
        "",
        f"Command: `{command_line('mia', argv)}`  ",
        f"Machine: {machine_line()}  ",
        f"{args.seeds} seeds; mean ± std in %. forget acc = agreement with the wrong labels of the forgotten rows "
        "(lower = forgotten); MIA = share of forgotten rows the entropy attacker calls member (ideal: retrain's "
        "value); s = seconds of fit (baseline) or of the forget call.",
        "",
        summarise(frame).to_markdown(index=False, floatfmt=".3g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, "mia", report, frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
