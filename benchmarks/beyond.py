"""Does the default forget keep models safe and really forget? Label errors, their variants, deletion requests.

    python -m benchmarks.beyond --data real                      # DataCo sample, 3 MLPs x 6 rates x 5 seeds
    python -m benchmarks.beyond --data real --task systematic    # a data-entry bug: one region of one class mislabelled
    python -m benchmarks.beyond --data real --task partial       # only 10/25/50/100 % of the wrong rows are found
    python -m benchmarks.beyond --data real --task deletion --rates 0.01 0.1
    python -m benchmarks.beyond --data real --task misuse --sizes 5x250 --rates 0.01 0.05 --seeds 3
    python -m benchmarks.beyond --data synthetic --rates 0.01 0.1 --seeds 3   # 180k synthetic training rows
    python -m benchmarks.beyond --data digits | cancer | adam    # a CNN; two memorising MLPs of ours
    python -m benchmarks.beyond --data wide_digits | wide_5class # two more of ours (wide_5class showed the guard
                                                                 # its blind spot: see docs, evidence page)
    python -m benchmarks.beyond --data wide_8class --rates 0.01 0.05 0.1 --seeds 3  # one more, used for nothing else
    python -m benchmarks.beyond --data real_days --rates 0.01 0.05 0.1   # regression: typos in day counts
    python -m benchmarks.beyond --data friedman --rates 0.01 0.05 0.1    # regression: make_friedman1
    python -m benchmarks.beyond --repeated                       # repeated forgets
    python -m benchmarks.beyond --summarise                      # goal tables from every results/beyond/*.csv
    python -m benchmarks.beyond --data real --sizes 5x250 --merge  # rerun some cells, keep the file's others
    python -m benchmarks.beyond --quick                          # a CI-sized run (writes nothing)

For each data set, model, rate and seed: train on the rows (the baseline), then give a copy of
it to each method with the rows to forget. Tasks: ``errors`` relabels that share of the training
rows uniformly to another class and forgets them; ``systematic`` relabels the rows of one class
that lie furthest along a random direction (one region of the feature space) as another class;
``partial`` relabels uniformly but gives ``forget`` only 10 / 25 / 50 / 100 % of the wrong rows
(the retrain reference leaves out only those); ``deletion`` forgets correctly labelled rows
picked at random (a customer asking to be removed); ``misuse`` passes such rows to ``forget``
as if their labels were wrong (the corrective default, as a user who mistakes right rows for
errors would): only the test goal means anything there.

Methods: retrain (from the same initial weights, on the rest), fine-tune (1 epoch on the rest at
0.95 x lr), NegGrad+ and SCRUB (Kurmanji et al. 2023; on the rest), ASSD as its authors run it
(mini-batch importances from the retain rows, the rule alone, unguarded), the package default
(``forget_method="assd"``; ``reason="deletion"`` for the deletion task; no retain rows), the same
unguarded, and the previous default (a path-gradient step, then the ASSD rule, guarded). The
goals are in ``benchmarks/beyond_goals.py``; the regression grids' (``--data real_days`` or
``friedman``: typos in numeric targets) in ``benchmarks/beyond_regression.py``.
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

from sklearn_unlearn import ASSD, FineTune
from sklearn_unlearn.datasets import inject_label_noise
from sklearn_unlearn.metrics import membership_inference

from . import beyond_regression
from .beyond_goals import at_a_glance, goal_table, repeated_table, scorecard, winners
from .common import RESULTS, add_data_dir, command_line, machine_line, markdown, timed, write_report
from .tasks import RATES, TASKS, Task, load_task

PLANS = {  # name: (parameters set on the copy, given the retain rows, forget's keyword arguments)
    "retrain": ({"forget_method": "retrain"}, True, {}),
    "fine-tune": ({"forget_method": FineTune(epochs=1, lr_factor=0.95)}, True, {}),
    "NegGrad+": ({"forget_method": "neggrad_plus"}, True, {}),
    "SCRUB": ({"forget_method": "scrub"}, True, {}),
    "ASSD (paper)": ({"forget_method": ASSD(mode="rule"), "importance": "minibatch"}, True, {"guard": False}),
    "default": ({}, False, {}),
    "default, unguarded": ({}, False, {"guard": False}),
    "previous default": ({"forget_method": ASSD(mode="path_gradient")}, False, {}),
}
TASKS_OF_ROWS = ("errors", "systematic", "partial", "deletion", "misuse")
GIVEN_SHARES = (0.1, 0.25, 0.5, 1.0)
MIA_ROWS = 2000


def warm_up() -> None:
    """One tiny fit and forget, so that torch's first-call costs do not land in the first cell's seconds."""
    X, y = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32), np.arange(300) % 3
    from sklearn_unlearn import UnlearnableClassifier

    UnlearnableClassifier(module__hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X, y).forget(X[:5], y[:5])


def forget_rows(
    X: np.ndarray, y: np.ndarray, task: str, rate: float, seed: int, given: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(labels to train with, mask of rows to forget)`` for one cell."""
    rng = np.random.default_rng(seed)
    if task in ("errors", "partial"):
        y_noisy, _, chosen = inject_label_noise(y, rate, random_state=seed, mode="uniform", return_selected=True)
        if given < 1.0:  # only this share of the wrong rows was found
            found = np.flatnonzero(chosen)
            chosen = np.zeros(len(y), dtype=bool)
            chosen[rng.choice(found, size=max(1, round(given * len(found))), replace=False)] = True
        return y_noisy, chosen
    if task == "systematic":
        return systematic_errors(X, y, rate, rng)
    chosen = np.zeros(len(y), dtype=bool)
    chosen[rng.choice(len(y), size=max(1, round(rate * len(y))), replace=False)] = True
    return y, chosen


