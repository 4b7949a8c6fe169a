"""Saving and loading unlearnable estimators without ever unpickling an arbitrary object.

``save(estimator, path)`` writes one file: the weights and history in skorch's own
formats (``save_params`` with safetensors), plus what skorch cannot know (the forget
state's tensors, the optimizer state, the parameters as JSON). ``load(path)`` reads it
back importing only trusted names (``trusted_names()``, plus those you pass).

A saved model holds no training row and no per-row record: the guard's reference rows
and the record of trained rows stay in memory. After ``load``, give the model a sample of
the rows it keeps with ``set_guard_rows`` before forgetting with the guard on.

``pickle`` (and ``joblib``) also work and drop the training rows too, but loading a
pickle runs whatever code the file names: load pickles only from sources you trust.
"""

from ._archive import FORMAT, load, save
from ._encoding import trusted_names

__all__ = ["FORMAT", "load", "save", "trusted_names"]
