"""Checking what ``forget`` is asked to do, and turning it into a ``ForgetRequest``."""

from __future__ import annotations

import numpy as np
import torch

from ..utils import warn
from ._base import ForgetRequest
from ._records import TrainedRows


def build_request(
    estimator, n_train: int, record: TrainedRows | None, X, y, X_retain, y_retain
) -> tuple[ForgetRequest, TrainedRows | None]:
    """Validate the forget (and retain) rows against the fitted estimator and its record of trained rows.

    Parameters
    ----------
    estimator : fitted unlearnable estimator
        Validates and encodes the rows (its ``encode_rows``).
    n_train : int
        How many rows it keeps.
    record : TrainedRows or None
        Which rows it keeps; None for a model loaded from a file (no check is possible).
    X, y, X_retain, y_retain
        As given to ``forget``.

    Returns
    -------
    request : ForgetRequest
    retain_record : TrainedRows or None
        The record of ``X_retain``, when given: the record after the forget.
    """
    if getattr(X, "shape", (1,))[0] == 0 or (not hasattr(X, "shape") and len(X) == 0):
        raise ValueError("The forget set is empty: pass at least one row to forget.")
    X_f, y_f = estimator.encode_rows(X, y)
    if len(X_f) >= n_train:
        raise ValueError(
            f"The forget set has {len(X_f)} rows but the model keeps only {n_train}: "
            "forgetting everything leaves no model; train a new one instead."
        )
    if (X_retain is None) != (y_retain is None):
        raise ValueError("Pass both X_retain and y_retain, or neither.")
    if record is None:
        warn(
            "This model was loaded from a file, which keeps no record of its training rows: forget cannot "
            "check that these rows were trained on."
        )
    elif X_retain is None and (missing := record.count_missing(X_f, y_f)):
        raise ValueError(
            f"{missing} of the {len(X_f)} forget rows were never trained on (or were already forgotten): "
            "the model can only forget rows it was trained on, with the labels it was trained with."
        )
    if X_retain is None:
        return ForgetRequest(torch.as_tensor(X_f), torch.as_tensor(y_f), None, None, n_train), None
    X_r, y_r = estimator.encode_rows(X_retain, y_retain, name="X_retain")
    retain_record = TrainedRows.of(X_r, y_r)
    if record is not None and not record.same_rows(retain_record.plus(TrainedRows.of(X_f, y_f))):
        raise ValueError(
            "X_retain and y_retain must be exactly the rows the model keeps once X is forgotten (the "
            f"training rows minus X, {n_train - len(X_f)} rows); these are not."
        )
    request = ForgetRequest(
        torch.as_tensor(X_f), torch.as_tensor(y_f), torch.as_tensor(X_r), torch.as_tensor(y_r), len(X_r) + len(X_f)
    )
    return request, retain_record


def correction_problem(
    n_forget: int, n_train: int, forget_per_class=None, class_totals=None, classes=None
) -> str | None:
    """Why these rows cannot be a correction of some labels, or None if they can.

    A correction pulls the flagged rows toward what the model learned from the rest: when the rest is the
    minority there is nothing trustworthy to pull toward, and relabelling every row of a class away from it
    removes the class (which has its own tool).

    Parameters
    ----------
    n_forget, n_train : int
        Rows flagged as wrong, and all training rows.
    forget_per_class, class_totals : array_like of int, optional
        Flagged and training rows per class (classifiers only).
    classes : array_like, optional
        The class labels, in the same order (for the message).

    Returns
    -------
    str or None
        The problem, worded to follow "N of M rows were passed as wrong".
    """
    if 2 * n_forget > n_train:
        return "more than half of them"
    if forget_per_class is None:
        return None
    totals = np.asarray(class_totals)
    whole = np.flatnonzero((totals > 0) & (np.asarray(forget_per_class) >= totals))
    if len(whole) == 0:
        return None
    label = np.asarray(classes[whole[0]]).tolist()  # 0 or 'late', not np.int64(0)
    return f"every row labelled {label!r}"
