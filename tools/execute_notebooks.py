"""Execute the notebooks in place, so that they are stored with their outputs.

    python tools/execute_notebooks.py                 # every notebook under notebooks/
    python tools/execute_notebooks.py notebooks/01_quickstart.ipynb

Readers see the outputs without running anything; the test suite runs every notebook again
(nbmake), so a notebook that no longer runs fails CI. One torch thread, as the benchmarks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for cell in notebook.cells:  # outputs only: no run-specific metadata in the diff
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        print(f"executing {path}", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
