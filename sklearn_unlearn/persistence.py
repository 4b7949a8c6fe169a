"""Saving and loading a classifier without ever unpickling an arbitrary object.

``save(clf, path)`` writes one zip file with two members:

* ``manifest.json``: the parameters and the fitted attributes as plain JSON. Classes and
  functions (the module class, the optimizer, a callback's policy) are written as dotted
  names, objects with parameters (forget strategies, callbacks, a validation split) as a
  dotted name plus their parameters;
* ``tensors.pt``: the network's and optimizer's state, the importance cache and the
  training trace, written with ``torch.save`` and read back with
  ``torch.load(weights_only=True)``, which accepts tensors and plain containers only.

``load(path)`` builds the classifier from the manifest, importing only the names in
``TRUSTED`` (this package's classes, torch's losses, optimizers and learning-rate
schedulers, and skorch callbacks that write nothing) plus those you pass as ``trusted``,
and refuses anything else with an error that names it.

What the file holds: the network, what the unlearning methods need (importances over
the kept rows, ``w_0`` and the training counters, the optimizer state) and the forget
log. It holds no training row and no per-row record: the guard's reference rows and the
record of trained rows stay in memory (``sklearn_unlearn.local_state``), so after
``load`` give the model a sample of the rows it keeps with ``set_guard_rows`` before
forgetting, and forget cannot check that rows were trained on.

``pickle`` (and ``joblib``) also work and keep no training rows either, but loading a
pickle runs whatever code the file names: load pickles only from sources you trust. The
``skops`` format is no safer for this classifier: skorch stores the torch state inside it
as a pickle that ``skops`` does not inspect.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import warnings
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch.history import History

from .local_state import LocalOnly
from .net import cuda_missing
from .trace import Trace

FORMAT = "sklearn-unlearn/1"
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
_FITTED_PLAIN = ("n_features_in_", "n_train_", "forget_log_", "class_filters_seconds_")


def save(clf, path: str | PathLike) -> Path:
    """Write a fitted classifier to ``path`` in the safe format described above.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted. Its parameters must be plain values, classes, or objects whose
        ``__init__`` arguments are attributes of the same name (as in scikit-learn and
        skorch); anything else gets an error that names it.
    path : str or path-like
        The file to write (overwritten).

    Returns
    -------
    Path
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    params = {k: _encode(v, k) for k, v in clf.get_params(deep=False).items()}
    state = clf.__dict__
    fitted: dict[str, Any] = {k: _json_value(state[k]) for k in _FITTED_PLAIN if k in state}
    fitted["classes_"] = _array(clf.classes_)
    fitted["class_counts_"] = _array(clf.class_counts_)
    if "feature_names_in_" in state:
        fitted["feature_names_in_"] = _array(state["feature_names_in_"])
    trace = state.get("training_trace_")
    if trace is not None:
        fitted["trace"] = {k: getattr(trace, k) for k in ("n_steps", "n_epochs", "lr_sum", "n_rows_seen")}
        fitted["trace"]["optimizer"] = _json_value(trace.optimizer)
    fitted["history"] = _json_value(list(clf.history_))
    tensors = {
        "module": clf.module_.state_dict(),
        "optimizer": clf.optimizer_.state_dict(),
        "importances": state.get("importances_"),
        "importance_point": state.get("_importance_point_"),
        "initial_weights": None if trace is None else trace.initial_weights,
        "class_filters": state.get("class_filters_"),
    }
    manifest = {"format": FORMAT, "class": _dotted(type(clf)), "params": params, "fitted": fitted}
    buffer = io.BytesIO()
    torch.save(_to_cpu(tensors), buffer)
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        archive.writestr("tensors.pt", buffer.getvalue())
    return path


def load(path: str | PathLike, *, trusted: tuple[str, ...] | list[str] = (), device: Any = None):
    """Read a classifier written by ``save``, importing only trusted names.

    Parameters
    ----------
    path : str or path-like
    trusted : sequence of str
        Dotted names to allow besides ``TRUSTED`` (your own module class, say
        ``"mypackage.nets.Wide"``).
    device : str or torch.device, optional
        Override the saved ``device`` parameter (``"cpu"`` for a model saved on CUDA).

    Returns
    -------
    UnlearnableClassifier
    """
    manifest, tensors = _read(Path(path))
    allowed = trusted_names() | set(trusted)
    untrusted = sorted(name for name in _names(manifest) if name not in allowed)
    if untrusted:
        raise ValueError(
            f"{str(path)!r} names types that are not trusted: {untrusted}. Load it with trusted=[...] listing "
            "them if you know the file's origin."
        )
    cls = _import(manifest["class"])
    params = {k: _decode(v) for k, v in manifest["params"].items()}
    if device is not None:
        params["device"] = device
    elif cuda_missing(params.get("device")):
        warnings.warn(
            f"{str(path)!r} was saved with device={params['device']!r} and this machine has no CUDA device: "
            "loading it on the CPU (pass device=... to choose).",
            UserWarning,
            stacklevel=2,
        )
        params["device"] = "cpu"
    clf = cls(**params)
    _restore(clf, manifest["fitted"], tensors)
    return clf


