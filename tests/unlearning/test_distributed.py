"""The importance pass over torch.distributed (gloo, 2 CPU processes) equals the single-process one."""

import os
import pickle
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sklearn_unlearn import UnlearnableClassifier
from sklearn_unlearn.unlearning import distributed_importances

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, model_bytes: bytes, X, y, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        clf = pickle.loads(model_bytes)
        shard = np.array_split(np.arange(len(X)), world)[rank]
        importances = distributed_importances(clf, X[shard], y[shard])
        torch.save({k: v.cpu() for k, v in importances.items()}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_sharded_importances_equal_single_process(data, tmp_path):
    X, y = data
    clf = UnlearnableClassifier(module__hidden_layer_sizes=(16, 16), max_epochs=5, random_state=0, device="cpu")
    clf.fit(X, y)
    mp.spawn(_worker, args=(2, _free_port(), pickle.dumps(clf), X, y, str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        sharded = torch.load(tmp_path / f"rank{rank}.pt")
        for name, expected in clf.importances_.items():
            torch.testing.assert_close(sharded[name], expected, rtol=1e-5, atol=1e-9)


def test_needs_an_initialised_group(fitted, data):
    X, y = data
    with pytest.raises(RuntimeError, match="init_process_group"):
        distributed_importances(fitted, X, y)
