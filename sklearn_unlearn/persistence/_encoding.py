"""Model parameters as JSON, and the names a file may ask to import.

Classes and functions (the module class, the optimizer, a callback's policy) are written
as dotted names, objects with parameters (forget strategies, callbacks, a validation
split) as a dotted name plus their parameters. ``load`` imports only trusted names.
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import numpy as np
import torch
from skorch import callbacks as skorch_callbacks
from skorch.dataset import Dataset, ValidSplit
from skorch.utils import to_numpy
from torch.optim import lr_scheduler

_SAFE_CALLBACKS = (
    "EpochScoring",
    "PassthroughScoring",
    "BatchScoring",
    "PrintLog",
    "EpochTimer",
    "LRScheduler",
    "WarmRestartLR",
    "EarlyStopping",
    "GradientNormClipping",
    "ProgressBar",
)


def dotted(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def encode(value: Any, name: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, name) for v in value]}
    if isinstance(value, list):
        return [encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, name) for k, v in value.items()}}
    if isinstance(value, torch.device):
        return str(value)
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return {"__type__": dotted(value)}
    return {"__object__": dotted(type(value)), "params": _init_arguments(value, name)}


def _init_arguments(value: Any, name: str) -> dict[str, Any]:
    """The arguments that rebuild ``value`` with its class's ``__init__``, or a TypeError naming ``name``."""
    signature = inspect.signature(type(value).__init__)
    accepted = {p: q for p, q in signature.parameters.items() if p != "self"}
    takes_any = any(q.kind is q.VAR_KEYWORD for q in accepted.values())
    try:
        arguments = dict(value.get_params(deep=False))
    except Exception:  # no get_params, or one that cannot find its own arguments
        arguments = {
            p: getattr(value, p) for p, q in accepted.items() if q.kind is q.POSITIONAL_OR_KEYWORD and hasattr(value, p)
        }
    required = [p for p, q in accepted.items() if q.default is q.empty and q.kind is q.POSITIONAL_OR_KEYWORD]
    unknown = [k for k in arguments if k not in accepted and not takes_any]
    if unknown or any(p not in arguments for p in required):
        raise TypeError(
            f"Cannot save parameter {name!r} safely: a {type(value).__name__} object cannot be rebuilt from the "
            f"attributes it keeps ({sorted(arguments)}) and its __init__ arguments ({list(accepted)}). Pass a class "
            "and its arguments instead, or use pickle, which runs code when loaded."
        )
    return {k: encode(v, f"{name}__{k}") for k, v in arguments.items()}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode(v) for k, v in value["__dict__"].items()}
    if "__type__" in value:
        return import_name(value["__type__"])
    if "__object__" in value:
        return import_name(value["__object__"])(**{k: decode(v) for k, v in value["params"].items()})
    raise ValueError(f"Unexpected value in a model file's parameters: {value!r}.")


def names_in(manifest: dict) -> set[str]:
    found = {manifest.get("class", "")}

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for key in ("__type__", "__object__"):
                if key in value:
                    found.add(value[key])
            for v in value.values():
                walk(v)

    walk(manifest.get("params", {}))
    return found


def trusted_names() -> set[str]:
    """What ``load`` imports without being told.

    This package's estimators, modules, forget strategies, losses and callbacks; torch's
    losses, optimizers and learning-rate schedulers; skorch callbacks that write no file;
    skorch's dataset, split and loader.

    Returns
    -------
    set of str
        Dotted names.
    """
    # Imported here: the package's top level is built before this module is first used.
    from .. import MLP, EpochProgress, SmallCNN, UnlearnableClassifier, UnlearnableRegressor
    from ..research import SDLoss
    from ..unlearning import UNLEARNERS

    ours = [UnlearnableClassifier, UnlearnableRegressor, MLP, SmallCNN, SDLoss, EpochProgress, *UNLEARNERS.values()]
    losses = [c for c in vars(torch.nn.modules.loss).values() if inspect.isclass(c) and issubclass(c, torch.nn.Module)]
    optimizers = [c for c in vars(torch.optim).values() if inspect.isclass(c) and issubclass(c, torch.optim.Optimizer)]
    schedulers = [
        c for c in vars(lr_scheduler).values() if inspect.isclass(c) and c.__module__ == lr_scheduler.__name__
    ]
    skorch_parts = [getattr(skorch_callbacks, name) for name in _SAFE_CALLBACKS]
    skorch_parts += [Dataset, ValidSplit, torch.utils.data.DataLoader, to_numpy, print]
    return {dotted(c) for c in ours + losses + optimizers + schedulers + skorch_parts}


def import_name(name: str) -> Any:
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for part in parts[split:]:
                obj = getattr(obj, part)
        except AttributeError:
            break
        return obj
    raise ValueError(f"Cannot import {name!r}, named by the model file.")


def encode_array(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values)
    if values.dtype == object and not all(isinstance(v, (str, int, float, bool)) for v in values.tolist()):
        raise TypeError("Only labels and feature names that are strings or numbers can be saved.")
    return {"dtype": "object" if values.dtype == object else values.dtype.str, "values": values.tolist()}


def decode_array(encoded: dict[str, Any]) -> np.ndarray:
    return np.asarray(encoded["values"], dtype=object if encoded["dtype"] == "object" else np.dtype(encoded["dtype"]))


def json_value(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
