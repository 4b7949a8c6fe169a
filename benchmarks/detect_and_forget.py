"""Find label errors and forget them, against the alternatives, on DataCo-shaped data.

    python -m benchmarks.detect_and_forget            # real 6k sample + 125k synthetic rows, 2.5 % and 10 %, 5 seeds
    python -m benchmarks.detect_and_forget --quick    # a small CI-sized run (writes nothing)

For each dataset, error rate and seed, from the same noisy labels:

- baseline: the MLP trained on the noisy labels;
- detect + forget (default): ``make_pipeline(CleanlabDetector(), UnlearnableClassifier())`` (HistGradientBoosting
  judges the labels out of fold, the MLP is trained on all rows, then the default forget — the relabel
  stage, guarded — forgets the flagged rows);
- detect + fine-tune: the same with ``forget_method="finetune"`` (one more epoch on the unflagged rows);
- detect + drop: the same pipeline with ``detected="drop"`` (the MLP is trained without the flagged rows);
- CleanLearning: cleanlab's ``CleanLearning`` with the same MLP (5-fold MLP probabilities, refit on the rest);
- oracle retrain: the MLP trained without the injected errors (knows which rows are wrong).

Reports test accuracy, the detector's precision and recall on the injected errors, and wall seconds
(everything each approach does, from the raw noisy rows). Targets: detect + forget takes
<= 1/5 of CleanLearning's time and loses no test accuracy against the baseline (mean over seeds).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import torch
from cleanlab.classification import CleanLearning

from sklearn_unlearn import CleanlabDetector, UnlearnableClassifier, make_pipeline
from sklearn_unlearn.datasets import inject_label_noise, load_supply_chain

from .common import RESULTS, add_data_dir, command_line, load_real, machine_line, timed, write_report

PIPELINES = [  # (method, detected, forget_method)
    ("detect + forget (default)", "forget", "assd"),
    ("detect + fine-tune", "forget", "finetune"),
    ("detect + drop", "drop", "assd"),
]


def network(settings: dict, seed: int) -> UnlearnableClassifier:
    return UnlearnableClassifier(
        module__hidden_layer_sizes=settings["hidden"],
        max_epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=0.05,
        random_state=seed,
    )


def run_once(task, rate: float, seed: int, settings: dict) -> list[dict]:
    X, X_test, y_test = task.X_train, task.X_test, task.y_test
    y_noisy, wrong = inject_label_noise(task.y_train, rate, random_state=seed)
    rows = []

    def record(method, model, seconds, flagged=None):
        row = {"method": method, "test_acc": model.score(X_test, y_test), "seconds": seconds}
        if flagged is not None:
            hits = (flagged & wrong).sum()
            row.update(flagged=int(flagged.sum()), recall=hits / wrong.sum(), precision=hits / max(flagged.sum(), 1))
        rows.append(row)

    baseline, seconds = timed(lambda: network(settings, seed).fit(X, y_noisy))
    record("baseline", baseline, seconds)
    for method, detected, forget_method in PIPELINES:
        net = network(settings, seed).set_params(forget_method=forget_method)
        pipe = make_pipeline(CleanlabDetector(cv=5, random_state=seed), net, detected=detected)
        _, seconds = timed(lambda pipe=pipe: pipe.fit(X, y_noisy))
        record(method, pipe, seconds, pipe.label_issues_)
    cleaner = CleanLearning(network(settings, seed), seed=seed, cv_n_folds=5, find_label_issues_kwargs={"n_jobs": 1})
    _, seconds = timed(lambda: cleaner.fit(X, labels=y_noisy))
    record("CleanLearning", cleaner, seconds, cleaner.label_issues_df["is_label_issue"].to_numpy())
    oracle, seconds = timed(lambda: network(settings, seed).fit(X[~wrong], y_noisy[~wrong]))
    record("oracle retrain", oracle, seconds)
    for row in rows:
        row.update(rate=rate, seed=seed, n_errors=int(wrong.sum()), n_train=len(X))
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    # Cost beyond the plain fit: what detection and forgetting add to training the baseline.
    baseline_seconds = frame[frame.method == "baseline"].set_index(["dataset", "rate", "seed"]).seconds
    keys = pd.MultiIndex.from_frame(frame[["dataset", "rate", "seed"]])
    frame["extra_seconds"] = frame.seconds.to_numpy() - baseline_seconds.reindex(keys).to_numpy()
    stats = frame.groupby(["dataset", "rate", "method"], sort=False).agg(
        test_acc=("test_acc", "mean"),
        test_acc_std=("test_acc", "std"),
        recall=("recall", "mean"),
        precision=("precision", "mean"),
        flagged=("flagged", "mean"),
        seconds=("seconds", "median"),
        extra_seconds=("extra_seconds", "median"),
        seeds=("seed", "nunique"),
    )
    return stats.reset_index()


def verdicts(summary: pd.DataFrame) -> list[str]:
    lines = []
    for (dataset, rate), block in summary.groupby(["dataset", "rate"], sort=False):
        by = block.set_index("method")
        first = PIPELINES[0][0]
        lines.append(
            f"- {dataset}, {rate:.1%} errors: detector recall {by.loc[first, 'recall']:.2f}, "
            f"precision {by.loc[first, 'precision']:.2f} ({by.loc[first, 'flagged']:.0f} rows flagged)."
        )
        cleanlearning = by.loc["CleanLearning", "seconds"]
        for method, _, _ in PIPELINES:
            ratio = by.loc[method, "seconds"] / cleanlearning
            extra = by.loc[method, "extra_seconds"] / cleanlearning
            gain = by.loc[method, "test_acc"] - by.loc["baseline", "test_acc"]
            lines.append(
                f"  - {method}: {ratio:.1%} of CleanLearning's time ({'met' if ratio <= 0.2 else 'NOT met'}, "
                f"target <= 20 %; beyond the baseline fit {extra:.1%}); test accuracy vs baseline "
                f"{gain * 100:+.2f} pt ({'met' if gain >= 0 else 'NOT met'}, target >= 0)."
            )
    return lines


def report(records: pd.DataFrame, command: str, settings_line: str) -> str:
    summary = summarise(records)
    lines = [
        "# Detect and forget",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine_line()}  ",
        f"Models: {settings_line}; detector: CleanlabDetector() (HistGradientBoosting, 5 folds).  ",
        "Accuracy: mean over seeds; seconds: median over seeds, everything from the raw noisy rows; "
        "extra_seconds: seconds minus the baseline fit of the same seed.",
        "",
        summary.to_markdown(index=False, floatfmt=".4g"),
        "",
        *verdicts(summary),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.025, 0.10])
    parser.add_argument("--synthetic-rows", type=int, default=125_000, help="before the 80/20 split (0: none)")
    add_data_dir(parser)
    parser.add_argument("--quick", action="store_true", help="small CI-sized run; writes nothing")
    parser.add_argument("--report", action="store_true", help="only re-make the Markdown from the saved CSV")
    parser.add_argument("--out", type=Path, default=RESULTS / "detect_and_forget")
    args = parser.parse_args(argv)
    if args.report:
        records = pd.read_csv(args.out / "detect_and_forget.csv")
        settings_line = ", ".join(
            f"{name}: MLP {group.model.iloc[0]}, {group.epochs.iloc[0]} epochs"
            for name, group in records.groupby("dataset", sort=False)
        )
        text = report(records, "python -m benchmarks.detect_and_forget (table re-made with --report)", settings_line)
        print(text)
        write_report(args.out, "detect_and_forget", text)
        return 0
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    real = {"hidden": (100, 100, 100), "epochs": 25, "batch_size": 128}
    synthetic = {"hidden": (100, 100, 100), "epochs": 10, "batch_size": 256}
    datasets = []
    if args.quick:
        args.seeds, args.rates = 1, [0.1]
        small = {"hidden": (32, 32), "epochs": 3, "batch_size": 128}
        datasets.append(("synthetic 3k", lambda: load_supply_chain(3000, random_state=0), small))
    else:
        datasets.append(("DataCo real", lambda: load_real(args.data_dir, features="paper"), real))
        n = args.synthetic_rows
        if n:  # 0: the real sample only
            datasets.append((f"synthetic {n // 1000}k", lambda: load_supply_chain(n, random_state=0), synthetic))

    records = []
    for name, load, settings in datasets:
        task = load()
        for rate in args.rates:
            for seed in range(args.seeds):
                for row in run_once(task, rate, seed, settings):
                    row.update(dataset=name, model="x".join(map(str, settings["hidden"])), epochs=settings["epochs"])
                    records.append(row)
                print(f"{name} rate {rate:.1%} seed {seed}: done", flush=True)
                if not args.quick:
                    args.out.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(records).to_csv(args.out / "detect_and_forget.csv", index=False)

    settings_line = ", ".join(
        f"{name}: MLP {'x'.join(map(str, s['hidden']))}, {s['epochs']} epochs, batch {s['batch_size']}"
        for name, _, s in datasets
    )
    text = report(pd.DataFrame(records), command_line("detect_and_forget", argv), settings_line)
    print(text)
    if not args.quick:
        write_report(args.out, "detect_and_forget", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
