"""The record of which rows a model was trained on, so that ``forget`` can check its input.

A 64-bit hash per (row, label), kept sorted, with each row's label. The classifier keeps
the record in memory only (see ``local_state``): it is never saved with the model.
"""

from __future__ import annotations

import functools

import numpy as np

_MIX_1, _MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def row_fingerprints(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 64-bit hash per (row, target), to recognise rows the model was trained on.

    The row's float32 bit patterns and its target are combined with a fixed odd multiplier
    per position and mixed (splitmix64's finaliser): vectorised, no Python loop per row.
    A class index enters as a number; a numeric target (regression) by its float32 bits,
    like the row's own values.

    Parameters
    ----------
    X : ndarray
        Rows (any shape after the first axis), read as float32.
    y : ndarray
        Their encoded labels, or their numeric targets (one or more per row).

    Returns
    -------
    ndarray of uint64
        One hash per row.
    """
    rows = np.ascontiguousarray(X, dtype=np.float32).reshape(len(X), -1).view(np.uint32)
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.floating):
        targets = np.ascontiguousarray(y, dtype=np.float32).reshape(len(X), -1).view(np.uint32)
        rows, labels = np.concatenate([rows, targets], axis=1), np.zeros(len(X), dtype=np.uint64)
    else:
        labels = y.astype(np.int64).astype(np.uint64)
    weights = _position_weights(rows.shape[1] + 1)
    out = np.empty(len(rows), dtype=np.uint64)
    step = max(1, 2**22 // max(rows.shape[1], 1))  # bounded memory for wide rows (images)
    with np.errstate(over="ignore"):
        for start in range(0, len(rows), step):
            block = rows[start : start + step].astype(np.uint64)
            h = (block * weights[:-1]).sum(axis=1, dtype=np.uint64) + labels[start : start + step] * weights[-1]
            h ^= h >> np.uint64(30)
            h *= _MIX_1
            h ^= h >> np.uint64(27)
            h *= _MIX_2
            h ^= h >> np.uint64(31)
            out[start : start + step] = h
    return out


@functools.lru_cache(maxsize=8)
def _position_weights(n: int) -> np.ndarray:
    # Odd 64-bit constants from a fixed generator: distinct for every position.
    weights = np.random.default_rng(20261126).integers(1, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    weights.flags.writeable = False  # cached: shared by every call
    return weights


def _kept(fingerprints: np.ndarray, forgotten: np.ndarray) -> tuple[np.ndarray, int]:
    keep = np.ones(len(fingerprints), dtype=bool)
    missing = 0
    values, counts = np.unique(forgotten, return_counts=True)
    starts = np.searchsorted(fingerprints, values, side="left")
    ends = np.searchsorted(fingerprints, values, side="right")
    for start, end, count in zip(starts, ends, counts, strict=True):
        taken = min(count, end - start)
        keep[start : start + taken] = False
        missing += count - taken
    return keep, int(missing)


class TrainedRows:
    """Which (row, label) pairs the model was trained on and still keeps.

    Parameters
    ----------
    fingerprints : ndarray of uint64, optional
        One hash per row (``row_fingerprints``).
    labels : ndarray of int, optional
        The encoded label of each row, in the same order.
    """

    def __init__(self, fingerprints: np.ndarray | None = None, labels: np.ndarray | None = None) -> None:
        fingerprints = np.empty(0, np.uint64) if fingerprints is None else np.asarray(fingerprints)
        labels = np.zeros(len(fingerprints), np.int64) if labels is None else np.asarray(labels)
        order = np.argsort(fingerprints, kind="stable")
        self.fingerprints, self.labels = fingerprints[order], labels[order]

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray) -> TrainedRows:
        """The record of rows and their targets (class indices are kept for ``without_class``).

        Parameters
        ----------
        X : ndarray
            Rows.
        y : ndarray
            Their encoded labels, or numeric targets.

        Returns
        -------
        TrainedRows
            A new record.
        """
        y = np.asarray(y)
        if np.issubdtype(y.dtype, np.floating):  # numbers are in the hash; no class to keep
            return cls(row_fingerprints(X, y), np.zeros(len(y), dtype=np.int64))
        return cls(row_fingerprints(X, y), y)

    def __len__(self) -> int:
        return len(self.fingerprints)

    def count_missing(self, X: np.ndarray, y: np.ndarray) -> int:
        """How many of the rows are not (or no longer) among the kept rows.

        Parameters
        ----------
        X : ndarray
            Rows.
        y : ndarray
            Their encoded labels.

        Returns
        -------
        int
            Rows asked for but not held (a repeated row counts once per copy).
        """
        return _kept(self.fingerprints, row_fingerprints(X, y))[1]

    def same_rows(self, other: TrainedRows) -> bool:
        """Whether both records hold the same rows, as multisets.

        Parameters
        ----------
        other : TrainedRows
            The record to compare with.

        Returns
        -------
        bool
            True for the same rows, copies counted.
        """
        return np.array_equal(self.fingerprints, other.fingerprints)

    def without(self, X: np.ndarray, y: np.ndarray) -> TrainedRows:
        """The record after forgetting the rows (rows it does not hold are ignored).

        Parameters
        ----------
        X : ndarray
            Rows; each removes one copy.
        y : ndarray
            Their encoded labels.

        Returns
        -------
        TrainedRows
            A new record.
        """
        keep, _ = _kept(self.fingerprints, row_fingerprints(X, y))
        return TrainedRows(self.fingerprints[keep], self.labels[keep])

    def without_class(self, label: int) -> TrainedRows:
        """The record after forgetting every row of one (encoded) class.

        Parameters
        ----------
        label : int
            The class index.

        Returns
        -------
        TrainedRows
            A new record.
        """
        keep = self.labels != label
        return TrainedRows(self.fingerprints[keep], self.labels[keep])

    def plus(self, other: TrainedRows) -> TrainedRows:
        """The record after training on more rows.

        Parameters
        ----------
        other : TrainedRows
            The new rows' record.

        Returns
        -------
        TrainedRows
            A new record holding both.
        """
        return TrainedRows(
            np.concatenate([self.fingerprints, other.fingerprints]), np.concatenate([self.labels, other.labels])
        )
