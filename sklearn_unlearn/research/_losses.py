"""Training losses that make later unlearning easier."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SDLoss(nn.Module):
    """Cross-entropy plus Thudi et al.'s standard-deviation penalty on the logits.

    ``L = mean_i CE(z_i, y_i) + λ · mean_i std_c(z_i) / C``, with ``z_i`` the logits of
    row ``i`` and the (unbiased) standard deviation taken across the ``C`` classes, as in
    the authors' code. Keeping the logits flat keeps the weights near their start, which
    lowers ``‖w_t − w_0‖`` and with it the unlearning error (see
    ``sklearn_unlearn.metrics.unlearning_error``).

    Use it as the classifier's criterion:
    ``UnlearnableClassifier(criterion=SDLoss, criterion__lam=1.0)``. Importances are
    then taken of this loss too.

    Parameters
    ----------
    lam : float, default=1.0
        Weight of the penalty. The authors use 0.1 (pre-training) to 1.0 (main runs)
        and sweep it up to 250.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns one loss per row (cross-entropy plus that row's penalty).

    See Also
    --------
    sklearn_unlearn.metrics.unlearning_error : The quantity the penalty lowers.
    sklearn_unlearn.SingleGradient : The unlearning step it makes more accurate.

    References
    ----------
    .. [1] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
       Influencing Machine Unlearning". IEEE EuroS&P 2022.

    Examples
    --------
    >>> import torch
    >>> loss = SDLoss(lam=1.0)
    >>> float(loss(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])))  # flat logits: no penalty
    1.0986...
    """

    def __init__(self, lam: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if lam < 0:
            raise ValueError(f"lam must be ≥ 0; got {lam}.")
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none'; got {reduction!r}.")
        self.lam = lam
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss of ``logits`` against ``target``.

        Parameters
        ----------
        logits : Tensor of shape (n_samples, n_classes)
            The module's output.
        target : Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        Tensor
            A scalar (``reduction="mean"``) or one value per row.
        """
        per_row = F.cross_entropy(logits, target, reduction="none")
        n_classes = logits.shape[1]
        penalty = torch.std(logits, dim=1, unbiased=True) / n_classes
        loss = per_row + self.lam * penalty
        return loss.mean() if self.reduction == "mean" else loss
