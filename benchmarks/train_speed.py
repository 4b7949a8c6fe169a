"""Is ``fit`` as fast as a plain torch loop? Epoch time through the classifier against the loop it runs.

    python -m benchmarks.train_speed                 # 10k, 100k and 1M synthetic rows, batch 128 and 1024
    python -m benchmarks.train_speed --quick         # a CI-sized run (writes nothing)

For each size and batch size: one epoch of ``UnlearnableClassifier.fit`` (the median epoch of
``--epochs``, from skorch's history) against one epoch of a plain loop over tensors already on
the device with the same module, optimizer, batch size and shuffling; and the importance pass
that ``fit`` ends with, against one epoch. Targets: fit's epoch ≤ 1.2 × the plain loop;
importance pass ≤ 1 epoch. Runs on CUDA when available (the device is in the header).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.datasets import load_supply_chain

from .common import RESULTS, markdown, plain_epoch, report_header, timed, write_report


def measure(task, n_rows: int, hidden, batch_size: int, epochs: int) -> dict:
    X_np, y_np = task.X_train[:n_rows], task.y_train[:n_rows]
    clf = UnlearnableClassifier(
        module__hidden_layer_sizes=hidden, max_epochs=epochs, batch_size=batch_size, lr=0.05, random_state=0
    )
    clf.fit(X_np, y_np)
    device = torch.device(clf.device)
    fit_epoch = float(np.median(clf.history[:, "dur"]))
    X, y = torch.as_tensor(X_np).to(device), torch.as_tensor(y_np).to(device)
    plain = float(np.median([plain_epoch(X, y, hidden, batch_size, 0.05) for _ in range(max(epochs, 1))]))
    _, importance = timed(lambda: clf.compute_importances(X, y))
    return {
        "rows": n_rows,
        "hidden": "x".join(map(str, hidden)),
        "batch": batch_size,
        "fit epoch s": fit_epoch,
        "plain loop epoch s": plain,
        "fit / plain": fit_epoch / plain,
        "importance pass s": importance,
        "importance / fit epoch": importance / fit_epoch,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100, 100])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "train_speed")
    parser.add_argument("--name", default="train_speed", help="results file stem (e.g. gpu)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.batch_sizes, args.epochs, args.hidden = [5000], [256], 2, [32, 32]
    task = load_supply_chain(int(max(args.rows) / 0.8) + 10, random_state=0)
    rows = []
    for n in args.rows:
        for batch_size in args.batch_sizes:
            rows.append(measure(task, n, tuple(args.hidden), batch_size, args.epochs))
            print(f"{n} rows, batch {batch_size}: done", flush=True)
    frame = pd.DataFrame(rows)
    met = (frame["fit / plain"] <= 1.2).all()
    imp_met = (frame["importance / fit epoch"] <= 1.0).all()
    lines = [
        *report_header("Training speed: fit against a plain torch loop", "train_speed", argv),
        f"Median epoch over {args.epochs} epochs; the plain loop uses the same module, SGD, batch size and "
        "shuffled batches by index over tensors already on the device.",
        "",
        markdown(frame, ".3g"),
        "",
        f"- fit's epoch <= 1.2 x the plain loop in every row: {'met' if met else 'NOT met'} "
        f"(worst {frame['fit / plain'].max():.2f} x).",
        f"- importance pass <= 1 epoch in every row: {'met' if imp_met else 'NOT met'} "
        f"(worst {frame['importance / fit epoch'].max():.2f} epochs).",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, args.name, report, frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
