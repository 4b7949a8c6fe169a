"""Why the ASSD rule collapses large MLPs on label errors: what it selects, by how much, and what follows.

    python -m benchmarks.assd_anatomy            # DataCo sample, the paper's 5x250 MLP, 1 % and 10 % errors
    python -m benchmarks.assd_anatomy --quick    # a CI-sized run (writes nothing)

For each error rate (seed 0): train the paper's 5x250 MLP on the relabelled rows, apply the ASSD
rule alone (per-sample importances from the cache, unguarded), and report: how many weights each
tensor lost and how much of its L1 mass; the input columns whose first-layer weights lost most;
the ratio I_Df / I_Dr on the weights that read the leaked label column against all weights; how
many first-block units switch on or off on the test rows; and the test accuracy before and after.
Then the same for the mini-batch form computed from the retain rows (the authors' code).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from sklearn_unlearn import ASSD
from sklearn_unlearn.datasets import inject_label_noise, load_supply_chain

from .common import RESULTS, add_data_dir, load_real, markdown, report_header, write_report
from .tasks import SIZES, paper_mlp


def anatomy(task, rate: float, epochs: int, hidden, form: str) -> tuple[list[dict], dict]:
    X, names = task.X_train, list(task.feature_names)
    y_noisy, _, wrong = inject_label_noise(task.y_train, rate, random_state=0, mode="uniform", return_selected=True)
    base = paper_mlp(hidden, 0.1, 0.0, epochs, 0).fit(X, y_noisy)
    rule = copy.deepcopy(base).set_params(forget_method=ASSD(mode="rule"), importance=form)
    retain = {"X_retain": X[~wrong], "y_retain": y_noisy[~wrong]} if form == "minibatch" else {}
    rule.forget(X[wrong], y_noisy[wrong], guard=False, **retain)
    before, after = dict(base.module_.named_parameters()), dict(rule.module_.named_parameters())
    tensors = []
    for name, p in before.items():
        changed = int((p != after[name]).sum())
        if changed:
            lost = float((p - after[name]).abs().sum() / p.abs().sum())
            tensors.append(
                {"rate %": rate * 100, "form": form, "tensor": name, "dampened": changed, "L1 mass removed": lost}
            )
    first = next(iter(before))
    w0, w1 = before[first].detach(), after[first].detach()
    column_loss = ((w0 - w1).abs().sum(0) / w0.abs().sum(0)).numpy()
    top = np.argsort(-column_loss)[:2]
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(base.classes_.searchsorted(y_noisy))
    imp_f = base.compute_importances(X_t[wrong], y_t[wrong])[first]
    imp_r = base.compute_importances(X_t[~wrong], y_t[~wrong])[first]
    leak = names.index("Late_delivery_risk") if "Late_delivery_risk" in names else int(top[0])
    X_test = torch.as_tensor(task.X_test)
    with torch.no_grad():
        base.module_.eval(), rule.module_.eval()
        h0, h1 = base.module_.layers[:3](X_test), rule.module_.layers[:3](X_test)
        loss_f = float(F.cross_entropy(base.module_(X_t[wrong]), y_t[wrong]))
        loss_r = float(F.cross_entropy(base.module_(X_t[~wrong]), y_t[~wrong]))
    summary = {
        "rate %": rate * 100,
        "form": form,
        "weights dampened": int(sum(t["dampened"] for t in tensors)),
        "share of weights %": 100 * sum(t["dampened"] for t in tensors) / sum(p.numel() for p in before.values()),
        "most hit column": f"{names[top[0]]} ({column_loss[top[0]]:.0%} of its weight mass)",
        "next": f"{names[top[1]]} ({column_loss[top[1]]:.0%})",
        "median I_Df/I_Dr, leaked column": float((imp_f[:, leak] / imp_r[:, leak]).median()),
        "median I_Df/I_Dr, all first-layer weights": float((imp_f / imp_r).median()),
        "loss of forget / retain rows": f"{loss_f:.2f} / {loss_r:.2f}",
        "first-block units switching on/off %": 100 * float(((h0 > 0) != (h1 > 0)).float().mean()),
        "test % before": 100 * base.score(task.X_test, task.y_test),
        "test % after": 100 * rule.score(task.X_test, task.y_test),
    }
    return tensors, summary


def _table(summaries: list[dict]) -> pd.DataFrame:
    """One column per (rate, form), one row per measure, numbers rounded for reading."""

    def show(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    columns = {
        f"{s['rate %']:g} %, {s['form']}": {k: show(v) for k, v in s.items() if k not in ("rate %", "form")}
        for s in summaries
    }
    return pd.DataFrame(columns).rename_axis("measure").reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.01, 0.10])
    parser.add_argument("--quick", action="store_true", help="CI-sized run; writes nothing")
    parser.add_argument("--out", type=Path, default=RESULTS / "assd_anatomy")
    add_data_dir(parser)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    if args.quick:
        task, epochs, hidden, rates = load_supply_chain(3000, random_state=0), 3, (32, 32), [0.1]
    else:
        task, epochs, hidden, rates = load_real(args.data_dir), 25, SIZES["5x250"], args.rates
    tensors, summaries = [], []
    for rate in rates:
        for form in ("per_sample", "minibatch"):
            rows, summary = anatomy(task, rate, epochs, hidden, form)
            tensors += rows
            summaries.append(summary)
    lines = [
        *report_header("What the ASSD rule does to the paper's 5x250 MLP", "assd_anatomy", argv),
        "Seed 0; the rule alone, unguarded. Per-sample: importances from the cache; mini-batch: from the retain rows.",
        "",
        markdown(_table(summaries), ".3g"),
        "",
        "## Per tensor",
        "",
        markdown(pd.DataFrame(tensors), ".3g"),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(args.out, "assd_anatomy", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
