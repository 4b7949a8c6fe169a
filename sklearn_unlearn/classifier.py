"""UnlearnableClassifier: a skorch ``NeuralNetClassifier`` that can forget training rows."""

from __future__ import annotations

import time
import warnings
from numbers import Real
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from . import class_filter
from ._validation import check_features, prepare_rows
from .importance import Importances, minibatch_importances, per_sample_importances
from .membership import TrainedRows
from .modules import MLP
from .net import SklearnNetClassifier
from .trace import TrainingTrace
from .transaction import all_or_nothing
from .unlearning import UNLEARNERS, ForgetOutcome, ForgetRequest, Unlearner, make_unlearner

IMPORTANCE_FORMS = ("per_sample", "minibatch")
_PER_SAMPLE_CHUNK = 2048  # rows per importance batch; the per-sample result does not depend on it
_PROGRESS_MIN_ROWS = 10_000  # below this an importance pass takes well under a second: no bar


class UnlearnableClassifier(SklearnNetClassifier):
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

    prefixes_ = [*SklearnNetClassifier.prefixes_, "forget_method"]
    cuda_dependent_attributes_ = [
        *SklearnNetClassifier.cuda_dependent_attributes_,
        "importances_",
        "training_trace_",
        "class_filters_",
    ]
    _parameter_constraints: dict = {
        **SklearnNetClassifier._parameter_constraints,
        "forget_method": [StrOptions(set(UNLEARNERS)), HasMethods(["forget"])],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "lam": [Interval(Real, 0, None, closed="neither"), StrOptions({"deprecated"})],
        "importance": [StrOptions(set(IMPORTANCE_FORMS))],
    }
    # Changed in place by fit/forget: deep-copied by the transaction so a failure undoes the edits.
    _records = (
        *SklearnNetClassifier._records,
        "importances_",
        "forget_log_",
        "_trained_rows_",
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

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool) -> None:
        if fresh or "n_train_" not in self.__dict__:
            self.n_train_, self.forget_log_, self._trained_rows_ = 0, [], TrainedRows()
        self.n_train_ += len(X32)
        self._trained_rows_ = self._trained_rows_.plus(X32, y_enc)
        # After partial_fit the weights moved but the cache covers only part of the rows: stale.
        self.importances_ = self.compute_importances(torch.as_tensor(X32), torch.as_tensor(y_enc)) if fresh else None

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
        request, retain_record = self._forget_request(X, y, X_retain, y_retain, unlearner)
        start = time.perf_counter()
        with all_or_nothing(self, self._records), torch.random.fork_rng(devices=[]):
            outcome = unlearner.forget(self, request)
            if not isinstance(outcome, ForgetOutcome):
                raise TypeError(
                    f"{type(unlearner).__name__}.forget must return a ForgetOutcome; it returned {outcome!r}."
                )
            self._record_forget(request, outcome, retain_record, unlearner, time.perf_counter() - start)
        return self

    def needs_retain_rows(self) -> bool:
        """Whether ``forget_method`` needs ``X_retain``/``y_retain`` (fine-tune, retrain).

        Returns
        -------
        bool
        """
        return bool(getattr(self.validate_settings(), "needs_retain", False))

    def _forget_request(self, X, y, X_retain, y_retain, unlearner) -> tuple[ForgetRequest, TrainedRows | None]:
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
        X_r = y_r = retain_record = None
        if X_retain is not None:
            X_r, y_r = prepare_rows(self, X_retain, y_retain, name="X_retain")
            retain_record = TrainedRows.of(X_r, y_r)
        else:
            missing = self._trained_rows_.count_missing(X_f, y_f)
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
        return request, retain_record

    def _record_forget(self, request: ForgetRequest, outcome, retain_record, unlearner, seconds: float) -> None:
        if retain_record is not None:
            self._trained_rows_ = retain_record
        else:
            self._trained_rows_ = self._trained_rows_.without(request.X_forget.numpy(), request.y_forget.numpy())
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
        with all_or_nothing(self, self._records):
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
