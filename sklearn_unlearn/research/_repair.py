"""Failure-driven repair, after Tanno, Pradier, Nori, Li (2022).

Given rows the model gets wrong (the failure set ``F``, with their correct labels), find
the training rows that caused the failures and remove their effect:

1. ``identify_causes`` scores every training row ``z`` by how much fitting ``F``
   would raise its loss, ``r(z) ≈ log p(z|θ̂) − log p(z|θ̂₊F)``; rows with ``r(z) > 0``
   are the causes (the paper's rule), or the ``top_k`` / ``top_frac`` highest.
2. ``repair`` identifies the causes, then forgets them with the classifier's own
   ``forget`` (the default forget: ASSD's selection moved by the relabel stage) or one of the paper's treatments: fine-tune on the other
   rows, a diagonal Newton step, or EWC-anchored gradient ascent.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted
from torch import Tensor
from torch.func import functional_call, jvp

from ..unlearning import EWCAscent, FineTune, NewtonStep, summed_loss_gradient
from ..utils import device_of, eval_mode, parameters_kept, row_slices, trainable_parameters, warn

CAUSE_METHODS = ("ewc", "influence")
TREATMENTS = ("forget", "finetune", "newton", "ewc_ascent")
_CHUNK = 4096


class Causes(NamedTuple):
    """Cause scores ``r(z)`` of every training row and the mask of rows called causes.

    Attributes
    ----------
    scores : ndarray of float
        ``r(z)`` per training row.
    mask : ndarray of bool
        The rows called causes.
    """

    scores: np.ndarray
    mask: np.ndarray


def _encoded(clf, X, y, name: str) -> tuple[Tensor, Tensor]:
    if (X.shape[0] if hasattr(X, "shape") else len(X)) == 0:
        raise ValueError(f"X_{name} is empty.")
    X32, y_enc = clf.encode_rows(X, y, name=f"X_{name}")
    return torch.as_tensor(X32), torch.as_tensor(y_enc)


def _row_losses(module, params: dict[str, Tensor], X: Tensor, y: Tensor) -> Tensor:
    device = device_of(module)
    buffers = dict(module.named_buffers())
    out = []
    with eval_mode(module), torch.no_grad():
        for rows in row_slices(len(X), _CHUNK):
            logits = functional_call(module, {**buffers, **params}, (X[rows].to(device),))
            out.append(F.cross_entropy(logits, y[rows].to(device), reduction="none").cpu())
    return torch.cat(out)


def _fisher(clf, X: Tensor, y: Tensor) -> dict[str, Tensor]:
    cached = getattr(clf, "importances_", None)
    return cached if cached is not None else clf.compute_importances(X, y)


def _ewc_scores(clf, X, y, X_fail, y_fail, *, ewc_lambda: float, steps: int, lr: float | None) -> np.ndarray:
    """``r(z) = ℓ(z; θ̂₊F) − ℓ(z; θ̂)``, ``θ̂₊F`` a few steps on ``F`` held near ``θ̂`` by EWC."""
    module = clf.module_
    theta = {k: v.detach() for k, v in trainable_parameters(module).items()}
    fisher = _fisher(clf, X, y)
    # Laplace precision of the training fit, per row of F (F's loss is a mean).
    precision = {k: ewc_lambda * len(X) / len(X_fail) * fisher[k] for k in theta}
    plus_f = copy.deepcopy(module)
    params = trainable_parameters(plus_f)
    step = clf.lr if lr is None else lr
    device = device_of(module)
    Xf, yf = X_fail.to(device), y_fail.to(device)
    with eval_mode(plus_f):
        for _ in range(steps):
            grads = torch.autograd.grad(F.cross_entropy(plus_f(Xf), yf), list(params.values()))
            with torch.no_grad():
                for (k, p), g in zip(params.items(), grads, strict=True):
                    # Proximal step on the anchor: stable however large the precision is.
                    pull = step * precision[k]
                    p.copy_((p - step * g + pull * theta[k]) / (1 + pull))
    moved = {k: p.detach() for k, p in params.items()}
    return (_row_losses(module, moved, X, y) - _row_losses(module, theta, X, y)).numpy()


def _influence_scores(clf, X, y, X_fail, y_fail, *, delta: float) -> np.ndarray:
    """``r(z) = −∇ℓ(z; θ̂)ᵀ (G + δI)⁻¹ ∇ℓ_F(θ̂)``, one forward-mode pass over the rows."""
    module = clf.module_
    theta = {k: v.detach() for k, v in trainable_parameters(module).items()}
    fisher = _fisher(clf, X, y)
    fail_gradient = summed_loss_gradient(clf, X_fail, y_fail)
    direction = {k: -fail_gradient[k] / len(X_fail) / (fisher[k] + delta) for k in theta}
    device = device_of(module)
    buffers = dict(module.named_buffers())
    scores = []
    with eval_mode(module):
        for rows in row_slices(len(X), _CHUNK):
            xb, yb = X[rows].to(device), y[rows].to(device)

            def losses(params, xb=xb, yb=yb):
                logits = functional_call(module, {**buffers, **params}, (xb,))
                return F.cross_entropy(logits, yb, reduction="none")

            # The directional derivative of each row's loss along the step that fits F.
            with parameters_kept(module):
                _, tangent = jvp(losses, (theta,), (direction,))
            scores.append(tangent.detach().cpu())
    return torch.cat(scores).numpy()


def identify_causes(
    clf,
    X_train,
    y_train,
    X_fail,
    y_fail,
    *,
    method: str = "ewc",
    top_k: int | None = None,
    top_frac: float | None = None,
    ewc_lambda: float = 1.0,
    steps: int = 20,
    lr: float | None = None,
    delta: float = 1e-3,
) -> Causes:
    """Score every training row by how much it conflicts with the failure set.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted model.
    X_train, y_train : array_like
        The rows it was trained on, with the labels it was trained with.
    X_fail, y_fail : array_like
        Rows it gets wrong, with their correct labels.
    method : {"ewc", "influence"}, default="ewc"
        ``"ewc"``: ``r(z) = ℓ(z; θ̂₊F) − ℓ(z; θ̂)`` where ``θ̂₊F`` takes ``steps`` SGD
        steps on ``F``'s mean loss plus the EWC anchor
        ``(λ/2) (|D|/|F|) Σ_i G_i (θ_i − θ̂_i)²`` (``G`` the diagonal Fisher over the
        training rows: the cached importances) [paper, Alg. 1]. ``"influence"``: its
        linearisation ``r(z) = −∇ℓ(z; θ̂)ᵀ (G + δI)⁻¹ ∇ℓ_F(θ̂)`` (reconstructed, not in the paper's code).
    top_k, top_frac : int or float, optional
        Call the ``top_k`` highest (or the ``top_frac`` share) causes instead of every
        row with ``r(z) > 0``.
    ewc_lambda : float, default=1.0
        λ of the EWC anchor.
    steps : int, default=20
        SGD steps for ``θ̂₊F``.
    lr : float, optional
        Their step size; the classifier's ``lr`` by default.
    delta : float, default=1e-3
        Damping δ of the influence form.

    Returns
    -------
    Causes
        ``scores`` (ndarray of shape (n_train,)) and ``mask`` (bool ndarray).
    """
    check_is_fitted(clf)
    if method not in CAUSE_METHODS:
        raise ValueError(f"method must be one of {CAUSE_METHODS}; got {method!r}.")
    if top_k is not None and top_frac is not None:
        raise ValueError("Pass top_k or top_frac, not both.")
    X, y = _encoded(clf, X_train, y_train, "train")
    X_f, y_f = _encoded(clf, X_fail, y_fail, "fail")
    if method == "ewc":
        scores = _ewc_scores(clf, X, y, X_f, y_f, ewc_lambda=ewc_lambda, steps=steps, lr=lr)
    else:
        scores = _influence_scores(clf, X, y, X_f, y_f, delta=delta)
    return Causes(scores, _cause_mask(scores, top_k, top_frac))


def _cause_mask(scores: np.ndarray, top_k: int | None, top_frac: float | None) -> np.ndarray:
    if top_frac is not None:
        if not 0 < top_frac <= 1:
            raise ValueError(f"top_frac must be in (0, 1]; got {top_frac}.")
        top_k = max(1, int(round(top_frac * len(scores))))
    if top_k is None:
        return scores > 0
    if not 1 <= top_k <= len(scores):
        raise ValueError(f"top_k must be between 1 and {len(scores)}; got {top_k}.")
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argsort(-scores, kind="stable")[:top_k]] = True
    return mask


def repair(
    clf,
    X_train,
    y_train,
    X_fail,
    y_fail,
    *,
    treatment: str = "forget",
    **identify_kwargs: Any,
):
    """Find the training rows behind the failures and remove their effect.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted model; changed in place and returned.
    X_train, y_train, X_fail, y_fail : array_like
        As in ``identify_causes``.
    treatment : {"forget", "finetune", "newton", "ewc_ascent"}, default="forget"
        ``"forget"`` runs ``clf.forget`` (its ``forget_method``; by default ASSD's selection moved by the relabel stage, with
        the other rows as retain rows when the method needs them); the others are the
        paper's treatments, reconstructed from its description: one epoch on the rows
        that are not causes, ``NewtonStep``, ``EWCAscent``.
    **identify_kwargs
        Passed to ``identify_causes``: ``method`` (how causes are scored),
        ``top_k``, ``top_frac``, ``ewc_lambda``, ``steps``, ``lr``, ``delta``.

    Returns
    -------
    clf
        The repaired classifier; ``clf.forget_log_[-1]["causes"]`` counts the rows removed.
    """
    if treatment not in TREATMENTS:
        raise ValueError(f"treatment must be one of {TREATMENTS}; got {treatment!r}.")
    causes = identify_causes(clf, X_train, y_train, X_fail, y_fail, **identify_kwargs)
    if not causes.mask.any():
        warn("No training row scored as a cause of the failures; the model is unchanged.")
        return clf
    X_c, y_c = _safe_indexing(X_train, causes.mask), _safe_indexing(y_train, causes.mask)
    X_r, y_r = _safe_indexing(X_train, ~causes.mask), _safe_indexing(y_train, ~causes.mask)
    if treatment == "forget":
        retain = {"X_retain": X_r, "y_retain": y_r} if clf.needs_retain_rows() else {}
        clf.forget(X_c, y_c, **retain)
    else:
        unlearner = {"finetune": FineTune, "newton": NewtonStep, "ewc_ascent": EWCAscent}[treatment]()
        retain = {"X_retain": X_r, "y_retain": y_r} if treatment == "finetune" else {}
        clf.forget(X_c, y_c, method=unlearner, **retain)
    clf.forget_log_[-1]["causes"] = int(causes.mask.sum())
    clf.forget_log_[-1]["cause_method"] = identify_kwargs.get("method", "ewc")
    return clf
