"""Class forgetting by weight filtering, after Poppi, Sarto, Cornia, Baraldi, Cucchiara (2024).

After training, every weight is frozen and one memory matrix per layer is learned,
``α_l ∈ [0, 1]^{C × K_l}``, one row per class ``c`` and one entry per output unit (linear)
or output channel (convolution). Multiplying each layer's output by ``α_l[c]`` gives the
model that has forgotten class ``c``; ``α ≡ 1`` is the original model. One training round
serves every class, so forgetting a class is a row lookup at inference.

What is reconstructed (not published in full) and exposed as parameters: the granularity
(per output unit/channel), the parametrisation (α clamped to [0, 1], starting at 1), and
the objective, per batch

    L = λ₀ · CE(M_α(x; c ≠ y), y) + λ₁ · mean 1 / CE(M_α(x; c = y), y) + λ₂ · mean(1 − α)

where half of each batch are *forget pairs* (``c`` is the row's own label) and the other
half *retain pairs* (``c`` drawn among the other classes, ``T`` times per row).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import device_of, eval_mode

FILTERED_LAYERS = (nn.Linear, nn.Conv2d)


def filtered_layers(module: nn.Module) -> dict[str, nn.Module]:
    """The layers that get a memory matrix: every Linear and Conv2d, by name.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    dict of str to torch.nn.Module
        The layers, by their name in ``module``.
    """
    return {name: m for name, m in module.named_modules() if isinstance(m, FILTERED_LAYERS)}


@contextlib.contextmanager
def filtering(module: nn.Module, alphas: dict[str, Tensor]) -> Iterator[None]:
    """Multiply each filtered layer's output by ``alphas[name]`` while the block runs.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    alphas : dict of str to Tensor
        Per filtered layer, the factors: shape (n, K), one row per input row, or (1, K).

    Yields
    ------
    None
        The module answers as filtered inside the block.
    """

    def hook_for(alpha: Tensor):
        def hook(_layer, _inputs, output: Tensor) -> Tensor:
            shape = alpha.shape + (1,) * (output.dim() - 2)  # broadcast over conv's spatial axes
            return output * alpha.view(shape)

        return hook

    handles = [layer.register_forward_hook(hook_for(alphas[name])) for name, layer in filtered_layers(module).items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def train_class_filters(
    module: nn.Module,
    X: Tensor,
    y: Tensor,
    n_classes: int,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weights: tuple[float, float, float],
    n_retain_pairs: int,
    generator: torch.Generator,
) -> dict[str, Tensor]:
    """Learn the memory matrices of a frozen module.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network; its weights stay as they are.
    X : Tensor
        Float32 rows.
    y : Tensor
        Their class indices.
    n_classes : int
        Rows of each memory matrix.
    epochs : int
        Epochs over the rows.
    lr : float
        Adam step size for the α's.
    batch_size : int
        Rows per step.
    weights : (float, float, float)
        ``λ₀, λ₁, λ₂``: retain, forget and sparsity terms.
    n_retain_pairs : int
        ``T``: retain pairs per retain row.
    generator : torch.Generator
        Batches and the classes of retain pairs.

    Returns
    -------
    dict of str to Tensor
        ``{layer name: α}``, each of shape (n_classes, K).
    """
    device = device_of(module)
    layers = filtered_layers(module)
    if not layers:
        raise ValueError("Weight filtering needs at least one Linear or Conv2d layer in the module.")
    alphas = {name: torch.ones(n_classes, layer.weight.shape[0], device=device) for name, layer in layers.items()}
    for a in alphas.values():
        a.requires_grad_(True)
    optimizer = torch.optim.Adam(alphas.values(), lr=lr)
    w_retain, w_forget, w_sparse = weights
    frozen = {p: p.requires_grad for p in module.parameters()}
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        with eval_mode(module):
            for _ in range(epochs):
                for rows in torch.randperm(len(X), generator=generator).split(batch_size):
                    xb, yb = X[rows].to(device), y[rows].to(device)
                    half = len(rows) // 2
                    x_forget, y_forget = xb[:half], yb[:half]
                    tile = (n_retain_pairs,) + (1,) * (xb.dim() - 1)
                    x_keep, y_keep = xb[half:].repeat(*tile), yb[half:].repeat(n_retain_pairs)
                    other = torch.randint(1, n_classes, y_keep.shape, generator=generator).to(device)
                    c = torch.cat([y_forget, (y_keep + other) % n_classes])
                    per_row = {name: a[c] for name, a in alphas.items()}
                    with filtering(module, per_row):
                        logits = module(torch.cat([x_forget, x_keep]))
                    ce = F.cross_entropy(logits, torch.cat([y_forget, y_keep]), reduction="none")
                    loss = (
                        w_retain * ce[half:].mean()
                        + w_sparse * torch.cat([1 - a.reshape(-1) for a in alphas.values()]).mean()
                    )
                    if half:
                        loss = loss + w_forget * (1 / ce[:half].clamp_min(1e-3)).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    with torch.no_grad():
                        for a in alphas.values():
                            a.clamp_(0, 1)
    finally:
        for p, requires_grad in frozen.items():
            p.requires_grad_(requires_grad)
    return {name: a.detach() for name, a in alphas.items()}


@torch.no_grad()
def fold_class_filter(module: nn.Module, filters: dict[str, Tensor], index: int) -> None:
    """Make the filter of class ``index`` permanent: scale each filtered layer's weight rows and bias.

    Exact: scaling a layer's output by ``α`` is scaling its weight rows and bias by ``α``.

    Parameters
    ----------
    module : torch.nn.Module
        The network, changed in place.
    filters : dict of str to Tensor
        The memory matrices, from ``train_class_filters``.
    index : int
        The class to forget.
    """
    layers = filtered_layers(module)
    for name, alpha in filters.items():
        layer = layers[name]
        row = alpha[index]
        layer.weight.mul_(row.view(-1, *([1] * (layer.weight.dim() - 1))))
        if layer.bias is not None:
            layer.bias.mul_(row)
