"""The importance pass sharded over processes with ``torch.distributed``.

The per-sample importance is a sum over rows, so each process sums the squared
per-sample gradients of its own shard and one all-reduce adds the shards up. Any
backend works (gloo on CPU, NCCL on GPUs); launch the processes as usual (``torchrun``
or ``torch.multiprocessing.spawn``) after ``torch.distributed.init_process_group``.

Example, in every process of the group::

    local_X, local_y = shard_of_the_training_rows(rank, world_size)
    importances = distributed_importances(clf, local_X, local_y)
    # the same cache fit would have built on all rows, in every process
    clf.forget_state_ = clf.forget_state_.replace(importances=importances, importance_point=None)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
from sklearn.utils.validation import check_is_fitted

from ..utils import device_of
from ._importance import Importances, sum_of_squared_sample_gradients

_CHUNK = 2048


def distributed_importances(clf, X, y, *, group=None) -> Importances:
    """Per-sample importances over the rows of every process in ``group``.

    Parameters
    ----------
    clf : unlearnable estimator
        Fitted, with the same weights in every process (e.g. loaded from one file).
    X, y : array_like
        This process's shard of the rows (any size, empty allowed).
    group : torch.distributed process group, optional
        Defaults to the whole world.

    Returns
    -------
    dict of str to Tensor
        ``(1/|D|) Σ_{z∈D} (∂ℓ(z)/∂θ)²`` over the union ``D`` of the shards, identical
        (up to float rounding) to the single-process per-sample importances.
    """
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("torch.distributed is not initialised: call init_process_group first.")
    check_is_fitted(clf)
    if len(X):
        X32, y_enc = clf.encode_rows(X, y)
    else:
        X32, y_enc = np.empty((0, clf.n_features_in_), np.float32), np.empty(0, np.int64)  # no batch reads it
    chunk = max(clf.batch_size, _CHUNK)
    return all_reduced_importances(
        clf.module_, torch.as_tensor(X32), torch.as_tensor(y_enc), clf.eval_loss, chunk, group
    )


def all_reduced_importances(module, X: torch.Tensor, y: torch.Tensor, loss, chunk: int, group=None) -> Importances:
    """Per-sample importances over the union of every process's rows: local sums, one all-reduce.

    Parameters
    ----------
    module : torch.nn.Module
        The network, with the same weights in every process.
    X, y : Tensor
        This process's rows (float32) and encoded targets; empty allowed.
    loss : callable
        ``loss(output, target)``: the mean loss of a batch.
    chunk : int
        Rows per batch (the result does not depend on it).
    group : torch.distributed process group, optional
        Defaults to the whole world.

    Returns
    -------
    dict of str to Tensor
        The same in every process.
    """
    sums = sum_of_squared_sample_gradients(module, X, y, loss, chunk)
    count = torch.tensor([float(len(X))], device=device_of(module), dtype=torch.float64)
    dist.all_reduce(count, op=dist.ReduceOp.SUM, group=group)
    for total in sums.values():
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    if count.item() == 0:
        raise ValueError("No process holds any row: the importances are undefined.")
    return {name: total / float(count.item()) for name, total in sums.items()}
