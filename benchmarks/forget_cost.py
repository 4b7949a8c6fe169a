"""What forgetting costs next to training: one epoch, the importance pass, forget, retrain.

    python -m benchmarks.forget_cost            # 5x250 MLP, 120k synthetic rows, 1 % forgotten
    python -m benchmarks.forget_cost --quick    # a small CI-sized run

Prints a table and the target ratios, and writes CSV + Markdown to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.datasets import inject_label_noise, load_supply_chain

from .common import RESULTS, markdown, report_header, timed, write_report


def run(n_samples: int, hidden: tuple[int, ...], epochs: int, forget_share: float, importance: str, seed: int) -> dict:
    task = load_supply_chain(n_samples, random_state=seed)
    X, y = task.X_train, task.y_train
    y_noisy, _ = inject_label_noise(y, forget_share, random_state=seed)
    forget_rows = np.random.default_rng(seed).choice(len(X), size=int(round(forget_share * len(X))), replace=False)
    keep = np.ones(len(X), dtype=bool)
    keep[forget_rows] = False
    params = dict(module__hidden_layer_sizes=hidden, max_epochs=epochs, batch_size=1024, lr=0.05, random_state=seed)
    params["importance"] = importance
    clf = UnlearnableClassifier(**params)
    _, fit_seconds = timed(lambda: clf.fit(X, y_noisy))
    epoch_seconds = float(np.median(clf.history[:, "dur"]))
    Xt, yt = torch.as_tensor(X), torch.as_tensor(clf.classes_.searchsorted(y_noisy))
    _, importance_seconds = timed(lambda: clf.compute_importances(Xt, yt))
    forgetting = copy.deepcopy(clf)
    _, forget_seconds = timed(lambda: forgetting.forget(X[forget_rows], y_noisy[forget_rows]))
    retraining = copy.deepcopy(clf).set_params(forget_method="retrain")
    _, retrain_seconds = timed(
        lambda: retraining.forget(X[forget_rows], y_noisy[forget_rows], X_retain=X[keep], y_retain=y_noisy[keep])
    )
    n_params = sum(p.numel() for p in clf.module_.parameters())
    share = len(forget_rows) / len(X)
    return {
        "rows": len(X),
        "hidden": "x".join(map(str, hidden)),
        "parameters": n_params,
        "importance": importance,
        "forget_rows": len(forget_rows),
        "epoch_s": epoch_seconds,
        "fit_s": fit_seconds,
        "importance_pass_s": importance_seconds,
        "forget_s": forget_seconds,
        "retrain_s": retrain_seconds,
        "forget_over_retrain": forget_seconds / retrain_seconds,
        "importance_over_epoch": importance_seconds / epoch_seconds,
        "forget_budget_s": 2 * share * epoch_seconds + 0.2,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=150_000, help="synthetic rows before the 80/20 split")
    parser.add_argument("--hidden", type=int, nargs="+", default=[250] * 5)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--forget-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small CI-sized run")
    parser.add_argument("--out", type=Path, default=RESULTS / "forget_cost")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.hidden, args.epochs = 5000, [50, 50], 3
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    rows = [
        run(args.rows, tuple(args.hidden), args.epochs, args.forget_share, importance, args.seed)
        for importance in ("per_sample", "minibatch")
    ]
    table = pd.DataFrame(rows)
    lines = [
        *report_header("Forget cost", "forget_cost", argv),
        markdown(table),
        "",
        "Targets: forget <= 2 % of retrain; per-sample importance pass <= 2x one epoch; "
        "forget <= 2 x (|D_f|/|D|) x epoch + 0.2 s (forget_budget_s).",
    ]
    for row in rows:
        lines.append(
            f"- {row['importance']}: forget/retrain = {row['forget_over_retrain']:.2%} "
            f"({'met' if row['forget_over_retrain'] <= 0.02 else 'NOT met'}); "
            f"importance pass/epoch = {row['importance_over_epoch']:.2f} "
            f"({'met' if row['importance_over_epoch'] <= 2 else 'NOT met'}); "
            f"forget {row['forget_s']:.3f} s vs budget {row['forget_budget_s']:.3f} s "
            f"({'met' if row['forget_s'] <= row['forget_budget_s'] else 'NOT met'})"
        )
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, "forget_cost", report, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
