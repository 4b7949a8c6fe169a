"""Exact deletion with ShardedClassifier (SISA): accuracy and the cost of deletion requests against a full retrain.

    python -m benchmarks.exact_deletion --data real         # the DataCo sample shipped with the package
    python -m benchmarks.exact_deletion --data synthetic    # 225k synthetic DataCo-like rows (180k to train)
    python -m benchmarks.exact_deletion --quick             # a CI-sized run (writes nothing)

For n_shards in {1, 4, 8, 16} and n_slices in {1, 4}: test accuracy of the ensemble (n_shards=1,
n_slices=1 is one model on all rows, the reference), the seconds of a full fit (what a full retrain
of the same ensemble costs), of one single-row deletion (the median over the stream's requests),
of a stream of single-row requests (``--stream``, 100 by default) and of one batch of 1 % of the
rows. A stream whose requests would take longer than ``--stream-budget`` seconds in all is
stopped there and its total extrapolated from the requests done; the table says so.

Each shard is an UnlearnableClassifier. With slices, each training stage runs
``max_epochs / n_slices`` epochs (rounded up), so a fit trains about as many epochs as without.
One torch thread, one job at a time.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import ExponentialLR

from sklearn_unlearn import ShardedClassifier, UnlearnableClassifier

from .common import RESULTS, add_data_dir, markdown, report_header, timed, write_report
from .tasks import load_task

SHARDS = [1, 4, 8, 16]
SLICES = [1, 4]
MODELS = {  # data: (hidden layers, epochs, batch size)
    "real": ((100, 100, 100), 25, 128),
    "synthetic": ((50, 50), 10, 512),
    "quick": ((16,), 3, 128),
}


def shard_model(data: str, n_slices: int, seed: int) -> UnlearnableClassifier:
    hidden, epochs, batch = MODELS[data]
    return UnlearnableClassifier(
        module__hidden_layer_sizes=hidden,
        max_epochs=math.ceil(epochs / n_slices),
        lr=0.1,
        batch_size=batch,
        device="cpu",
        callbacks=[("lr_decay", LRScheduler(policy=ExponentialLR, gamma=0.95))],
        random_state=seed,
    )


def run_config(task, data: str, n_shards: int, n_slices: int, stream: int, budget: float, seed: int) -> dict:
    X, y = task.X_train, task.y_train
    ensemble = ShardedClassifier(
        shard_model(data, n_slices, seed), n_shards=n_shards, n_slices=n_slices, random_state=seed
    )
    _, fit_seconds = timed(lambda: ensemble.fit(X, y))
    accuracy = ensemble.score(task.X_test, task.y_test)
    order = np.random.default_rng(seed).permutation(len(X))
    requests, seconds, spent = order[:stream], [], 0.0
    for row in requests:
        _, took = timed(lambda row=row: ensemble.forget(X[row : row + 1], y[row : row + 1]))
        seconds.append(took)
        spent += took
        if spent > budget:
            break
    done = len(seconds)
    batch = order[stream : stream + max(1, len(X) // 100)]
    _, batch_seconds = timed(lambda: ensemble.forget(X[batch], y[batch]))
    return {
        "n_shards": n_shards,
        "n_slices": n_slices,
        "test_acc": accuracy,
        "fit_s": fit_seconds,
        "one_deletion_s": float(np.median(seconds)),
        "stream_s": spent * stream / done,
        "stream_requests": stream,
        "stream_measured": done,
        "batch_1pct_s": batch_seconds,
        "n_train": len(X),
    }


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    reference = frame[(frame.n_shards == 1) & (frame.n_slices == 1)].iloc[0]
    table = frame.copy()
    table["Δacc pt vs one model"] = (table.test_acc - reference.test_acc) * 100
    table["one deletion: speed-up vs full retrain"] = table.fit_s / table.one_deletion_s
    table["stream: speed-up vs a retrain per request"] = table.fit_s * table.stream_requests / table.stream_s
    table["1 % batch: speed-up vs full retrain"] = table.fit_s / table.batch_1pct_s
    table["test_acc"] *= 100
    table["stream"] = [
        f"{n} requests" + ("" if m == n else f" (extrapolated from {m})")
        for n, m in zip(table.stream_requests, table.stream_measured, strict=True)
    ]
    columns = [
        "n_shards",
        "n_slices",
        "test_acc",
        "Δacc pt vs one model",
        "fit_s",
        "one_deletion_s",
        "one deletion: speed-up vs full retrain",
        "stream_s",
        "stream",
        "stream: speed-up vs a retrain per request",
        "batch_1pct_s",
        "1 % batch: speed-up vs full retrain",
    ]
    return table[columns]


def plot(tables: dict[str, pd.DataFrame], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        for n_slices, marker in zip(SLICES, ("o", "s"), strict=False):
            part = table[table.n_slices == n_slices]
            ax.plot(part["one deletion: speed-up vs full retrain"], part["Δacc pt vs one model"], marker=marker,
                    label=f"{n_slices} slice{'s' if n_slices > 1 else ''}")  # fmt: skip
            for _, row in part.iterrows():
                ax.annotate(f"{row.n_shards} shard{'s' if row.n_shards > 1 else ''}", (row["one deletion: speed-up vs full retrain"],
                            row["Δacc pt vs one model"]), xytext=(4, 4), textcoords="offset points", fontsize=8)  # fmt: skip
        ax.axhline(0, color="#999999", linewidth=0.8, linestyle=":")
        ax.axvline(4, color="#c0392b", linewidth=0.8, linestyle="--", label="4× (goal)")
        ax.set_xscale("log")
        speedups = table["one deletion: speed-up vs full retrain"]
        ax.set_xlim(speedups.min() / 1.3, speedups.max() * 1.6)  # room for the labels
        ax.set_xticks([t for t in (1, 2, 4, 8, 16, 32, 64) if speedups.min() / 1.3 <= t <= speedups.max() * 1.6])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("one-row deletion: speed-up over retraining the ensemble")
        ax.set_ylabel("test accuracy − one model on all rows (pt)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("ShardedClassifier: accuracy against the speed of one deletion", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["real", "synthetic"], default="real")
    parser.add_argument("--synthetic-rows", type=int, default=225_000, help="80 %% train, 20 %% test")
    parser.add_argument("--stream", type=int, default=100, help="single-row requests in the stream")
    parser.add_argument("--stream-budget", type=float, default=600.0, help="seconds before a stream is extrapolated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "exact_deletion")
    parser.add_argument("--render", action="store_true", help="rewrite the report and plot from saved CSVs")
    add_data_dir(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.render:  # the header names the run that measured, not this rewrite
        run_argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--render"]
        render_saved(args.out, args.data, run_argv)
        tables = {name: summarise(pd.read_csv(args.out / f"{name}.csv")) for name in ("real", "synthetic")
                  if (args.out / f"{name}.csv").exists()}  # fmt: skip
        plot(tables, args.out / "tradeoff.png")
        return 0
    shards, slices = (SHARDS, SLICES) if not args.quick else ([1, 2], [1, 2])
    stream = 3 if args.quick else args.stream
    task = load_task(args.data, args.synthetic_rows, args.quick, args.data_dir)
    model = "quick" if args.quick else args.data
    # torch's first calls cost more than later ones: spend them outside the timings.
    ShardedClassifier(shard_model("quick", 1, 0), n_shards=2, random_state=0).fit(
        task.X_train[:300], task.y_train[:300]
    )
    rows = []
    for n_slices in slices:
        for n_shards in shards:
            start = time.perf_counter()
            rows.append(run_config(task, model, n_shards, n_slices, stream, args.stream_budget, args.seed))
            print(f"{args.data}: {n_shards} shards, {n_slices} slices: {time.perf_counter() - start:.0f} s", flush=True)
    frame = pd.DataFrame(rows)
    report = render(frame, task.about, len(task.y_train), len(task.y_test), model, argv)
    print(report)
    if not args.quick:
        write_report(args.out, args.data, report, frame)
        tables = {name: summarise(pd.read_csv(args.out / f"{name}.csv")) for name in ("real", "synthetic")
                  if (args.out / f"{name}.csv").exists()}  # fmt: skip
        plot(tables, args.out / "tradeoff.png")
    return 0


def render(frame: pd.DataFrame, about: str, n_train: int, n_test: int, model: str, argv) -> str:
    """The report: two tables narrow enough for a page (the CSV keeps every column)."""
    table = summarise(frame)
    hidden, epochs, batch = MODELS[model]
    keys = ["n_shards", "n_slices"]
    accuracy = table[[*keys, "test_acc", "Δacc pt vs one model", "fit_s", "one_deletion_s",
                      "one deletion: speed-up vs full retrain"]]  # fmt: skip
    requests = table[[*keys, "stream", "stream_s", "stream: speed-up vs a retrain per request", "batch_1pct_s",
                      "1 % batch: speed-up vs full retrain"]]  # fmt: skip
    rename = {"n_shards": "shards", "n_slices": "slices", "test_acc": "test %", "Δacc pt vs one model": "Δ pt",
              "fit_s": "fit s", "one_deletion_s": "one deletion s", "one deletion: speed-up vs full retrain":
              "speed-up", "stream_s": "stream s", "stream: speed-up vs a retrain per request": "stream speed-up",
              "batch_1pct_s": "1 % batch s", "1 % batch: speed-up vs full retrain": "1 % batch speed-up"}  # fmt: skip
    lines = report_header(f"Exact deletion: {about}", "exact_deletion", argv)
    lines += [
        f"Training rows {n_train:,}, test rows {n_test:,}. Each shard: UnlearnableClassifier, MLP "
        f"{'x'.join(map(str, hidden))}, {epochs} epochs (divided among the slices), batch {batch}, lr 0.1 x 0.95 per "
        "epoch. Seconds are wall clock, one torch thread. Speed-up: the ensemble's fit time over the deletion's; "
        "Δ pt: test accuracy against one model trained on all rows.",
        "",
        "Accuracy and one deletion:",
        "",
        markdown(accuracy.rename(columns=rename), ".3g"),
        "",
        "A stream of single-row requests (against one retrain per request) and one 1 % batch:",
        "",
        markdown(requests.rename(columns=rename), ".3g"),
    ]
    return "\n".join(lines)


def render_saved(out: Path, name: str, argv) -> None:
    """Rewrite ``<name>.md`` from ``<name>.csv`` (no training); the header keeps the run's command."""
    frame = pd.read_csv(out / f"{name}.csv")
    task_about = {"real": "DataCo, real sample", "synthetic": "synthetic DataCo-like rows"}[name]
    first = (out / f"{name}.md").read_text().splitlines()
    about = first[0].removeprefix("# Exact deletion: ") if first else task_about
    n = re.search(r"Training rows ([\d,]+), test rows ([\d,]+)", "\n".join(first))
    n_train, n_test = (int(n.group(1).replace(",", "")), int(n.group(2).replace(",", ""))) if n else (0, 0)
    write_report(out, name, render(frame, about, n_train, n_test, name, argv), frame)


if __name__ == "__main__":
    sys.exit(main())
