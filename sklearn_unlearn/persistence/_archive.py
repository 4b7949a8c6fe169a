"""The model file: one zip archive, skorch's own formats inside, nothing that runs code on load.

Members:

* ``module.safetensors`` — the network's weights, written by skorch's ``save_params``
  (``use_safetensors=True``) and read back by its ``load_params``;
* ``history.json`` — skorch's training history (``save_params(f_history=...)``);
* ``state.safetensors`` — what skorch cannot know: the forget state's tensors
  (importances and their point, ``w_0``), the optimizer's state tensors and the class
  filters;
* ``manifest.json`` — the format, the estimator's class and parameters (see
  ``_encoding``), its plain fitted attributes, the training counters and the
  optimizer's parameter groups.

Safetensors holds tensors only and JSON holds plain values only, so loading reads data and
imports only trusted names; nothing in the file is executed.
"""

from __future__ import annotations

import io
import json
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..unlearning import ForgetState, Trace
from ..utils import cuda_missing, warn
from ._encoding import (
    decode,
    decode_array,
    dotted,
    encode,
    encode_array,
    import_name,
    json_value,
    names_in,
    trusted_names,
)

FORMAT = "sklearn-unlearn/2"
_FITTED_PLAIN = ("n_features_in_", "n_outputs_", "_target_ndim", "forget_log_", "class_filters_seconds_")
_FITTED_ARRAYS = ("_classes_", "class_counts_", "feature_names_in_")
_TRACE_COUNTERS = ("n_steps", "n_epochs", "lr_sum", "n_rows_seen")