def _restore(clf, fitted: dict, tensors: dict) -> None:
    clf.__dict__["_classes_"] = _unarray(fitted["classes_"])
    for key in _FITTED_PLAIN:
        if key in fitted:
            setattr(clf, key, fitted[key])
    if "feature_names_in_" in fitted:
        clf.feature_names_in_ = _unarray(fitted["feature_names_in_"])
    clf.class_counts_ = _unarray(fitted["class_counts_"])
    clf.initialize()
    device = next(clf.module_.parameters(), torch.zeros(0)).device
    clf.module_.load_state_dict(tensors["module"])
    clf.optimizer_.load_state_dict(tensors["optimizer"])
    clf.history_ = History(fitted["history"])
    to_device = _on(device)
    clf.importances_ = to_device(tensors["importances"])
    clf._importance_point_ = to_device(tensors["importance_point"])
    clf.class_filters_ = to_device(tensors["class_filters"])
    if tensors["initial_weights"] is not None:
        counters = {k: v for k, v in fitted["trace"].items() if k != "optimizer"}
        clf.training_trace_ = Trace(tensors["initial_weights"], optimizer=fitted["trace"]["optimizer"], **counters)
        clf.__dict__.pop("_new_module_", None)  # later training continues this trace
    clf._trained_rows_ = LocalOnly()
    clf._guard_rows_ = LocalOnly()


def _read(path: Path) -> tuple[dict, dict]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            raw = archive.read("tensors.pt")
    except FileNotFoundError:
        raise FileNotFoundError(f"No model file at {str(path)!r}.") from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{str(path)!r} is not a model file written by sklearn_unlearn.persistence.save: {error}"
        ) from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} has format {manifest.get('format')!r}; this version reads {FORMAT!r}.")
    try:
        tensors = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError and others for anything but tensors
        raise ValueError(f"{str(path)!r} holds something other than tensors in tensors.pt; refused: {error}") from None
    return manifest, tensors


# --- encoding ------------------------------------------------------------------------------


def _dotted(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _encode(value: Any, name: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, name) for k, v in value.items()}}
    if isinstance(value, torch.device):
        return str(value)
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return {"__type__": _dotted(value)}
    return {"__object__": _dotted(type(value)), "params": _init_arguments(value, name)}


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
    return {k: _encode(v, f"{name}__{k}") for k, v in arguments.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v) for k, v in value["__dict__"].items()}
    if "__type__" in value:
        return _import(value["__type__"])
    if "__object__" in value:
        return _import(value["__object__"])(**{k: _decode(v) for k, v in value["params"].items()})
    raise ValueError(f"Unexpected value in a model file's parameters: {value!r}.")


def _names(manifest: dict) -> set[str]:
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
    """What ``load`` imports without being told: this package's classifier, modules,
    forget strategies, losses and callbacks; torch's losses, optimizers and learning-rate
    schedulers; skorch callbacks that write no file; skorch's dataset, split and loader."""
    from skorch import callbacks as skorch_callbacks
    from skorch.dataset import Dataset, ValidSplit
    from skorch.utils import to_numpy
    from torch.optim import lr_scheduler

    from . import UnlearnableClassifier, modules, unlearning
    from .losses import SDLoss
    from .progress import EpochProgress
    from .trace import TrainingTrace

    ours = [UnlearnableClassifier, modules.MLP, modules.SmallCNN, SDLoss, EpochProgress, TrainingTrace]
    ours += list(unlearning.UNLEARNERS.values())
    losses = [c for c in vars(torch.nn.modules.loss).values() if inspect.isclass(c) and issubclass(c, torch.nn.Module)]
    optimizers = [c for c in vars(torch.optim).values() if inspect.isclass(c) and issubclass(c, torch.optim.Optimizer)]
    schedulers = [
        c for c in vars(lr_scheduler).values() if inspect.isclass(c) and c.__module__ == lr_scheduler.__name__
    ]
    skorch_parts = [getattr(skorch_callbacks, name) for name in _SAFE_CALLBACKS]
    skorch_parts += [Dataset, ValidSplit, torch.utils.data.DataLoader, to_numpy, print]
    return {_dotted(c) for c in ours + losses + optimizers + schedulers + skorch_parts}


def _import(name: str) -> Any:
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


def _array(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values)
    if values.dtype == object and not all(isinstance(v, (str, int, float, bool)) for v in values.tolist()):
        raise TypeError("Only labels and feature names that are strings or numbers can be saved.")
    return {"dtype": "object" if values.dtype == object else values.dtype.str, "values": values.tolist()}


def _unarray(encoded: dict[str, Any]) -> np.ndarray:
    return np.asarray(encoded["values"], dtype=object if encoded["dtype"] == "object" else np.dtype(encoded["dtype"]))


def _json_value(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _on(device: torch.device):
    def move(value: Any) -> Any:
        if value is None:
            return None
        return {k: v.to(device) for k, v in value.items()}

    return move


_OLD_SKOPS_TYPES = [
    "builtins.print",
    "functools.partial",
    "sklearn_unlearn.classifier.UnlearnableClassifier",
    "sklearn_unlearn.local_state.LocalOnly",
    "sklearn_unlearn.modules.MLP",
    "sklearn_unlearn.modules.SmallCNN",
    "sklearn_unlearn.trace.TrainingTrace",
    "skorch.callbacks.logging.EpochTimer",
    "skorch.callbacks.logging.PrintLog",
    "skorch.callbacks.scoring.EpochScoring",
    "skorch.callbacks.scoring.PassthroughScoring",
    "skorch.dataset.Dataset",
    "skorch.history.History",
    "skorch.setter.optimizer_setter",
    "skorch.utils._indexing_other",
    "skorch.utils.to_numpy",
    "torch.nn.modules.loss.CrossEntropyLoss",
    "torch.optim.sgd.SGD",
    "torch.utils.data.dataloader.DataLoader",
]


def __getattr__(name: str) -> Any:
    if name == "TRUSTED_TYPES":
        warnings.warn(
            "TRUSTED_TYPES (for skops) is deprecated: a .skops file of this classifier can run code when loaded, "
            "because skorch keeps the torch state in it as a pickle. Use sklearn_unlearn.persistence.save/load.",
            FutureWarning,
            stacklevel=2,
        )
        return list(_OLD_SKOPS_TYPES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
