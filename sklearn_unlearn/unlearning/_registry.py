"""The registry of built-in forget strategies: ``forget_method`` names and ``make_unlearner``."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone

from ._base import BaseUnlearner, Unlearner
from ._dampening import ASSD, SSD
from ._gradient import EWCAscent, NewtonStep, PathGradient, SingleGradient
from ._peers import SCRUB, NegGradPlus
from ._relabel import Relabel
from ._training import FineTune, Retrain

UNLEARNERS: dict[str, type[BaseUnlearner]] = {
    cls.name: cls
    for cls in (
        ASSD,
        SSD,
        Relabel,
        FineTune,
        Retrain,
        NegGradPlus,
        SCRUB,
        SingleGradient,
        PathGradient,
        NewtonStep,
        EWCAscent,
    )
}


def make_unlearner(method: str | Unlearner, params: dict[str, Any] | None = None) -> Unlearner:
    """The strategy object for ``forget_method`` with its ``forget_method__*`` parameters.

    Parameters
    ----------
    method : str or strategy object
        A name from ``UNLEARNERS`` or a strategy object.
    params : dict, optional
        Hyper-parameters to set on it (``{"alpha": 5}`` for ``forget_method__alpha=5``).
        An object is cloned first, so the caller's object is never changed.

    Returns
    -------
    Unlearner
        Validated against its parameter constraints when it has them.
    """
    params = dict(params or {})
    if isinstance(method, str):
        if method not in UNLEARNERS:
            raise ValueError(f"Unknown forget_method {method!r}; choose one of {sorted(UNLEARNERS)}.")
        cls = UNLEARNERS[method]
        accepted = cls().get_params()
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ValueError(
                f"forget_method={method!r} has no parameter {', '.join(unknown)}; "
                f"its parameters are {sorted(accepted) or 'none'}."
            )
        unlearner: Any = cls(**params)
    elif callable(getattr(method, "forget", None)) and not isinstance(method, type):
        unlearner = method
        if params:
            if not hasattr(method, "set_params"):
                raise TypeError(f"forget_method__* parameters need a strategy with set_params; {method!r} has none.")
            unlearner = clone(method).set_params(**params)
    else:
        raise TypeError(
            f"forget_method must be one of {sorted(UNLEARNERS)} or an object with a "
            f"forget(host, request) method; got {method!r}."
        )
    if isinstance(unlearner, BaseUnlearner):
        unlearner.validate()
    return unlearner
