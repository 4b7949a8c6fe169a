"""UnlearnableClassifier: a skorch ``NeuralNetClassifier`` that can forget training rows."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._modules import MLP
from .nets import SklearnNetClassifier
from .research import filtering, fold_class_filter, train_class_filters
from .unlearning import ForgetRequest, LabelFit, Unlearner, UnlearnMixin
from .utils import all_or_nothing, check_features


class UnlearnableClassifier(UnlearnMixin, SklearnNetClassifier):
    """A neural-network classifier for plain scikit-learn data that can forget rows.

    A skorch ``NeuralNetClassifier``, so every skorch parameter (``module__*``,
    ``optimizer__*``, ``callbacks``, ...) works as usual. It adds what sklearn users
    expect: it casts ``X`` to float32 (dense, sparse or DataFrame), encodes any labels
    (``classes_``), trains on all rows in shuffled batches, and infers the default
    ``MLP``'s sizes. At the end of ``fit`` it caches what forgetting needs (the
    training-set importances, the starting weights and the training schedule), so
    ``forget`` needs only the rows to forget: by default, for rows with wrong labels, the
    relabel stage (the rows pulled toward what the model believes without their labels,
    within the weights ASSD selects), and for deletions a path-gradient step and the ASSD
    rule, each checked by the guard on a sample of the rows the model keeps.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLP
        The network. A class whose ``__init__`` takes ``n_features`` and ``n_classes``
        gets them from the data; set others with ``module__<name>``
        (e.g. ``module__hidden_layer_sizes=(250,) * 5``). It must return logits.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Mean loss over a batch; also the loss the importances are taken of.
    optimizer : torch optimizer class, default=torch.optim.SGD
        Trains the network; its settings go by ``optimizer__<name>``.
    lr : float, default=0.05
        Learning rate.
    max_epochs : int, default=25
        Epochs of ``fit``.
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
        What ``forget`` does: ``"assd"`` (the relabel stage for label errors; a path-gradient
        step, then the ASSD rule, for deletions;
        ``ASSD(mode="rule")`` for the rule alone), ``"ssd"``, ``"finetune"``, ``"retrain"``,
        ``"single_gradient"`` (Thudi et al.), ``"path_gradient"`` (ours: the same along
        the path from the initial weights), ``"newton"`` or ``"ewc_ascent"`` (Tanno et
        al.'s treatments); or a strategy object such as ``SSD(alpha=5)`` (any object with
        ``forget(host, request)``). Set a method's own hyper-parameters with
        ``forget_method__<name>`` (e.g. ``forget_method__alpha=5``), which also works
        in ``GridSearchCV``.
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
    forget_state_ : ForgetState
        What ``forget`` needs from training: the record of training (``trace``: ``w_0``,
        steps, learning rates), the importance cache, the number of kept rows and, in
        memory only, which rows they are and the guard's reference sample.
    importances_ : dict of str to Tensor or None
        Importances over the rows the model currently keeps, one tensor per parameter
        (None after ``partial_fit``, which makes them stale); ``forget_state_.importances``.
    n_train_ : int
        Rows the model is trained on, minus those forgotten since.
    training_trace_ : Trace
        ``forget_state_.trace``: read by the gradient methods and ``metrics.unlearning_error``.
    class_counts_ : ndarray of int
        Of the kept rows, how many per class (in the order of ``classes_``).
    forget_log_ : list of dict
        One entry per ``forget``: method, rows, α, parameters dampened, seconds.
    class_filters_ : dict of str to Tensor
        After ``fit_class_filters``: one memory matrix per layer (weight filtering).

    See Also
    --------
    sklearn_unlearn.UnlearnPipeline : Find label errors with cleanlab, then forget them.
    sklearn_unlearn.unlearning : The forget strategies and the guard.
    skorch.NeuralNetClassifier : The net this classifier is.

    References
    ----------
    .. [1] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning
       with adaptive selective synaptic dampening". 2024.
    .. [2] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
       Influencing Machine Unlearning". IEEE EuroS&P 2022.

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
    cuda_dependent_attributes_ = [*SklearnNetClassifier.cuda_dependent_attributes_, "class_filters_"]
    _parameter_constraints: dict = {**SklearnNetClassifier._parameter_constraints, **UnlearnMixin._unlearn_constraints}
    _records = (*SklearnNetClassifier._records, *UnlearnMixin._unlearn_records, "class_counts_", "class_filters_")

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
        self.importance = importance
        self.guard = guard
        self.random_state = random_state

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool, fit_params: dict) -> None:
        super()._after_training(X32, y_enc, fresh=fresh, fit_params=fit_params)
        counts = np.bincount(y_enc, minlength=len(self.classes_))
        kept = self.__dict__.get("class_counts_")
        self.class_counts_ = counts if fresh or kept is None else kept + counts

    def fit_of_rows(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row, the probability of its label and whether the label is predicted.

        Parameters
        ----------
        X : Tensor
            Float32 rows.
        y : Tensor
            Class indices.

        Returns
        -------
        closeness, hit : Tensor
            Float and bool, one per row, on the CPU.
        """
        proba = self.probabilities(X)
        return proba.gather(1, y.view(-1, 1)).view(-1), proba.argmax(dim=1) == y

    def row_losses(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-row cross-entropy of logits against class indices.

        Parameters
        ----------
        output : Tensor
            Logits.
        target : Tensor
            Class indices.

        Returns
        -------
        Tensor of shape (n_samples,)
            One loss per row.
        """
        return torch.nn.functional.cross_entropy(output, target, reduction="none")

    def _row_fit(self) -> LabelFit:
        return LabelFit()

    def _rows_per_class(self, request: ForgetRequest) -> tuple:
        given = np.bincount(request.y_forget.numpy(), minlength=len(self.classes_))
        return given, self.class_counts_, self.classes_

    def _forgot(self, request: ForgetRequest) -> None:
        forgotten = np.bincount(request.y_forget.numpy(), minlength=len(self.classes_))
        self.class_counts_ = np.maximum(self.class_counts_ - forgotten, 0)

    # --- prediction with a class forgotten ---------------------------------------------------

    def predict_proba(self, X, *, forget_class=None) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.
        forget_class : label, optional
            Answer as the model that has forgotten this class (weight filtering; needs
            ``fit_class_filters`` first).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            One probability per class.
        """
        if forget_class is None:
            return super().predict_proba(X)
        check_is_fitted(self)
        X32 = check_features(self, X, reset=False)
        index = self._class_index(forget_class)
        filters = {name: alpha[index : index + 1] for name, alpha in self.class_filters_.items()}
        with filtering(self.module_, filters):
            return self.probabilities(torch.as_tensor(X32)).numpy()

    def predict(self, X, *, forget_class=None) -> np.ndarray:
        """Predicted labels, from ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows to predict.
        forget_class : label, optional
            Answer as the model that has forgotten this class (as in ``predict_proba``).

        Returns
        -------
        ndarray of shape (n_samples,)
            The most probable label of each row.
        """
        if forget_class is None:
            return super().predict(X)
        proba = self.predict_proba(X, forget_class=forget_class)
        return self.classes_[proba.argmax(axis=1)]

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
        X, y : array_like
            Rows to learn the filters from (the training rows, or a sample of them).
        epochs : int, default=30
            Epochs over the rows.
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
            The classifier, with ``class_filters_`` (dict of layer name to α, shape (n_classes, K)).
        """
        check_is_fitted(self)
        X32, y_enc = self.encode_rows(X, y)
        seed = 0 if self.random_state is None else int(check_random_state(self.random_state).randint(2**31 - 1))
        start = time.perf_counter()
        self.class_filters_ = train_class_filters(
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

        Parameters
        ----------
        label : label
            The class to forget, one of ``classes_``.

        Returns
        -------
        self
            The classifier, without the class.
        """
        self._check_trained()
        index = self._class_index(label)
        start = time.perf_counter()
        with all_or_nothing(self, self._records):
            fold_class_filter(self.module_, self.class_filters_, index)
            self.class_filters_ = None
            removed = int(self.class_counts_[index])
            self.class_counts_ = self.class_counts_.copy()
            self.class_counts_[index] = 0
            state = self.forget_state_
            record = state.trained_rows
            self.forget_state_ = state.replace(
                importances=None,  # the weights moved: stale
                importance_point=None,
                n_train=state.n_train - removed,
                trained_rows=None if record is None else record.without_class(index),
                **state.reference_rows(lambda rows: rows.subset(rows.y != index)),
            )
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
