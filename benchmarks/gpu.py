"""Everything the package does on one GPU, in one run of a few minutes; writes ``results/gpu.md``.

    python -m benchmarks.gpu            # on a CUDA machine: 1M training rows, a 50M-parameter model
    python -m benchmarks.gpu --quick    # CI-sized, any device (writes nothing)
    python -m benchmarks.gpu --rows 100000 --large-rows 20000 --large-width 1024 --name gpu_cpu  # a CPU reference

Four parts, each printed as a table:

1. **fit, every forget, retrain** on synthetic DataCo-like rows (default 1M training rows, the
   paper's 5x250 MLP, batch 1024): seconds, test accuracy after forgetting the 1 % of rows whose
   labels were made wrong, and each forget's share of the retrain.
2. **speed-ups**: an epoch of ``fit`` with skorch's ``compile=True`` against without, and the
   plain torch loop over device-resident tensors (``train_speed.plain_epoch``) as the floor.
3. **a large model** (default ≥ 50M parameters): forget 1 % of 200k rows, seconds and peak GPU
   memory.
4. **CPU ≡ CUDA**: the same fitted weights forgotten on the CPU and on the GPU, the largest
   difference in any weight, per method.
5. **Accelerate** (with the ``accelerate`` extra): the same fit and default forget through
   ``AcceleratedUnlearnableClassifier`` in one process, in bf16 mixed precision on a GPU that
   supports it (float32 on a CPU), next to the plain estimator.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.datasets import inject_label_noise, load_supply_chain
from sklearn_unlearn.persistence import load, save
from sklearn_unlearn.utils import resolve_device

from .common import RESULTS, markdown, plain_epoch, report_header, sync, timed, write_report

METHODS = ["assd", "path_gradient", "ssd", "single_gradient", "newton", "finetune"]


def _model(hidden: tuple[int, ...], epochs: int, batch: int, device: str, **params) -> UnlearnableClassifier:
    return UnlearnableClassifier(
        module__hidden_layer_sizes=hidden,
        max_epochs=epochs,
        batch_size=batch,
        lr=0.1,
        device=device,
        random_state=0,
        **params,
    )


def forget_table(task, hidden, epochs, batch, device) -> tuple[pd.DataFrame, UnlearnableClassifier]:
    y_noisy, wrong = inject_label_noise(task.y_train, 0.01, random_state=0)
    baseline, fit_s = timed(lambda: _model(hidden, epochs, batch, device).fit(task.X_train, y_noisy))
    retain = {"X_retain": task.X_train[~wrong], "y_retain": y_noisy[~wrong]}
    rows = [{"method": "fit (baseline)", "seconds": fit_s, "test %": 100 * baseline.score(task.X_test, task.y_test)}]
    results = {}
    for method in [*METHODS, "retrain"]:
        model = copy.deepcopy(baseline).set_params(forget_method=method)
        kwargs = retain if method in ("finetune", "retrain") else {}
        sync()
        _, seconds = timed(lambda m=model, k=kwargs: (m.forget(task.X_train[wrong], y_noisy[wrong], **k), sync()))
        results[method] = seconds
        rows.append(
            {
                "method": method,
                "seconds": seconds,
                "test %": 100 * model.score(task.X_test, task.y_test),
                "wrong labels still predicted %": 100 * model.score(task.X_train[wrong], y_noisy[wrong]),
            }
        )
    frame = pd.DataFrame(rows)
    frame["share of retrain %"] = (100 * frame["seconds"] / results["retrain"]).where(frame.index > 0)
    return frame, baseline


def speedup_table(task, hidden, batch, device, compile: bool) -> pd.DataFrame:
    rows = []
    for label, params in [("fit", {}), ("fit, compile=True", {"compile": True})][: 2 if compile else 1]:
        clf = _model(hidden, 3, batch, device, **params).fit(task.X_train, task.y_train)
        # The first epoch of a compiled model includes the compilation; the median of three leaves it out.
        rows.append(
            {"what": label, "epoch s": float(np.median(clf.history[:, "dur"])), "first epoch s": clf.history[0, "dur"]}
        )
    X = torch.as_tensor(task.X_train).to(device)
    y = torch.as_tensor(task.y_train).to(device)
    plain = float(np.median([plain_epoch(X, y, hidden, batch, 0.1) for _ in range(3)]))
    rows.append({"what": "plain torch loop", "epoch s": plain, "first epoch s": np.nan})
    return pd.DataFrame(rows)


def large_model_table(rows: int, width: int, depth: int, device: str) -> pd.DataFrame:
    task = load_supply_chain(int(rows / 0.8), random_state=1)
    y_noisy, wrong = inject_label_noise(task.y_train, 0.01, random_state=1)
    clf = _model((width,) * depth, 1, 1024, device)
    clf.fit(task.X_train, y_noisy)
    n_params = sum(p.numel() for p in clf.module_.parameters())
    out = []
    for method in ["assd", "path_gradient"]:
        model = copy.deepcopy(clf).set_params(forget_method=method)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        sync()
        _, seconds = timed(lambda m=model: (m.forget(task.X_train[wrong], y_noisy[wrong]), sync()))
        peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else np.nan
        out.append(
            {
                "method": method,
                "parameters": n_params,
                "forget rows": int(wrong.sum()),
                "seconds": seconds,
                "peak GPU GiB": peak,
            }
        )
    return pd.DataFrame(out)


def agreement_table(baseline: UnlearnableClassifier, task, folder: Path) -> pd.DataFrame:
    y_noisy, wrong = inject_label_noise(task.y_train, 0.01, random_state=0)
    X_f, y_f = task.X_train[wrong][:2000], y_noisy[wrong][:2000]
    path = save(baseline, folder / "baseline.zip")
    out = []
    for method in ["assd", "ssd", "path_gradient", "single_gradient", "newton"]:
        forgotten = []
        for device in ["cpu", resolve_device("auto")]:
            # The saved model, loaded onto each device: the importance cache and w0 move with it.
            model = load(path, device=device).set_params(forget_method=method)
            model.forget(X_f, y_f, guard=False)
            forgotten.append({k: v.detach().cpu() for k, v in model.module_.state_dict().items()})
        a, b = forgotten
        out.append({"method": method, "largest weight difference": max(float((a[k] - b[k]).abs().max()) for k in a)})
    return pd.DataFrame(out)


def accelerate_table(task, hidden, epochs, batch) -> pd.DataFrame:
    """The plain estimator and the accelerated one in this process: epoch, fit, forget, accuracy."""
    try:
        from accelerate import Accelerator

        from sklearn_unlearn import AcceleratedUnlearnableClassifier
    except ImportError:
        return pd.DataFrame([{"what": "accelerate is not installed (pip install 'sklearn-unlearn[accelerate]')"}])
    cuda = torch.cuda.is_available()
    precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    y_noisy, wrong = inject_label_noise(task.y_train, 0.01, random_state=0)
    params = {"module__hidden_layer_sizes": hidden, "max_epochs": epochs, "batch_size": batch, "lr": 0.1}
    models = {
        "plain, float32": UnlearnableClassifier(random_state=0, **params),
        f"accelerate, mixed precision {precision}": AcceleratedUnlearnableClassifier(
            accelerator=Accelerator(cpu=not cuda, mixed_precision=precision), random_state=0, **params
        ),
    }
    rows = []
    for label, model in models.items():
        sync()
        _, fit_s = timed(lambda m=model: (m.fit(task.X_train, y_noisy), sync()))
        _, forget_s = timed(lambda m=model: (m.forget(task.X_train[wrong], y_noisy[wrong]), sync()))
        rows.append(
            {
                "what": label,
                "epoch s": float(np.median(model.history[:, "dur"])),
                "fit s": fit_s,
                "forget s": forget_s,
                "test %": 100 * model.score(task.X_test, task.y_test),
                "wrong labels still predicted %": 100 * model.score(task.X_train[wrong], y_noisy[wrong]),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="training rows for parts 1 and 2")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--large-rows", type=int, default=200_000)
    parser.add_argument("--large-width", type=int, default=4096, help="hidden width of the large model")
    parser.add_argument("--large-depth", type=int, default=4, help="hidden layers of the large model")
    parser.add_argument("--quick", action="store_true", help="CI-sized run on any device; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu")
    parser.add_argument("--name", default="gpu", help="results file stem (cpu for a CPU reference run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.epochs, args.large_rows, args.large_width, args.large_depth = 4000, 2, 2000, 64, 2
    device = resolve_device("auto")
    hidden, batch = (250,) * 5, 1024
    task = load_supply_chain(int(args.rows / 0.8), random_state=0)

    forgets, baseline = forget_table(task, hidden, args.epochs, batch, device)
    print(markdown(forgets, ".3g"), flush=True)
    speed = speedup_table(task, hidden, batch, device, compile=not args.quick)
    print(markdown(speed, ".3g"), flush=True)
    large = large_model_table(args.large_rows, args.large_width, args.large_depth, device)
    print(markdown(large, ".3g"), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        agreement = agreement_table(baseline, task, Path(folder))
    accelerated = accelerate_table(task, hidden, args.epochs, batch)
    lines = [
        *report_header("Everything on one GPU", "gpu", argv, device),
        f"## 1. fit, every forget, retrain — {len(task.y_train):,} training rows, 5x250 MLP, batch {batch}, "
        f"{args.epochs} epochs; forgetting the 1 % relabelled rows",
        "",
        markdown(forgets, ".3g"),
        "",
        "## 2. Epoch time: skorch's compile=True, and the plain torch loop",
        "",
        markdown(speed, ".3g"),
        "",
        f"## 3. A large model: {args.large_depth}x{args.large_width} MLP on {args.large_rows:,} rows, forgetting 1 %",
        "",
        markdown(large, ".3g"),
        "",
        "## 4. CPU ≡ CUDA: the same weights forgotten on both (unguarded), largest difference in any weight",
        "",
        markdown(agreement, ".2g")
        if device != "cpu"
        else "(no CUDA device: CPU against CPU)\n\n" + markdown(agreement, ".2g"),
        "",
        "## 5. Accelerate in one process: AcceleratedUnlearnableClassifier next to the plain estimator",
        "",
        markdown(accelerated, ".3g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, args.name, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
