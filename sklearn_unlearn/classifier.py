"""UnlearnableClassifier: a skorch ``NeuralNetClassifier`` that can forget training rows."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from skorch import NeuralNetClassifier
from skorch.dataset import Dataset
from torch import nn

from ._validation import (
    check_features,
    check_labels,
    encode_labels,
    row_fingerprints,
)
from .class_filter import ClassFilterMixin
from .forgetting import ForgetMixin
from .importance import Importances, minibatch_importances, per_sample_importances
from .modules import MLP
from .trace import TrainingTrace
from .unlearners import Unlearner

IMPORTANCE_FORMS = ("per_sample", "minibatch")
_PER_SAMPLE_CHUNK = 2048  # rows per importance batch; the per-sample result does not depend on it
_PROGRESS_MIN_ROWS = 10_000  # below this an importance pass takes well under a second: no bar


def resolve_device(device: Any) -> Any:
    """``"auto"`` means CUDA when available, else CPU; anything else is passed to skorch as is."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class UnlearnableClassifier(ForgetMixin, ClassFilterMixin, NeuralNetClassifier):
    """A neural-network classifier for plain scikit-learn data that can forget rows.

    A skorch ``NeuralNetClassifier``, so every skorch parameter (``module__*``,
    ``optimizer__*``, ``callbacks``, ...) works as usual. It adds what sklearn users
    expect: it casts ``X`` to float32 (dense, sparse or DataFrame), encodes any labels
    (``classes_``), trains on all rows in shuffled batches, and infers the default
    :class:`~sklearn_unlearn.modules.MLP`'s sizes. At the end of ``fit`` it caches the
    training-set importances, so :meth:`forget` needs one pass over the forget rows.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLP
        The network. A class whose ``__init__`` takes ``n_features`` and ``n_classes``
        gets them from the data; set others with ``module__<name>``
        (e.g. ``module__hidden_layer_sizes=(250,) * 5``). It must return logits.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Mean loss over a batch; also the loss the importances are taken of.
    optimizer : torch optimizer class, default=torch.optim.SGD
    lr : float, default=0.05
    max_epochs : int, default=25
    batch_size : int, default=128
        Training batch size, and the batch size of the mini-batch importances.
    train_split : callable or None, default=None
        skorch's validation split; None trains on every row (sklearn's convention).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else CPU.
    verbose : int, default=0
        0 is silent. ≥ 1: skorch's epoch table for every training run (fit, fine-tune,
        retrain) and a tqdm bar for importance passes over 10,000 rows or more. For a
        bar per training run add ``callbacks=[sklearn_unlearn.progress.EpochProgress()]``
        (or skorch's per-batch ``ProgressBar``).
    forget_method : str or Unlearner, default="assd"
        What :meth:`forget` does: ``"assd"``, ``"ssd"``, ``"finetune"``, ``"retrain"``,
        ``"single_gradient"`` (Thudi et al.), ``"path_gradient"`` (ours: the same along
        the path from the initial weights), ``"newton"`` or ``"ewc_ascent"`` (Tanno et
        al.'s treatments); or an object with ``forget(net, request)``.
    alpha : float, default=10.0
        SSD's selection threshold α (``forget_method="ssd"``).
    lam : float, default=1.0
        SSD's dampening constant λ (``forget_method="ssd"``).
    importance : {"per_sample", "minibatch"}, default="per_sample"
        Form of the diagonal Fisher (see :mod:`sklearn_unlearn.importance`).
        ``"minibatch"`` is exactly the authors' code, with batches of ``batch_size``.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, batch order and dropout, which makes CPU training
        reproducible. The global torch RNG state is left as it was.
    **kwargs
        Further skorch parameters, prefixed as skorch expects.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in fit, sorted.
    n_features_in_ : int
    importances_ : dict of str to Tensor or None
        Importances over the rows the model currently keeps, one tensor per parameter
        (None after ``partial_fit``, which makes them stale).
    n_train_ : int
        Rows the model is trained on, minus those forgotten since.
    forget_log_ : list of dict
        One entry per :meth:`forget`: method, rows, α, parameters dampened, seconds.
    training_trace_ : Trace
        ``w_0``, optimizer steps, epochs and learning rates since the network was
        initialised (recorded by the :class:`~sklearn_unlearn.trace.TrainingTrace`
        callback); read by single-gradient unlearning and
        :func:`~sklearn_unlearn.metrics.unlearning_error`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_unlearn import UnlearnableClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = UnlearnableClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.forget(X[:3], y[:3]).forget_log_[-1]["n_forget"]
    3
    """

    cuda_dependent_attributes_ = ["importances_", "training_trace_", "class_filters_"]

    def __init__(
        self,
        module: type[nn.Module] | nn.Module = MLP,
        *,
        criterion: type[nn.Module] = nn.CrossEntropyLoss,
        optimizer: type[torch.optim.Optimizer] = torch.optim.SGD,
        lr: float = 0.05,
        max_epochs: int = 25,
        batch_size: int = 128,
        train_split: Any = None,
        device: Any = "auto",
        verbose: int = 0,
        forget_method: str | Unlearner = "assd",
        alpha: float = 10.0,
        lam: float = 1.0,
        importance: str = "per_sample",
        random_state: int | np.random.RandomState | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.forget_method = forget_method
        self.alpha = alpha
        self.lam = lam
        self.importance = importance
        self.random_state = random_state

    # skorch reads ``self.device`` everywhere; the stored parameter stays "auto" for
    # get_params/clone while skorch sees the resolved device.
    @property
    def device(self) -> Any:
        return resolve_device(self.__dict__.get("device", "auto"))

    @device.setter
    def device(self, value: Any) -> None:
        self.__dict__["device"] = value

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("training_trace", TrainingTrace())]

    def _get_param_names(self) -> list[str]:
        # skorch lists every non-fitted attribute; its private ``_params_to_validate`` is
        # rebuilt by __init__ from the keyword arguments, so it is no parameter.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device", "auto")
        return params

    def __setstate__(self, state: dict[str, Any]) -> None:
        requested = state.get("device")
        super().__setstate__({**state, "device": resolve_device(requested)})
        self.__dict__["device"] = requested

    @property
    def classes_(self) -> np.ndarray:
        try:
            return self.__dict__["_classes_"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} is not fitted yet: it has no classes_.") from None

    def __sklearn_is_fitted__(self) -> bool:
        return "n_train_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = self.random_state is None
        return tags

    # --- training ------------------------------------------------------------------------

    def fit(self, X, y, **fit_params: Any) -> UnlearnableClassifier:
        """Train the network on all rows and cache their importances.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Numeric features; images may be ``(n, channels, height, width)``.
        y : array-like of shape (n_samples,)
            Labels of any type.
        **fit_params
            Passed to skorch (the module's ``forward``).

        Returns
        -------
        self
        """
        self._check_settings()
        X32 = check_features(self, X, reset=True)
        y = check_labels(y, len(X32))
        if len(X32) < 2:
            raise ValueError("UnlearnableClassifier needs at least 2 samples to train; got 1 sample.")
        self.__dict__["_classes_"] = np.unique(y if self.classes is None else self.classes)
        y_enc = encode_labels(y, self.classes_)
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
            self._run_training(X32, y_enc, self.max_epochs, **fit_params)
        self._reset_bookkeeping(X32, y_enc)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params: Any) -> UnlearnableClassifier:
        """Train one more ``max_epochs`` round on ``X, y`` without re-initialising.

        The importance cache becomes stale (``importances_ = None``): later ASSD/SSD
        forgets then need ``X_retain``/``y_retain``.
        """
        first_call = not self.__sklearn_is_fitted__()
        X32 = check_features(self, X, reset=first_call)
        y = check_labels(y, len(X32))
        if first_call:
            self._check_settings()
            self.__dict__["_classes_"] = np.unique(y if classes is None else classes)
        y_enc = encode_labels(y, self.classes_)
        with self._seeded() if first_call else contextlib.nullcontext():
            if first_call:
                self.initialize()
            self._run_training(X32, y_enc, self.max_epochs, **fit_params)
        if first_call:
            self.n_train_, self.forget_log_ = 0, []
            self._fingerprints_ = np.empty(0, dtype=np.uint64)
        self.n_train_ += len(X32)
        self._fingerprints_ = np.sort(np.concatenate([self._fingerprints_, row_fingerprints(X32, y_enc)]))
        self.importances_ = None
        return self

    def train_epochs(self, X, y, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False) -> None:
        """Train on already encoded tensors (used by the fine-tune and retrain strategies)."""
        with self._seeded():
            if reinitialize:
                self.initialize()
            groups = self.optimizer_.param_groups
            saved = [group["lr"] for group in groups]
            for group in groups:
                group["lr"] *= lr_factor
            try:
                self._run_training(X, y, epochs)
            finally:
                for group, lr in zip(groups, saved, strict=True):
                    group["lr"] = lr

    def _run_training(self, X, y, epochs: int, **fit_params: Any) -> None:
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            pass
        self.notify("on_train_end", X=X, y=y)

    def _reset_bookkeeping(self, X32: np.ndarray, y_enc: np.ndarray) -> None:
        self.importances_ = self.compute_importances(torch.as_tensor(X32), torch.as_tensor(y_enc))
        self.n_train_ = len(X32)
        self.forget_log_ = []
        self._fingerprints_ = np.sort(row_fingerprints(X32, y_enc))

    def initialize_module(self) -> UnlearnableClassifier:
        kwargs = self.get_params_for("module")
        if not isinstance(self.module, nn.Module):
            accepted = inspect.signature(self.module).parameters
            if "n_features" in accepted:
                kwargs.setdefault("n_features", self.n_features_in_)
            if "n_classes" in accepted:
                kwargs.setdefault("n_classes", len(self.classes_))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def get_iterator(self, dataset: Dataset, training: bool = False):
        if not training:
            return super().get_iterator(dataset, training=False)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("shuffle", True)
        batch_size = kwargs.setdefault("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = kwargs["batch_size"] = len(dataset)
        # A last batch of one row breaks BatchNorm in training mode; drop it (a different
        # row each epoch when shuffled).
        if len(dataset) > 1 and len(dataset) % batch_size == 1:
            kwargs.setdefault("drop_last", True)
        return self.iterator_train(dataset, **kwargs)

    @contextlib.contextmanager
    def _seeded(self) -> Iterator[None]:
        if self.random_state is None:
            yield
            return
        rs = self.random_state
        seed = rs if isinstance(rs, (int, np.integer)) else check_random_state(rs).randint(2**31 - 1)
        device = torch.device(self.device) if self.device is not None else torch.device("cpu")
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(seed))
            yield

    def _check_settings(self) -> None:
        if self.importance not in IMPORTANCE_FORMS:
            raise ValueError(f"importance must be one of {IMPORTANCE_FORMS}; got {self.importance!r}.")

    # --- prediction ----------------------------------------------------------------------

    def predict_proba(self, X, *, forget_class=None) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        forget_class : label, optional
            Answer as the model that has forgotten this class (weight filtering; needs
            :meth:`fit_class_filters` first).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        self._check_fitted()
        X32 = check_features(self, X, reset=False)
        with self._forgetting_class(forget_class):
            return super().predict_proba(X32)

    def predict(self, X, *, forget_class=None) -> np.ndarray:
        """Predicted labels, from ``classes_`` (``forget_class`` as in :meth:`predict_proba`)."""
        self._check_fitted()
        return self.classes_[self.predict_proba(X, forget_class=forget_class).argmax(axis=1)]

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
            )

    # --- importances ---------------------------------------------------------------------

    def compute_importances(self, X: torch.Tensor, y: torch.Tensor) -> Importances:
        """Importances of ``(X, y)`` (float32 rows, encoded labels) at the current weights."""

        def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return self.get_loss(output, target, training=False)

        progress = bool(self.verbose) and len(X) >= _PROGRESS_MIN_ROWS
        if self.importance == "minibatch":
            return minibatch_importances(self.module_, X, y, loss_fn, self.batch_size, progress=progress)
        chunk = max(self.batch_size, _PER_SAMPLE_CHUNK)
        return per_sample_importances(self.module_, X, y, loss_fn, chunk, progress=progress)

    def cached_importances(self) -> Importances:
        """Importances over the rows the model keeps, as cached by ``fit`` and ``forget``."""
        if self.importances_ is None:
            raise ValueError(
                "The importance cache is stale (partial_fit changed the weights); pass X_retain and y_retain to forget."
            )
        return self.importances_
