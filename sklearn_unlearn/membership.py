"""The record of which rows a model was trained on, so that ``forget`` can check its input."""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_fingerprints(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 64-bit hash per (row, label), to recognise rows the model was trained on."""
    frame = pd.DataFrame(X.reshape(len(X), -1))
    frame["__label__"] = y
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def remove_rows(fingerprints: np.ndarray, forgotten: np.ndarray) -> tuple[np.ndarray, int]:
    """Remove one occurrence per forgotten fingerprint; return what is left and how many were absent.

    ``fingerprints`` must be sorted (the classifier keeps them so), which makes the cost
    O(|D_f| log |D|) lookups plus one O(|D|) copy instead of a sort of |D| per forget.
    """
    remaining = fingerprints
    keep = np.ones(len(remaining), dtype=bool)
    missing = 0
    values, counts = np.unique(forgotten, return_counts=True)
    starts = np.searchsorted(remaining, values, side="left")
    ends = np.searchsorted(remaining, values, side="right")
    for start, end, count in zip(starts, ends, counts, strict=True):
        taken = min(count, end - start)
        keep[start : start + taken] = False
        missing += count - taken
    return remaining[keep], int(missing)


class TrainedRows:
    """Which (row, label) pairs the model was trained on and still keeps, as sorted fingerprints."""

    def __init__(self, fingerprints: np.ndarray | None = None) -> None:
        self.fingerprints = np.sort(fingerprints) if fingerprints is not None else np.empty(0, np.uint64)

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray) -> TrainedRows:
        return cls(row_fingerprints(X, y))

    def __len__(self) -> int:
        return len(self.fingerprints)

    def count_missing(self, X: np.ndarray, y: np.ndarray) -> int:
        """How many of the rows are not (or no longer) among the kept rows."""
        return remove_rows(self.fingerprints, row_fingerprints(X, y))[1]

    def without(self, X: np.ndarray, y: np.ndarray) -> TrainedRows:
        """The record after forgetting the rows (rows it does not hold are ignored)."""
        return TrainedRows(remove_rows(self.fingerprints, row_fingerprints(X, y))[0])

    def plus(self, X: np.ndarray, y: np.ndarray) -> TrainedRows:
        """The record after training on more rows."""
        return TrainedRows(np.concatenate([self.fingerprints, row_fingerprints(X, y)]))
