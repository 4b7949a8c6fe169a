"""CI-sized runs of every benchmark, so none of them rots."""

import importlib

import pandas as pd
import pytest


def load_benchmark(name):
    return importlib.import_module(f"benchmarks.{name}")


def test_forget_cost_quick(capsys):
    assert load_benchmark("forget_cost").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "forget/retrain" in output and "importance pass/epoch" in output


def test_synthetic_scale_quick(capsys):
    assert load_benchmark("synthetic_scale").main(["--quick"]) == 0
    assert "10,000" in capsys.readouterr().out


@pytest.mark.slow
def test_detect_and_forget_quick(capsys):
    assert load_benchmark("detect_and_forget").main(["--quick"]) == 0
    output = capsys.readouterr().out
    for method in (
        "baseline",
        "detect + forget (default)",
        "detect + fine-tune",
        "detect + drop",
        "CleanLearning",
        "oracle",
    ):
        assert method in output
    assert "of CleanLearning's time" in output


@pytest.mark.slow
def test_table4_quick(capsys):
    assert load_benchmark("table4").main(["--quick"]) == 0
    output = capsys.readouterr().out
    for method in ("baseline", "retrain", "fine-tune", "SSD", "ASSD (per-sample)", "ASSD (mini-batch)"):
        assert f"| {method}" in output
    assert "p (paired t)" in output


def test_forget_scaling_quick(capsys):
    assert load_benchmark("forget_scaling").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "forget/retrain at 1 %" in output and "log-log slope" in output


def test_mia_quick(capsys):
    assert load_benchmark("mia").main(["--quick"]) == 0
    output = capsys.readouterr().out
    for name in ("DataCo", "digits", "baseline", "ASSD", "retrain", "MIA %"):
        assert name in output


def test_class_forgetting_quick(capsys):
    assert load_benchmark("class_forgetting").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "weight filter" in output and "retrain without c" in output


@pytest.mark.slow
def test_beyond_quick(capsys, tmp_path):
    from benchmarks.beyond_goals import METHODS

    beyond = load_benchmark("beyond")
    assert beyond.main(["--quick"]) == 0
    output = capsys.readouterr().out
    for method in METHODS:
        assert f"| {method} " in output
    assert "forget goal" in output and "time / retrain" in output
    assert beyond.main(["--quick", "--task", "deletion"]) == 0
    assert "| deletion " in capsys.readouterr().out
    assert beyond.main(["--quick", "--repeated"]) == 0
    assert "ten forgets of 1 %" in capsys.readouterr().out


def cell_rows(task, rows):
    return [
        {
            "dataset": "toy",
            "task": task,
            "size": "s",
            "rate": 0.1,
            "seed": seed,
            "method": method,
            "test_acc": acc,
            "forget_acc": forget,
            "mia": mia,
            "seconds": seconds,
            "n_forget": 10,
        }
        for seed in (0, 1)
        for method, acc, forget, mia, seconds in rows
    ]


def test_the_goal_checks_on_hand_made_cells(tmp_path):
    from benchmarks.beyond_goals import goal_table

    errors = cell_rows(
        "errors",
        [
            ("baseline", 0.80, 0.60, 0.5, 10.0),
            ("retrain", 0.82, 0.10, 0.4, 10.0),
            # 80 % of the way (0.20 <= 0.10 + 0.2 x 0.50), +1.1 pt = 55 % of the gain, 5 % of the time
            ("default", 0.811, 0.20, 0.45, 0.5),
            # 70 % of the way, -0.4 pt, 15 % of the time: all missed
            ("fine-tune", 0.796, 0.25, 0.45, 1.5),
        ],
    )
    deletion = cell_rows(
        "deletion",
        [
            ("baseline", 0.80, 0.99, 0.70, 10.0),
            ("retrain", 0.81, 0.80, 0.50, 10.0),
            ("default", 0.806, 0.95, 0.60, 0.5),  # within 0.5 pt of retrain, MIA closer: met
            ("fine-tune", 0.80, 0.99, 0.95, 0.5),  # 1 pt from retrain, MIA farther: missed
        ],
    )
    goals = goal_table(pd.DataFrame(errors + deletion)).set_index(["task", "method"])
    checks = ["forget goal", "test goal", "recovery goal", "time goal"]
    assert tuple(goals.loc[("errors", "default"), checks]) == ("yes",) * 4
    assert tuple(goals.loc[("errors", "fine-tune"), checks]) == ("no",) * 4
    assert goals.loc[("errors", "default"), "winner"] == "◀"
    assert tuple(goals.loc[("deletion", "default"), ["forget goal", "test goal"]]) == ("yes", "yes")
    assert tuple(goals.loc[("deletion", "fine-tune"), ["forget goal", "test goal"]]) == ("no", "no")
    pd.DataFrame(errors).to_csv(tmp_path / "beyond_toy_errors.csv", index=False)
    beyond = load_benchmark("beyond")
    assert beyond.main(["--summarise", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "beyond.md").read_text()
    assert "## Scorecard" in report and "## Winners" in report
    from benchmarks.beyond_goals import at_a_glance

    glance = at_a_glance(goal_table(pd.DataFrame(errors + deletion))).set_index("task")
    assert glance.loc["errors", "forgets"] == "1 / 1" and glance.loc["errors", "is cheap"] == "1 / 1"
    assert glance.loc["deletion", "keeps model"] == "1 / 1"
    assert glance.loc["errors", "retrain Δtest pt"] == 2.0
    assert report.index("## The default at a glance") < report.index("## Scorecard")


def test_systematic_errors_take_one_region_of_one_class():
    import numpy as np

    beyond = load_benchmark("beyond")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 4)), np.repeat([0, 1, 2], [300, 200, 100])
    y_wrong, chosen = beyond.systematic_errors(X, y, 0.05, np.random.default_rng(1))
    assert chosen.sum() == 30 and set(y[chosen]) == {0} and len(set(y_wrong[chosen])) == 1
    assert (y_wrong[~chosen] == y[~chosen]).all()


