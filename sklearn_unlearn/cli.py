"""The ``sklearn-unlearn`` command."""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

DEMO_HELP = """\
Delivery-delay prediction with label errors, end to end.

1. Load orders: the built-in synthetic DataCo-like generator (default) or the real
   DataCo CSV (--data). Features are the ASSD paper's preprocessing, which keeps
   Late_delivery_risk, a column that leaks the label (see load_dataco's DESCR).
2. Relabel --rate of the training rows to a wrong class (the "data-entry errors").
3. Train an MLP on the noisy rows (the baseline).
4. Repair it four ways, each from the same baseline, knowing which rows are wrong:
   ASSD forget (sklearn-unlearn's default, one pass over the error rows), SSD,
   fine-tune (one epoch on the clean rows) and retrain from scratch on the clean rows.
5. Print test accuracy, accuracy on the error rows against their wrong labels (lower
   means more forgotten; a retrained model shows what "never learned" looks like) and
   seconds, and save a bar chart (PNG) to --out.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sklearn-unlearn", description="Machine unlearning for scikit-learn.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="forget label errors on supply-chain data",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--data", type=Path, help="real DataCo CSV (default: built-in synthetic data)")
    demo.add_argument("--n-samples", type=int, default=20_000, help="synthetic rows (default: 20000)")
    demo.add_argument("--rate", type=float, default=0.025, help="share of training labels made wrong (default: 0.025)")
    demo.add_argument(
        "--hidden", type=int, nargs="+", default=[100, 100, 100], help="hidden layer sizes (default: 100 100 100)"
    )
    demo.add_argument("--epochs", type=int, default=25, help="training epochs (default: 25)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument(
        "--out", type=Path, default=Path("demo_output"), help="folder for the plot (default: ./demo_output)"
    )
    demo.add_argument("--quick", action="store_true", help="a small, fast setting (CI)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args)
    return 2


def run_demo(args: argparse.Namespace) -> int:
    from .classifier import UnlearnableClassifier
    from .datasets import inject_label_noise, load_dataco, load_supply_chain
    from .progress import EpochProgress

    if args.quick:
        args.n_samples, args.epochs, args.hidden = min(args.n_samples, 4000), min(args.epochs, 8), [50, 50]
    if args.data is not None:
        task, source = load_dataco(args.data), f"DataCo file {args.data}"
    else:
        task, source = load_supply_chain(args.n_samples, random_state=args.seed), f"synthetic, {args.n_samples} rows"
    y_noisy, wrong = inject_label_noise(task.y_train, args.rate, random_state=args.seed)
    print(
        f"Data: {source}; {len(task.y_train)} training rows ({wrong.sum()} relabelled wrongly), {len(task.y_test)} test rows."
    )
    print("Features: the paper's preprocessing, leaked Late_delivery_risk included (load_dataco's DESCR).")

    baseline = UnlearnableClassifier(
        module__hidden_layer_sizes=tuple(args.hidden),
        max_epochs=args.epochs,
        lr=0.05,
        random_state=args.seed,
        callbacks=[("progress", EpochProgress("baseline"))],
    )
    start = time.perf_counter()
    baseline.fit(task.X_train, y_noisy)
    rows = [("baseline (trained on errors)", baseline, time.perf_counter() - start)]
    X_f, y_f = task.X_train[wrong], y_noisy[wrong]
    X_r, y_r = task.X_train[~wrong], y_noisy[~wrong]
    for label, method, retain in [
        ("ASSD forget (default)", "assd", False),
        ("SSD forget (alpha=10)", "ssd", False),
        ("fine-tune 1 epoch", "finetune", True),
        ("retrain on clean rows", "retrain", True),
    ]:
        model = copy.deepcopy(baseline).set_params(forget_method=method)
        if method in ("finetune", "retrain"):
            model.set_params(callbacks__progress__desc=method)
        start = time.perf_counter()
        kwargs = {"X_retain": X_r, "y_retain": y_r} if retain else {}
        model.forget(X_f, y_f, **kwargs)
        rows.append((label, model, time.perf_counter() - start))

    results = [
        (
            label,
            model.score(task.X_test, task.y_test),
            model.score(X_f, y_f),
            model.score(X_f, task.y_train[wrong]),
            seconds,
        )
        for label, model, seconds in rows
    ]
    print()
    print(f"{'method':<30} {'test acc':>9} {'error rows: wrong label':>24} {'true label':>11} {'seconds':>8}")
    for label, test, forgot, true, seconds in results:
        print(f"{label:<30} {test:>9.2%} {forgot:>24.2%} {true:>11.2%} {seconds:>8.2f}")
    print("\n'error rows: wrong label' is how often the model still predicts the wrong label it was trained on.")
    path = save_plot(results, args.out)
    print(f"Plot: {path}")
    return 0


def save_plot(results: list[tuple], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    labels = [r[0] for r in results]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(x - 0.2, [r[1] * 100 for r in results], width=0.4, label="test accuracy")
    ax.bar(x + 0.2, [r[2] * 100 for r in results], width=0.4, label="error rows: still predicts the wrong label")
    ax.set_xticks(x, labels, rotation=15, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower left")
    ax.set_title("Forgetting label errors (sklearn-unlearn demo)")
    fig.tight_layout()
    path = out / "demo.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
