"""The fast data path for array input: rows held as tensors on the device, batches drawn by index.

skorch's default path wraps the arrays in a ``Dataset`` and a ``DataLoader``: every batch
gathers rows one ``__getitem__`` at a time, collates them and copies them to the device. For
plain arrays that is most of an epoch's time on a GPU and a good part of it on a CPU. Here
the rows become two tensors once per ``fit`` (moved to the device once), and each batch is
one indexing operation. skorch's own path stays for every other input (dicts, datasets,
custom iterators).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset


class TensorRows(Dataset):
    """Rows ``X`` and labels ``y`` (or None) as tensors on one device.

    Indexing gives ``(X[i], y[i])`` like skorch's ``Dataset``, so validation splits
    (``torch.utils.data.Subset``) and any code that reads rows one by one still work.
    """

    def __init__(self, X: Tensor, y: Tensor | None = None) -> None:
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else torch.zeros(()))


class RowBatches:
    """Batches of a ``TensorRows`` (or a ``Subset`` of one), as ``DataLoader(shuffle, drop_last)`` would give.

    Parameters
    ----------
    rows : TensorRows or Subset of TensorRows
    batch_size : int
    shuffle : bool
        A new permutation each pass, drawn from torch's global generator (seeded by the
        classifier's ``random_state``, as ``DataLoader`` draws its own).
    drop_last : bool
        Leave out a last, short batch.
    """

    def __init__(self, rows: TensorRows | Subset, batch_size: int, shuffle: bool, drop_last: bool) -> None:
        if isinstance(rows, Subset):
            self.source, self.indices = rows.dataset, torch.as_tensor(rows.indices, dtype=torch.long)
        else:
            self.source, self.indices = rows, None
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last

    def _n_rows(self) -> int:
        return len(self.source) if self.indices is None else len(self.indices)

    def __len__(self) -> int:
        n, size = self._n_rows(), self.batch_size
        return n // size if self.drop_last else -(-n // size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor | None]]:
        n = self._n_rows()
        order = torch.randperm(n) if self.shuffle else None
        X, y = self.source.X, self.source.y
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None and self.indices is None:
                rows = slice(start, stop)  # a view: no copy at all
            else:
                rows = order[start:stop] if order is not None else torch.arange(start, stop)
                if self.indices is not None:
                    rows = self.indices[rows]
                rows = rows.to(X.device)
            yield X[rows], (y[rows] if y is not None else None)

    def as_data_loader(self) -> DataLoader:
        """The same batches as a ``DataLoader`` (one index list per batch), for launchers that split loaders.

        Each batch is still one indexing operation: the loader's sampler yields whole batches
        of indices, and the rows are indexed by the list.

        Returns
        -------
        torch.utils.data.DataLoader
            With ``batch_size=None`` and a ``BatchSampler`` as its sampler.
        """
        rows = self.source if self.indices is None else Subset(self.source, self.indices.tolist())
        order = RandomSampler(rows) if self.shuffle else SequentialSampler(rows)
        return DataLoader(rows, batch_size=None, sampler=BatchSampler(order, self.batch_size, self.drop_last))


def fast_path_applies(dataset, iterator, kwargs: dict) -> bool:
    """Whether the batches can be drawn by ``RowBatches``: our rows, skorch's default loader, plain options."""
    source = dataset.dataset if isinstance(dataset, Subset) else dataset
    plain = set(kwargs) <= {"batch_size", "shuffle", "drop_last", "num_workers", "pin_memory"}
    return isinstance(source, TensorRows) and iterator is torch.utils.data.DataLoader and plain
