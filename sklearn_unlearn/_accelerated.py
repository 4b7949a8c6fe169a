"""Train and forget across processes and GPUs with Hugging Face Accelerate (skorch's ``AccelerateMixin``).

skorch's mixin does the training: the accelerator prepares the module, the optimizer and
each ``DataLoader``, so under ``accelerate launch`` or ``torchrun`` every process trains on
its share of the batches and DDP keeps the weights equal. This module adds what forgetting
needs on top:

* the training record counts every process's rows (``n_rows_seen`` is summed over the
  processes; a batch that only accumulates gradients is no step);
* the importance pass at the end of ``fit`` is split over the processes and summed with one
  all-reduce (``unlearning.all_reduced_importances``); the guard's reference rows are drawn
  with one seed, so every process caches the same forget state;
* ``forget`` refuses rows or arguments that differ between processes, runs on process 0
  alone on the plain module (no collective inside, so no process can wait on another
  forever), then sends process 0's weights, optimizer state and records to the others;
* ``sklearn_unlearn.persistence.save`` writes from process 0 only; the file loads as the
  plain estimator on any number of processes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    from accelerate.utils import broadcast_object_list
except ImportError as error:  # the optional extra
    raise ImportError(
        "AcceleratedUnlearnableClassifier and AcceleratedUnlearnableRegressor need Hugging Face Accelerate, "
        "which is an optional extra: pip install 'sklearn-unlearn[accelerate]'."
    ) from error

import builtins

import joblib
import numpy as np
import torch
import torch.distributed as dist
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods
from skorch.hf import AccelerateMixin
from torch import nn

from ._classifier import UnlearnableClassifier
from ._modules import MLP
from ._regressor import UnlearnableRegressor
from .unlearning import Unlearner, all_reduced_importances
from .utils import all_or_nothing, eval_mode

_REBUILT_ERRORS = {"NotFittedError": NotFittedError}


class AcceleratedUnlearnMixin:
    """What an unlearnable estimator needs to train under Accelerate and forget the same rows on every process.

    Mixed in before skorch's ``AccelerateMixin``, which comes before the estimator:
    ``class AcceleratedUnlearnableClassifier(AcceleratedUnlearnMixin, AccelerateMixin,
    UnlearnableClassifier)``.
    """

    _accelerate_constraints: dict = {
        "accelerator": [HasMethods(["prepare", "gather", "unwrap_model", "wait_for_everyone"])],
        "unwrap_after_train": ["boolean"],
    }
    # Always unwrapped after training: forget and the forget state work on the plain module.
    _runtime_params = ("accelerator", "unwrap_after_train", "callbacks__print_log__sink")

    # --- where and how many ------------------------------------------------------------------

    def placement_device(self) -> torch.device:
        """The accelerator's device (with ``device=None``, as Accelerate wants), else ``device``.

        Returns
        -------
        torch.device
            The device.
        """
        return torch.device(self.accelerator.device) if self.device is None else super().placement_device()

    def _n_processes(self) -> int:
        return int(getattr(self.accelerator, "num_processes", 1))

    def _local(self) -> bool:
        """Whether this call runs on this process alone, without Accelerate (inside ``forget``)."""
        return self.__dict__.get("_on_this_process_only", False)

    def _shared(self) -> bool:
        """Whether this call runs together with other processes."""
        return self._n_processes() > 1 and not self._local()

    @contextlib.contextmanager
    def _on_this_process(self) -> Iterator[None]:
        # Inside, batches are neither split nor gathered and nothing waits for the other
        # processes: the code runs as in one process.
        previous = self.__dict__.get("_on_this_process_only", False)
        self.__dict__["_on_this_process_only"] = True
        try:
            yield
        finally:
            self.__dict__["_on_this_process_only"] = previous

    def validate_settings(self) -> Unlearner:
        """Check the parameters, Accelerate's included.

        Returns
        -------
        Unlearner
            The strategy ``forget`` would run.
        """
        unlearner = super().validate_settings()
        if self.unwrap_after_train is not True:
            raise ValueError(
                "unwrap_after_train must be True: forget and the forget state work on the plain module, not on "
                "the one Accelerate wraps for training."
            )
        return unlearner

    # --- skorch's hooks, split or local ------------------------------------------------------

    def _shards_batches(self) -> bool:
        return self._shared()  # one process reads every batch: the fast path's own batches serve

    def _initialize_callbacks(self):
        # skorch's PrintLog ignores verbose=0 for any sink but print; Accelerate's print is
        # wanted only when there is something to print.
        if isinstance(self.callbacks__print_log__sink, str) and self.callbacks__print_log__sink == "auto":
            if not self.verbose:
                self.callbacks__print_log__sink = print
        return super()._initialize_callbacks()

    def get_iterator(self, dataset, training: bool = False):
        """Batches of ``dataset``, prepared by the accelerator (split over the processes) unless run locally.

        Parameters
        ----------
        dataset : torch Dataset
            The rows.
        training : bool, default=False
            Training batches are shuffled.

        Returns
        -------
        iterable
            The batches.
        """
        if not self._local():
            return super().get_iterator(dataset, training=training)
        # Skip AccelerateMixin's prepare: this process reads every batch itself.
        return super(AccelerateMixin, self).get_iterator(dataset, training=training)

    def evaluation_step(self, batch, training: bool = False):
        """The evaluation step (skorch's); the processes' outputs are gathered unless run locally.

        Parameters
        ----------
        batch : tuple
            Rows and targets.
        training : bool, default=False
            Whether the module runs in training mode.

        Returns
        -------
        Tensor
            The module's output.
        """
        if not self._local():
            return super().evaluation_step(batch, training=training)
        return super(AccelerateMixin, self).evaluation_step(batch, training=training)

    def _initialize_accelerator(self):
        if self._local():
            return self  # a retrain inside forget, on process 0 alone: no wrapper, no DDP to sync with
        # A loss without weights has nothing to synchronise, and DDP refuses to wrap one: it goes
        # to the device and stays out of Accelerate's prepare.
        weightless = []
        for name in self._criteria:
            criterion = getattr(self, name + "_", None)
            if isinstance(criterion, nn.Module) and not any(p.requires_grad for p in criterion.parameters()):
                criterion.to(self.placement_device())
                weightless.append(name)
        criteria = self._criteria
        self._criteria = [name for name in criteria if name not in weightless]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def trained_parts(self) -> tuple[nn.Module, Any]:
        """The module and optimizer without Accelerate's wrappers (DDP, ``AcceleratedOptimizer``).

        Returns
        -------
        module : torch.nn.Module
            The plain module.
        optimizer : torch.optim.Optimizer
            The plain optimizer.
        """
        return self.accelerator.unwrap_model(self.module_), getattr(self.optimizer_, "optimizer", self.optimizer_)

    def _batch_steps(self) -> bool:
        return bool(getattr(self.accelerator, "sync_gradients", True))

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Wrap the module again (after ``partial_fit`` or a forget) and note the rows counted so far.

        Parameters
        ----------
        net : skorch.NeuralNet
            This estimator.
        X, y : array_like, optional
            The training rows.
        **kwargs
            skorch's other arguments.
        """
        self._initialize_accelerator()
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.__dict__["_rows_seen_before_run"] = self.forget_state_.trace.n_rows_seen

    def on_train_end(self, net, X=None, y=None, **kwargs) -> None:
        """End of training (skorch's hook): wait for the processes and unwrap; the run's rows summed over the processes.

        Parameters
        ----------
        net : skorch.NeuralNet
            This estimator.
        X, y : array_like, optional
            The training rows.
        **kwargs
            skorch's other arguments.
        """
        if self._local():  # nothing was wrapped, and no other process waits
            super(AccelerateMixin, self).on_train_end(net, X=X, y=y, **kwargs)
            return
        super().on_train_end(net, X=X, y=y, **kwargs)
        if not self._shared():
            return
        # DDP syncs buffers (BatchNorm's running statistics) before each forward, so the last
        # batch leaves each process with its own: take process 0's, as forget will.
        for buffer in self.module_.buffers():
            dist.broadcast(buffer, src=0)
        trace = self.forget_state_.trace
        before = self.__dict__.pop("_rows_seen_before_run", trace.n_rows_seen)
        rows = torch.tensor([trace.n_rows_seen - before], device=self.placement_device(), dtype=torch.int64)
        trace.n_rows_seen = before + int(self.accelerator.reduce(rows, reduction="sum").item())

    # --- the forget state --------------------------------------------------------------------

    def _reference_seed(self) -> int | None:
        seed = super()._reference_seed()
        if seed is not None or not self._shared():
            return seed
        drawn = [int(np.random.default_rng().integers(2**31 - 1))]  # process 0's draw wins
        broadcast_object_list(drawn, from_process=0)
        return drawn[0]

    def compute_importances(self, X: torch.Tensor, y: torch.Tensor, **forward_kwargs):
        """Importances of ``(X, y)``; at the end of ``fit`` each process takes its share of the rows.

        Parameters
        ----------
        X, y : Tensor
            Rows and encoded targets (the same in every process).
        **forward_kwargs
            Passed to the module's ``forward``.

        Returns
        -------
        dict of str to Tensor
            One tensor per trainable parameter, the same in every process.
        """
        if not self._shared() or self.importance != "per_sample" or forward_kwargs:
            return super().compute_importances(X, y, **forward_kwargs)
        rank, world = self.accelerator.process_index, self._n_processes()
        device = self.placement_device()
        criterion = getattr(self, "criterion_", None)
        with eval_mode(criterion) if isinstance(criterion, nn.Module) else contextlib.nullcontext():
            return all_reduced_importances(
                self.module_, X[rank::world].to(device), y[rank::world].to(device), self.eval_loss, 2048
            )

    # --- fit and forget ---------------------------------------------------------------------

    def fit(self, X, y=None, **fit_params: Any):
        """Train on every process's share of the batches (the same ``X, y`` in every process).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The rows: all of them, in every process (Accelerate splits the batches).
        y : array_like
            The targets.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self
            The fitted estimator, the same in every process.
        """
        self._refuse_disagreeing_processes("fit", (X, y))
        return super().fit(X, y, **fit_params)

    def forget(self, X, y, **kwargs: Any):
        """Forget the rows on process 0 and send the result to the others (the same call in every process).

        Parameters
        ----------
        X : array_like of shape (n_forget, n_features)
            Rows to forget: the same in every process.
        y : array_like
            Their targets.
        **kwargs
            ``forget``'s keyword arguments (``X_retain``, ``y_retain``, ``method``, ``guard``,
            ``reason``), the same in every process.

        Returns
        -------
        self
            The estimator, with process 0's weights in every process.

        Raises
        ------
        ValueError
            When the processes pass different rows or arguments (nothing changes anywhere),
            and as ``forget`` does.
        """
        if self._n_processes() == 1:
            with self._on_this_process():
                return super().forget(X, y, **kwargs)
        self._refuse_disagreeing_processes("forget", (X, y, sorted(kwargs.items(), key=lambda item: item[0])))
        failure: BaseException | None = None
        if self.accelerator.is_main_process:
            try:
                with self._on_this_process():
                    super().forget(X, y, **kwargs)
            except BaseException as error:  # Ctrl-C too: the other processes must hear of it
                failure = error
        outcome = [None if failure is None else (type(failure).__name__, str(failure))]
        broadcast_object_list(outcome, from_process=0)
        if outcome[0] is not None:
            if failure is not None:
                raise failure
            name, message = outcome[0]
            raise _rebuilt(name, message)
        self._take_state_of_process_0()
        return self

    def _refuse_disagreeing_processes(self, call: str, arguments: Any) -> None:
        if not self._shared():
            return
        digest = joblib.hash(arguments)
        local = torch.tensor([int(digest[:15], 16)], dtype=torch.int64, device=self.placement_device())
        digests = self.accelerator.gather(local).cpu().numpy()
        differing = np.flatnonzero(digests != digests[0])
        if len(differing):
            why = {
                "fit": "Accelerate splits the batches between them",
                "forget": "process 0 forgets and sends the result to the others",
            }[call]
            raise ValueError(
                f"The processes called {call} with different rows or arguments (process {int(differing[0])} differs "
                f"from process 0): every process must pass the same ones ({why}). Nothing was changed."
            )

    def _take_state_of_process_0(self) -> None:
        device = self.placement_device()
        for tensor in self.module_.state_dict().values():
            dist.broadcast(tensor, src=0)
        records = {name: self.__dict__[name] for name in self._records if name in self.__dict__}
        if records.get("forget_state_") is not None:
            records["forget_state_"] = records["forget_state_"].on("cpu")  # unpickled on each process's device
        if records.get("class_filters_") is not None:
            records["class_filters_"] = {k: v.cpu() for k, v in records["class_filters_"].items()}
        shared = [records, _on_cpu(self.optimizer_.state_dict())]
        broadcast_object_list(shared, from_process=0)
        if self.accelerator.is_main_process:
            return
        records, optimizer_state = shared
        with all_or_nothing(self, self._records):
            self.optimizer_.load_state_dict(optimizer_state)
            for name, value in records.items():
                self.__dict__[name] = value
            if records.get("forget_state_") is not None:
                self.forget_state_ = records["forget_state_"].on(device)
            if records.get("class_filters_") is not None:
                self.class_filters_ = {k: v.to(device) for k, v in records["class_filters_"].items()}


def _on_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def _rebuilt(name: str, message: str) -> BaseException:
    """Process 0's error, raised again on another process (its type when it is a built-in one)."""
    kind = _REBUILT_ERRORS.get(name) or getattr(builtins, name, None)
    text = f"forget failed on process 0: {message}"
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(text)
        except TypeError:
            pass
    return RuntimeError(f"forget failed on process 0 with {name}: {message}")


class AcceleratedUnlearnableClassifier(AcceleratedUnlearnMixin, AccelerateMixin, UnlearnableClassifier):
    """``UnlearnableClassifier`` trained by Hugging Face Accelerate: several processes, GPUs, mixed precision.

    Launch the script as usual for Accelerate (``accelerate launch --num_processes 2
    train.py``, or ``torchrun --nproc_per_node 2 train.py``): every process runs the same
    code on the same rows; ``fit`` splits the batches between them (DDP), ``forget`` runs
    on process 0 and sends the new weights to the others, so every process ends with the
    same model. In a single process it behaves as ``UnlearnableClassifier``.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLP
        The network, as for ``UnlearnableClassifier``.
    accelerator : accelerate.Accelerator
        Says how to train: ``Accelerator()`` under a launcher, ``Accelerator(cpu=True)``
        for CPU processes, ``Accelerator(mixed_precision="bf16")`` for mixed precision
        (the importances and the guard stay in float32), ``gradient_accumulation_steps=``.
    device : None, str or torch.device, default=None
        Leave None: the accelerator places the module and the batches.
    unwrap_after_train : bool, default=True
        Must stay True: forgetting works on the plain module.
    **kwargs
        Every other ``UnlearnableClassifier`` parameter (``lr``, ``max_epochs``,
        ``batch_size`` per process, ``forget_method``, ``random_state``, ...).

    Attributes
    ----------
    forget_state_ : ForgetState
        As for ``UnlearnableClassifier``, the same in every process.
    forget_log_ : list of dict
        Process 0's log of each ``forget``, in every process.

    See Also
    --------
    UnlearnableClassifier : The same estimator in one process.
    skorch.hf.AccelerateMixin : The training side.

    References
    ----------
    .. [1] Gugger, Debut, Wolf, Schmid, Mueller, Mangrulkar, Sun, Bossan. "Accelerate:
       Training and inference at scale made simple, efficient and adaptable".
       https://github.com/huggingface/accelerate, 2022.
    .. [2] Li, Zhao, Varma, Salpekar, Noordhuis, Li, Paszke, Smith, Vaughan, Damania,
       Chintala. "PyTorch Distributed: Experiences on Accelerating Data Parallel Training".
       VLDB 2020 (DDP).

    Notes
    -----
    Not picklable while the accelerator holds it (skorch's note on ``AccelerateMixin``);
    ``sklearn_unlearn.persistence.save`` writes it from process 0, and the file loads as an
    ``UnlearnableClassifier`` in any number of processes.

    Examples
    --------
    >>> from accelerate import Accelerator
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_unlearn import AcceleratedUnlearnableClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = AcceleratedUnlearnableClassifier(accelerator=Accelerator(cpu=True), max_epochs=5, random_state=0)
    >>> clf.fit(X, y).forget(X[:3], y[:3]).forget_log_[-1]["n_forget"]
    3
    """

    _parameter_constraints: dict = {
        **UnlearnableClassifier._parameter_constraints,
        **AcceleratedUnlearnMixin._accelerate_constraints,
    }
    saved_as = UnlearnableClassifier

    def __init__(
        self,
        module: type[nn.Module] | nn.Module = MLP,
        *,
        accelerator: Any,
        device: Any = None,
        unwrap_after_train: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module, accelerator=accelerator, device=device, unwrap_after_train=unwrap_after_train, **kwargs
        )


class AcceleratedUnlearnableRegressor(AcceleratedUnlearnMixin, AccelerateMixin, UnlearnableRegressor):
    """``UnlearnableRegressor`` trained by Hugging Face Accelerate: several processes, GPUs, mixed precision.

    Everything said of ``AcceleratedUnlearnableClassifier`` holds: the same call in every
    process, batches split by ``fit``, ``forget`` on process 0 with the result sent to all.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLP
        The network, as for ``UnlearnableRegressor``.
    accelerator : accelerate.Accelerator
        Says how to train (processes, devices, mixed precision, gradient accumulation).
    device : None, str or torch.device, default=None
        Leave None: the accelerator places the module and the batches.
    unwrap_after_train : bool, default=True
        Must stay True: forgetting works on the plain module.
    **kwargs
        Every other ``UnlearnableRegressor`` parameter.

    Attributes
    ----------
    forget_state_ : ForgetState
        As for ``UnlearnableRegressor``, the same in every process.
    forget_log_ : list of dict
        Process 0's log of each ``forget``, in every process.

    See Also
    --------
    UnlearnableRegressor : The same estimator in one process.
    AcceleratedUnlearnableClassifier : The classifier, with the details.
    """

    _parameter_constraints: dict = {
        **UnlearnableRegressor._parameter_constraints,
        **AcceleratedUnlearnMixin._accelerate_constraints,
    }
    saved_as = UnlearnableRegressor

    def __init__(
        self,
        module: type[nn.Module] | nn.Module = MLP,
        *,
        accelerator: Any,
        device: Any = None,
        unwrap_after_train: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module, accelerator=accelerator, device=device, unwrap_after_train=unwrap_after_train, **kwargs
        )
