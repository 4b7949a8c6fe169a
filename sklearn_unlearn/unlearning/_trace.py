"""What training did, recorded as it happens: the starting weights and the SGD steps.

Thudi et al.'s unlearning error and single-gradient unlearning need ``w_0`` (the weights
at the start of training), the number of steps ``t`` and the learning rate ``η``. An
unlearnable estimator records them during training at the cost of one copy of the
weights, in its ``forget_state_.trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from ..utils import trainable_parameters


@dataclass
class Trace:
    """The record of one training run (``fit``, or a retrain from scratch).

    Parameters
    ----------
    initial_weights : dict of str to Tensor
        ``w_0``: every trainable parameter at the first step (on the CPU).
    n_steps : int
        Optimizer steps taken since (``t``).
    n_epochs : int
        Epochs since (how often each training row was seen).
    lr_sum : float
        Sum of the learning rate over the steps; ``lr_sum / n_steps`` is the mean ``η``.
    n_rows_seen : int
        Rows summed over the steps; ``n_rows_seen / n_steps`` is the mean batch size.
    optimizer : dict
        The optimizer's class name and its first parameter group's ``momentum``,
        ``weight_decay`` and ``nesterov`` (whatever of them it has).
    """

    initial_weights: dict[str, Tensor]
    n_steps: int = 0
    n_epochs: int = 0
    lr_sum: float = 0.0
    n_rows_seen: int = 0
    optimizer: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, module: nn.Module, optimizer: Any) -> Trace:
        """A new trace at the module's current weights (``w_0``), kept on the CPU.

        Parameters
        ----------
        module : torch.nn.Module
            The network about to be trained.
        optimizer : torch.optim.Optimizer
            Its optimizer (described by name and settings).

        Returns
        -------
        Trace
            With no step yet.
        """
        # On the CPU: read rarely, and it keeps pickles loadable without a GPU.
        weights = {name: p.detach().to("cpu", copy=True) for name, p in trainable_parameters(module).items()}
        return cls(initial_weights=weights, optimizer=describe_optimizer(optimizer))

    def record_step(self, n_rows: int, lr: float, *, steps: bool = True) -> None:
        """Count one batch: an optimizer step, or part of one (gradient accumulation).

        Parameters
        ----------
        n_rows : int
            Rows in the batch.
        lr : float
            The learning rate the step is taken at.
        steps : bool, default=True
            Whether the optimizer stepped after this batch; the rows of batches that only
            accumulate gradients count towards the next step.
        """
        self.n_rows_seen += n_rows
        if steps:
            self.n_steps += 1
            self.lr_sum += lr

    @property
    def mean_lr(self) -> float:
        """Mean learning rate over the steps (``η``)."""
        return self.lr_sum / self.n_steps if self.n_steps else 0.0

    @property
    def mean_batch_size(self) -> float:
        """Mean rows per step (``b``)."""
        return self.n_rows_seen / self.n_steps if self.n_steps else 0.0

    @property
    def plain_sgd(self) -> bool:
        """Whether training used ``torch.optim.SGD`` without momentum and weight decay."""
        opt = self.optimizer
        return opt.get("name") == "SGD" and not opt.get("momentum") and not opt.get("weight_decay")


def describe_optimizer(optimizer: Any) -> dict[str, Any]:
    """Class name and first parameter group's momentum / weight decay (any optimizer-like object)."""
    groups = getattr(optimizer, "param_groups", None)
    group = groups[0] if isinstance(groups, (list, tuple)) and groups and isinstance(groups[0], dict) else {}
    described: dict[str, Any] = {"name": type(optimizer).__name__}
    for key in ("momentum", "weight_decay", "nesterov", "betas"):
        if key in group:
            described[key] = group[key]
    return described


def current_lr(optimizer: Any) -> float:
    """The first parameter group's learning rate (NaN for an optimizer-like object without one)."""
    groups = getattr(optimizer, "param_groups", None)
    if isinstance(groups, (list, tuple)) and groups and isinstance(groups[0], dict) and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return float("nan")
