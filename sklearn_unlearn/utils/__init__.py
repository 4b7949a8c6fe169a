"""Helpers shared by the package's parts: input checks, torch plumbing and all-or-nothing changes.

Not part of the user-facing API; kept stable enough for the package's own subpackages.
"""

from ._torch import (
    clone_parameters,
    cuda_missing,
    device_of,
    eval_mode,
    flat_weights,
    forward_arguments,
    module_mode,
    parameters_kept,
    resolve_device,
    row_batches,
    row_slices,
    trainable_parameters,
)
from ._transaction import Snapshot, all_or_nothing
from ._validation import check_features, check_labels, encode_labels, prepare_rows, rows_of_dataset
from ._warnings import warn

__all__ = [
    "Snapshot",
    "all_or_nothing",
    "check_features",
    "check_labels",
    "clone_parameters",
    "cuda_missing",
    "device_of",
    "encode_labels",
    "eval_mode",
    "flat_weights",
    "forward_arguments",
    "module_mode",
    "parameters_kept",
    "prepare_rows",
    "resolve_device",
    "row_batches",
    "row_slices",
    "rows_of_dataset",
    "trainable_parameters",
    "warn",
]
