"""Small torch helpers shared by the library: module modes, devices, row batches, flat weights."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn


def trainable_parameters(module: nn.Module) -> dict[str, Tensor]:
    """Every parameter that requires a gradient, by name: what importances and forgets act on."""
    return {name: p for name, p in module.named_parameters() if p.requires_grad}


def device_of(module: nn.Module) -> torch.device:
    """The device of the module's first parameter (CPU for a module without parameters)."""
    first = next(module.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@contextmanager
def module_mode(module: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Put every submodule in training or eval mode, and restore each one's own mode on exit."""
    changed = [m for m in module.modules() if m.training != training]
    for m in changed:
        m.training = training  # what Module.train sets, one module at a time (no recursion)
    try:
        yield module
    finally:
        for m in changed:
            m.training = not training


def eval_mode(module: nn.Module):
    """``module_mode`` in eval mode: BatchNorm uses its running statistics, dropout is off."""
    return module_mode(module, False)


def row_slices(n_rows: int, size: int, *, merge_single: bool = False) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows.

    ``merge_single`` joins a last slice of one row to the one before it: BatchNorm in
    training mode cannot normalise a batch of one row.
    """
    starts = list(range(0, n_rows, max(int(size), 1)))
    if merge_single and len(starts) > 1 and n_rows - starts[-1] == 1:
        starts.pop()
    for i, start in enumerate(starts):
        yield slice(start, starts[i + 1] if i + 1 < len(starts) else n_rows)


def row_batches(
    X: Tensor,
    y: Tensor,
    size: int,
    device: torch.device,
    *,
    merge_single: bool = False,
    progress: bool = False,
    desc: str = "rows",
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(X, y)`` in consecutive batches moved to ``device`` (see ``row_slices``)."""
    slices = list(row_slices(len(X), size, merge_single=merge_single))
    if progress:  # imported only for a bar: tqdm.auto warns in notebooks without ipywidgets
        from tqdm.auto import tqdm

        slices = tqdm(slices, desc=desc, unit="batch", leave=False)
    for rows in slices:
        yield X[rows].to(device), y[rows].to(device)


def flat_weights(module: nn.Module) -> Tensor:
    """Every trainable parameter flattened into one float64 CPU vector, in ``named_parameters`` order."""
    params = list(trainable_parameters(module).values())
    if not params:
        return torch.zeros(0, dtype=torch.float64)
    return torch.nn.utils.parameters_to_vector([p.detach().to("cpu", torch.float64) for p in params])


def clone_parameters(module: nn.Module) -> dict[str, Tensor]:
    """A detached copy of every trainable parameter, on its own device."""
    return {name: p.detach().clone() for name, p in trainable_parameters(module).items()}


def forward_arguments(module: nn.Module) -> list[str]:
    """The arguments of ``module.forward`` after the input that have no default (fit params it needs)."""
    parameters = list(inspect.signature(module.forward).parameters.values())[1:]
    return [p.name for p in parameters if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


@contextmanager
def parameters_kept(module: nn.Module) -> Iterator[None]:
    """Put every parameter object back where it was on exit (under every name it has).

    ``torch.func.functional_call`` swaps tensors into a module and back; for a module used
    at two places (a shared activation) it can leave a transform-wrapped tensor behind.
    """
    places = [
        (module.get_submodule(path.rpartition(".")[0]) if "." in path else module, path.rpartition(".")[2], p)
        for path, p in module.named_parameters(remove_duplicate=False)
    ]
    try:
        yield
    finally:
        for owner, name, parameter in places:
            if owner._parameters.get(name) is not parameter:
                owner._parameters[name] = parameter


def resolve_device(device: Any) -> Any:
    """``"auto"`` means CUDA when available, else CPU; anything else is passed to skorch as is."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cuda_missing(device: Any) -> bool:
    """Whether ``device`` asks for CUDA on a machine that has none."""
    return device is not None and torch.device(resolve_device(device)).type == "cuda" and not torch.cuda.is_available()
