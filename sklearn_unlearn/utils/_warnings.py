"""Warnings that point at the user's line, however deep in the package they are raised."""

from __future__ import annotations

import os
import sys
import warnings

import sklearn
import skorch
import torch

# Frames in these folders are library frames (this package, what it builds on, the standard
# library's copy and pickle): the warning belongs to the first frame outside them.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_FOLDERS = tuple(
    folder + os.sep
    for folder in (_PACKAGE, *(os.path.dirname(os.path.abspath(m.__file__)) for m in (skorch, sklearn, torch, os)))
)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning attributed to the caller's code (the first frame outside the libraries).

    Parameters
    ----------
    message : str
        The warning's text.
    category : type of Warning, default=UserWarning
        Its class.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_LIBRARY_FOLDERS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
