"""The forget subsystem's shared types: the request, the outcome, the strategy and its host.

A forget strategy receives a ``ForgetHost`` (the fitted model, seen through a narrow
interface) and a validated ``ForgetRequest`` (tensors, labels already encoded). It
changes the host's weights and returns a ``ForgetOutcome`` with details for
``forget_log_``. Validation, the importance cache, the safety guard, rollback on failure
and bookkeeping are the host's job, so adding a method never touches the classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from sklearn.base import BaseEstimator
from torch import Tensor, nn

from ._importance import Importances
from ._trace import Trace


@dataclass(frozen=True)
class ForgetRequest:
    """What to forget, validated and encoded by the host.

    Parameters
    ----------
    X_forget : Tensor
        The rows to forget (float32, on the CPU).
    y_forget : Tensor
        Their encoded targets.
    X_retain : Tensor or None
        The rows the model keeps, when the caller passed them.
    y_retain : Tensor or None
        Their encoded targets.
    n_train : int
        Rows the model was trained on before this forget, the forget rows included.
    regression : bool, default=False
        Whether the targets are numbers (a regressor) rather than class indices.
    reason : {"correction", "deletion"}, default="correction"
        Why the rows go. ``"correction"``: their labels are wrong, and the model should stop
        predicting them. ``"deletion"``: they are correct rows someone asked to remove, and
        the model should answer on them as if it had never seen them (which usually means
        the same label, less sure).
    """

    X_forget: Tensor
    y_forget: Tensor
    X_retain: Tensor | None
    y_retain: Tensor | None
    n_train: int
    reason: str = "correction"
    regression: bool = False

    @property
    def n_forget(self) -> int:
        """Rows to forget."""
        return len(self.X_forget)

    @property
    def n_retain(self) -> int:
        """Rows the model keeps after this forget."""
        return len(self.X_retain) if self.X_retain is not None else self.n_train - self.n_forget

    def require_retain(self, method: str) -> tuple[Tensor, Tensor]:
        """The retain rows, or a clear error for a method that cannot work without them.

        Parameters
        ----------
        method : str
            The method's name, for the error.

        Returns
        -------
        X_retain, y_retain : Tensor
            The retain rows and their encoded targets.

        Raises
        ------
        ValueError
            When the caller did not pass them.
        """
        if self.X_retain is None or self.y_retain is None:
            raise ValueError(f"forget_method={method!r} needs the retain rows: pass X_retain and y_retain.")
        return self.X_retain, self.y_retain


@dataclass
class ForgetOutcome:
    """What a strategy reports back.

    Parameters
    ----------
    retain_importances : dict of str to Tensor or None
        None (the usual case): the host updates its importance cache itself, exactly,
        by removing the forget rows. A strategy that retrained the network returns the
        importances of the retain rows at the new weights.
    details : dict
        Written to ``forget_log_``.
    control : callable or None
        Builds, when called, a module that went through the same stage without what the
        stage is for (e.g. ``Relabel``'s training on kept rows without the forget rows'
        targets). The guard then holds the kept rows to the better of the model before the
        stage and this control: what the stage costs them beyond its own mechanics. It is
        called only when the guard needs it (a control costs as much as its stage).
    """

    retain_importances: Importances | None = None
    details: dict[str, Any] = field(default_factory=dict)
    control: Callable[[], nn.Module] | None = None


@runtime_checkable
class ForgetHost(Protocol):
    """What a forget strategy may use of the model it changes.

    ``forget`` hands each strategy one (a view of the estimator for this call). A
    strategy reads the module and the training record, asks for importances, losses,
    probabilities, the optimizer's step scale or training epochs, and changes
    ``module_``'s parameters in place; it never touches anything else of the model.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network; a strategy changes its parameters in place.
    trace : Trace
        ``w_0``, steps, epochs, learning rates and optimizer of the training run.
    importance : str
        ``"per_sample"`` (additive over rows: retain importances follow from the cache
        by subtraction) or ``"minibatch"``.
    batch_size, max_epochs : int
        The training batch size and epochs.
    lr : float
        The training learning rate.
    """

    module_: nn.Module
    trace: Trace
    importance: str
    batch_size: int
    max_epochs: int
    lr: float

    def compute_importances(self, X: Tensor, y: Tensor) -> Importances:
        """Importances of the rows at the current weights.

        Parameters
        ----------
        X : Tensor
            Float32 rows.
        y : Tensor
            Their encoded targets.

        Returns
        -------
        dict of str to Tensor
            One tensor per trainable parameter.
        """
        ...

    def importance_split(self, request: ForgetRequest) -> ImportanceSplit:
        """Importances of the forget rows, the retain rows and all rows, from the cache.

        Parameters
        ----------
        request : ForgetRequest
            The request being served.

        Returns
        -------
        ImportanceSplit
            ``(I_Df, I_Dr, I_D)``.
        """
        ...

    def gradient_step_scale(self) -> tuple[dict[str, Tensor | float], bool]:
        """Per-parameter factor from a plain-SGD step to the training optimizer's.

        Returns
        -------
        scales : dict of str to Tensor or float
            The factor per parameter.
        known : bool
            Whether the optimizer is one whose steps can be rescaled.
        """
        ...

    def eval_loss(self, output: Tensor, target: Tensor) -> Tensor:
        """The training criterion's mean loss of ``output`` against ``target``, for evaluation.

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
        ...

    def fit_of_rows(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """How well the model fits each row: its closeness in [0, 1] and whether it is a hit.

        For a label, the probability of it and whether it is predicted; for a numeric
        target, ``exp(−r²/2σ²)`` and whether it is within ``2σ`` (``σ``: the kept rows'
        typical residual).

        Parameters
        ----------
        X : Tensor
            Float32 rows.
        y : Tensor
            Their encoded targets.

        Returns
        -------
        closeness, hit : Tensor
            Float and bool, one per row, on the CPU.
        """
        ...

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        """The loss of each row (cross-entropy for labels, squared error for numbers).

        Parameters
        ----------
        output : Tensor
            The module's output for some rows.
        target : Tensor
            Their encoded targets.

        Returns
        -------
        Tensor of shape (n_samples,)
            One loss per row.
        """
        ...

    def probabilities(self, X: Tensor) -> Tensor:
        """Class probabilities of the rows (eval mode), as a CPU tensor (classifiers only).

        Parameters
        ----------
        X : Tensor
            Float32 rows.

        Returns
        -------
        Tensor of shape (n_samples, n_classes)
            One probability per class.
        """
        ...

    def repair_rows(self) -> tuple[Tensor, Tensor] | None:
        """A sample of kept rows to train on while forgetting (never the guard's own rows).

        Returns
        -------
        (X, y) : tuple of Tensor, or None
            Float32 rows and encoded targets; None when the model has none (loaded from a
            file, before ``set_guard_rows``).
        """
        ...

    def train_epochs(
        self, X: Tensor, y: Tensor, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False
    ) -> None:
        """Train on the rows with the model's own optimizer and settings.

        Parameters
        ----------
        X : Tensor
            Float32 rows.
        y : Tensor
            Their encoded targets.
        epochs : int
            Epochs to train.
        lr_factor : float, default=1.0
            Multiplies the learning rates for these epochs.
        reinitialize : bool, default=False
            Start from new weights (a retrain).
        """
        ...


@runtime_checkable
class Unlearner(Protocol):
    """What ``forget_method`` accepts besides a name: an object with ``forget(host, request)``.

    Optional class attributes: ``needs_retain = True`` says the method works only from
    the retain rows (pipelines then pass them); ``guarded = False`` says the safety guard
    does not apply (methods that train on the retain rows). An optional
    ``stages(request)`` returns several strategies to run in turn, each behind the guard.
    """

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        """Change ``host.module_``'s weights so that it no longer reflects the request's rows.

        Parameters
        ----------
        host : ForgetHost
            The estimator, seen through its narrow interface.
        request : ForgetRequest
            What to forget.

        Returns
        -------
        ForgetOutcome
            Details for ``forget_log_`` (and new importances after a retrain).
        """
        ...


class BaseUnlearner(BaseEstimator):
    """Base class of the built-in strategies: parameters, ``clone`` and validation from sklearn.

    A subclass sets ``name`` (its ``forget_method`` string), declares its hyper-parameters
    in ``__init__`` and ``_parameter_constraints`` as any scikit-learn estimator does, and
    implements ``forget``.
    """

    name: str = ""
    needs_retain: bool = False
    guarded: bool = True
    _parameter_constraints: dict = {}

    def validate(self) -> BaseUnlearner:
        """Check the hyper-parameters against ``_parameter_constraints``.

        Returns
        -------
        BaseUnlearner
            ``self``, when every hyper-parameter is valid.
        """
        self._validate_params()
        return self

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        """Change ``host.module_``'s weights so that it no longer reflects the request's rows.

        Parameters
        ----------
        host : ForgetHost
            The estimator, seen through its narrow interface.
        request : ForgetRequest
            What to forget.

        Returns
        -------
        ForgetOutcome
            Details for ``forget_log_`` (and new importances after a retrain).
        """
        raise NotImplementedError


class ImportanceSplit(NamedTuple):
    """Importances of the forget rows, the retain rows and all training rows, at one point.

    Without retain rows the point is where the cache was computed (the weights at the end
    of ``fit``, or of the last retrain): in the per-sample form ``I_Dr = (|D|·I_D −
    |D_f|·I_Df)/|D_r|`` exactly there, however many forgets came since, so no entry of
    ``I_Dr`` is ever made up by subtracting importances taken at different weights. In
    the mini-batch form (not additive) the cache stands in for ``I_Dr``. With retain rows
    every importance is computed at the current weights, as the authors' code does.

    Attributes
    ----------
    forget : dict of str to Tensor
        ``I_Df``.
    retain : dict of str to Tensor
        ``I_Dr``.
    all : dict of str to Tensor
        ``I_D``.
    """

    forget: Importances
    retain: Importances
    all: Importances