def systematic_errors(X: np.ndarray, y: np.ndarray, rate: float, rng: np.random.Generator):
    """A data-entry bug: the rows of one class furthest along a random direction, entered as another class."""
    classes = np.unique(y)
    source = classes[np.argmax([np.sum(y == c) for c in classes])]  # the largest class can lose the most
    target = rng.choice(classes[classes != source])
    members = np.flatnonzero(y == source)
    depth = np.asarray(X, dtype=np.float64).reshape(len(X), -1)[members] @ rng.normal(size=np.prod(X.shape[1:]))
    n = min(max(1, round(rate * len(y))), len(members) - 1)
    chosen = np.zeros(len(y), dtype=bool)
    chosen[members[np.argsort(depth)[-n:]]] = True
    y_wrong = np.asarray(y).copy()
    y_wrong[chosen] = target
    return y_wrong, chosen


def mia(model, X_r: np.ndarray, X_f: np.ndarray, X_test: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    retain = X_r[rng.choice(len(X_r), size=min(MIA_ROWS, len(X_r)), replace=False)]
    test = X_test[rng.choice(len(X_test), size=min(MIA_ROWS, len(X_test)), replace=False)]
    return membership_inference(model, retain, X_f, test)


def run_cell(data: Task, task: str, size: str, rate: float, seed: int, given: float = 1.0) -> list[dict]:
    y_train, chosen = forget_rows(data.X_train, data.y_train, task, rate, seed, given)
    X_f, y_f = data.X_train[chosen], y_train[chosen]
    X_r, y_r = data.X_train[~chosen], y_train[~chosen]
    baseline, fit_seconds = timed(lambda: data.make(size, seed).fit(data.X_train, y_train))
    reason = {"reason": "deletion"} if task == "deletion" else {}
    models = [("baseline", baseline, fit_seconds)]
    for name, (params, with_retain, kwargs) in PLANS.items():
        model = copy.deepcopy(baseline).set_params(**params)
        call = {**kwargs, **({"X_retain": X_r, "y_retain": y_r} if with_retain else reason)}
        _, seconds = timed(lambda model=model, call=call: model.forget(X_f, y_f, **call))
        models.append((name, model, seconds))
    return [
        {
            "task": task if task != "partial" else f"partial {given:.0%}",
            "size": size,
            "rate": rate,
            "seed": seed,
            "method": name,
            "test_acc": model.score(data.X_test, data.y_test),
            "forget_acc": model.score(X_f, y_f),
            "mia": mia(model, X_r, X_f, data.X_test, seed),
            "seconds": seconds,
            "guard_scale": _guard_scales(model) if name != "baseline" else "",
            "n_forget": int(chosen.sum()),
        }
        for name, model, seconds in models
    ]


def _guard_scales(model) -> str:
    entry = model.forget_log_[-1]
    stages = entry.get("stages", [entry])
    return "/".join(f"{s['guard_scale']:.3g}" for s in stages if s.get("guard_scale") is not None)


def repeated(seeds: int, quick: bool, data_dir) -> pd.DataFrame:
    """Ten forgets of 1 % vs one of 10 % (label errors); fifty forgets of 0.25 % vs a retrain (deletion)."""
    rows = []
    real = load_task("real", 0, quick, data_dir)
    synthetic = load_task("synthetic", 50_000, quick, data_dir)
    plans = [("real", real, size, "errors") for size in (["3x100"] if quick else ["3x100", "5x250"])]
    plans += [
        ("real", real, "5x250" if not quick else "2x50", "deletion"),
        ("synthetic 40k", synthetic, "3x100", "deletion"),
    ]
    for name, data, size, task in plans:
        for seed in range(seeds):
            rows += _repeated_cell(name, data, size, task, seed, quick)
        print(f"repeated {name} {size} {task}: done", flush=True)
    return pd.DataFrame(rows)


def _repeated_cell(name: str, data: Task, size: str, task: str, seed: int, quick: bool) -> list[dict]:
    rate, parts = (0.10, 10) if task == "errors" else (0.0025 * (4 if quick else 50), 4 if quick else 50)
    y_train, chosen = forget_rows(data.X_train, data.y_train, task, rate, seed)
    X, rows = data.X_train, np.random.default_rng(seed).permutation(np.flatnonzero(chosen))
    reason = "deletion" if task == "deletion" else "correction"
    baseline = data.make(size, seed).fit(X, y_train)
    reference = copy.deepcopy(baseline).set_params(forget_method="retrain")
    reference.forget(X[rows], y_train[rows], X_retain=X[~chosen], y_retain=y_train[~chosen])
    once = copy.deepcopy(baseline).forget(X[rows], y_train[rows], reason=reason)
    many = copy.deepcopy(baseline)
    for part in np.array_split(rows, parts):
        many.forget(X[part], y_train[part], reason=reason)
    if task == "errors":
        schedules = [("one forget of 10 %", once, once), ("ten forgets of 1 %", many, once)]
    else:
        schedules = [(f"{parts} forgets of 0.25 %", many, reference), ("one forget of them all", once, reference)]
    schedules.append(("retrain", reference, reference))
    return [
        {
            "dataset": f"{name} ({task})",
            "size": size,
            "seed": seed,
            "schedule": schedule,
            "test_acc": model.score(data.X_test, data.y_test),
            "reference_test_acc": ref.score(data.X_test, data.y_test),
            "forget_acc": model.score(X[rows], y_train[rows]),
        }
        for schedule, model, ref in schedules
    ]


def regression_grid(data: Task, args, argv: list[str] | None) -> int:
    """The regression cells (task ``typos``): see ``benchmarks.beyond_regression``."""
    tag = "quick" if args.quick else args.data
    records: list[dict] = []
    sizes = [s for s in (args.sizes or data.sizes) if s in data.sizes] or data.sizes
    for size in sizes:
        for rate in args.rates:
            for seed in range(args.seeds):
                records += beyond_regression.run_cell(data, size, rate, seed)
                if not args.quick:
                    args.out.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame(records).assign(dataset=tag).to_csv(args.out / f"regression_{tag}.csv", index=False)
            print(f"{tag} typos {size} {rate:.2%}: done", flush=True)
    frame = pd.DataFrame(records).assign(dataset=tag)
    lines = [
        f"# The default forget on a regressor: {data.about}, typos in the targets",
        "",
        *header(argv),
        f"Training rows {len(data.y_train):,}, test rows {len(data.y_test):,}. Goals: "
        "benchmarks/beyond_regression.py (forget: 80 % of the way from the baseline's distance to the typos to the "
        "retrain's, where the baseline memorised; test R² >= baseline - 0.005; time <= 10 % of retrain; the "
        "pipelines: test R² >= baseline).",
        "",
        markdown(beyond_regression.goal_table(frame), ".4g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, f"regression_{tag}", report)
    return 0


def header(argv: list[str] | None) -> list[str]:
    return [f"Command: `{command_line('beyond', argv)}`  ", f"Machine: {machine_line()}."]


def _earlier_run(out: Path, stem: str) -> tuple[pd.DataFrame, str] | None:
    """The results file's rows and the command that measured them (a file that is not there: None)."""
    csv, md = out / f"{stem}.csv", out / f"{stem}.md"
    if not csv.exists():
        return None
    command = (
        next((line for line in md.read_text().splitlines() if line.startswith("Command:")), "") if md.exists() else ""
    )
    return pd.read_csv(csv), command.removeprefix("Command:").strip()


def _cells(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[["task", "size", "rate", "seed"]])


def _unmeasured(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The earlier rows of every cell the new run did not measure."""
    return old[~_cells(old).isin(_cells(new))]


def _merged(new: pd.DataFrame, earlier: tuple[pd.DataFrame, str] | None) -> pd.DataFrame:
    """The new rows, and the earlier rows of every cell the new run did not measure."""
    if earlier is None:
        return new
    return pd.concat([_unmeasured(earlier[0], new), new], ignore_index=True)


def _merge_lines(new: pd.DataFrame, earlier: tuple[pd.DataFrame, str] | None) -> list[str]:
    if earlier is None:
        return []
    old, command = earlier
    kept = _unmeasured(old, new)
    if kept.empty:
        return []
    sizes = ", ".join(sorted(new["size"].astype(str).unique()))
    return [
        f"Merged: this command measured the cells of size {sizes} ({len(_cells(new).unique())} cells); the other "
        f"{len(_cells(kept).unique())} cells come from an earlier run, {command or 'command not recorded'}, "
        "possibly on a faster or slower machine: compare seconds only between rows of one size.  "
    ]


def summarise_all(out: Path, argv: list[str] | None) -> int:
    paths = sorted(p for p in out.glob("*.csv") if p.name != "repeated.csv" and not p.name.startswith("regression"))
    if not paths:
        print(f"no results CSV under {out}")
        return 1
    goals = goal_table(pd.concat([pd.read_csv(p) for p in paths], ignore_index=True))
    lines = [
        "# The default forget: goal tables",
        "",
        *header(argv),
        "From: " + ", ".join(p.name for p in paths) + ". Each file's own command is in its .md.",
        "forget % = accuracy on the forgotten rows against the labels they were trained with (for label errors: "
        "agreement with the wrong labels); MIA % = share of forgotten rows an entropy attacker calls member; "
        "mean ± std over seeds. Goals (benchmarks/beyond_goals.py): label errors: forget 80 % of the way to retrain "
        "where the baseline memorised (>= 20 pt above retrain), test >= baseline - 0.3 pt, half of retrain's test "
        "gain where it gains >= 1 pt, time <= 10 % of retrain; deletion: test within 0.5 pt of retrain, MIA no "
        "farther from retrain's than the baseline's, time. 'winner': the method other than retrain that meets the "
        "most goals in the cell (ties: higher test accuracy).",
        "",
        "## The default at a glance (goals met / cells where the goal applies)",
        "",
        markdown(at_a_glance(goals), ".2f"),
        "",
        "## Scorecard (cells meeting each goal)",
        "",
        markdown(scorecard(goals), ".2f"),
        "",
        "## Winners (cells won per method)",
        "",
        markdown(winners(goals)),
        "",
        "## Every cell",
        "",
        markdown(goals, ".3g"),
    ]
    repeated_csv = out / "repeated.csv"
    if repeated_csv.exists():
        lines += ["", "## Repeated forgets", "", markdown(repeated_table(pd.read_csv(repeated_csv)), ".2f")]
    report = "\n".join(lines)
    print(report)
    write_report(out, "beyond", report)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=TASKS, default="real")
    parser.add_argument("--task", choices=TASKS_OF_ROWS, default="errors")
    parser.add_argument("--synthetic-rows", type=int, default=225_000, help="80 %% train, 20 %% test")
    parser.add_argument("--sizes", nargs="+", help="model sizes (default: every size of the data set)")
    parser.add_argument("--rates", type=float, nargs="+", default=RATES, help="shares, e.g. 0.01 for 1 %%")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeated", action="store_true", help="repeated forgets (see repeated())")
    parser.add_argument("--summarise", action="store_true", help="the goal tables from every beyond_*.csv")
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the cells (size, rate, seed) this run measures in the existing results file; "
        "the report says which cells came from which command",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "beyond")
    add_data_dir(parser)
    args = parser.parse_args(argv)
    if args.summarise:
        return summarise_all(args.out, argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    if args.repeated:
        frame = repeated(2 if args.quick else args.seeds, args.quick, args.data_dir)
        report = "\n".join(["# Repeated forgets", "", *header(argv), "", markdown(repeated_table(frame), ".2f")])
        print(report)
        if not args.quick:
            write_report(args.out, "repeated", report, frame)
        return 0
    if args.quick:
        args.rates, args.seeds, args.sizes = [0.1], 1, args.sizes or ["2x50"]
    data = load_task(args.data, args.synthetic_rows, args.quick, args.data_dir)
    warm_up()
    if data.regression:
        return regression_grid(data, args, argv)
    sizes = [s for s in (args.sizes or data.sizes) if s in data.sizes] or data.sizes
    tag = f"{args.data}{len(data.y_train) // 1000}k" if args.data == "synthetic" else args.data
    tag = "quick" if args.quick else tag
    stem = f"{tag}_{args.task}"
    records: list[dict] = []
    earlier = _earlier_run(args.out, stem) if args.merge and not args.quick else None
    shares = GIVEN_SHARES if args.task == "partial" else (1.0,)
    for size in sizes:
        for rate, given in [(r, g) for r in args.rates for g in shares]:
            for seed in range(args.seeds):
                records += run_cell(data, args.task, size, rate, seed, given)
                if not args.quick:  # a long run keeps what it has measured if it is stopped
                    args.out.mkdir(parents=True, exist_ok=True)
                    _merged(pd.DataFrame(records).assign(dataset=tag), earlier).to_csv(
                        args.out / f"{stem}.csv", index=False
                    )
            print(f"{tag} {args.task} {size} {rate:.2%} (given {given:.0%}): done", flush=True)
    new = pd.DataFrame(records).assign(dataset=tag)
    frame = _merged(new, earlier)
    lines = [
        f"# The default forget: {data.about}, {args.task}",
        "",
        *header(argv),
        *_merge_lines(new, earlier),
        f"Training rows {len(data.y_train):,}, test rows {len(data.y_test):,}.",
        "",
        markdown(goal_table(frame), ".3g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, stem, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
