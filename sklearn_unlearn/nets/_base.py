"""``SklearnNetMixin``: what a skorch net needs to behave as a scikit-learn estimator."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, validate_parameter_constraints
from skorch import NeuralNet
from skorch.dataset import Dataset
from torch import Tensor, nn

from ..utils import (
    all_or_nothing,
    check_features,
    cuda_missing,
    eval_mode,
    resolve_device,
    rows_of_dataset,
    warn,
)
from ._batches import RowBatches, TensorRows, fast_path_applies

# skorch 1.4 routes fit params by entry point (metadata routing); earlier versions pass every
# keyword of fit_loop on to the module.
_SKORCH_ROUTES = "_routing_method" in inspect.signature(NeuralNet.fit_loop).parameters


class SklearnNetMixin:
    """What a skorch net needs to behave as a scikit-learn estimator; mixed in before skorch's class.

    The concrete nets (``SklearnNetClassifier``, ``SklearnNetRegressor``) say how targets
    are checked and encoded (``_targets_for_fit``, ``_targets_for_partial_fit``,
    ``encode_rows``), how many outputs the module has (``_module_sizes``) and how the
    module's output is read. Subclasses extend ``_parameter_constraints`` and ``_records``
    (attributes changed in place by training, restored if ``fit`` fails) and override
    ``_after_training`` to keep their own fitted state.
    """

    _parameter_constraints: dict = {
        "module": [callable],
        "criterion": [callable, None],
        "optimizer": [callable, None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "train_split": [callable, None],
        "device": [str, torch.device, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
    }
    _records: tuple[str, ...] = ("history_",)

    # skorch reads ``self.device`` everywhere; the stored parameter stays "auto" for
    # get_params/clone while skorch sees the resolved device.
    @property
    def device(self) -> Any:
        """The device skorch computes on: ``"auto"`` resolved to CUDA when available, else CPU."""
        return resolve_device(self.__dict__.get("device", "auto"))

    @device.setter
    def device(self, value: Any) -> None:
        self.__dict__["device"] = value

    def _get_param_names(self) -> list[str]:
        # skorch lists every non-fitted attribute; its private ``_params_to_validate`` is
        # rebuilt by __init__ from the keyword arguments, so it is no parameter.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        """The parameters, as scikit-learn's ``get_params`` gives them (``device`` as set, e.g. ``"auto"``).

        Parameters
        ----------
        deep : bool, default=True
            Include the parameters of sub-objects.
        **kwargs
            Passed to skorch.

        Returns
        -------
        dict
            Parameter names and values.
        """
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device", "auto")
        return params

    def __setstate__(self, state: dict[str, Any]) -> None:
        requested = state.get("device")
        if cuda_missing(requested):
            warn(
                f"This model was saved with device={requested!r} and this machine has no CUDA device: it is loaded "
                "on the CPU and its device parameter set to 'cpu'."
            )
            requested = "cpu"
        super().__setstate__({**state, "device": resolve_device(requested)})
        self.__dict__["device"] = requested

    def __sklearn_is_fitted__(self) -> bool:
        # A network with a module can predict: after fit, during fit (skorch's validation
        # scoring), or after initialize() + load_params(), skorch's way to ship a model.
        return bool(getattr(self, "initialized_", False)) and "module_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = self.random_state is None
        return tags

    def validate_settings(self) -> None:
        """Check every parameter against its constraints (clear errors that name it)."""
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        requested = self.__dict__.get("device", "auto")
        if cuda_missing(requested):
            raise ValueError(
                f"device={requested!r} asks for CUDA, but this machine has no CUDA device "
                "(torch.cuda.is_available() is False); use device='cpu', or 'auto' to take CUDA when there is one."
            )

    # --- training ------------------------------------------------------------------------

    def fit(self, X, y=None, **fit_params: Any):
        """Train the network on all rows.

        A failed call (bad input, a bad parameter, an error in training) leaves the model
        exactly as it was.

        Parameters
        ----------
        X : array_like, sparse matrix, DataFrame or torch Dataset of shape (n_samples, n_features)
            Numeric features; images may be ``(n, channels, height, width)``. A Dataset of
            ``(x, y)`` pairs (skorch's, a ``TensorDataset``, your own) is read into arrays.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            The targets (optional with a Dataset that holds them).
        **fit_params
            Passed to the module's ``forward`` in every call (training and the importance pass).

        Returns
        -------
        self
            The fitted estimator.
        """
        with all_or_nothing(self, self._records):
            self.validate_settings()
            X, y = rows_of_dataset(X, y)
            X32 = check_features(self, X, reset=True)
            if len(X32) < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 samples to train; got 1 sample.")
            y_enc = self._targets_for_fit(y, len(X32))
            with self._seeded():
                if not self.warm_start or not self.initialized_:
                    self.initialize()
                self._check_module_runs(X32, fit_params)
                y_enc = self._targets_for_module(y_enc)
                self._run_training(X32, y_enc, self.max_epochs, interruptible=True, **fit_params)
            rows = self._trained_rows(len(X32))
            self._after_training(X32[rows], y_enc[rows], fresh=True, fit_params=fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params: Any):
        """Train one more round on ``X, y`` without re-initialising (``epochs=`` sets its length).

        A network that is initialised (``initialize()``, ``load_params``) keeps its weights;
        otherwise it is initialised first.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to train on.
        y : array_like
            Their targets.
        classes : array_like, optional
            All the labels, for a classifier's first call (as in scikit-learn).
        **fit_params
            ``epochs=`` sets the number of epochs; the rest go to the module's ``forward``.

        Returns
        -------
        self
            The estimator, trained further.
        """
        epochs = fit_params.pop("epochs", self.max_epochs)
        with all_or_nothing(self, self._records):
            if not self.initialized_:
                self.validate_settings()
            X, y = rows_of_dataset(X, y)
            X32 = check_features(self, X, reset="n_features_in_" not in self.__dict__)
            y_enc = self._targets_for_partial_fit(y, len(X32), classes)
            with self._seeded() if not self.initialized_ else contextlib.nullcontext():
                if not self.initialized_:
                    self.initialize()
                    self._check_module_runs(X32, fit_params)
                y_enc = self._targets_for_module(y_enc)
                routing = {"_routing_method": "partial_fit"} if _SKORCH_ROUTES else {}
                self._run_training(X32, y_enc, epochs, interruptible=True, **routing, **fit_params)
            rows = self._trained_rows(len(X32))
            self._after_training(X32[rows], y_enc[rows], fresh=False, fit_params=fit_params)
        return self

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool, fit_params: dict) -> None:
        """Hook: ``fit`` (``fresh``) or ``partial_fit`` trained on these rows, with these fit params."""

    def _targets_for_module(self, y_enc: np.ndarray) -> np.ndarray:
        """Hook: the encoded targets in the shape the module's output has (as they are, by default)."""
        return y_enc

    def get_split_datasets(self, X, y=None, **fit_params):
        """Skorch's train/validation split, remembering which rows are trained on.

        Parameters
        ----------
        X, y : array_like
            The rows and targets given to ``fit``.
        **fit_params
            Passed to skorch.

        Returns
        -------
        dataset_train, dataset_valid : torch Dataset or None
            As skorch returns them.
        """
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        # With a validation split only some rows are trained on: the bookkeeping must know which.
        self.__dict__["_split_train_rows"] = getattr(dataset_train, "indices", None)
        return dataset_train, dataset_valid

    def _trained_rows(self, n_rows: int) -> np.ndarray | slice:
        rows = self.__dict__.pop("_split_train_rows", None)
        return slice(None) if rows is None else np.sort(np.asarray(rows))[np.asarray(rows) < n_rows]

    def _check_module_runs(self, X32: np.ndarray, fit_params: dict) -> None:
        """One forward pass on two rows: a clear error now instead of a shape error deep in training."""
        probe = torch.as_tensor(X32[:2]).to(self.placement_device())
        try:
            with torch.no_grad(), eval_mode(self.module_):
                output = self.module_(probe, **fit_params)
        except (RuntimeError, ValueError, TypeError) as error:
            raise ValueError(
                f"The module {type(self.module_).__name__} cannot run on X of shape {X32.shape} "
                f"(n_features_in_={self.n_features_in_}): {error}"
            ) from None
        if isinstance(output, tuple):  # skorch: the first output is the prediction
            output = output[0]
        n_outputs, what = self._module_outputs()
        if isinstance(output, torch.Tensor) and self._accepts_flat_output(tuple(output.shape), len(probe)):
            return
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != (len(probe), n_outputs):
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(
                f"The module must return {what}, shape (n_samples, {n_outputs}); "
                f"{type(self.module_).__name__} returned {shape} for 2 rows."
            )

    def _accepts_flat_output(self, shape: tuple[int, ...], n_rows: int) -> bool:
        """Hook: whether a module output of this shape is accepted besides ``(n_rows, n_outputs)``."""
        return False

    def train_epochs(
        self, X: Tensor, y: Tensor, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False
    ) -> None:
        """Train on already encoded rows with the model's own optimizer and settings.

        Unlike ``fit``, an interruption (Ctrl-C) propagates to the caller.

        Parameters
        ----------
        X, y : Tensor
            Float32 rows and encoded targets (as ``encode_rows`` gives them).
        epochs : int
            Epochs to train.
        lr_factor : float, default=1.0
            Multiplies the optimizer's learning rates for these epochs.
        reinitialize : bool, default=False
            Start from new weights (a retrain).
        """
        with self._seeded():
            if reinitialize:
                self.initialize()
            groups = self.optimizer_.param_groups
            saved = [group["lr"] for group in groups]
            for group in groups:
                group["lr"] *= lr_factor
            try:
                self._run_training(X, y, epochs, interruptible=False)
            finally:
                for group, lr in zip(groups, saved, strict=True):
                    group["lr"] = lr

    def _run_training(self, X, y, epochs: int, *, interruptible: bool, **fit_params: Any) -> None:
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch's convention for fit: Ctrl-C stops training and keeps the model.
            if not interruptible:
                raise
        self.notify("on_train_end", X=X, y=y)
        self._check_training_converged()

    def _check_training_converged(self) -> None:
        """A training loss that became NaN or infinite leaves weights that predict NaN: refuse them."""
        losses = [epoch.get("train_loss") for epoch in self.history_]
        last = next((loss for loss in reversed(losses) if loss is not None), None)
        if last is not None and not np.isfinite(last):
            raise ValueError(
                f"Training diverged: the training loss became {last} in epoch {len(losses)}, so the weights are "
                f"no longer numbers. Lower lr (now {self.lr}), or scale the inputs and, for a regressor, the targets "
                "(sklearn.compose.TransformedTargetRegressor with a StandardScaler). The model is left as it was."
            )

    def initialize_module(self):
        """Build the module, giving a module class the sizes it takes from the data (``n_features``, ...).

        Returns
        -------
        self
            The net.
        """
        kwargs = self.get_params_for("module")
        if not isinstance(self.module, nn.Module):
            accepted = set(inspect.signature(self.module).parameters)
            for name, value in self._module_sizes(accepted).items():
                kwargs.setdefault(name, value)
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def _module_sizes(self, accepted: set[str]) -> dict[str, int]:
        """Sizes from the data for the module class's ``__init__`` arguments in ``accepted``."""
        return {"n_features": self.n_features_in_} if "n_features" in accepted else {}

    def get_dataset(self, X, y=None):
        """The rows as a Dataset: float32 arrays go to the device once (the fast path).

        Parameters
        ----------
        X : array_like or Dataset
            Rows.
        y : array_like, optional
            Targets.

        Returns
        -------
        torch Dataset
            ``TensorRows`` on the fast path, else skorch's Dataset.
        """
        # Validated float32 arrays take the fast path (``_batches``); training rows go to the
        # device once, here, instead of once per batch.
        arrays = (np.ndarray, torch.Tensor)
        plain = (
            isinstance(X, arrays) and X.dtype in (np.float32, torch.float32) and (y is None or isinstance(y, arrays))
        )
        if plain and self.dataset is Dataset and not self.get_params_for("dataset"):
            X_rows = torch.as_tensor(X)
            device = self.placement_device()
            if y is None:  # rows to predict: skorch moves each batch to ``device``, unless that is None
                return TensorRows(X_rows if self.device is not None else X_rows.to(device))
            return TensorRows(X_rows.to(device), torch.as_tensor(y).to(device))
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training: bool = False):
        """Batches of ``dataset``: drawn by index on the fast path, else skorch's DataLoader.

        Parameters
        ----------
        dataset : torch Dataset
            The rows.
        training : bool, default=False
            Training batches are shuffled, and a last batch of one row is dropped.

        Returns
        -------
        iterable
            The batches.

        Raises
        ------
        ValueError
            For a batch size that is neither positive nor -1.
        """
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        iterator = self.iterator_train if training else self.iterator_valid
        batch_size = kwargs.setdefault("batch_size", self.batch_size)
        if not isinstance(batch_size, (int, np.integer)) or (batch_size < 1 and batch_size != -1):
            raise ValueError(f"batch_size must be a positive int or -1 (all rows in one batch); got {batch_size!r}.")
        if batch_size == -1:
            batch_size = kwargs["batch_size"] = max(len(dataset), 1)
        if training:
            kwargs.setdefault("shuffle", True)
            # A last batch of one row breaks BatchNorm in training mode; drop it (a different
            # row each epoch when shuffled).
            if len(dataset) > 1 and len(dataset) % batch_size == 1:
                kwargs.setdefault("drop_last", True)
        if fast_path_applies(dataset, iterator, kwargs):
            batches = RowBatches(dataset, batch_size, kwargs.get("shuffle", False), kwargs.get("drop_last", False))
            return batches.as_data_loader() if self._shards_batches() else batches
        return iterator(dataset, **kwargs)

    def _shards_batches(self) -> bool:
        """Hook: whether the batches go to a launcher that splits a ``DataLoader`` between processes."""
        return False

    @contextlib.contextmanager
    def _seeded(self) -> Iterator[None]:
        if self.random_state is None:
            yield
            return
        rs = self.random_state
        seed = rs if isinstance(rs, (int, np.integer)) else check_random_state(rs).randint(2**31 - 1)
        device = self.placement_device()
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(seed))
            yield

    def placement_device(self) -> torch.device:
        """Where the network and its training rows live: ``device`` resolved (the CPU when it is None).

        Returns
        -------
        torch.device
            The device.
        """
        return torch.device(self.device) if self.device is not None else torch.device("cpu")

    def eval_loss(self, output: Tensor, target: Tensor) -> Tensor:
        """The criterion's mean loss of ``output`` against encoded ``target``, in evaluation.

        Parameters
        ----------
        output : Tensor
            The module's output for some rows.
        target : Tensor
            Their encoded targets.

        Returns
        -------
        Tensor
            A scalar.
        """
        return self.get_loss(output, target, training=False)
