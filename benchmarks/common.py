"""What every benchmark shares: timing, the machine line, the command line, data and reports."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F

from sklearn_unlearn import MLP
from sklearn_unlearn.datasets import load_dataco
from sklearn_unlearn.utils import resolve_device

RESULTS = Path(__file__).resolve().parent / "results"
DATACO_FILES = ("DataCoSupplyChainDataset.csv", "DataCoSupplyChainDataset.csv.gz", "dataco_sample_6000.csv.gz")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()``'s result and the seconds it took (wall clock)."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def machine_line(device: str | None = None) -> str:
    """Architecture, cores, torch version, device and torch threads: what a reader needs to compare figures."""
    device = device or resolve_device("auto")
    card = f" ({torch.cuda.get_device_name(0)})" if str(device).startswith("cuda") and torch.cuda.is_available() else ""
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, device {device}{card}, "
        f"{torch.get_num_threads()} torch thread(s)"
    )


def command_line(name: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces a run: ``python -m benchmarks.<name> ...``."""
    args = list(argv if argv is not None else sys.argv[1:])
    return " ".join(["python -m benchmarks." + name, *args])


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with a DataCo CSV (the full DataCoSupplyChainDataset.csv or a sample); "
        "default: the real 6,000-row sample that ships with the package",
    )


def load_real(data_dir: Path | None, features: str = "paper", target: str = "delay_class"):
    """The real DataCo task: the packaged sample, or the first DataCo file found in ``data_dir``."""
    if data_dir is None:
        return load_dataco(features=features, target=target)
    for name in DATACO_FILES:
        if (data_dir / name).exists():
            return load_dataco(data_dir / name, features=features, target=target)
    raise FileNotFoundError(f"No DataCo CSV in {data_dir}: looked for {', '.join(DATACO_FILES)}.")


def markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def write_report(out: Path, stem: str, text: str, frame: pd.DataFrame | None = None) -> Path:
    """Write ``<stem>.md`` (and ``<stem>.csv`` from ``frame``) under ``out``; return the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        frame.to_csv(out / f"{stem}.csv", index=False)
    path = out / f"{stem}.md"
    path.write_text(text.rstrip() + "\n")
    return path


def report_header(title: str, name: str, argv: Sequence[str] | None, device: str | None = None) -> list[str]:
    return [f"# {title}", "", f"Command: `{command_line(name, argv)}`  ", f"Machine: {machine_line(device)}", ""]


def sync(device: torch.device | None = None) -> None:
    """Wait for queued CUDA work (on ``device``, or any when None), so that a timer measures it."""
    if (device is None and torch.cuda.is_available()) or (device is not None and device.type == "cuda"):
        torch.cuda.synchronize()


def plain_epoch(X: torch.Tensor, y: torch.Tensor, hidden, batch_size: int, lr: float) -> float:
    """Seconds of one epoch of the plain loop: shuffled batches by index, forward, loss, backward, step."""
    torch.manual_seed(0)
    module = MLP(X.shape[1], int(y.max()) + 1, hidden).to(X.device).train()
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    sync(X.device)
    start = time.perf_counter()
    order = torch.randperm(len(X)).to(X.device)
    for begin in range(0, len(X) - batch_size + 1 if len(X) % batch_size == 1 else len(X), batch_size):
        rows = order[begin : begin + batch_size]
        optimizer.zero_grad()
        F.cross_entropy(module(X[rows]), y[rows]).backward()
        optimizer.step()
    sync(X.device)
    return time.perf_counter() - start
