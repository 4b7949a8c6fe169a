from importlib import resources

import pytest

from sklearn_unlearn.cli import main


def test_demo_quick_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    for method in (
        "baseline",
        "default: relabel stage, guarded",
        "ASSD rule alone",
        "path gradient",
        "fine-tune",
        "retrain",
    ):
        assert method in output
    assert (tmp_path / "demo.png").stat().st_size > 1000


def test_help_explains_the_demo(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "Late_delivery_risk" in capsys.readouterr().out


def test_demo_on_a_dataco_file(tmp_path, capsys):
    from .datasets.test_datasets import SAMPLE

    with resources.as_file(SAMPLE) as path:
        assert main(["demo", "--quick", "--data", str(path), "--out", str(tmp_path)]) == 0
    assert "DataCo file" in capsys.readouterr().out


def test_demo_defaults_to_the_real_sample(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    assert "the real DataCo sample shipped with the package" in capsys.readouterr().out


def test_the_readme_shows_the_recorded_demo():
    """README's demo table is the one ``python -m benchmarks.demo`` recorded, not a hand copy."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    recorded = (root / "benchmarks" / "results" / "demo" / "demo.md").read_text()
    table = recorded.split("```")[1].strip()
    assert table in (root / "README.md").read_text()
