"""Diagonal Fisher importances of every trainable parameter.

Two forms (see the methods page of the docs, "Importance"):

* mini-batch, the authors' code: ``I_S = (1/B) Σ_b (∂ℓ(b; θ)/∂θ)²`` over unshuffled
  batches ``b`` of ``S``, with ``ℓ(b)`` the mean loss of the batch;
* per-sample: ``I_S = (1/|S|) Σ_z (∂ℓ(z; θ)/∂θ)²``. It does not depend on the batch size
  and is additive over rows, so importances over a subset can be subtracted exactly.

Both evaluate the module in eval mode (BatchNorm uses its running statistics, dropout
is off) and leave buffers untouched. ``loss_fn(output, target)`` must return the *mean*
loss over the rows it is given (the classifier passes its criterion, cross-entropy by
default). Every function returns a dict ``{parameter name: tensor}`` shaped like the
parameters and on their device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from ..utils import device_of, eval_mode, parameters_kept, row_batches, trainable_parameters

LossFn = Callable[[Tensor, Tensor], Tensor]
Importances = dict[str, Tensor]

_FALLBACK_BUDGET = 2**26  # floats of per-sample gradients held at once by the torch.func path


def _output(output):
    """The prediction among a module's outputs: the first when it returns a tuple (skorch's rule)."""
    return output[0] if isinstance(output, tuple) else output


def zeros_like_parameters(module: nn.Module) -> Importances:
    """Zeros shaped like every trainable parameter, by name."""
    return {name: torch.zeros_like(p) for name, p in trainable_parameters(module).items()}


def minibatch_importances(
    module: nn.Module,
    X: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    batch_size: int,
    *,
    progress: bool = False,
    forward_kwargs: dict | None = None,
) -> Importances:
    """Mini-batch importances, exactly as the SSD/ASSD authors compute them.

    Parameters
    ----------
    module : torch.nn.Module
        The network; it is evaluated in eval mode and left in its former mode.
    X, y : Tensor
        Rows and encoded labels, in the order the batches are to be formed.
    loss_fn : callable
        ``loss_fn(output, target)`` returning the mean loss of the rows.
    batch_size : int
        Rows per batch; the last batch may be short.
    progress : bool, default=False
        Show a tqdm bar over the batches.
    forward_kwargs : dict, optional
        Extra keyword arguments for every call of the module.

    Returns
    -------
    dict of str to Tensor
        ``(1/B) Σ_b (∂ℓ(b)/∂θ)²`` for every trainable parameter.
    """
    params = trainable_parameters(module)
    totals = zeros_like_parameters(module)
    n_batches = 0
    with eval_mode(module):
        for xb, yb in row_batches(X, y, batch_size, device_of(module), progress=progress, desc="importances"):
            loss = loss_fn(_output(module(xb, **(forward_kwargs or {}))), yb)
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            for name, g in zip(params, grads, strict=True):
                if g is not None:
                    totals[name] += g.detach() ** 2
            n_batches += 1
    return {name: total / max(n_batches, 1) for name, total in totals.items()}


def per_sample_importances(
    module: nn.Module,
    X: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    batch_size: int,
    *,
    progress: bool = False,
    forward_kwargs: dict | None = None,
) -> Importances:
    """Per-sample importances ``(1/|S|) Σ_z (∂ℓ(z)/∂θ)²``.

    Linear, Conv2d and BatchNorm layers take a fast path that costs one backward pass
    per batch: the per-sample gradient of a Linear weight is the outer product of the
    layer's input and output gradient, so the sum of its squares is ``(g²)ᵀ(a²)``. A
    module with any other kind of parameter (or a layer called twice in one forward)
    goes through ``torch.func`` (vmap of grad), which is exact but much slower.

    Parameters
    ----------
    module : torch.nn.Module
        The network; it is evaluated in eval mode and left in its former mode.
    X, y : Tensor
        Rows and encoded targets.
    loss_fn : callable
        ``loss_fn(output, target)`` returning the mean loss of the rows.
    batch_size : int
        Rows per pass; it bounds memory and does not change the result.
    progress : bool, default=False
        Show a tqdm bar over the batches.
    forward_kwargs : dict, optional
        Extra keyword arguments for every call of the module.

    Returns
    -------
    dict of str to Tensor
        ``(1/|S|) Σ_z (∂ℓ(z)/∂θ)²`` for every trainable parameter.
    """
    if len(X) == 0:
        return zeros_like_parameters(module)
    return sum_of_squared_sample_gradients(
        module, X, y, loss_fn, batch_size, scale=1.0 / len(X), progress=progress, forward_kwargs=forward_kwargs
    )


def sum_of_squared_sample_gradients(
    module: nn.Module,
    X: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    batch_size: int,
    scale: float = 1.0,
    progress: bool = False,
    forward_kwargs: dict | None = None,
) -> Importances:
    """``scale · Σ_z (∂ℓ(z)/∂θ)²`` over the rows of ``X`` (sharded sums add up)."""
    kwargs = forward_kwargs or {}
    totals = zeros_like_parameters(module)
    layers = _fast_path_layers(module)
    with eval_mode(module):
        for xb, yb in row_batches(X, y, batch_size, device_of(module), progress=progress, desc="importances"):
            if layers is None or not _add_fast_path_batch(module, layers, xb, yb, loss_fn, totals, kwargs):
                with parameters_kept(module):
                    _add_torch_func_batch(module, xb, yb, loss_fn, totals, kwargs)
    return {name: total * scale for name, total in totals.items()}


# --- fast path ---------------------------------------------------------------------------

_FAST_TYPES = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)


def _fast_path_layers(module: nn.Module) -> dict[nn.Module, str] | None:
    """Map each parameter-holding layer to its name prefix, or None if any layer is unsupported."""
    params = trainable_parameters(module)
    seen: dict[int, str] = {}
    layers: dict[nn.Module, str] = {}
    for prefix, layer in module.named_modules():
        own = {n: p for n, p in layer.named_parameters(recurse=False) if p.requires_grad}
        if not own:
            continue
        if not _supported(layer) or set(own) - {"weight", "bias"}:
            return None
        for n, p in own.items():
            if id(p) in seen:  # a parameter shared between layers
                return None
            seen[id(p)] = f"{prefix}.{n}" if prefix else n
        layers[layer] = prefix
    if set(seen.values()) != set(params):
        return None
    return layers


def _supported(layer: nn.Module) -> bool:
    if not isinstance(layer, _FAST_TYPES):
        return False
    if isinstance(layer, nn.Conv2d):
        return layer.groups == 1 and layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        # Without running statistics eval-mode BatchNorm mixes the rows of a batch.
        return layer.track_running_stats and layer.running_mean is not None
    return True


def _add_fast_path_batch(
    module: nn.Module,
    layers: dict[nn.Module, str],
    xb: Tensor,
    yb: Tensor,
    loss_fn: LossFn,
    totals: Importances,
    kwargs: dict,
) -> bool:
    """Add one batch's per-sample squared gradients; False if the batch needs the fallback."""
    captured: dict[nn.Module, list[tuple[Tensor, Tensor]]] = {layer: [] for layer in layers}

    def hook(layer: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        captured[layer].append((inputs[0].detach(), output))

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        # A torch.compile'd module may replay a graph traced without the hooks: run it eagerly.
        output = _output(getattr(module, "_orig_mod", module)(xb, **kwargs))
    finally:
        for handle in handles:
            handle.remove()
    if any(len(calls) > 1 for calls in captured.values()):
        return False
    used = [layer for layer, calls in captured.items() if calls]
    if not used:
        return False
    # The mean loss times n has per-row terms, so d(sum)/d(output_n) is row n's own gradient.
    loss_sum = loss_fn(output, yb) * len(xb)
    grads = torch.autograd.grad(loss_sum, [captured[layer][0][1] for layer in used], allow_unused=True)
    for layer, g in zip(used, grads, strict=True):
        if g is None:
            continue
        a = captured[layer][0][0]
        for name, value in _layer_squared_grads(layer, a, g.detach()).items():
            prefix = layers[layer]
            key = f"{prefix}.{name}" if prefix else name
            if key in totals:
                totals[key] += value
    return True


def _layer_squared_grads(layer: nn.Module, a: Tensor, g: Tensor) -> dict[str, Tensor]:
    if isinstance(layer, nn.Linear):
        return _linear_squared_grads(a, g)
    if isinstance(layer, nn.Conv2d):
        return _conv2d_squared_grads(layer, a, g)
    return _batchnorm_squared_grads(layer, a, g)


def _linear_squared_grads(a: Tensor, g: Tensor) -> dict[str, Tensor]:
    if a.dim() == 2:
        return {"weight": (g**2).T @ (a**2), "bias": (g**2).sum(0)}
    # Extra dims (e.g. a sequence): a row's gradient sums over them before squaring.
    a, g = a.flatten(1, -2), g.flatten(1, -2)
    per_row = torch.einsum("nto,nti->noi", g, a)
    return {"weight": (per_row**2).sum(0), "bias": (g.sum(1) ** 2).sum(0)}


def _conv2d_squared_grads(layer: nn.Conv2d, a: Tensor, g: Tensor) -> dict[str, Tensor]:
    patches = F.unfold(a, layer.kernel_size, dilation=layer.dilation, padding=layer.padding, stride=layer.stride)
    g = g.flatten(2)
    per_row = torch.einsum("nol,nil->noi", g, patches)
    return {"weight": (per_row**2).sum(0).view_as(layer.weight), "bias": (g.sum(2) ** 2).sum(0)}


def _batchnorm_squared_grads(layer: nn.modules.batchnorm._BatchNorm, a: Tensor, g: Tensor) -> dict[str, Tensor]:
    shape = (1, -1) + (1,) * (a.dim() - 2)
    normalised = (a - layer.running_mean.view(shape)) / torch.sqrt(layer.running_var.view(shape) + layer.eps)
    reduce = tuple(range(2, a.dim()))
    grad_weight = (g * normalised).sum(reduce) if reduce else g * normalised
    grad_bias = g.sum(reduce) if reduce else g
    return {"weight": (grad_weight**2).sum(0), "bias": (grad_bias**2).sum(0)}


# --- general fallback ----------------------------------------------------------------------


def _add_torch_func_batch(
    module: nn.Module, xb: Tensor, yb: Tensor, loss_fn: LossFn, totals: Importances, kwargs: dict
) -> None:
    params = {name: p.detach() for name, p in trainable_parameters(module).items()}
    frozen = {name: p.detach() for name, p in module.named_parameters() if name not in params}
    buffers = dict(module.named_buffers())

    def row_loss(trainable: dict[str, Tensor], x: Tensor, t: Tensor) -> Tensor:
        state = {**frozen, **trainable, **buffers}
        return loss_fn(_output(functional_call(module, state, (x.unsqueeze(0),), kwargs)), t.unsqueeze(0))

    per_row = vmap(grad(row_loss), in_dims=(None, 0, 0))
    n_params = sum(p.numel() for p in params.values())
    chunk = max(1, min(len(xb), _FALLBACK_BUDGET // max(n_params, 1)))
    for start in range(0, len(xb), chunk):
        grads = per_row(params, xb[start : start + chunk], yb[start : start + chunk])
        for name, g in grads.items():
            totals[name] += (g**2).sum(0)