def save(estimator, path: str | PathLike) -> Path:
    """Write a fitted unlearnable estimator to ``path``.

    Parameters
    ----------
    estimator : UnlearnableClassifier or UnlearnableRegressor
        Fitted. Its parameters must be plain values, classes, or objects whose
        ``__init__`` arguments are attributes of the same name (as in scikit-learn and
        skorch); anything else gets an error that names it. An accelerated estimator is
        written by process 0 (every process calls ``save``) as its plain twin, without its
        accelerator.
    path : str or path-like
        The file to write (overwritten).

    Returns
    -------
    Path
        Where the model was written.

    Raises
    ------
    TypeError
        For a parameter that cannot be written without pickle.
    sklearn.exceptions.NotFittedError
        Before ``fit``.

    See Also
    --------
    load : Read the file back.

    Notes
    -----
    The file holds the network, what the unlearning methods need (importances over the
    kept rows, ``w_0`` and the training counters, the optimizer state) and the forget
    log. It holds no training row and no per-row record: after ``load``, give the model
    a sample of the rows it keeps with ``set_guard_rows`` before forgetting, and
    ``forget`` cannot check that rows were trained on.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    state = estimator.__dict__
    forget_state: ForgetState | None = state.get("forget_state_")
    # An accelerated estimator is saved as its plain twin: the accelerator belongs to the run.
    saved_as = getattr(type(estimator), "saved_as", type(estimator))
    runtime = getattr(estimator, "_runtime_params", ())
    params = {k: encode(v, k) for k, v in estimator.get_params(deep=False).items() if k not in runtime}
    if saved_as is not type(estimator) and params.get("device") is None:
        params["device"] = "auto"
    fitted: dict[str, Any] = {k: json_value(state[k]) for k in _FITTED_PLAIN if k in state}
    fitted.update({k: encode_array(state[k]) for k in _FITTED_ARRAYS if state.get(k) is not None})
    optimizer, optimizer_tensors = _split_optimizer_state(estimator.optimizer_.state_dict())
    tensors = _prefixed("optimizer", optimizer_tensors)
    if forget_state is not None:
        trace = forget_state.trace
        fitted["forget_state"] = {
            "n_train": forget_state.n_train,
            "has_importances": forget_state.importances is not None,
            "has_importance_point": forget_state.importance_point is not None,
            "trace": {**{k: getattr(trace, k) for k in _TRACE_COUNTERS}, "optimizer": json_value(trace.optimizer)},
        }
        tensors.update(_prefixed("importances", forget_state.importances))
        tensors.update(_prefixed("importance_point", forget_state.importance_point))
        tensors.update(_prefixed("initial_weights", trace.initial_weights))
        if forget_state.target_scale is not None:
            tensors["target_scale"] = forget_state.target_scale.detach().cpu().contiguous().clone()
    if state.get("class_filters_") is not None:
        fitted["has_class_filters"] = True
        tensors.update(_prefixed("class_filters", state["class_filters_"]))
    manifest = {
        "format": FORMAT,
        "class": dotted(saved_as),
        "params": params,
        "fitted": fitted,
        "optimizer": optimizer,
    }
    module_file = io.BytesIO()
    estimator.save_params(f_params=module_file, use_safetensors=True)
    path = Path(path)
    # Under Accelerate every process calls save; process 0 writes, and the others wait for the file.
    accelerator = getattr(estimator, "accelerator", None)
    if accelerator is None or accelerator.is_main_process:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
            archive.writestr("module.safetensors", module_file.getvalue())
            archive.writestr("history.json", json.dumps(estimator.history_.to_list()))  # History.to_file's format
            archive.writestr("state.safetensors", save_tensors(tensors))
    if accelerator is not None:
        accelerator.wait_for_everyone()
    return path


def load(path: str | PathLike, *, trusted: tuple[str, ...] | list[str] = (), device: Any = None):
    """Read an estimator written by ``save``, importing only trusted names.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.
    trusted : sequence of str
        Dotted names to allow besides ``trusted_names()`` (your own module class, say
        ``"mypackage.nets.Wide"``).
    device : str or torch.device, optional
        Override the saved ``device`` parameter (``"cpu"`` for a model saved on CUDA).

    Returns
    -------
    UnlearnableClassifier or UnlearnableRegressor
        The estimator as it was saved, without the training rows it kept in memory.

    Raises
    ------
    ValueError
        For a file that is not a model file of this format (older files included: they
        are refused, never half-read) or that names an untrusted type.
    FileNotFoundError
        When there is no file at ``path``.

    See Also
    --------
    save : Write the file.
    """
    manifest, members = _read(Path(path))
    allowed = trusted_names() | set(trusted)
    untrusted = sorted(name for name in names_in(manifest) if name not in allowed)
    if untrusted:
        raise ValueError(
            f"{str(path)!r} names types that are not trusted: {untrusted}. Load it with trusted=[...] listing "
            "them if you know the file's origin."
        )
    cls = import_name(manifest["class"])
    params = {k: decode(v) for k, v in manifest["params"].items()}
    if device is not None:
        params["device"] = device
    elif cuda_missing(params.get("device")):
        warn(
            f"{str(path)!r} was saved with device={params['device']!r} and this machine has no CUDA device: "
            "loading it on the CPU (pass device=... to choose)."
        )
        params["device"] = "cpu"
    estimator = cls(**params)
    try:
        _restore(estimator, manifest, members)
    except SafetensorError as error:
        raise ValueError(
            f"{str(path)!r} holds something that is not tensors in a tensor file; refused: {error}"
        ) from None
    return estimator


def _restore(estimator, manifest: dict, members: dict[str, bytes]) -> None:
    fitted = manifest["fitted"]
    for key in _FITTED_ARRAYS:
        if key in fitted:
            estimator.__dict__[key] = decode_array(fitted[key])
    for key in _FITTED_PLAIN:
        if key in fitted:
            estimator.__dict__[key] = fitted[key]
    estimator.initialize()
    estimator.load_params(
        f_params=io.BytesIO(members["module.safetensors"]),
        f_history=io.StringIO(members["history.json"].decode()),
        use_safetensors=True,
    )
    tensors = load_tensors(members["state.safetensors"])
    device = next(estimator.module_.parameters(), torch.zeros(0)).device
    optimizer_tensors = _unprefixed(tensors, "optimizer", device)
    estimator.optimizer_.load_state_dict(_join_optimizer_state(manifest["optimizer"], optimizer_tensors))
    if fitted.get("has_class_filters"):
        estimator.class_filters_ = _unprefixed(tensors, "class_filters", device)
    saved = fitted.get("forget_state")
    if saved is not None:
        counters = {k: saved["trace"][k] for k in _TRACE_COUNTERS}
        trace = Trace(_unprefixed(tensors, "initial_weights", "cpu"), optimizer=saved["trace"]["optimizer"], **counters)
        estimator.forget_state_ = ForgetState(
            trace,
            importances=_unprefixed(tensors, "importances", device) if saved["has_importances"] else None,
            importance_point=_unprefixed(tensors, "importance_point", device)
            if saved["has_importance_point"]
            else None,
            n_train=saved["n_train"],
            trained_rows=None,  # never saved: see save's Notes
            guard_rows=None,
            target_scale=tensors.get("target_scale"),
        )


def _read(path: Path) -> tuple[dict, dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            if manifest.get("format") != FORMAT:
                raise ValueError(
                    f"{str(path)!r} has format {manifest.get('format')!r}; this version reads {FORMAT!r} only. "
                    "Load it with the version that wrote it and save it again with this one."
                )
            names = ("module.safetensors", "history.json", "state.safetensors")
            members = {name: archive.read(name) for name in names}
    except FileNotFoundError:
        raise FileNotFoundError(f"No model file at {str(path)!r}.") from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{str(path)!r} is not a model file written by sklearn_unlearn.persistence.save: {error}"
        ) from None
    return manifest, members


# --- tensors in flat, named form ------------------------------------------------------------


def _prefixed(prefix: str, tensors: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    # safetensors wants contiguous CPU tensors that share no memory.
    return {f"{prefix}/{k}": v.detach().to("cpu").contiguous().clone() for k, v in (tensors or {}).items()}


def _unprefixed(tensors: dict[str, torch.Tensor], prefix: str, device: Any) -> dict[str, torch.Tensor]:
    start = f"{prefix}/"
    return {k[len(start) :]: v.to(device) for k, v in tensors.items() if k.startswith(start)}


def _split_optimizer_state(state_dict: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    """The optimizer's state as plain JSON plus named tensors (``<param index>/<slot>``)."""
    plain_state: dict[str, dict[str, Any]] = {}
    tensors: dict[str, torch.Tensor] = {}
    for index, slots in state_dict["state"].items():
        for slot, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{slot}"] = value
            else:
                plain_state.setdefault(str(index), {})[slot] = _plain_or_error(value, f"optimizer state {slot!r}")
    groups = [
        {k: _plain_or_error(v, f"optimizer setting {k!r}") for k, v in g.items()} for g in state_dict["param_groups"]
    ]
    return {"param_groups": groups, "state": plain_state}, tensors


def _join_optimizer_state(saved: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, slot = key.split("/", 1)
        state.setdefault(int(index), {})[slot] = value
    for index, slots in saved["state"].items():
        state.setdefault(int(index), {}).update(slots)
    # JSON has no tuples: settings such as Adam's betas come back as lists.
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in saved["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def _plain_or_error(value: Any, what: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    raise TypeError(f"Cannot save the {what} ({type(value).__name__}) without pickle.")
