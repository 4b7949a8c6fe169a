"""How well a model fits each row: what the guard and the gradient methods measure, per kind of target.

For a label: the probability the model gives it (its *closeness*, in [0, 1]) and whether it is
the model's prediction (a *hit*). For a numeric target: ``exp(−r² / 2σ²)`` with ``r`` the
residual and ``σ`` the training rows' robust residual scale when the model was trained
(1.4826 × the median absolute residual), and a hit when the row is within ``2σ``. Both are bounded, so the guard's tolerance (points of closeness and of
hits) means the same for classifiers and regressors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import device_of, eval_mode, row_batches

_BATCH = 4096
HIT_SIGMAS = 2.0


@dataclass(frozen=True)
class LabelFit:
    """Closeness and hits of class labels (the module returns logits)."""

    def __call__(self, module: nn.Module, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per row, the probability of its label and whether the label is predicted.

        Parameters
        ----------
        module : torch.nn.Module
            The network (evaluated in eval mode).
        X : Tensor
            Float32 rows.
        y : Tensor
            Class indices.

        Returns
        -------
        closeness, hit : Tensor
            Float and bool, one per row, on the CPU.
        """
        return label_confidence(module, X, y)


@dataclass(frozen=True)
class TargetFit:
    """Closeness and hits of numeric targets, in units of the kept rows' typical residual.

    Parameters
    ----------
    scale : Tensor of shape (n_outputs,)
        ``σ`` per output: the training rows' robust residual scale when the model was
        trained (positive).
    """

    scale: Tensor

    def __call__(self, module: nn.Module, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per row, ``exp(−mean_k (r_k/σ_k)² / 2)`` and whether that mean is within ``(2σ)²``.

        Parameters
        ----------
        module : torch.nn.Module
            The network (evaluated in eval mode).
        X : Tensor
            Float32 rows.
        y : Tensor of shape (n_samples, n_outputs)
            Float32 targets.

        Returns
        -------
        closeness, hit : Tensor
            Float and bool, one per row, on the CPU.
        """
        squared = scaled_squared_residuals(module, X, y, self.scale)
        return torch.exp(-0.5 * squared), squared <= HIT_SIGMAS**2


def label_confidence(module: nn.Module, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per row, the probability the module (eval mode, softmax) gives the label, and whether it predicts it.

    Parameters
    ----------
    module : torch.nn.Module
        The network; it returns logits.
    X : Tensor
        Float32 rows.
    y : Tensor
        Class indices.

    Returns
    -------
    confidence, correct : Tensor
        Float and bool, one per row, on the CPU.
    """
    confidence, correct = [torch.zeros(0)], [torch.zeros(0, dtype=torch.bool)]
    with torch.no_grad(), eval_mode(module):
        for xb, yb in row_batches(X, y, _BATCH, device_of(module)):
            proba = F.softmax(module(xb).float(), dim=1)
            confidence.append(proba.gather(1, yb.view(-1, 1)).view(-1).cpu())
            correct.append((proba.argmax(1) == yb).cpu())
    return torch.cat(confidence), torch.cat(correct)


def scaled_squared_residuals(module: nn.Module, X: Tensor, y: Tensor, scale: Tensor) -> Tensor:
    """Per row, the mean over outputs of ``((prediction − target) / σ)²`` (eval mode), on the CPU.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    X : Tensor
        Float32 rows.
    y : Tensor of shape (n_samples, n_outputs)
        Targets.
    scale : Tensor of shape (n_outputs,)
        ``σ`` per output.

    Returns
    -------
    Tensor of shape (n_samples,)
        The scaled squared residuals.
    """
    out = [torch.zeros(0)]
    with torch.no_grad(), eval_mode(module):
        for xb, yb in row_batches(X, y, _BATCH, device_of(module)):
            residual = (module(xb).float().reshape(len(xb), -1) - yb.float().reshape(len(yb), -1)) / scale.to(xb.device)
            out.append((residual**2).mean(dim=1).cpu())
    return torch.cat(out)
