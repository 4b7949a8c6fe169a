"""Plots of what a forget did (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..utils import trainable_parameters

_SPLITS = (("retain_accuracy", "retain"), ("forget_accuracy", "forget"), ("test_accuracy", "test"), ("mia", "MIA"))


def plot_forget_report(
    before: Mapping[str, float], after: Mapping[str, float], clf=None, *, labels=("before", "after")
):
    """Accuracy per split before and after a forget, and the share of parameters dampened per layer.

    Parameters
    ----------
    before, after : dict
        Reports from ``sklearn_unlearn.metrics.forget_report`` (any of the keys
        ``retain_accuracy``, ``forget_accuracy``, ``test_accuracy``, ``mia``).
    clf : UnlearnableClassifier, optional
        The model after the forget: its last ``forget_log_`` entry gives, per tensor, the
        share of entries dampened (the ASSD/SSD rule) or free to move (the relabel stage),
        drawn as a second panel.
    labels : tuple of str, default=("before", "after")
        Legend entries for the two reports.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown).
    """
    import matplotlib.pyplot as plt

    splits = [(key, name) for key, name in _SPLITS if key in before and key in after]
    if not splits:
        raise ValueError("before and after share no report key (retain_accuracy, forget_accuracy, test_accuracy, mia).")
    dampened, verb = _dampened_shares(clf) if clf is not None else ({}, "")
    fig, axes = plt.subplots(1, 2 if dampened else 1, figsize=(11 if dampened else 5.5, 3.8), squeeze=False)
    ax = axes[0, 0]
    x = np.arange(len(splits))
    for offset, (label, report) in zip((-0.2, 0.2), zip(labels, (before, after), strict=True), strict=True):
        values = [100 * report[key] for key, _ in splits]
        bars = ax.bar(x + offset, values, width=0.4, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(x, [name for _, name in splits])
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.set_title("accuracy per split (MIA: share called member)")
    ax.legend(loc="lower right")
    if dampened:
        ax = axes[0, 1]
        names = list(dampened)
        ax.barh(np.arange(len(names)), [100 * v for v in dampened.values()])
        ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"% of the tensor's entries {verb}")
        ax.set_title(f"{verb} by {clf.forget_log_[-1]['method']}")
    fig.tight_layout()
    return fig


def _dampened_shares(clf) -> tuple[dict[str, float], str]:
    """Per parameter, the share of its entries the last forget dampened (or let move), and which."""
    log = getattr(clf, "forget_log_", None)
    if not log:
        return {}, ""
    sizes = {name: p.numel() for name, p in trainable_parameters(clf.module_).items()}
    for entry in [log[-1], *log[-1].get("stages", [])]:
        for key, verb in (("dampened_per_parameter", "dampened"), ("selected_per_parameter", "free to move")):
            if key in entry:
                shares = {name: count / sizes[name] for name, count in entry[key].items() if name in sizes}
                return shares, verb
    return {}, ""
