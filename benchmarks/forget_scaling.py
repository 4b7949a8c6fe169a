"""How the cost of forgetting scales: with |D|, with |D_f| and with the parameter count.

    python -m benchmarks.forget_scaling            # the three sweeps below (about 20 min on 2 CPU cores)
    python -m benchmarks.forget_scaling --quick    # a tiny version of each sweep (CI; writes nothing)

Sweeps (synthetic supply-chain rows, paper features):
- |D|: 10k → 1M training rows, 3×100 MLP, 1,000 rows forgotten (|D_f| fixed);
- |D_f|: 250 → 10,000 of 100k rows (0.25 → 10 %), 3×100 MLP;
- parameters: 2×50 → 4×2000 (≥ 10M parameters) on 20k rows, 200 (1 %) forgotten.
Each point times one training epoch, the cached per-sample importance pass, ASSD's forget, its
percentile step alone, fine-tune (1 epoch on the retain rows) and retrain. Training uses
``--epochs`` epochs (default 5, so that 1M rows fit in the budget); retrain uses the same count,
so the forget/retrain ratio is measured against a retrain of that length (25 epochs would make it 5×
smaller). Writes CSV + Markdown + a log-log PNG to benchmarks/results/.

Targets: forget time grows with |D_f|, not |D|; forget ≤ 2 % of retrain at 1 %; the
percentile step under 1 s at 10M parameters.
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
from sklearn_unlearn.datasets import load_supply_chain
from sklearn_unlearn.unlearning import assd_alpha

from .common import RESULTS, command_line, machine_line, timed, write_report


def measure(X, y, hidden: tuple[int, ...], n_forget: int, epochs: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    forget = np.zeros(len(X), dtype=bool)
    forget[rng.choice(len(X), size=n_forget, replace=False)] = True
    clf = UnlearnableClassifier(
        module__hidden_layer_sizes=hidden, max_epochs=epochs, batch_size=1024, lr=0.05, random_state=seed
    )
    _, fit_seconds = timed(lambda: clf.fit(X, y))
    epoch_seconds = float(np.median(clf.history[:, "dur"]))
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(clf.classes_.searchsorted(y))
    _, importance_seconds = timed(lambda: clf.compute_importances(X_t, y_t))
    assd = copy.deepcopy(clf)
    _, forget_seconds = timed(lambda: assd.forget(X[forget], y[forget]))
    imp_f = clf.compute_importances(X_t[forget], y_t[forget])
    # The selection step alone, on every parameter's ratio (what grows with the model).
    _, percentile_seconds = timed(lambda: assd_alpha(clf.importances_, imp_f, int(forget.sum()), len(X)))
    retain = {"X_retain": X[~forget], "y_retain": y[~forget]}
    tuned = copy.deepcopy(clf).set_params(forget_method="finetune")
    _, finetune_seconds = timed(lambda: tuned.forget(X[forget], y[forget], **retain))
    retrained = copy.deepcopy(clf).set_params(forget_method="retrain")
    _, retrain_seconds = timed(lambda: retrained.forget(X[forget], y[forget], **retain))
    return {
        "rows": len(X),
        "forget_rows": int(forget.sum()),
        "forget_share": forget.mean(),
        "hidden": "x".join(map(str, hidden)),
        "parameters": sum(p.numel() for p in clf.module_.parameters()),
        "epochs": epochs,
        "epoch_s": epoch_seconds,
        "fit_s": fit_seconds,
        "importance_pass_s": importance_seconds,
        "forget_s": forget_seconds,
        "percentile_s": percentile_seconds,
        "finetune_s": finetune_seconds,
        "retrain_s": retrain_seconds,
        "forget_over_retrain": forget_seconds / retrain_seconds,
    }


def sweeps(quick: bool) -> dict[str, list[tuple[int, tuple[int, ...], int]]]:
    """(training rows, hidden sizes, forget rows) per point of each sweep.

    The |D| sweep keeps |D_f| fixed at 1,000 rows, so that it shows what |D| alone costs.
    """
    if quick:
        return {
            "rows": [(2_000, (32, 32), 40), (4_000, (32, 32), 40)],
            "forget_share": [(4_000, (32, 32), n) for n in (40, 200)],
            "parameters": [(2_000, hidden, 20) for hidden in ((16, 16), (64, 64))],
        }
    return {
        "rows": [(n, (100,) * 3, 1_000) for n in (10_000, 30_000, 100_000, 300_000, 1_000_000)],
        "forget_share": [(100_000, (100,) * 3, n) for n in (250, 1_000, 2_500, 5_000, 10_000)],
        "parameters": [
            (20_000, hidden, 200) for hidden in ((50, 50), (100,) * 3, (250,) * 5, (1000,) * 3, (2000,) * 4)
        ],
    }


def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_for = {"rows": "training rows |D|", "forget_share": "forget rows |D_f|", "parameters": "parameters"}
    x_column = {"rows": "rows", "forget_share": "forget_rows", "parameters": "parameters"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (sweep, label) in zip(axes, axes_for.items(), strict=True):
        block = frame[frame.sweep == sweep]
        for column in ("epoch_s", "importance_pass_s", "forget_s", "percentile_s", "finetune_s", "retrain_s"):
            ax.loglog(block[x_column[sweep]], block[column], marker="o", label=column.removesuffix("_s"))
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds")
    axes[-1].legend(fontsize=8)
    fig.suptitle("Cost of forgetting (sklearn-unlearn, ASSD)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sweeps", nargs="+", choices=["rows", "forget_share", "parameters"], help="run only these")
    parser.add_argument("--quick", action="store_true", help="tiny sweeps for CI; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "forget_scaling")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    epochs = 2 if args.quick else args.epochs
    points = {name: plan for name, plan in sweeps(args.quick).items() if not args.sweeps or name in args.sweeps}
    largest = max(rows for plan in points.values() for rows, _, _ in plan)
    task = load_supply_chain(int(largest / 0.8) + 1, random_state=0)
    records = []
    for sweep, plan in points.items():
        for rows, hidden, n_forget in plan:
            record = measure(task.X_train[:rows], task.y_train[:rows], hidden, n_forget, epochs)
            records.append({"sweep": sweep, **record})
            print(f"{sweep}: {rows} rows, {record['hidden']}, {n_forget} forgotten: done", flush=True)
    frame = pd.DataFrame(records)
    at_one_percent = frame[np.isclose(frame.forget_share, 0.01, rtol=0.05)]
    biggest = frame.sort_values("parameters").iloc[-1]
    lines = [
        "# Forget scaling",
        "",
        f"Command: `{command_line('forget_scaling', argv)}`  ",
        f"Machine: {machine_line()}  ",
        f"Training and retrain: {epochs} epochs, batch 1024. Seconds are wall time of one run.",
        "",
        frame.to_markdown(index=False, floatfmt=".4g"),
        "",
        f"- forget/retrain at 1 %: {at_one_percent.forget_over_retrain.min():.2%} – "
        f"{at_one_percent.forget_over_retrain.max():.2%} (target <= 2 %: "
        f"{'met' if (at_one_percent.forget_over_retrain <= 0.02).all() else 'NOT met'}; retrain of {epochs} epochs).",
    ]
    if "parameters" in points:
        lines.append(
            f"- percentile step at {biggest.parameters:,} parameters: {biggest.percentile_s:.3f} s "
            f"(target < 1 s at >= 10M: {'met' if biggest.percentile_s < 1 and biggest.parameters >= 10_000_000 else 'NOT met'})."
        )
    for sweep, x in (("rows", "rows"), ("forget_share", "forget_rows")):
        block = frame[frame.sweep == sweep]
        if len(block) < 2:
            continue
        slope = np.polyfit(np.log(block[x]), np.log(block.forget_s), 1)[0]
        lines.append(f"- forget time vs {x}: log-log slope {slope:.2f} (1 = proportional, 0 = flat).")
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        name = "forget_scaling" if not args.sweeps else "_".join(args.sweeps)
        write_report(args.out, name, report, frame)
        if not args.sweeps:
            plot(frame, args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
