"""Does training on several processes pay? ``AcceleratedUnlearnableClassifier`` on 1 and 2 processes.

    python -m benchmarks.processes                # 200k synthetic DataCo-like rows, the 5x250 MLP, 3 epochs
    python -m benchmarks.processes --quick        # CI-sized, the two Accelerate runs only (writes nothing)

Each configuration runs in fresh processes, one after another, each process with its own
number of torch threads:

* ``plain, 1 thread`` and ``plain, 2 threads``: ``UnlearnableClassifier`` in one process;
* ``accelerate, 1 process`` and ``accelerate, 2 processes``: ``AcceleratedUnlearnableClassifier``
  under ``torchrun`` (gloo on CPUs), one thread per process.

The global batch is the same everywhere (``--batch``, default 256 rows a step: 128 a process
on two), so the runs take the same steps. The last configuration asks DDP not to send
BatchNorm's running statistics from process 0 before every forward
(``DistributedDataParallelKwargs(broadcast_buffers=False)``); the estimator takes process 0's
once, at the end of training. Reported: the median seconds of an epoch after the first, the whole
``fit`` (epochs, then the importance pass and the forget state), a default ``forget`` of the
1 % of rows whose labels were made wrong, and test accuracy. Goal: an epoch on 2 processes
takes at most 0.7x one process's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .common import RESULTS, markdown, report_header, write_report

CONFIGS = [
    ("plain, 1 thread", "plain", 1, 1),
    ("plain, 2 threads", "plain", 1, 2),
    ("accelerate, 1 process", "accelerate", 1, 1),
    ("accelerate, 2 processes", "accelerate", 2, 1),
    ("accelerate, 2 processes, own BatchNorm statistics", "accelerate_local_buffers", 2, 1),
]


def worker(kind: str, rows: int, epochs: int, hidden: tuple[int, ...], batch: int, out: Path) -> None:
    """One process's run: fit, forget the wrong labels, score; process 0 writes ``out``."""
    from sklearn_unlearn import AcceleratedUnlearnableClassifier, UnlearnableClassifier
    from sklearn_unlearn.datasets import inject_label_noise, load_supply_chain

    task = load_supply_chain(rows, random_state=0)
    y_noisy, wrong = inject_label_noise(task.y_train, 0.01, random_state=0)
    params = {"module__hidden_layer_sizes": hidden, "max_epochs": epochs, "lr": 0.1, "random_state": 0}
    if kind == "plain":
        clf, rank, n = UnlearnableClassifier(batch_size=batch, device="cpu", **params), 0, 1
    else:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        # BatchNorm's running statistics are not sent from process 0 before every forward (DDP's
        # default): the model takes process 0's once, at the end of training.
        ddp = DistributedDataParallelKwargs(broadcast_buffers=kind != "accelerate_local_buffers")
        accelerator = Accelerator(cpu=True, kwargs_handlers=[ddp])
        rank, n = accelerator.process_index, accelerator.num_processes
        clf = AcceleratedUnlearnableClassifier(accelerator=accelerator, batch_size=batch // n, **params)
    start = time.perf_counter()
    clf.fit(task.X_train, y_noisy)
    fit_seconds = time.perf_counter() - start
    epochs_seconds = [float(d) for d in clf.history[:, "dur"]]
    start = time.perf_counter()
    clf.forget(task.X_train[wrong], y_noisy[wrong])
    forget_seconds = time.perf_counter() - start
    test_acc = float(clf.score(task.X_test, task.y_test))  # every process: prediction is split and gathered
    if rank == 0:
        result = {
            "epoch_seconds": float(np.median(epochs_seconds[1:] or epochs_seconds)),
            "fit_seconds": fit_seconds,
            "forget_seconds": forget_seconds,
            "test_acc": test_acc,
            "n_train": int(len(task.X_train)),
            "processes": n,
        }
        out.write_text(json.dumps(result))
    if kind != "plain":
        _close_process_group()


def _close_process_group() -> None:
    """Wait for every process, then close the group: gloo's threads left running at exit can abort the process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def launch(kind: str, processes: int, threads: int, args, out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    script = ["-m", "benchmarks.processes", "--worker", kind, "--rows", str(args.rows), "--epochs", str(args.epochs)]
    script += ["--batch", str(args.batch)]
    script += ["--hidden", *map(str, args.hidden), "--result", str(out)]
    if processes == 1:
        command = [sys.executable, *script]
    else:
        # torchrun runs a script or a module (-m): the module keeps the package's imports working.
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        command += ["-m", *script[1:]]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def _epoch_of(frame: pd.DataFrame, configuration: str) -> float:
    return frame.loc[frame.configuration == configuration, "epoch_seconds"].item()


def report_lines(frame: pd.DataFrame, args, argv) -> list[str]:
    """The report: a table narrow enough for a page (the CSV keeps every column)."""
    ratio = _epoch_of(frame, "accelerate, 2 processes") / _epoch_of(frame, "accelerate, 1 process")
    shown = frame.rename(
        columns={
            "epoch_seconds": "epoch s",
            "fit_seconds": "fit s",
            "forget_seconds": "forget s",
            "epoch vs accelerate 1 process": "epoch / accelerate, 1 process",
        }
    )[["configuration", "epoch s", "fit s", "forget s", "epoch / accelerate, 1 process", "test %"]]
    lines = report_header("Training on several processes (Accelerate, gloo on CPUs)", "processes", argv, "cpu")
    return lines + [
        f"{frame.n_train.iloc[0]:,} training rows (synthetic DataCo-like), MLP {tuple(args.hidden)}, "
        f"{args.epochs} epochs, {args.batch} rows a step in every configuration; forget: the default, of the "
        "1 % of rows with wrong labels. Epoch: median after the first. Threads: one per process, except "
        '"plain, 2 threads". "own BatchNorm statistics": DDP does not send them from process 0 before every '
        "forward (`DistributedDataParallelKwargs(broadcast_buffers=False)`).",
        "",
        markdown(shown, ".3g"),
        "",
        f"Goal: an epoch on 2 processes <= 0.7x one process. Measured: {ratio:.2f}x "
        f"({'met' if ratio <= 0.7 else 'missed'}).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="synthetic orders generated (training: 80 %%)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[250] * 5)
    parser.add_argument("--batch", type=int, default=256, help="rows a step, over all processes")
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "processes")
    parser.add_argument("--worker", choices=["plain", "accelerate", "accelerate_local_buffers"], help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--render", action="store_true", help="rewrite the report from the CSV of a run (no training)")
    args = parser.parse_args(argv)
    if args.render:  # the header names the run that measured, not this rewrite
        torch.set_num_threads(1)
        argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--render"]
        frame = pd.read_csv(args.out / f"batch{args.batch}.csv")
        frame["configuration"] = frame.configuration.str.replace(
            "BatchNorm statistics kept per process", "own BatchNorm statistics"
        )
        write_report(args.out, f"batch{args.batch}", "\n".join(report_lines(frame, args, argv)), frame)
        return 0
    if args.worker:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        worker(args.worker, args.rows, args.epochs, tuple(args.hidden), args.batch, args.result)
        return 0
    torch.set_num_threads(1)  # this process only launches the runs
    configs = [c for c in CONFIGS if c[1] == "accelerate"] if args.quick else CONFIGS
    if args.quick:
        args.rows, args.epochs, args.hidden = 3000, 2, [32, 32]
    records = []
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"processes-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    for label, kind, processes, threads in configs:
        result = launch(kind, processes, threads, args, scratch / f"{kind}-{processes}-{threads}.json")
        records.append({"configuration": label, "threads per process": threads, **result})
        print(f"{label}: done", flush=True)
    frame = pd.DataFrame(records)
    frame["epoch vs accelerate 1 process"] = frame.epoch_seconds / _epoch_of(frame, "accelerate, 1 process")
    frame["test %"] = frame.pop("test_acc") * 100
    lines = report_lines(frame, args, argv)
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, f"batch{args.batch}", report, frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
