"""The goal checks of ``benchmarks.beyond``, on the means over seeds of each cell.

Label errors (the forget rows carry wrong labels):
* forget: agreement with the wrong labels at most halfway from the baseline's to the
  retrained model's ("n/a" where the two are within ``MIN_GAP_PT``: nothing was learned);
* test: test accuracy at least the baseline's minus ``TEST_SLACK_PT``;
* time: at most ``TIME_SHARE`` of the retrain's seconds.

Deletion requests (the forget rows are correctly labelled):
* test: within ``DELETION_SLACK_PT`` of the retrained model;
* MIA: the share of forget rows an attacker calls "member" no farther from the retrained
  model's than the baseline's ("n/a" where baseline and retrain are within ``MIN_GAP_PT``);
* time, as above.
"""

from __future__ import annotations

import pandas as pd

METHODS = [
    "baseline",
    "retrain",
    "fine-tune",
    "ASSD (paper)",
    "default",
    "default, unguarded",
    "path gradient",
]
MIN_GAP_PT = 1.0
TEST_SLACK_PT = 0.3
DELETION_SLACK_PT = 0.5
TIME_SHARE = 0.10
KEYS = ["dataset", "task", "size", "rate"]


def _mean_std(values: pd.Series, digits: int) -> str:
    spread = values.std(ddof=1) * 100 if len(values) > 1 else 0.0
    return f"{values.mean() * 100:.{digits}f} ± {spread:.{digits}f}"


def goal_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Means ± std per cell and method, with each goal's verdict."""
    rows = []
    for (dataset, task, size, rate), block in frame.groupby(KEYS, sort=False):
        means = block.groupby("method").mean(numeric_only=True)
        base, retrain = means.loc["baseline"], means.loc["retrain"]
        for method in [m for m in METHODS if m in means.index]:
            part, mean = block[block.method == method], means.loc[method]
            row = {
                "dataset": dataset,
                "task": task,
                "size": size,
                "rate %": rate * 100,
                "method": method,
                "seeds": part.seed.nunique(),
                "test %": _mean_std(part.test_acc, 2),
                "Δtest pt": (mean.test_acc - base.test_acc) * 100,
                "forget %": _mean_std(part.forget_acc, 1),
                "MIA %": _mean_std(part.mia, 1),
                "time / retrain": mean.seconds / retrain.seconds,
            }
            row.update(_verdicts(task, mean, base, retrain))
            rows.append(row)
    return pd.DataFrame(rows)


def _verdicts(task: str, mean, base, retrain) -> dict[str, str]:
    time_ok = "yes" if mean.seconds <= TIME_SHARE * retrain.seconds else "no"
    if task == "errors":
        gap = (base.forget_acc - retrain.forget_acc) * 100
        halfway = (base.forget_acc + retrain.forget_acc) / 2
        forget = "n/a" if gap < MIN_GAP_PT else ("yes" if mean.forget_acc <= halfway + 1e-12 else "no")
        test = "yes" if mean.test_acc >= base.test_acc - TEST_SLACK_PT / 100 - 1e-12 else "no"
        return {"forget goal": forget, "test goal": test, "time goal": time_ok}
    mia_gap = abs(base.mia - retrain.mia) * 100
    toward = abs(mean.mia - retrain.mia) <= abs(base.mia - retrain.mia) + 1e-12
    forget = "n/a" if mia_gap < MIN_GAP_PT else ("yes" if toward else "no")
    test = "yes" if abs(mean.test_acc - retrain.test_acc) <= DELETION_SLACK_PT / 100 + 1e-12 else "no"
    return {"forget goal": forget, "test goal": test, "time goal": time_ok}


def scorecard(goals: pd.DataFrame) -> pd.DataFrame:
    """Per data set, task and method: in how many cells each goal is met."""
    ok = (goals["forget goal"] != "no") & (goals["test goal"] == "yes") & (goals["time goal"] == "yes")
    table = goals.assign(all_goals=ok).groupby(["dataset", "task", "method"], sort=False)
    return table.agg(
        cells=("method", "size"),
        forget_cells=("forget goal", lambda s: int((s != "n/a").sum())),
        forget_goal=("forget goal", lambda s: int((s == "yes").sum())),
        test_goal=("test goal", lambda s: int((s == "yes").sum())),
        time_goal=("time goal", lambda s: int((s == "yes").sum())),
        all_goals=("all_goals", "sum"),
        mean_dtest_pt=("Δtest pt", "mean"),
        worst_dtest_pt=("Δtest pt", "min"),
    ).reset_index()


def repeated_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds of each repeated-forget schedule, with its check."""
    stats = frame.groupby(["dataset", "size", "schedule"], sort=False).agg(
        seeds=("seed", "nunique"),
        test_acc=("test_acc", "mean"),
        reference_test_acc=("reference_test_acc", "mean"),
        forget_acc=("forget_acc", "mean"),
    )
    stats["gap_pt"] = (stats.test_acc - stats.reference_test_acc) * 100
    stats[["test_acc", "reference_test_acc", "forget_acc"]] *= 100
    return stats.round(2).reset_index()
