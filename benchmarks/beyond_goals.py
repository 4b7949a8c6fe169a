"""The goal checks of ``benchmarks.beyond``, on the means over seeds of each cell.

Label errors (``errors``, ``systematic``, ``partial``: the forget rows carry wrong labels):
* forget: agreement with the wrong labels at most ``FORGET_SHARE`` of the way from the retrained
  model's to the baseline's, i.e. moved at least 80 % of the way toward the retrain ("n/a" where
  the baseline is less than ``MEMORISED_PT`` above the retrain: nothing was memorised);
* test: test accuracy at least the baseline's minus ``TEST_SLACK_PT``;
* recovery: at least ``RECOVERY_SHARE`` of the retrain's test-accuracy gain ("n/a" where the
  retrain gains less than ``MIN_GAIN_PT``);
* time: at most ``TIME_SHARE`` of the retrain's seconds.

Misuse (correct rows passed as label errors): the test goal alone; nothing should be forgotten.

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
    "NegGrad+",
    "SCRUB",
    "ASSD (paper)",
    "default",
    "default, unguarded",
    "previous default",
]
MEMORISED_PT = 20.0
FORGET_SHARE = 0.2
MIN_GAIN_PT = 1.0
RECOVERY_SHARE = 0.5
MIN_GAP_PT = 1.0
TEST_SLACK_PT = 0.3
DELETION_SLACK_PT = 0.5
TIME_SHARE = 0.10
KEYS = ["dataset", "task", "size", "rate"]
GOALS = ["forget goal", "test goal", "recovery goal", "time goal"]


def _mean_std(values: pd.Series, digits: int) -> str:
    spread = values.std(ddof=1) * 100 if len(values) > 1 else 0.0
    return f"{values.mean() * 100:.{digits}f} ± {spread:.{digits}f}"


def goal_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Means ± std per cell and method, with each goal's verdict and the cell's winner."""
    rows = []
    for (dataset, task, size, rate), block in frame.groupby(KEYS, sort=False):
        means = block.groupby("method").mean(numeric_only=True)
        base, retrain = means.loc["baseline"], means.loc["retrain"]
        cell = []
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
            cell.append(row)
        best = _winner(cell)
        rows += [{**row, "winner": "◀" if row["method"] == best else ""} for row in cell]
    return pd.DataFrame(rows)


def _verdicts(task: str, mean, base, retrain) -> dict[str, str]:
    time_ok = "yes" if mean.seconds <= TIME_SHARE * retrain.seconds else "no"
    if task == "misuse":
        test = "yes" if mean.test_acc >= base.test_acc - TEST_SLACK_PT / 100 - 1e-12 else "no"
        return {"forget goal": "n/a", "test goal": test, "recovery goal": "n/a", "time goal": time_ok}
    if task != "deletion":
        memorised = (base.forget_acc - retrain.forget_acc) * 100 >= MEMORISED_PT
        target = retrain.forget_acc + FORGET_SHARE * (base.forget_acc - retrain.forget_acc)
        forget = "n/a" if not memorised else ("yes" if mean.forget_acc <= target + 1e-12 else "no")
        test = "yes" if mean.test_acc >= base.test_acc - TEST_SLACK_PT / 100 - 1e-12 else "no"
        gain = retrain.test_acc - base.test_acc
        recovered = mean.test_acc - base.test_acc >= RECOVERY_SHARE * gain - 1e-12
        recovery = "n/a" if gain * 100 < MIN_GAIN_PT else ("yes" if recovered else "no")
        return {"forget goal": forget, "test goal": test, "recovery goal": recovery, "time goal": time_ok}
    mia_gap = abs(base.mia - retrain.mia) * 100
    toward = abs(mean.mia - retrain.mia) <= abs(base.mia - retrain.mia) + 1e-12
    forget = "n/a" if mia_gap < MIN_GAP_PT else ("yes" if toward else "no")
    test = "yes" if abs(mean.test_acc - retrain.test_acc) <= DELETION_SLACK_PT / 100 + 1e-12 else "no"
    return {"forget goal": forget, "test goal": test, "recovery goal": "n/a", "time goal": time_ok}


def _winner(cell: list[dict]) -> str:
    candidates = [row for row in cell if row["method"] not in ("baseline", "retrain")]
    if not candidates:
        return ""
    met = {row["method"]: sum(row[goal] in ("yes", "n/a") for goal in GOALS) for row in candidates}
    return max(candidates, key=lambda row: (met[row["method"]], row["Δtest pt"]))["method"]


def scorecard(goals: pd.DataFrame) -> pd.DataFrame:
    """Per data set, task and method: in how many cells each goal is met."""
    ok = (goals["forget goal"] != "no") & (goals["test goal"] == "yes") & (goals["recovery goal"] != "no")
    ok &= goals["time goal"] == "yes"
    table = goals.assign(all_goals=ok).groupby(["dataset", "task", "method"], sort=False)
    return table.agg(
        cells=("method", "size"),
        forget_cells=("forget goal", lambda s: int((s != "n/a").sum())),
        forget_goal=("forget goal", lambda s: int((s == "yes").sum())),
        test_goal=("test goal", lambda s: int((s == "yes").sum())),
        recovery_cells=("recovery goal", lambda s: int((s != "n/a").sum())),
        recovery_goal=("recovery goal", lambda s: int((s == "yes").sum())),
        time_goal=("time goal", lambda s: int((s == "yes").sum())),
        all_goals=("all_goals", "sum"),
        mean_dtest_pt=("Δtest pt", "mean"),
        worst_dtest_pt=("Δtest pt", "min"),
    ).reset_index()


def at_a_glance(goals: pd.DataFrame, method: str = "default") -> pd.DataFrame:
    """Per data set and task: the goals ``method`` meets ("met / cells it applies to") and its Δtest next to retrain's."""
    card = scorecard(goals).set_index(["dataset", "task", "method"])
    rows = []
    for (dataset, task), block in card.groupby(level=["dataset", "task"], sort=False):
        if (dataset, task, method) not in block.index:
            continue
        mine = block.loc[(dataset, task, method)]
        retrain = block.loc[(dataset, task, "retrain")] if (dataset, task, "retrain") in block.index else None
        rows.append(
            {
                "dataset": dataset,
                "task": task,
                "cells": int(mine.cells),
                "forgets": f"{int(mine.forget_goal)} / {int(mine.forget_cells)}",
                "keeps model": f"{int(mine.test_goal)} / {int(mine.cells)}",
                "recovers": f"{int(mine.recovery_goal)} / {int(mine.recovery_cells)}",
                "is cheap": f"{int(mine.time_goal)} / {int(mine.cells)}",
                "mean Δtest pt": round(float(mine.mean_dtest_pt), 2),
                "worst Δtest pt": round(float(mine.worst_dtest_pt), 2),
                "retrain Δtest pt": round(float(retrain.mean_dtest_pt), 2) if retrain is not None else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def winners(goals: pd.DataFrame) -> pd.DataFrame:
    """Per data set and task: how many cells each method won."""
    won = goals[goals.winner != ""].groupby(["dataset", "task", "method"], sort=False).size()
    return won.rename("cells won").reset_index()


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
