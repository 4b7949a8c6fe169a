"""The README's demo, run and recorded: ``sklearn-unlearn demo`` with its table and figure kept under results.

    python -m benchmarks.demo           # writes results/demo/demo.md and results/demo/demo.png
    python -m benchmarks.demo --quick   # a small run (writes nothing)

The README and the docs show the demo's output; this is the one place it is written from, and
``tests/test_cli.py`` checks that the README's copy of the table equals ``demo.md``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from sklearn_unlearn import cli

from .common import RESULTS, report_header, write_report


def table_of(output: str) -> str:
    """The demo's table: from its header line to the last method's line."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("method "))
    stop = next(i for i in range(start + 1, len(lines)) if not lines[i].strip())
    return "\n".join(lines[start:stop])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "demo")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            cli.main(["demo", "--out", folder, *(["--quick"] if args.quick else [])])
        table = table_of(output.getvalue())
        lines = report_header("The demo: forgetting wrongly labelled DataCo rows", "demo", argv)
        lines += ["Command of the demo itself: `sklearn-unlearn demo` (one torch thread).", "", "```", table, "```"]
        report = "\n".join(lines)
        print(report)
        if not args.quick:
            write_report(args.out, "demo", report)
            shutil.copy(Path(folder) / "demo.png", args.out / "demo.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
