"""UnlearnableClassifier: a skorch ``NeuralNetClassifier`` that can forget training rows."""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.dataset import Dataset
from torch import Tensor, nn

from . import class_filter
from ._validation import check_features, check_labels, encode_labels, prepare_rows
from .importance import Importances, minibatch_importances, per_sample_importances
from .membership import remove_rows, row_fingerprints
from .modules import MLP
from .trace import TrainingTrace
from .transaction import all_or_nothing
from .unlearning import UNLEARNERS, ForgetOutcome, ForgetRequest, Unlearner, make_unlearner

IMPORTANCE_FORMS = ("per_sample", "minibatch")
_PER_SAMPLE_CHUNK = 2048  # rows per importance batch; the per-sample result does not depend on it
_PROGRESS_MIN_ROWS = 10_000  # below this an importance pass takes well under a second: no bar
# Changed in place by fit/forget: deep-copied by the transaction so a failure undoes the edits.
_RECORDS = ("importances_", "forget_log_", "_fingerprints_", "training_trace_", "history_", "class_filters_")


def resolve_device(device: Any) -> Any:
    """``"auto"`` means CUDA when available, else CPU; anything else is passed to skorch as is."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class UnlearnableClassifier(NeuralNetClassifier):
    """A neural-network classifier for plain scikit-learn data that can forget rows.

    A skorch ``NeuralNetClassifier``, so every skorch parameter (``module__*``,
    ``optimizer__*``, ``callbacks``, ...) works as usual. It adds what sklearn users
    expect: it casts ``X`` to float32 (dense, sparse or DataFrame), encodes any labels
    (``classes_``), trains on all rows in shuffled batches, and infers the default
    ``MLP``'s sizes. At the end of ``fit`` it caches the training-set importances, so
    ``forget`` needs one pass over the forget rows.

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
        Training batch size, and the batch size of the mini-batch importances
        (-1: all rows in one batch).
    train_split : callable or None, default=None
        skorch's validation split; None trains on every row (sklearn's convention).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else CPU.
    verbose : int, default=0
        0 is silent. ≥ 1: skorch's epoch table for every training run (fit, fine-tune,
        retrain) and a tqdm bar for importance passes over 10,000 rows or more. For a
        bar per training run add ``callbacks=[sklearn_unlearn.progress.EpochProgress()]``
        (or skorch's per-batch ``ProgressBar``).
    forget_method : str or strategy object, default="assd"
        What ``forget`` does: ``"assd"``, ``"ssd"``, ``"finetune"``, ``"retrain"``,
        ``"single_gradient"`` (Thudi et al.), ``"path_gradient"`` (ours: the same along
        the path from the initial weights), ``"newton"`` or ``"ewc_ascent"`` (Tanno et
        al.'s treatments); or a strategy object such as ``SSD(alpha=5)`` (any object with
        ``forget(host, request)``). Set a method's own hyper-parameters with
        ``forget_method__<name>`` (e.g. ``forget_method__alpha=5``), which also works
        in ``GridSearchCV``.
    alpha : float, default="deprecated"
        Deprecated: use ``forget_method=SSD(alpha=...)`` or ``forget_method__alpha``.
    lam : float, default="deprecated"
        Deprecated: use ``forget_method=SSD(lam=...)`` or ``forget_method__lam``.
    importance : {"per_sample", "minibatch"}, default="per_sample"
        Form of the diagonal Fisher (see ``sklearn_unlearn.importance``).
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
        One entry per ``forget``: method, rows, α, parameters dampened, seconds.
    training_trace_ : Trace
        ``w_0``, optimizer steps, epochs, learning rates and optimizer since the network
        was initialised (recorded by the ``TrainingTrace`` callback); read by the gradient
        methods and ``metrics.unlearning_error``.
    class_filters_ : dict of str to Tensor
        After ``fit_class_filters``: one memory matrix per layer (weight filtering).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_unlearn import UnlearnableClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = UnlearnableClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.forget(X[:3], y[:3]).forget_log_[-1]["n_forget"]
    3
    """

    prefixes_ = [*NeuralNetClassifier.prefixes_, "forget_method"]
    cuda_dependent_attributes_ = [
        *NeuralNetClassifier.cuda_dependent_attributes_,
        "importances_",
        "training_trace_",
        "class_filters_",
    ]
    _parameter_constraints: dict = {
        "module": [callable],
        "criterion": [callable],
        "optimizer": [callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "train_split": [callable, None],
        "device": [str, torch.device, None],
        "verbose": ["verbose"],
        "forget_method": [StrOptions(set(UNLEARNERS)), HasMethods(["forget"])],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "lam": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "importance": [StrOptions(set(IMPORTANCE_FORMS))],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "classes": ["array-like", None],
    }

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
        alpha: float | str = "deprecated",
        lam: float | str = "deprecated",
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

    def set_params(self, **params: Any) -> UnlearnableClassifier:
        # A forget method's parameters never touch the network, so they must not send
        # skorch into re-initialising (it knows only module/criterion/optimizer prefixes).
        own = {k: v for k, v in params.items() if k == "forget_method" or k.startswith("forget_method__")}
        for key, value in own.items():
            setattr(self, key, value)
            if key != "forget_method":
                self._params_to_validate.add(key)
        rest = {k: v for k, v in params.items() if k not in own}
        return super().set_params(**rest) if rest else self

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
        # Set before training starts, so skorch's validation scoring can predict during fit.
        return "_classes_" in self.__dict__ and bool(getattr(self, "initialized_", False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = self.random_state is None
        return tags

    def validate_settings(self) -> Unlearner:
        """Check every parameter (``_parameter_constraints``) and build the forget strategy.

        Runs at the start of ``fit`` and of every ``forget``, so a parameter changed with
        ``set_params`` after fitting is checked before it is used.

        Returns
        -------
        Unlearner
            The strategy ``forget`` would run.
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        return make_unlearner(self.forget_method, self._forget_method_params())

    def _forget_method_params(self) -> dict[str, Any]:
        params = self.get_params_for("forget_method")
        legacy = {name: getattr(self, name) for name in ("alpha", "lam") if getattr(self, name) != "deprecated"}
        if legacy:
            warnings.warn(
                f"{', '.join(legacy)} on UnlearnableClassifier is deprecated and will be removed; use "
                "forget_method=SSD(alpha=..., lam=...) or forget_method__alpha / forget_method__lam.",
                FutureWarning,
                stacklevel=4,
            )
            if self.forget_method == "ssd":
                params = {**legacy, **params}
        return params

    # --- training ------------------------------------------------------------------------

    def fit(self, X, y, **fit_params: Any) -> UnlearnableClassifier:
        """Train the network on all rows and cache their importances.

        A failed call (bad input, a bad parameter, an error in training) leaves the model
        exactly as it was.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Numeric features; images may be ``(n, channels, height, width)``.
        y : array-like of shape (n_samples,)
            Labels of any type, at least two classes.
        **fit_params
            Passed to skorch (the module's ``forward``).

        Returns
        -------
        self
        """
        with all_or_nothing(self, _RECORDS):
            self.validate_settings()
            X32 = check_features(self, X, reset=True)
            y = check_labels(y, len(X32))
            if len(X32) < 2:
                raise ValueError("UnlearnableClassifier needs at least 2 samples to train; got 1 sample.")
            classes = np.unique(y if self.classes is None else self.classes)
            if len(classes) < 2:
                raise ValueError(f"y has a single class ({classes[0]!r}); a classifier needs at least 2.")
            self.__dict__["_classes_"] = classes
            y_enc = encode_labels(y, classes)
            with self._seeded():
                if not self.warm_start or not self.initialized_:
                    self.initialize()
                self._run_training(X32, y_enc, self.max_epochs, interruptible=True, **fit_params)
            self._reset_bookkeeping(X32, y_enc)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params: Any) -> UnlearnableClassifier:
        """Train one more ``max_epochs`` round on ``X, y`` without re-initialising.

        The importance cache becomes stale (``importances_ = None``): later ASSD/SSD
        forgets then need ``X_retain``/``y_retain``.

        Returns
        -------
        self
        """
        first_call = not self.__sklearn_is_fitted__()
        with all_or_nothing(self, _RECORDS):
            if first_call:
                self.validate_settings()
            X32 = check_features(self, X, reset=first_call)
            y = check_labels(y, len(X32))
            if first_call:
                self.__dict__["_classes_"] = np.unique(y if classes is None else classes)
            y_enc = encode_labels(y, self.classes_)
            with self._seeded() if first_call else contextlib.nullcontext():
                if first_call:
                    self.initialize()
                self._run_training(X32, y_enc, self.max_epochs, interruptible=True, **fit_params)
            if first_call or "n_train_" not in self.__dict__:
                self.n_train_, self.forget_log_ = 0, []
                self._fingerprints_ = np.empty(0, dtype=np.uint64)
            self.n_train_ += len(X32)
            self._fingerprints_ = np.sort(np.concatenate([self._fingerprints_, row_fingerprints(X32, y_enc)]))
            self.importances_ = None
        return self

    def train_epochs(
        self, X: Tensor, y: Tensor, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False
    ) -> None:
        """Train on already encoded rows with the model's settings (fine-tune and retrain use it).

        Unlike ``fit``, an interruption (Ctrl-C) propagates, so the forget that called it
        is rolled back.
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

    # --- prediction ----------------------------------------------------------------------

    def predict_proba(self, X, *, forget_class=None) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        forget_class : label, optional
            Answer as the model that has forgotten this class (weight filtering; needs
            ``fit_class_filters`` first).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X32 = check_features(self, X, reset=False)
        if forget_class is None:
            return super().predict_proba(X32)
        index = self._class_index(forget_class)
        filters = {name: alpha[index : index + 1] for name, alpha in self.class_filters_.items()}
        with class_filter.filtering(self.module_, filters):
            return super().predict_proba(X32)

    def predict(self, X, *, forget_class=None) -> np.ndarray:
        """Predicted labels, from ``classes_`` (``forget_class`` as in ``predict_proba``).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X, forget_class=forget_class)
        return self.classes_[proba.argmax(axis=1)]

    # --- what forget strategies use (the ForgetHost protocol) ------------------------------

    def compute_importances(self, X: Tensor, y: Tensor) -> Importances:
        """Importances of ``(X, y)`` (float32 rows, encoded labels) at the current weights."""
        progress = bool(self.verbose) and len(X) >= _PROGRESS_MIN_ROWS
        if self.importance == "minibatch":
            return minibatch_importances(self.module_, X, y, self.eval_loss, self.batch_size, progress=progress)
        chunk = max(self.batch_size, _PER_SAMPLE_CHUNK)
        return per_sample_importances(self.module_, X, y, self.eval_loss, chunk, progress=progress)

    def cached_importances(self) -> Importances:
        """Importances over the rows the model keeps, as cached by ``fit`` and ``forget``."""
        if self.importances_ is None:
            raise ValueError(
                "The importance cache is stale (partial_fit changed the weights); pass X_retain and y_retain to forget."
            )
        return self.importances_

    def eval_loss(self, output: Tensor, target: Tensor) -> Tensor:
        """The criterion's mean loss of ``output`` against encoded ``target``, in evaluation."""
        return self.get_loss(output, target, training=False)

    def probabilities(self, X: Tensor) -> Tensor:
        """Class probabilities of validated float32 rows, as a CPU tensor."""
        return torch.as_tensor(super().predict_proba(X))

    # --- forgetting ----------------------------------------------------------------------

    def forget(self, X, y, *, X_retain=None, y_retain=None, method: str | Unlearner | None = None):
        """Remove what the network learned from the rows ``(X, y)``.

        Runs ``forget_method`` (ASSD by default: parameter-free, one pass over ``X``).
        Without retain rows ASSD/SSD use the importances cached at fit; with them they
        compute the reference importances from those rows, as the authors' code does.
        A failed call — bad input, a bad parameter, an error or Ctrl-C inside the
        method — leaves the model exactly as it was.

        Parameters
        ----------
        X : array-like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array-like of shape (n_forget,)
            The labels they were trained with.
        X_retain, y_retain : array-like, optional
            The rows the model keeps; required by ``"finetune"`` and ``"retrain"``.
        method : str or strategy object, optional
            Use this method for this call instead of ``forget_method``.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        unlearner = self.validate_settings()
        if method is not None:
            unlearner = make_unlearner(method)
        request, retain_fingerprints = self._forget_request(X, y, X_retain, y_retain, unlearner)
        start = time.perf_counter()
        with all_or_nothing(self, _RECORDS), torch.random.fork_rng(devices=[]):
            outcome = unlearner.forget(self, request)
            if not isinstance(outcome, ForgetOutcome):
                raise TypeError(
                    f"{type(unlearner).__name__}.forget must return a ForgetOutcome; it returned {outcome!r}."
                )
            self._record_forget(request, outcome, retain_fingerprints, unlearner, time.perf_counter() - start)
        return self

    def needs_retain_rows(self) -> bool:
        """Whether ``forget_method`` needs ``X_retain``/``y_retain`` (fine-tune, retrain).

        Returns
        -------
        bool
        """
        return bool(getattr(self.validate_settings(), "needs_retain", False))

    def _forget_request(self, X, y, X_retain, y_retain, unlearner) -> tuple[ForgetRequest, np.ndarray | None]:
        if getattr(X, "shape", (1,))[0] == 0 or (not hasattr(X, "shape") and len(X) == 0):
            raise ValueError("The forget set is empty: pass at least one row to forget.")
        X_f, y_f = prepare_rows(self, X, y)
        if len(X_f) >= self.n_train_:
            raise ValueError(
                f"The forget set has {len(X_f)} rows but the model keeps only {self.n_train_}: "
                "forgetting everything leaves no model; train a new one instead."
            )
        if (X_retain is None) != (y_retain is None):
            raise ValueError("Pass both X_retain and y_retain, or neither.")
        X_r = y_r = retain_fingerprints = None
        if X_retain is not None:
            X_r, y_r = prepare_rows(self, X_retain, y_retain, name="X_retain")
            retain_fingerprints = row_fingerprints(X_r, y_r)
        else:
            _, missing = remove_rows(self._fingerprints_, row_fingerprints(X_f, y_f))
            if missing and not getattr(unlearner, "needs_retain", False):
                raise ValueError(
                    f"{missing} of the {len(X_f)} forget rows were never trained on (or were already "
                    "forgotten): the cached importances cannot be corrected for them. Pass X_retain and y_retain."
                )
        request = ForgetRequest(
            X_forget=torch.as_tensor(X_f),
            y_forget=torch.as_tensor(y_f),
            X_retain=None if X_r is None else torch.as_tensor(X_r),
            y_retain=None if y_r is None else torch.as_tensor(y_r),
            n_train=self.n_train_,
        )
        return request, retain_fingerprints

    def _record_forget(self, request: ForgetRequest, outcome, retain_fingerprints, unlearner, seconds: float) -> None:
        if retain_fingerprints is not None:
            self._fingerprints_ = np.sort(retain_fingerprints)
        else:
            forgotten = row_fingerprints(request.X_forget.numpy(), request.y_forget.numpy())
            self._fingerprints_, _ = remove_rows(self._fingerprints_, forgotten)
        self.importances_ = outcome.retain_importances
        self.n_train_ = request.n_retain
        method = getattr(unlearner, "name", "") or type(unlearner).__name__
        entry = {"method": method, "n_forget": request.n_forget, "n_retain": request.n_retain}
        entry.update(outcome.details)
        entry["seconds"] = seconds
        self.forget_log_.append(entry)

    # --- class forgetting (weight filtering) --------------------------------------------------

    def fit_class_filters(
        self,
        X,
        y,
        *,
        epochs: int = 30,
        lr: float = 0.05,
        retain_weight: float = 5.0,
        forget_weight: float = 1.0,
        sparsity_weight: float = 0.1,
        n_retain_pairs: int = 3,
    ) -> UnlearnableClassifier:
        """Learn one memory matrix per layer, one row per class, with the weights frozen.

        Afterwards ``predict(X, forget_class=c)`` answers as the model without class ``c``
        and ``forget_class(c)`` makes that permanent (see ``sklearn_unlearn.class_filter``).

        Parameters
        ----------
        X, y : array-like
            Rows to learn the filters from (the training rows, or a sample of them).
        epochs : int, default=30
        lr : float, default=0.05
            Adam step size for the α's.
        retain_weight, forget_weight, sparsity_weight : float
            λ₀, λ₁, λ₂ of the objective; not published, so these are the values that
            pass the digits tests.
        n_retain_pairs : int, default=3
            ``T``: how many retain pairs each retain row makes.

        Returns
        -------
        self
            With ``class_filters_`` (dict of layer name to α, shape (n_classes, K)).
        """
        check_is_fitted(self)
        X32, y_enc = prepare_rows(self, X, y)
        seed = 0 if self.random_state is None else int(check_random_state(self.random_state).randint(2**31 - 1))
        start = time.perf_counter()
        self.class_filters_ = class_filter.train_class_filters(
            self.module_,
            torch.as_tensor(X32),
            torch.as_tensor(y_enc),
            len(self.classes_),
            epochs=epochs,
            lr=lr,
            batch_size=self.batch_size if self.batch_size > 0 else len(X32),
            weights=(retain_weight, forget_weight, sparsity_weight),
            n_retain_pairs=n_retain_pairs,
            generator=torch.Generator().manual_seed(seed),
        )
        self.class_filters_seconds_ = time.perf_counter() - start
        return self

    def forget_class(self, label) -> UnlearnableClassifier:
        """Forget class ``label`` for good: fold its filter row into the weights.

        The other classes' filters were learned for the old weights, so they are
        dropped (``class_filters_ = None``), and the importance cache is marked stale.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        index = self._class_index(label)
        start = time.perf_counter()
        with all_or_nothing(self, _RECORDS):
            class_filter.fold_class_filter(self.module_, self.class_filters_, index)
            self.class_filters_ = None
            self.importances_ = None
            entry = {"method": "class_filter", "forgotten_class": label, "seconds": time.perf_counter() - start}
            self.forget_log_.append(entry)
        return self

    def _class_index(self, label) -> int:
        if getattr(self, "class_filters_", None) is None:
            raise ValueError("No class filters: call fit_class_filters(X, y) first.")
        matches = np.flatnonzero(self.classes_ == label)
        if len(matches) == 0:
            raise ValueError(f"Unknown class {label!r}; the model knows {self.classes_.tolist()}.")
        return int(matches[0])
