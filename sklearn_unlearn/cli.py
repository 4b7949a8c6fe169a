"""The ``sklearn-unlearn`` command."""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

DEMO_HELP = """\
Delivery-delay prediction with label errors, end to end, on real data.

1. Load orders: the real DataCo sample that ships with the package (default), a DataCo CSV
   of yours (--data), or the built-in synthetic generator (--synthetic N). Features are the
   ASSD paper's preprocessing, which keeps Late_delivery_risk, a column that leaks the label
   (see load_dataco's DESCR).
2. Relabel --rate of the training rows to a wrong class (the "data-entry errors").
3. Train the paper's large MLP (5 x 250) on the noisy rows: the baseline. It memorises
   many of the wrong labels.
4. Forget the wrong rows from copies of the baseline, knowing which they are: the package
   default (forget_method="assd": the relabel stage behind the guard; no retain rows), the
   ASSD rule alone, unguarded (per-sample importances from the cache), path gradient alone,
   fine-tune (one epoch on the clean rows) and retrain from scratch on the clean rows.
5. Print test accuracy, agreement with the wrong labels on the forgotten rows (lower means
   more forgotten; a retrained model shows what "never learned" looks like) and seconds,
   and save a figure (PNG) to --out.
"""

DEFAULT_LABEL = "default: relabel stage, guarded"


def main(argv: list[str] | None = None) -> int:
    """Run the ``sklearn-unlearn`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: the command line).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="sklearn-unlearn", description="Machine unlearning for scikit-learn.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="forget label errors on supply-chain data",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--data", type=Path, help="a DataCo CSV (default: the real sample shipped with the package)")
    demo.add_argument("--synthetic", type=int, metavar="N", help="use N rows of the synthetic generator instead")
    demo.add_argument("--rate", type=float, default=0.05, help="share of training labels made wrong (default: 0.05)")
    demo.add_argument(
        "--hidden", type=int, nargs="+", default=[250] * 5, help="hidden layer sizes (default: 250 250 250 250 250)"
    )
    demo.add_argument("--epochs", type=int, default=25, help="training epochs (default: 25)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument(
        "--out", type=Path, default=Path("demo_output"), help="folder for the figure (default: ./demo_output)"
    )
    demo.add_argument("--quick", action="store_true", help="a small, fast setting (CI)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args)
    return 2


def _task(args: argparse.Namespace):
    from .datasets import load_dataco, load_supply_chain

    if args.synthetic:
        return load_supply_chain(args.synthetic, random_state=args.seed), f"synthetic, {args.synthetic} rows"
    if args.data is not None:
        return load_dataco(args.data), f"DataCo file {args.data}"
    return load_dataco(), "the real DataCo sample shipped with the package"


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo (see ``DEMO_HELP``) with the parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        The ``demo`` command's arguments.

    Returns
    -------
    int
        The exit status.
    """
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import ExponentialLR

    from ._classifier import UnlearnableClassifier
    from ._progress import EpochProgress
    from .datasets import inject_label_noise
    from .unlearning import ASSD, FineTune

    if args.quick:
        args.epochs, args.hidden = min(args.epochs, 8), [64, 64]
    task, source = _task(args)
    y_noisy, wrong = inject_label_noise(task.y_train, args.rate, random_state=args.seed)
    print(
        f"Data: {source}; {len(task.y_train)} training rows ({wrong.sum()} relabelled wrongly), {len(task.y_test)} test rows."
    )
    print("Features: the paper's preprocessing, leaked Late_delivery_risk included (load_dataco's DESCR).")
    baseline = UnlearnableClassifier(
        module__hidden_layer_sizes=tuple(args.hidden),
        max_epochs=args.epochs,
        lr=0.1,
        batch_size=1024 if len(task.y_train) > 4000 else 128,
        random_state=args.seed,
        callbacks=[
            ("lr_decay", LRScheduler(policy=ExponentialLR, gamma=0.95)),
            ("progress", EpochProgress("baseline")),
        ],
    )
    start = time.perf_counter()
    baseline.fit(task.X_train, y_noisy)
    rows = [("baseline (trained on errors)", baseline, time.perf_counter() - start)]
    X_f, y_f = task.X_train[wrong], y_noisy[wrong]
    retain = {"X_retain": task.X_train[~wrong], "y_retain": y_noisy[~wrong]}
    plans = [
        (DEFAULT_LABEL, {}, {}),
        ("ASSD rule alone, unguarded", {"forget_method": ASSD(mode="rule")}, {"guard": False}),
        ("path gradient, guarded", {"forget_method": "path_gradient"}, {}),
        ("fine-tune 1 epoch", {"forget_method": FineTune(lr_factor=0.95)}, retain),
        ("retrain on clean rows", {"forget_method": "retrain"}, retain),
    ]
    for label, params, kwargs in plans:
        model = copy.deepcopy(baseline).set_params(callbacks__progress__desc=label.split()[0], **params)
        start = time.perf_counter()
        model.forget(X_f, y_f, **kwargs)
        rows.append((label, model, time.perf_counter() - start))
    results = [
        (label, model.score(task.X_test, task.y_test), model.score(X_f, y_f), seconds) for label, model, seconds in rows
    ]
    print()
    print(f"{'method':<40} {'test acc':>9} {'still predicts wrong label':>27} {'seconds':>8}")
    for label, test, forgot, seconds in results:
        print(f"{label:<40} {test:>9.2%} {forgot:>27.2%} {seconds:>8.2f}")
    print("\n'still predicts wrong label': share of the relabelled rows on which the model predicts the wrong label")
    print("it was trained with (the baseline memorised them; a model retrained without them shows the floor).")
    path = save_plot(results, args.out, source)
    print(f"Figure: {path}")
    return 0


def save_plot(results: list[tuple], out: Path, source: str) -> Path:
    """Three panels per method (test accuracy, wrong labels still predicted, seconds on a log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    labels = [r[0] for r in results]
    y = np.arange(len(labels))[::-1]
    colors = ["#1b6ca8" if label == DEFAULT_LABEL else "#9aa5b1" for label in labels]
    colors[0] = "#444444"
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.55 * len(labels) + 1.6), sharey=True)
    panels = [
        ("test accuracy (%) — higher is better", [100 * r[1] for r in results], "{:.1f}"),
        ("still predicts the wrong label (%) — lower is better", [100 * r[2] for r in results], "{:.1f}"),
        ("seconds (log scale)", [max(r[3], 1e-3) for r in results], "{:.2g}"),
    ]
    for ax, (title, values, fmt) in zip(axes, panels, strict=True):
        bars = ax.barh(y, values, color=colors, height=0.6)
        ax.set_title(title, fontsize=10)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                fmt.format(value),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=9,
            )
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_xlim(min(100 * r[1] for r in results) - 10, 100)
    axes[1].set_xlim(0, max(100 * r[2] for r in results) * 1.25 + 1)
    axes[2].set_xscale("log")
    axes[2].set_xlim(min(r[3] for r in results) / 3, max(r[3] for r in results) * 8)
    axes[0].set_yticks(y, labels, fontsize=10)
    for tick, label in zip(axes[0].get_yticklabels(), labels, strict=True):
        tick.set_fontweight("bold" if label == DEFAULT_LABEL else "normal")
    fig.suptitle(f"Forgetting wrongly labelled rows — {source}", fontsize=11)
    fig.tight_layout()
    path = out / "demo.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
