"""State a model keeps in memory for its own checks but never writes to a file.

The record of which rows were trained on and the guard's reference rows are training data.
A saved model must not reveal which rows it was trained on beyond what its predictions do,
so they live in a ``LocalOnly`` box: ``pickle`` (and every format built on it) saves
the box empty, while ``copy.deepcopy`` copies what is inside (a copy in memory is not a file).
"""

from __future__ import annotations

import copy
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LocalOnly(Generic[T]):
    """A value kept in memory only: pickled empty, deep-copied in full.

    Parameters
    ----------
    value : object, optional
        What to keep. ``value is None`` after the box was loaded from a file.
    """

    def __init__(self, value: T | None = None) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (LocalOnly, ())

    def __deepcopy__(self, memo: dict) -> LocalOnly[T]:
        return LocalOnly(copy.deepcopy(self.value, memo))

    def __repr__(self) -> str:
        return "LocalOnly(<in memory>)" if self.value is not None else "LocalOnly(<not saved: empty>)"