def test_assd_anatomy_quick(capsys):
    assert load_benchmark("assd_anatomy").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "L1 mass removed" in output and "first-block units switching" in output


def test_gpu_benchmark_quick(capsys):
    # On a CPU-only machine part 4 compares the CPU with itself: the same saved weights forgotten twice.
    assert load_benchmark("gpu").main(["--quick"]) == 0
    output = capsys.readouterr().out
    for part in (
        "## 1. fit, every forget, retrain",
        "## 2. Epoch time",
        "## 3. A large model",
        "## 4. CPU",
        "## 5. Acc",
    ):
        assert part in output
    for method in ("assd", "path_gradient", "ssd", "single_gradient", "newton", "finetune", "retrain"):
        assert f"| {method} " in output
    assert "| accelerate, mixed precision no " in output  # float32 on a CPU


def test_train_speed_quick(capsys):
    assert load_benchmark("train_speed").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "fit / plain" in output and "importance / fit epoch" in output


def test_exact_deletion_quick(capsys):
    assert load_benchmark("exact_deletion").main(["--quick"]) == 0
    output = capsys.readouterr().out
    for column in ("one deletion s", "speed-up", "stream speed-up", "1 % batch speed-up"):
        assert column in output


def test_audit_quick(capsys):
    assert load_benchmark("audit").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "TPR @ 1 % FPR" in output and "sharded (exact)" in output and "calibrated" in output


def test_processes_quick(capsys):
    assert load_benchmark("processes").main(["--quick"]) == 0
    output = capsys.readouterr().out
    assert "accelerate, 2 processes" in output and "Goal: an epoch on 2 processes" in output


def test_demo_quick(capsys):
    assert load_benchmark("demo").main(["--quick"]) == 0
    assert "default: relabel stage, guarded" in capsys.readouterr().out


def test_research_tools_quick(capsys):
    assert load_benchmark("research_tools").main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "Single-gradient unlearning" in out and "ranking AUC" in out and "failure-set accuracy % after" in out


def test_a_merged_rerun_replaces_only_the_cells_it_measured(tmp_path):
    beyond = load_benchmark("beyond")

    def cells(size, seeds, acc):
        return pd.DataFrame(
            [
                {"task": "errors", "size": size, "rate": 0.05, "seed": s, "method": "default", "test_acc": acc}
                for s in seeds
            ]
        )

    pd.concat([cells("small", [0, 1], 0.5), cells("large", [0, 1], 0.5)]).to_csv(
        tmp_path / "toy_errors.csv", index=False
    )
    (tmp_path / "toy_errors.md").write_text("# old\n\nCommand: `python -m benchmarks.beyond --data toy`  \n")
    earlier = beyond._earlier_run(tmp_path, "toy_errors")
    new = cells("large", [0, 1], 0.9)
    merged = beyond._merged(new, earlier)
    assert len(merged) == 4
    assert merged.groupby("size").test_acc.mean().to_dict() == {"large": 0.9, "small": 0.5}
    [line] = beyond._merge_lines(new, earlier)
    assert "size large" in line and "other 2 cells" in line and "--data toy" in line
    assert beyond._earlier_run(tmp_path, "missing") is None
    assert beyond._merged(new, None) is new and beyond._merge_lines(new, None) == []


def test_misuse_is_judged_on_test_accuracy_alone():
    from benchmarks.beyond_goals import goal_table

    misuse = cell_rows(
        "misuse",
        [
            ("baseline", 0.80, 1.00, 0.9, 10.0),
            ("retrain", 0.80, 0.70, 0.5, 10.0),
            ("default", 0.79, 0.10, 0.2, 0.5),  # unlearned correct labels and lost a point
            ("fine-tune", 0.80, 1.00, 0.9, 0.5),  # left the model as it was
        ],
    )
    goals = goal_table(pd.DataFrame(misuse)).set_index("method")
    assert goals.loc["default", "test goal"] == "no" and goals.loc["fine-tune", "test goal"] == "yes"
    assert set(goals["forget goal"]) == {"n/a"} and set(goals["recovery goal"]) == {"n/a"}
