"""Thudi et al.'s weight-space measures: verification error, the unlearning-error proxy, drift.

References
----------
.. [1] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
   Influencing Machine Unlearning". IEEE EuroS&P 2022.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..utils import device_of, eval_mode, flat_weights, trainable_parameters
from ._report import fitted_net

SIGMA_FORMS = ("sqrt_top_eig", "top_eig")


def _flat_weights(model: Any) -> tuple[list[str], list[tuple[int, ...]], Tensor]:
    module = model if isinstance(model, nn.Module) else fitted_net(model, "model").module_
    params = trainable_parameters(module)
    return list(params), [tuple(p.shape) for p in params.values()], flat_weights(module)


def verification_error(model_a, model_b) -> float:
    """``‖w_a − w_b‖₂`` over all trainable parameters flattened together (Thudi et al.).

    Typically ``model_a`` is the unlearned model and ``model_b`` the model retrained
    without the forgotten rows from the same seed and batch order.

    Parameters
    ----------
    model_a, model_b : UnlearnableClassifier or torch.nn.Module
        Two models with the same architecture.

    Returns
    -------
    float
        The Euclidean distance between the two weight vectors.
    """
    names_a, shapes_a, flat_a = _flat_weights(model_a)
    names_b, shapes_b, flat_b = _flat_weights(model_b)
    if names_a != names_b or shapes_a != shapes_b:
        raise ValueError("verification_error needs two models with the same architecture (parameter names and shapes).")
    return float(torch.linalg.vector_norm(flat_a - flat_b))


def top_hessian_eigenvalue(
    module: nn.Module, loss_fn, X: Tensor, y: Tensor, *, max_iter: int = 100, tol: float = 1e-3, seed: int = 0
) -> float:
    """Largest-magnitude eigenvalue of the loss Hessian on ``(X, y)``, by power iteration.

    Hessian-vector products by double back-propagation; the module is evaluated in eval
    mode (BatchNorm uses its running statistics). Stops when the estimate changes by
    less than ``tol`` relative, or after ``max_iter`` products.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(output, target)``, the mean loss.
    X : Tensor
        Rows, on the module's device.
    y : Tensor
        Their encoded targets.
    max_iter : int, default=100
        Most Hessian-vector products.
    tol : float, default=1e-3
        Relative change that stops the iteration.
    seed : int, default=0
        Seeds the start vector.

    Returns
    -------
    float
        The eigenvalue (signed).
    """
    params = list(trainable_parameters(module).values())
    with eval_mode(module):
        loss = loss_fn(module(X), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        generator = torch.Generator().manual_seed(seed)
        v = [torch.randn(p.shape, generator=generator).to(p) for p in params]
        eigenvalue = 0.0
        for _ in range(max_iter):
            norm = torch.sqrt(sum((vi * vi).sum() for vi in v))
            v = [vi / norm for vi in v]
            hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
            estimate = float(sum((h * vi).sum() for h, vi in zip(hv, v, strict=True)))
            converged = abs(estimate - eigenvalue) <= tol * max(abs(estimate), 1e-12)
            eigenvalue, v = estimate, [h.detach() for h in hv]
            if converged:
                break
    return eigenvalue


def unlearning_error(
    clf,
    X,
    y,
    *,
    sigma: str = "sqrt_top_eig",
    n_rows: int = 512,
    max_iter: int = 100,
    tol: float = 1e-3,
    random_state: int | None = 0,
) -> float:
    """Thudi et al.'s cheap proxy for how hard the training run is to unlearn.

    ``e = (η² · t / 2) · ‖w_t − w_0‖₂ · σ``, with ``w_0`` and ``t`` recorded during
    ``fit`` (``clf.training_trace_``), ``η`` the mean learning rate over those steps
    (the paper assumes a constant one) and ``σ`` from the top Hessian eigenvalue of the
    loss on ``n_rows`` training rows drawn from ``(X, y)``.

    The Hessian needs training rows, and keeping rows inside a model meant to forget
    them would defeat its purpose, so the caller passes them.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted model (its ``training_trace_`` is recorded by ``fit``).
    X, y : array_like
        Training rows; ``n_rows`` of them (at random) form the Hessian batch.
    sigma : {"sqrt_top_eig", "top_eig"}, default="sqrt_top_eig"
        ``sqrt(|λ_max|)`` as in the authors' code, or ``|λ_max|`` as the paper's
        wording suggests.
    n_rows : int, default=512
        Rows in the Hessian batch (the authors use 256–512).
    max_iter, tol : int, float
        Power-iteration limits (the authors': 100 and 1e-3).
    random_state : int or None, default=0
        Picks the rows and the power iteration's start vector.

    Returns
    -------
    float
        The proxy ``e``; larger means harder to unlearn.
    """
    fitted_net(clf, "clf")
    if sigma not in SIGMA_FORMS:
        raise ValueError(f"sigma must be one of {SIGMA_FORMS}; got {sigma!r}.")
    trace = getattr(clf, "training_trace_", None)
    if trace is None or trace.n_steps == 0:
        raise ValueError("clf has no training trace (w_0 and step count): fit it first.")
    X32, y_enc = clf.encode_rows(X, y)
    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(X32), size=min(n_rows, len(X32)), replace=False)
    device = device_of(clf.module_)
    X_h, y_h = torch.as_tensor(X32[rows]).to(device), torch.as_tensor(y_enc[rows]).to(device)
    top = abs(
        top_hessian_eigenvalue(
            clf.module_, clf.eval_loss, X_h, y_h, max_iter=max_iter, tol=tol, seed=int(rng.integers(2**31))
        )
    )
    sigma_value = float(np.sqrt(top)) if sigma == "sqrt_top_eig" else top
    drift = weight_drift(clf)
    return trace.mean_lr**2 * trace.n_steps / 2 * drift * sigma_value


def weight_drift(clf) -> float:
    """``‖w_t − w_0‖₂``: how far training moved the weights from where they started.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted.

    Returns
    -------
    float
        The Euclidean distance.
    """
    fitted_net(clf, "clf")
    trace = getattr(clf, "training_trace_", None)
    if trace is None:
        raise ValueError("clf has no training trace (w_0): fit it first.")
    start = torch.nn.utils.parameters_to_vector([w.double() for w in trace.initial_weights.values()])
    return float(torch.linalg.vector_norm(flat_weights(clf.module_) - start))
