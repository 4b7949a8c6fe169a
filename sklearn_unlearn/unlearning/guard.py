"""The safety guard: after a weight-changing forget, scale the update back until the model keeps what it knew.

A forget that changes weights without retraining (ASSD, SSD, the gradient methods) moves
the weights from ``w`` to ``w'``. The guard evaluates the model on a small reference sample
of the rows it keeps, the *guard rows*, along the segment ``w + s (w' − w)`` and keeps the
largest ``s`` in ``SCALES`` at which the rows' *mean confidence* — the mean probability
the model gives each row's label — is at most ``TOLERANCE`` (one percentage point) below
its value when the model was trained, or, if earlier forgets already used that room, no
lower than before this one; ``s = 0`` (no update) when no scale qualifies. Every
weight-changing method is a move from ``w`` to ``w'``, so one rule serves all of them,
dampening included.

Why mean confidence and not the loss or the accuracy: the guard rows were trained on, so
a model that memorised them has a loss near zero on them, and any real forgetting
multiplies that loss many times while test accuracy does not move; accuracy does not
see confidence draining away until rows flip. Mean confidence is bounded, moves with
both, and tracked the test accuracy of the models in the docs' measurements.

Guard rows are a random sample of at most ``MAX_ROWS`` training rows (fewer for large
inputs such as images: at most ``MAX_BYTES`` of features), drawn at ``fit`` with the
classifier's ``random_state``, each with its loss at the end of training. Forgotten rows
leave the sample. They live in memory only: a saved model holds none (see
``sklearn_unlearn.local_state``); after loading, give the model a sample of the rows it
keeps with ``set_guard_rows`` or the guard cannot run, and then refuses the update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..membership import row_fingerprints
from ..torch_utils import device_of, eval_mode, row_batches, trainable_parameters

SCALES = (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.125, 0.0625)
TOLERANCE = 0.01  # how far the guard rows' mean confidence may fall below the model as trained
MAX_ROWS = 1024
MAX_BYTES = 2**26
_BATCH = 4096


@dataclass(frozen=True)
class GuardRows:
    """A reference sample of kept rows, with each row's loss when the model was trained.

    Attributes
    ----------
    X : Tensor
        Float32 rows, on the CPU.
    y : Tensor
        Encoded labels.
    anchor : Tensor
        The probability of each row's label under the model as trained (or as last
        retrained).
    """

    X: Tensor
    y: Tensor
    anchor: Tensor

    @classmethod
    def sample(cls, module: nn.Module, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> GuardRows:
        """Draw the sample from training rows and record their losses under ``module``."""
        row_bytes = max(int(np.prod(X.shape[1:])) * 4, 1)
        n = min(len(X), MAX_ROWS, max(MAX_BYTES // row_bytes, 1))
        rows = np.sort(rng.choice(len(X), size=n, replace=False))
        X_s, y_s = torch.as_tensor(X[rows]).clone(), torch.as_tensor(y[rows]).clone()
        return cls(X_s, y_s, label_confidence(module, X_s, y_s))

    def __len__(self) -> int:
        return len(self.y)

    def without(self, X: np.ndarray, y: np.ndarray) -> GuardRows:
        """The sample without any of these rows (exact matches of row and label)."""
        if len(self) == 0:
            return self
        gone = np.isin(row_fingerprints(self.X.numpy(), self.y.numpy()), row_fingerprints(X, y))
        keep = torch.as_tensor(~gone)
        return GuardRows(self.X[keep], self.y[keep], self.anchor[keep])

    def reanchored(self, module: nn.Module) -> GuardRows:
        """The same rows with their losses under ``module`` (after a retrain)."""
        return GuardRows(self.X, self.y, label_confidence(module, self.X, self.y))


def label_confidence(module: nn.Module, X: Tensor, y: Tensor) -> Tensor:
    """Per row, the probability the module (eval mode, softmax of its logits) gives the label; on the CPU."""
    out = []
    with torch.no_grad(), eval_mode(module):
        for xb, yb in row_batches(X, y, _BATCH, device_of(module)):
            out.append(F.softmax(module(xb).float(), dim=1).gather(1, yb.view(-1, 1)).view(-1).cpu())
    return torch.cat(out) if out else torch.zeros(0)


def guard_update(module: nn.Module, before: dict[str, Tensor], rows: GuardRows, confidence_before: float) -> dict:
    """Scale the move from ``before`` to the module's current weights back until it is safe.

    Parameters
    ----------
    module : torch.nn.Module
        Holds the updated weights; left at the accepted point.
    before : dict of str to Tensor
        Every trainable parameter before the update.
    rows : GuardRows
        The reference sample (forget rows already removed); not empty.
    confidence_before : float
        Mean confidence of ``rows`` before the update.

    Returns
    -------
    dict
        ``guard_scale`` (the ``s`` kept), ``guard_confidence_before``,
        ``guard_confidence_after``, ``guard_confidence_bound`` and ``guard_rows``, for
        ``forget_log_``.
    """
    params = trainable_parameters(module)
    after = {k: p.detach().clone() for k, p in params.items()}
    bound = min(float(rows.anchor.mean()) - TOLERANCE, confidence_before)
    chosen, confidence = 0.0, confidence_before
    for scale in SCALES:
        _move(params, before, after, scale)
        trial = float(label_confidence(module, rows.X, rows.y).mean())
        if np.isfinite(trial) and trial >= bound:
            chosen, confidence = scale, trial
            break
    else:
        _move(params, before, after, 0.0)
    return {
        "guard_scale": chosen,
        "guard_confidence_before": confidence_before,
        "guard_confidence_after": confidence,
        "guard_confidence_bound": bound,
        "guard_rows": len(rows),
    }


@torch.no_grad()
def _move(params: dict[str, Tensor], before: dict[str, Tensor], after: dict[str, Tensor], scale: float) -> None:
    for name, p in params.items():
        # lerp at 0 of a non-finite update would still be NaN: copy the start instead.
        p.copy_(before[name] if scale == 0 else torch.lerp(before[name], after[name], scale))
