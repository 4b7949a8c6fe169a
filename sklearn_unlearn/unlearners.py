"""Forget strategies: one small class per method, each with one public method.

A strategy receives the fitted classifier and a validated :class:`ForgetRequest`
(tensors, labels already encoded) and changes the network's weights. It returns a
:class:`ForgetOutcome`: the importances over the rows the model keeps (the cache for
the next forget) and details for ``forget_log_``. Validation, the cache, rollback on
failure and bookkeeping are the classifier's job, so adding a method never touches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from torch import Tensor

from .dampening import assd_alpha, dampen
from .importance import Importances, trainable_parameters

if TYPE_CHECKING:
    from .classifier import UnlearnableClassifier


@dataclass(frozen=True)
class ForgetRequest:
    """What to forget, validated and encoded by the classifier."""

    X_forget: Tensor
    y_forget: Tensor
    X_retain: Tensor | None
    y_retain: Tensor | None
    n_train: int  # rows the model was trained on, forget rows included

    @property
    def n_forget(self) -> int:
        return len(self.X_forget)

    @property
    def n_retain(self) -> int:
        return len(self.X_retain) if self.X_retain is not None else self.n_train - self.n_forget

    def require_retain(self, method: str) -> tuple[Tensor, Tensor]:
        if self.X_retain is None or self.y_retain is None:
            raise ValueError(f"forget_method={method!r} needs the retain rows: pass X_retain and y_retain.")
        return self.X_retain, self.y_retain


@dataclass
class ForgetOutcome:
    """Importances over the kept rows (next forget's cache) and details for the log."""

    retain_importances: Importances | None
    details: dict[str, Any] = field(default_factory=dict)


class Unlearner(Protocol):
    """What ``forget_method`` accepts besides a name.

    An optional class attribute ``needs_retain = True`` says the method works only from
    the retain rows (and never reads the importance cache); pipelines then pass them.
    """

    def forget(self, net: UnlearnableClassifier, request: ForgetRequest) -> ForgetOutcome: ...


def _importances_for(
    net: UnlearnableClassifier, request: ForgetRequest
) -> tuple[Importances, Importances, Importances]:
    """``(I_Df, I_Dr, I_D)``: forget, retain and all-rows importances at the current weights.

    With retain rows they are computed from those rows (the authors' behaviour) and
    ``I_D`` is their row-weighted mix with ``I_Df``. Without, the cache over all
    training rows is ``I_D``; in the per-sample form ``I_Dr = (|D|·I_D − |D_f|·I_Df)/|D_r|``
    exactly, in the mini-batch form (not additive) the cache itself stands in for
    ``I_Dr``.
    """
    imp_f = net.compute_importances(request.X_forget, request.y_forget)
    n_f, n_r = request.n_forget, request.n_retain
    if request.X_retain is not None:
        imp_r = net.compute_importances(request.X_retain, request.y_retain)
        imp_all = {k: (n_r * imp_r[k] + n_f * imp_f[k]) / (n_r + n_f) for k in imp_r}
        return imp_f, imp_r, imp_all
    imp_all = net.cached_importances()
    if net.importance == "per_sample":
        # Clamped: after an earlier forget the cache dates from older weights, so the
        # subtraction is no longer exact and must not go negative.
        imp_r = {k: ((n_f + n_r) * imp_all[k] - n_f * imp_f[k]).clamp_min(0) / n_r for k in imp_all}
    else:
        imp_r = imp_all
    return imp_f, imp_r, imp_all


def _dampening_details(alpha: float, lam: float, counts: dict[str, int]) -> dict[str, Any]:
    return {"alpha": alpha, "lam": lam, "n_dampened": sum(counts.values()), "dampened_per_parameter": counts}


class ASSD:
    """Adaptive selective synaptic dampening (Schoepf, Foster, Brintrup 2024); no parameters.

    ``α`` is the ``p``-th percentile of ``I_Df / I_Dr`` with
    ``p = 100 − ln(1 + 100 · |D_f| / (|D_r| + |D_f|))``, then the SSD rule with ``λ = 1``.
    As in the authors' code, the reference importances are those of the retain set.
    """

    name = "assd"
    needs_retain = False

    def forget(self, net: UnlearnableClassifier, request: ForgetRequest) -> ForgetOutcome:
        imp_f, imp_r, _ = _importances_for(net, request)
        alpha = assd_alpha(imp_r, imp_f, request.n_forget, request.n_forget + request.n_retain)
        counts = dampen(trainable_parameters(net.module_), imp_r, imp_f, alpha, 1.0)
        return ForgetOutcome(imp_r, _dampening_details(alpha, 1.0, counts))


class SSD:
    """Selective synaptic dampening (Foster, Schoepf, Brintrup 2023).

    Selects ``I_Df > α · I_D`` and scales by ``min(λ · I_D / I_Df, 1)``; ``I_D`` over all
    training rows (retain + forget), as in the authors' code.

    Parameters
    ----------
    alpha : float, default=10.0
        Selection threshold α.
    lam : float, default=1.0
        Dampening constant λ.
    """

    name = "ssd"
    needs_retain = False

    def __init__(self, alpha: float = 10.0, lam: float = 1.0) -> None:
        self.alpha = alpha
        self.lam = lam

    def forget(self, net: UnlearnableClassifier, request: ForgetRequest) -> ForgetOutcome:
        imp_f, imp_r, imp_all = _importances_for(net, request)
        counts = dampen(trainable_parameters(net.module_), imp_all, imp_f, self.alpha, self.lam)
        return ForgetOutcome(imp_r, _dampening_details(self.alpha, self.lam, counts))


class FineTune:
    """Train more epochs on the retain rows only (the paper's fine-tune baseline).

    Parameters
    ----------
    epochs : int, default=1
        Epochs over the retain rows.
    lr_factor : float, default=1.0
        Multiplies the optimizer's current learning rate for these epochs. The paper
        uses its learning-rate decay here (0.95): the next epoch's rate.
    """

    name = "finetune"
    needs_retain = True

    def __init__(self, epochs: int = 1, lr_factor: float = 1.0) -> None:
        self.epochs = epochs
        self.lr_factor = lr_factor

    def forget(self, net: UnlearnableClassifier, request: ForgetRequest) -> ForgetOutcome:
        X_r, y_r = request.require_retain("finetune")
        net.train_epochs(X_r, y_r, epochs=self.epochs, lr_factor=self.lr_factor)
        return ForgetOutcome(net.compute_importances(X_r, y_r), {"epochs": self.epochs})


class Retrain:
    """Train from scratch on the retain rows, with the classifier's own settings.

    The gold standard, and the slowest. With ``random_state`` set the new weights start
    from the same initial weights as the original fit.
    """

    name = "retrain"
    needs_retain = True

    def forget(self, net: UnlearnableClassifier, request: ForgetRequest) -> ForgetOutcome:
        X_r, y_r = request.require_retain("retrain")
        net.train_epochs(X_r, y_r, epochs=net.max_epochs, reinitialize=True)
        return ForgetOutcome(net.compute_importances(X_r, y_r), {"epochs": net.max_epochs})


def make_unlearner(method: str | Unlearner, *, alpha: float, lam: float) -> Unlearner:
    """The strategy object for ``forget_method``."""
    if not isinstance(method, str):
        if not callable(getattr(method, "forget", None)):
            raise TypeError(
                f"forget_method must be one of {sorted(UNLEARNERS)} or an object with a "
                f"forget(net, request) method; got {method!r}."
            )
        return method
    if method not in UNLEARNERS:
        raise ValueError(f"Unknown forget_method {method!r}; choose one of {sorted(UNLEARNERS)}.")
    if method == "ssd":
        return SSD(alpha=alpha, lam=lam)
    return UNLEARNERS[method]()


from .gradient_unlearners import EWCAscent, NewtonStep, PathGradient, SingleGradient  # noqa: E402  (they build on this module)

UNLEARNERS: dict[str, type] = {
    "assd": ASSD,
    "ssd": SSD,
    "finetune": FineTune,
    "retrain": Retrain,
    "single_gradient": SingleGradient,
    "path_gradient": PathGradient,
    "newton": NewtonStep,
    "ewc_ascent": EWCAscent,
}
