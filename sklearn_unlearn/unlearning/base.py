"""The forget subsystem's shared types: the request, the outcome, the strategy and its host.

A forget strategy receives a :class:`ForgetHost` (the fitted model, seen through a narrow
interface) and a validated :class:`ForgetRequest` (tensors, labels already encoded). It
changes the host's weights and returns a :class:`ForgetOutcome`: the importances over the
rows the model keeps (the cache for the next forget) and details for ``forget_log_``.
Validation, the cache, the safety guard, rollback on failure and bookkeeping are the
host's job, so adding a method never touches the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from sklearn.base import BaseEstimator
from torch import Tensor, nn

from ..importance import Importances
from ..trace import Trace


@dataclass(frozen=True)
class ForgetRequest:
    """What to forget, validated and encoded by the host.

    Attributes
    ----------
    X_forget, y_forget : Tensor
        The rows to forget (float32, on the CPU) and their encoded labels.
    X_retain, y_retain : Tensor or None
        The rows the model keeps, when the caller passed them.
    n_train : int
        Rows the model was trained on before this forget, the forget rows included.
    """

    X_forget: Tensor
    y_forget: Tensor
    X_retain: Tensor | None
    y_retain: Tensor | None
    n_train: int

    @property
    def n_forget(self) -> int:
        return len(self.X_forget)

    @property
    def n_retain(self) -> int:
        return len(self.X_retain) if self.X_retain is not None else self.n_train - self.n_forget

    def require_retain(self, method: str) -> tuple[Tensor, Tensor]:
        """The retain rows, or a clear error for a method that cannot work without them."""
        if self.X_retain is None or self.y_retain is None:
            raise ValueError(f"forget_method={method!r} needs the retain rows: pass X_retain and y_retain.")
        return self.X_retain, self.y_retain


@dataclass
class ForgetOutcome:
    """Importances over the kept rows (next forget's cache) and details for the log."""

    retain_importances: Importances | None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ForgetHost(Protocol):
    """What a forget strategy may use of the model it changes.

    :class:`~sklearn_unlearn.UnlearnableClassifier` implements it. A strategy reads the
    module and the training record, asks for importances, losses, probabilities or
    training epochs, and changes ``module_``'s parameters in place; it never touches
    anything else of the model.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network; a strategy changes its parameters in place.
    training_trace_ : Trace or None
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
    training_trace_: Trace | None
    importance: str
    batch_size: int
    max_epochs: int
    lr: float

    def compute_importances(self, X: Tensor, y: Tensor) -> Importances:
        """Importances of the rows at the current weights."""
        ...

    def cached_importances(self) -> Importances:
        """Importances over the rows the model keeps, as cached (or a clear error)."""
        ...

    def eval_loss(self, output: Tensor, target: Tensor) -> Tensor:
        """The training criterion's mean loss of ``output`` against ``target``, for evaluation."""
        ...

    def probabilities(self, X: Tensor) -> Tensor:
        """Class probabilities of the rows (eval mode), as a CPU tensor."""
        ...

    def train_epochs(
        self, X: Tensor, y: Tensor, *, epochs: int, lr_factor: float = 1.0, reinitialize: bool = False
    ) -> None:
        """Train on the rows with the model's own optimizer and settings."""
        ...


@runtime_checkable
class Unlearner(Protocol):
    """What ``forget_method`` accepts besides a name: an object with ``forget(host, request)``.

    Optional class attributes: ``needs_retain = True`` says the method works only from
    the retain rows (pipelines then pass them); ``guarded = False`` says the safety guard
    does not apply (methods that train on the retain rows).
    """

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome: ...


class BaseUnlearner(BaseEstimator):
    """Base class of the built-in strategies: parameters, ``clone`` and validation from sklearn.

    A subclass sets ``name`` (its ``forget_method`` string), declares its hyper-parameters
    in ``__init__`` and ``_parameter_constraints`` as any scikit-learn estimator does, and
    implements :meth:`forget`.
    """

    name: str = ""
    needs_retain: bool = False
    guarded: bool = True
    _parameter_constraints: dict = {}

    def validate(self) -> BaseUnlearner:
        """Check the hyper-parameters against ``_parameter_constraints``; return self."""
        self._validate_params()
        return self

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        raise NotImplementedError


class ImportanceSplit(NamedTuple):
    """Importances of the forget rows, the retain rows and all training rows."""

    forget: Importances
    retain: Importances
    all: Importances


def importances_for(host: ForgetHost, request: ForgetRequest) -> ImportanceSplit:
    """``(I_Df, I_Dr, I_D)`` at the current weights.

    With retain rows they are computed from those rows (the authors' behaviour) and
    ``I_D`` is their row-weighted mix with ``I_Df``. Without, the cache over all training
    rows is ``I_D``; in the per-sample form ``I_Dr = (|D|·I_D − |D_f|·I_Df)/|D_r|``, in the
    mini-batch form (not additive) the cache itself stands in for ``I_Dr``.
    """
    imp_f = host.compute_importances(request.X_forget, request.y_forget)
    n_f, n_r = request.n_forget, request.n_retain
    if request.X_retain is not None:
        imp_r = host.compute_importances(request.X_retain, request.y_retain)
        imp_all = {k: (n_r * imp_r[k] + n_f * imp_f[k]) / (n_r + n_f) for k in imp_r}
        return ImportanceSplit(imp_f, imp_r, imp_all)
    imp_all = host.cached_importances()
    if host.importance == "per_sample":
        # Clamped: after an earlier forget the cache dates from older weights, so the
        # subtraction is no longer exact and must not go negative.
        imp_r = {k: ((n_f + n_r) * imp_all[k] - n_f * imp_f[k]).clamp_min(0) / n_r for k in imp_all}
    else:
        imp_r = imp_all
    return ImportanceSplit(imp_f, imp_r, imp_all)
