"""How well a model has forgotten: accuracies, membership inference, and Thudi et al.'s errors.

* ``forget_report`` — accuracy on the retain, forget and test rows and the
  membership-inference score, next to a reference (usually the retrained model).
* ``membership_inference`` — the MIA of the SSD/Chundawat code.
* ``verification_error`` — ``‖w_U − w_R‖₂`` between two models.
* ``unlearning_error`` — the Unrolling-SGD proxy ``(η² t / 2) · ‖w_t − w_0‖₂ · σ``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from ._validation import prepare_rows
from .torch_utils import device_of, eval_mode, flat_weights, trainable_parameters

SIGMA_FORMS = ("sqrt_top_eig", "top_eig")


def _fitted_net(model: Any, name: str):
    """The model, if it is a fitted skorch-style net (a ``module_`` and ``predict_proba``)."""
    if not (hasattr(model, "predict_proba") and hasattr(type(model), "__sklearn_is_fitted__")):
        raise TypeError(f"{name} must be a fitted UnlearnableClassifier; got {type(model).__name__}.")
    check_is_fitted(model)
    return model


def _entropies(clf, X) -> np.ndarray:
    proba = np.clip(clf.predict_proba(X), 1e-12, 1.0)
    return -(proba * np.log(proba)).sum(axis=1, keepdims=True)


def membership_inference(clf, X_retain, X_forget, X_test) -> float:
    """Share of the forget rows an attacker calls "member" (SSD/Chundawat MIA).

    The feature is the entropy of the model's softmax output. A logistic regression
    (``class_weight="balanced"``) learns to tell retain rows (members) from test rows
    (non-members) and is applied to the forget rows. Lower means better forgotten; the
    ideal is the retrained model's value, not zero.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted model.
    X_retain, X_forget, X_test : array-like
        Rows the model keeps, rows it should have forgotten, rows it never saw.

    Returns
    -------
    float
        Share of forget rows predicted "member", in [0, 1].
    """
    _fitted_net(clf, "clf")
    retain, forget, test = (_entropies(clf, X) for X in (X_retain, X_forget, X_test))
    attack = LogisticRegression(class_weight="balanced")
    attack.fit(np.vstack([retain, test]), np.r_[np.ones(len(retain)), np.zeros(len(test))])
    return float(attack.predict(forget).mean())


def forget_report(
    clf,
    X_retain,
    y_retain,
    X_forget,
    y_forget,
    X_test,
    y_test,
    *,
    reference=None,
) -> dict[str, float]:
    """Accuracies and membership inference of a model after a forget.

    Parameters
    ----------
    clf : UnlearnableClassifier
        The model to judge.
    X_retain, y_retain : array-like
        Rows the model keeps.
    X_forget, y_forget : array-like
        Rows it should have forgotten, with the labels it was trained with.
    X_test, y_test : array-like
        Held-out rows.
    reference : UnlearnableClassifier, optional
        Usually the model retrained without the forget rows: its values are reported
        under ``reference_*`` keys, since the ideal MIA and forget accuracy are its
        values, not zero.

    Returns
    -------
    dict of str to float
        ``retain_accuracy``, ``forget_accuracy``, ``test_accuracy``, ``mia`` (and the
        same with a ``reference_`` prefix). ``pandas.DataFrame([report])`` tabulates it.
    """
    models = {"": clf} if reference is None else {"": clf, "reference_": reference}
    report: dict[str, float] = {}
    for prefix, model in models.items():
        _fitted_net(model, "reference" if prefix else "clf")
        report[f"{prefix}retain_accuracy"] = float(model.score(X_retain, y_retain))
        report[f"{prefix}forget_accuracy"] = float(model.score(X_forget, y_forget))
        report[f"{prefix}test_accuracy"] = float(model.score(X_test, y_test))
        report[f"{prefix}mia"] = membership_inference(model, X_retain, X_forget, X_test)
    return report


def _flat_weights(model: Any) -> tuple[list[str], list[tuple[int, ...]], Tensor]:
    module = model if isinstance(model, nn.Module) else _fitted_net(model, "model").module_
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
    X, y : array-like
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
    """
    _fitted_net(clf, "clf")
    if sigma not in SIGMA_FORMS:
        raise ValueError(f"sigma must be one of {SIGMA_FORMS}; got {sigma!r}.")
    trace = getattr(clf, "training_trace_", None)
    if trace is None or trace.n_steps == 0:
        raise ValueError("clf has no training trace (w_0 and step count): fit it first.")
    X32, y_enc = prepare_rows(clf, X, y)
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
    """``‖w_t − w_0‖₂``: how far training moved the weights from where they started."""
    _fitted_net(clf, "clf")
    trace = getattr(clf, "training_trace_", None)
    if trace is None:
        raise ValueError("clf has no training trace (w_0): fit it first.")
    start = torch.nn.utils.parameters_to_vector([w.double() for w in trace.initial_weights.values()])
    return float(torch.linalg.vector_norm(flat_weights(clf.module_) - start))
