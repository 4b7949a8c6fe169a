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
        "detect + forget (ASSD)",
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
    beyond = load_benchmark("beyond")
    assert beyond.main(["--quick"]) == 0
    output = capsys.readouterr().out
    for method in beyond.METHODS:
        assert f"| {method} " in output
    assert "forget goal" in output and "time / retrain" in output
    assert beyond.main(["--quick", "--repeated"]) == 0
    assert "ten forgets of 1 %" in capsys.readouterr().out
    # The goal table and scorecard from a results folder, as --summarise makes them.
    frame = pd.DataFrame(
        [
            {
                "dataset": "toy",
                "size": "s",
                "rate": 0.1,
                "seed": seed,
                "method": method,
                "test_acc": acc,
                "forget_acc": forget,
                "seconds": seconds,
                "n_forget": 10,
            }
            for seed in (0, 1)
            for method, acc, forget, seconds in [
                ("baseline", 0.80, 0.60, 10.0),
                ("retrain", 0.82, 0.10, 10.0),
                ("path gradient", 0.799, 0.30, 0.5),
            ]
        ]
    )
    frame.to_csv(tmp_path / "beyond_toy.csv", index=False)
    assert beyond.main(["--summarise", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "beyond.md").read_text()
    row = next(line for line in report.splitlines() if "| path gradient" in line and "| s " in line)
    assert "| yes" in row and "| no" not in row  # forget 0.30 <= halfway 0.35; test -0.1 pt; 5 % of retrain
