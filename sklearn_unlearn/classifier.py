"""UnlearnableClassifier: a skorch ``NeuralNetClassifier`` that can forget training rows."""

from __future__ import annotations

import time
import warnings
from numbers import Real
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from . import class_filter
from ._validation import check_features, prepare_rows
from .importance_net import IMPORTANCE_FORMS, ImportanceNetClassifier
from .local_state import LocalOnly
from .membership import TrainedRows
from .modules import MLP
from .optimizers import step_scale
from .torch_utils import clone_parameters, forward_arguments, trainable_parameters
from .trace import TrainingTrace
from .transaction import all_or_nothing
from .unlearning import UNLEARNERS, GuardRows, Unlearner, make_unlearner, run_forget
from .unlearning.request import build_request
from .unlearning.runner import method_name


class UnlearnableClassifier(ImportanceNetClassifier):
    """A neural-network classifier for plain scikit-learn data that can forget rows.

    A skorch ``NeuralNetClassifier``, so every skorch parameter (``module__*``,
    ``optimizer__*``, ``callbacks``, ...) works as usual. It adds what sklearn users
    expect: it casts ``X`` to float32 (dense, sparse or DataFrame), encodes any labels
    (``classes_``), trains on all rows in shuffled batches, and infers the default
    ``MLP``'s sizes. At the end of ``fit`` it caches what forgetting needs (the
    training-set importances, the starting weights and the training schedule), so
    ``forget`` needs only the rows to forget: by default a path-gradient step and the
    ASSD rule, each checked by the guard on a sample of the rows the model keeps.

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
        What ``forget`` does: ``"assd"`` (a path-gradient step, then the ASSD rule;
        ``ASSD(preceded_by=None)`` for the rule alone), ``"ssd"``, ``"finetune"``, ``"retrain"``,
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
    guard : bool, default=True
        Check every forget that changes weights without retraining (ASSD, SSD, the
        gradient methods) on a reference sample of kept rows and scale it back until the
        model keeps what it knew (``sklearn_unlearn.unlearning.guard``). The reference
        sample lives in memory only; ``forget(..., guard=False)`` overrides per call.
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
    class_counts_ : ndarray of int
        Of those rows, how many per class (in the order of ``classes_``).
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

    prefixes_ = [*ImportanceNetClassifier.prefixes_, "forget_method"]
    cuda_dependent_attributes_ = [
        *ImportanceNetClassifier.cuda_dependent_attributes_,
        "importances_",
        "training_trace_",
        "class_filters_",
    ]
    _parameter_constraints: dict = {
        **ImportanceNetClassifier._parameter_constraints,
        "forget_method": [StrOptions(set(UNLEARNERS)), HasMethods(["forget"])],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "lam": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "importance": [StrOptions(set(IMPORTANCE_FORMS))],
        "guard": ["boolean"],
    }
    # Changed in place by fit/forget: deep-copied by the transaction so a failure undoes the edits.
    _records = (
        *ImportanceNetClassifier._records,
        "forget_log_",
        "_trained_rows_",
        "_guard_rows_",
        "class_counts_",
        "training_trace_",
        "class_filters_",
    )

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
        guard: bool = True,
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
        self.guard = guard
        self.random_state = random_state

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("training_trace", TrainingTrace())]

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

    def validate_settings(self) -> Unlearner:
        """Check every parameter (``_parameter_constraints``) and build the forget strategy.

        Runs at the start of ``fit`` and of every ``forget``, so a parameter changed with
        ``set_params`` after fitting is checked before it is used.

        Returns
        -------
        Unlearner
            The strategy ``forget`` would run.
        """
        super().validate_settings()
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

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool, fit_params: dict) -> None:
        counts = np.bincount(y_enc, minlength=len(self.classes_))
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        if fresh or "n_train_" not in self.__dict__:
            self.n_train_, self.forget_log_, self.class_counts_ = 0, [], np.zeros_like(counts)
            self._trained_rows_ = LocalOnly(TrainedRows())
            # A module that needs fit params in forward cannot be called by the guard (or forget).
            guardable = not forward_arguments(self.module_)
            rows = GuardRows.sample(self.module_, X32, y_enc, np.random.default_rng(seed)) if guardable else None
            self._guard_rows_ = LocalOnly(rows)
        elif self._guard_rows_.value is not None:  # partial_fit moved the weights: new reference losses
            self._guard_rows_ = LocalOnly(self._guard_rows_.value.reanchored(self.module_))
        self.n_train_ += len(X32)
        self.class_counts_ = self.class_counts_ + counts
        if self._trained_rows_.value is not None:
            self._trained_rows_ = LocalOnly(self._trained_rows_.value.plus(TrainedRows.of(X32, y_enc)))
        super()._after_training(X32, y_enc, fresh=fresh, fit_params=fit_params)

    def set_guard_rows(self, X, y) -> UnlearnableClassifier:
        """Give the forget guard a reference sample of rows the model keeps.

        ``fit`` draws one itself and keeps it in memory; a model loaded from a file has
        none (a saved model holds no training rows), so call this before forgetting with
        the guard on. Any sample of the kept rows works; at most 1,024 are used.

        Returns
        -------
        self
        """
        self._check_trained()
        X32, y_enc = prepare_rows(self, X, y)
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        self._guard_rows_ = LocalOnly(GuardRows.sample(self.module_, X32, y_enc, np.random.default_rng(seed)))
        return self

    # --- prediction with a class forgotten ---------------------------------------------------

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
        if forget_class is None:
            return super().predict_proba(X)
        check_is_fitted(self)
        X32 = check_features(self, X, reset=False)
        index = self._class_index(forget_class)
        filters = {name: alpha[index : index + 1] for name, alpha in self.class_filters_.items()}
        with class_filter.filtering(self.module_, filters):
            return self.probabilities(torch.as_tensor(X32)).numpy()

    def predict(self, X, *, forget_class=None) -> np.ndarray:
        """Predicted labels, from ``classes_`` (``forget_class`` as in ``predict_proba``).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if forget_class is None:
            return super().predict(X)
        proba = self.predict_proba(X, forget_class=forget_class)
        return self.classes_[proba.argmax(axis=1)]

    # --- what forget strategies use (the ForgetHost protocol) ------------------------------

    def gradient_step_scale(self) -> tuple[dict[str, Tensor | float], bool]:
        """Per-parameter factor from a plain-SGD step to this model's optimizer's (``optimizers.step_scale``)."""
        return step_scale(self.optimizer_, trainable_parameters(self.module_))

    # --- forgetting ----------------------------------------------------------------------

    def forget(
        self,
        X,
        y,
        *,
        X_retain=None,
        y_retain=None,
        method: str | Unlearner | None = None,
        guard: bool | None = None,
    ) -> UnlearnableClassifier:
        """Remove what the network learned from the rows ``(X, y)``.

        Runs ``forget_method`` (by default a path-gradient step then ASSD, each behind the
        guard: no parameters, no retain rows). A failed call — bad input, a bad
        parameter, an error or Ctrl-C inside the method — leaves the model exactly as it
        was. ``forget_log_[-1]`` says what happened, the guard's scale included.

        Parameters
        ----------
        X : array-like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array-like of shape (n_forget,)
            The labels they were trained with.
        X_retain, y_retain : array-like, optional
            All the rows the model keeps, that is the training rows minus ``X``
            (checked); required by ``"finetune"`` and ``"retrain"``. ASSD/SSD then take
            their importances from these rows, as the authors' code does.
        method : str or strategy object, optional
            Use this method for this call instead of ``forget_method``.
        guard : bool, optional
            Override the ``guard`` parameter for this call.

        Returns
        -------
        self
        """
        self._check_trained()
        unlearner = self.validate_settings()
        if method is not None:
            unlearner = make_unlearner(method)
        if guard is not None and not isinstance(guard, (bool, np.bool_)):
            raise ValueError(f"guard must be True or False; got {guard!r}.")
        use_guard = self.guard if guard is None else bool(guard)
        request, retain_record = build_request(self, self._trained_rows_.value, X, y, X_retain, y_retain)
        start = time.perf_counter()
        with all_or_nothing(self, self._records), torch.random.fork_rng(devices=[]):
            point = self._importance_point_ or clone_parameters(self.module_)
            record = self._record_after_forget(request, retain_record)
            guard_rows = self._guard_rows_.value
            if guard_rows is not None and record is not None:
                guard_rows = guard_rows.kept_in(record.fingerprints)
            elif guard_rows is not None:  # a loaded model: no record, so every copy of a forgotten row leaves
                guard_rows = guard_rows.without(request.X_forget.numpy(), request.y_forget.numpy())
            try:
                outcome, details = run_forget(self, unlearner, request, guard_rows, use_guard)
                self._update_cache_after_forget(request, outcome, point)
                if outcome.retain_importances is not None and guard_rows is not None:
                    guard_rows = guard_rows.reanchored(self.module_)  # retrained: a new model to guard
            finally:
                self.__dict__.pop("_split_memo", None)
            self._record_forget(request, record, guard_rows, unlearner, details, time.perf_counter() - start)
        return self

    def _check_trained(self) -> None:
        check_is_fitted(self)
        if "n_train_" not in self.__dict__:
            raise NotFittedError(
                f"This {type(self).__name__} was initialised (or loaded with load_params) but not trained with fit: "
                "it has no importances and no record of its rows to forget from. Fit it, or save and load it with "
                "sklearn_unlearn.persistence."
            )
        needed = forward_arguments(self.module_)
        if needed:
            raise ValueError(
                f"The module's forward needs {needed} besides X (fit params): forget calls the module with the rows "
                "alone, so it cannot forget for this module. Give those arguments defaults, or fold them into X."
            )

    def needs_retain_rows(self) -> bool:
        """Whether ``forget_method`` needs ``X_retain``/``y_retain`` (fine-tune, retrain).

        Returns
        -------
        bool
        """
        return bool(getattr(self.validate_settings(), "needs_retain", False))

    def _record_after_forget(self, request, retain_record):
        """The record of trained rows once the forget rows are gone (None for a loaded model)."""
        if retain_record is not None:
            return retain_record
        record = self._trained_rows_.value
        return None if record is None else record.without(request.X_forget.numpy(), request.y_forget.numpy())

    def _record_forget(self, request, record, guard_rows, unlearner, details, seconds: float) -> None:
        self._trained_rows_ = LocalOnly(record)
        if guard_rows is not None:
            self._guard_rows_ = LocalOnly(guard_rows)
        self.n_train_ = request.n_retain
        forgotten = np.bincount(request.y_forget.numpy(), minlength=len(self.classes_))
        self.class_counts_ = np.maximum(self.class_counts_ - forgotten, 0)
        entry = {"method": method_name(unlearner), "n_forget": request.n_forget, "n_retain": request.n_retain}
        entry.update(details)
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
        self._check_trained()
        index = self._class_index(label)
        start = time.perf_counter()
        with all_or_nothing(self, self._records):
            class_filter.fold_class_filter(self.module_, self.class_filters_, index)
            self.class_filters_ = None
            self.importances_ = None
            removed = int(self.class_counts_[index])
            self.n_train_ -= removed
            self.class_counts_ = self.class_counts_.copy()
            self.class_counts_[index] = 0
            if self._trained_rows_.value is not None:
                self._trained_rows_ = LocalOnly(self._trained_rows_.value.without_class(index))
            if self._guard_rows_.value is not None:
                self._guard_rows_ = LocalOnly(self._guard_rows_.value.subset(self._guard_rows_.value.y != index))
            entry = {"method": "class_filter", "forgotten_class": label, "n_forget": removed}
            entry.update(n_retain=self.n_train_, seconds=time.perf_counter() - start)
            self.forget_log_.append(entry)
        return self

    def _class_index(self, label) -> int:
        if getattr(self, "class_filters_", None) is None:
            raise ValueError("No class filters: call fit_class_filters(X, y) first.")
        matches = np.flatnonzero(self.classes_ == label)
        if len(matches) == 0:
            raise ValueError(f"Unknown class {label!r}; the model knows {self.classes_.tolist()}.")
        return int(matches[0])
