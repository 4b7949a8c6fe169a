"""Strategies that move the weights along loss gradients instead of dampening them.

* ``SingleGradient`` — Thudi et al.'s single-gradient unlearning: add back the
  forgotten rows' gradient taken at the starting weights ``w_0``.
* ``PathGradient`` — the same, averaged along the path from ``w_0`` to the trained
  weights, each row weighted by how much the model still believes its label, and each
  weight moved only back toward ``w_0`` (ours).
* ``NewtonStep`` — one diagonal-Newton (influence-function) step that removes the
  rows from the training objective (a treatment of Tanno et al.'s repair).
* ``EWCAscent`` — gradient ascent on the forget rows' loss, anchored to the current
  weights by an EWC penalty (the other treatment of Tanno et al.'s repair).
"""

from __future__ import annotations

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval
from torch import Tensor
from torch.func import functional_call

from ..utils import clone_parameters, device_of, module_mode, row_slices, trainable_parameters, warn
from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest
from ._importance import Importances


def summed_loss_gradient(
    host: ForgetHost,
    X: Tensor,
    y: Tensor,
    weights: dict[str, Tensor] | None = None,
    row_weights: Tensor | None = None,
) -> Importances:
    """``Σ_x ∇ℓ(x; w)`` over the rows, at the current weights or at ``weights``.

    With ``row_weights`` it is ``Σ_x c_x ∇ℓ(x; w)`` with ``ℓ`` the per-row loss of
    ``host.row_losses`` (cross-entropy, squared error: a custom criterion has no per-row form
    to rely on).

    At the current weights the module runs in eval mode (as importances do). At other
    weights (``w_0``) the BatchNorm running statistics belong to the current weights, so
    the module runs in training mode on batches of ``batch_size`` rows, as SGD saw them,
    with copies of the buffers so nothing is updated.

    Parameters
    ----------
    host : ForgetHost
        The estimator (its module, batch size and loss).
    X : Tensor
        Float32 rows.
    y : Tensor
        Their encoded targets.
    weights : dict of str to Tensor, optional
        The point to take the gradient at; None for the current weights.
    row_weights : Tensor, optional
        ``c_x`` per row.

    Returns
    -------
    dict of str to Tensor
        The summed gradient, shaped like each trainable parameter.
    """
    module = host.module_
    device = device_of(module)
    params = trainable_parameters(module)
    point = params if weights is None else {k: v.to(device) for k, v in weights.items()}
    point = {k: v.detach().requires_grad_(True) for k, v in point.items()}
    totals = {k: torch.zeros_like(v) for k, v in point.items()}
    with module_mode(module, weights is not None and len(X) > 1):
        for rows in row_slices(len(X), host.batch_size, merge_single=True):
            buffers = {k: b.clone() for k, b in module.named_buffers()}
            xb, yb = X[rows].to(device), y[rows].to(device)
            output = functional_call(module, {**buffers, **point}, (xb,))
            if row_weights is None:
                loss = host.eval_loss(output, yb) * len(xb)
            else:
                per_row = host.row_losses(output, yb)
                loss = (per_row * row_weights[rows].to(device)).sum()
            for name, g in zip(point, torch.autograd.grad(loss, list(point.values())), strict=True):
                totals[name] += g
    return totals


def _trace_of(host: ForgetHost, method: str):
    trace = getattr(host, "trace", None)
    if trace is None:
        raise ValueError(f"{method} needs the training trace (w_0, steps) that fit records.")
    return trace


def _warn_about_optimizer(trace, method: str, assumption: str) -> None:
    opt = trace.optimizer
    settings = ", ".join(f"{k}={v}" for k, v in opt.items() if k != "name")
    warn(
        f"{method} assumes {assumption}; this model was trained with "
        f"{opt.get('name', 'an unknown optimizer')}({settings}), so the update is only a rough approximation."
    )


class PathGradient(BaseUnlearner):
    """Undo the forget rows' share of training: single-gradient along the path, held to it.

    Three changes to Thudi et al.'s single-gradient step (``SingleGradient``), each
    answering a way the plain step fails:

    1. **Along the path.** SGD stepped for a forgotten row at weights all along the
       trajectory, not only at ``w_0``; the gradient is averaged over ``n_points`` evenly
       spaced points of the straight line ``w_0 → w_t`` (ends included).
    2. **What is still learned.** Each row's gradient is weighted by how closely the model
       now fits it: ``c_x = p(y_x | x; w_t)`` for a label, ``exp(−r²/2σ²)`` for a number
       (``host.fit_of_rows``). A row the model does not fit had its pull cancelled by the
       other rows; there is little of it left to remove. A memorised row (``c_x ≈ 1``) is
       removed in full.
    3. **Back toward the start, never past it.** Each weight moves only toward its
       initial value and at most back to it: ``w_i ∈ [w_t,i, w_0,i]``. No subset of the
       rows should need a weight moved farther than all the rows moved it.

    The step is ``Δ = (m η / b) · P ⊙ mean_s Σ_{x∈D_f} c_x ∇ℓ(w_0 + s (w_t − w_0); x)``
    (``m`` epochs, mean lr ``η`` and batch size ``b`` from the training trace), then the
    clip of 3. ``P`` is how the optimizer turned a gradient into a step, per parameter
    (1 for plain SGD; momentum, Adam, RMSprop and Adagrad from their state: see
    ``step_scale``); for another optimizer it is 1, with a warning.
    BatchNorm runs in training mode at every point, as in ``SingleGradient``;
    ``ℓ`` is the per-row loss (cross-entropy, or squared error for a regressor). Nothing needs tuning: ``n_points`` only sets the
    quadrature. This is our extension, not a published method; it needs the trace ``fit``
    records.

    Parameters
    ----------
    n_points : int, default=5
        Points on the path, ends included (1 means ``w_0`` only).
    weight_by_confidence : bool, default=True
        Change 2. Off only to measure what it does.
    clip : bool, default=True
        Change 3. Off only to measure what it does. With both off, ``n_points=1`` and
        ``precondition=False`` this is ``SingleGradient``.
    precondition : bool, default=True
        Scale each parameter's step as the training optimizer did (``P`` above).

    See Also
    --------
    SingleGradient : The published step this extends.
    ASSD : The default forget, which runs this step first.

    References
    ----------
    .. [1] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
       Influencing Machine Unlearning". IEEE EuroS&P 2022.
    """

    name = "path_gradient"
    _parameter_constraints: dict = {
        "n_points": [Interval(Integral, 1, None, closed="left")],
        "weight_by_confidence": ["boolean"],
        "clip": ["boolean"],
        "precondition": ["boolean"],
    }

    def __init__(
        self, n_points: int = 5, weight_by_confidence: bool = True, clip: bool = True, precondition: bool = True
    ) -> None:
        self.n_points = n_points
        self.weight_by_confidence = weight_by_confidence
        self.clip = clip
        self.precondition = precondition

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        trace = _trace_of(host, self.name)
        if trace.n_steps == 0:  # fit with max_epochs=0: no row has moved a weight, so there is nothing to undo
            return ForgetOutcome(None, {"epochs": 0, "scale": 0.0, "n_points": self.n_points, "n_clipped": 0})
        factors: dict = {}
        if self.precondition:
            factors, known = host.gradient_step_scale()
            if not known:
                _warn_about_optimizer(trace, self.name, "an optimizer whose steps it can rescale (SGD, Adam, ...)")
        elif not trace.plain_sgd:
            _warn_about_optimizer(trace, self.name, "plain SGD (no momentum, no weight decay)")
        confidence = None
        # Under squared error an unfitted row pulls hardest: a regressor's rows count in full.
        if self.weight_by_confidence and not request.regression:
            confidence = host.fit_of_rows(request.X_forget, request.y_forget)[0]
        params = trainable_parameters(host.module_)
        end = clone_parameters(host.module_)
        start = {k: trace.initial_weights[k].to(v.device) for k, v in end.items()}
        positions = torch.linspace(0.0, 1.0, self.n_points).tolist() if self.n_points > 1 else [0.0]
        step = {k: torch.zeros_like(v) for k, v in end.items()}
        for s in positions:
            point = {k: start[k] + s * (end[k] - start[k]) for k in end}
            gradient = summed_loss_gradient(host, request.X_forget, request.y_forget, point, confidence)
            for k in step:
                step[k] += gradient[k] / len(positions)
        scale = trace.n_epochs * trace.mean_lr / trace.mean_batch_size
        n_clipped = 0
        with torch.no_grad():
            for name, p in params.items():
                delta = scale * factors.get(name, 1.0) * step[name]
                if self.clip:
                    back = start[name] - end[name]  # the way to w_0, and how far
                    clipped = torch.minimum(torch.maximum(delta, back.clamp(max=0)), back.clamp(min=0))
                    n_clipped += int((clipped != delta).sum())
                    delta = clipped
                p.add_(delta)
        details = {"epochs": trace.n_epochs, "lr": trace.mean_lr, "scale": scale, "n_points": self.n_points}
        details["n_clipped"] = n_clipped
        if confidence is not None:
            details["mean_confidence"] = float(confidence.mean())
        return ForgetOutcome(None, details)


class SingleGradient(PathGradient):
    """Single-gradient unlearning (Thudi, Deza, Chandrasekaran, Papernot 2022).

    SGD took, for each forgotten row ``x`` in each of the ``m`` epochs, a step
    ``−(η/b) ∇ℓ(w_s; x)``. Approximating every ``w_s`` by the starting weights ``w_0``
    and adding the steps back gives ``w_U = w_t + (m η / b) Σ_{x∈D_f} ∇ℓ(w_0; x)``.
    When ``D_f`` is one training batch (``|D_f| = b``) this is the authors' code,
    ``w_t + m η ∇L(w_0; B*)``; for other forget sets it is the per-row form, which we
    reconstructed from the paper. ``η`` and ``b`` are the means over the recorded steps.
    It is ``PathGradient`` with one point (``w_0``), no row weights and no clip.

    It is accurate early in training and degrades as ``t`` grows — what the unlearning
    error (``sklearn_unlearn.metrics.unlearning_error``) measures; report both.
    Warns when the optimizer is not plain SGD.

    See Also
    --------
    PathGradient : The same step along the training path, weighted and clipped.
    sklearn_unlearn.metrics.unlearning_error : How far the approximation can be trusted.

    References
    ----------
    .. [1] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
       Influencing Machine Unlearning". IEEE EuroS&P 2022.
    """

    name = "single_gradient"

    def __init__(self) -> None:
        super().__init__(n_points=1, weight_by_confidence=False, clip=False, precondition=False)


class NewtonStep(BaseUnlearner):
    """Remove the rows from the training objective with one diagonal-Newton step.

    ``w ← w + (G_r + δ)⁻¹ Σ_{x∈D_f} ∇ℓ(x; w) / |D_r|``: the influence-function estimate of
    the optimum of the mean loss over the retain rows, with the diagonal Fisher ``G_r``
    of the retain rows (exact from the per-sample cache) standing in for the Hessian.
    After Tanno et al.'s repair treatments, reconstructed from the paper's description
    (which writes the step without the ``1/|D_r|`` that the mean-loss objective needs).

    Parameters
    ----------
    damping : float, default=1000.0
        ``δ`` as a multiple of the mean of ``G_r`` over all parameters; it bounds the
        step of parameters the Fisher calls flat. The diagonal Fisher underestimates the
        curvature of BatchNorm MLPs, so small values (1, 10) can wreck such a model; the
        docs' methods page has the measurements.

    See Also
    --------
    EWCAscent : The other treatment of the same paper.
    sklearn_unlearn.research.repair : Find the rows that caused failures, then treat them.

    References
    ----------
    .. [1] Tanno, Pradier, Nori, Li. "Repairing Neural Networks by Leaving the Right Past
       Behind". NeurIPS 2022.
    """

    name = "newton"
    _parameter_constraints: dict = {"damping": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, damping: float = 1000.0) -> None:
        self.damping = damping

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        imp_r = host.importance_split(request).retain
        gradient = summed_loss_gradient(host, request.X_forget, request.y_forget)
        mean_fisher = torch.cat([v.reshape(-1) for v in imp_r.values()]).mean()
        delta = self.damping * float(mean_fisher) + 1e-12
        with torch.no_grad():
            for name, p in trainable_parameters(host.module_).items():
                p.add_(gradient[name] / (request.n_retain * (imp_r[name] + delta)))
        return ForgetOutcome(None, {"damping": self.damping, "delta": delta})


class EWCAscent(BaseUnlearner):
    """Gradient ascent on the forget rows' loss, held near the current weights by EWC.

    Minimises ``−ℓ_{D_f}(w) + (λ/2) · |D_r| · Σ_i G_i (w_i − ŵ_i)²`` for a fixed budget of
    full-batch SGD steps, ``ŵ`` the weights before the forget and ``G`` the retain rows'
    diagonal Fisher (so ``|D_r| · G`` is the Laplace precision of the retain fit); the
    anchor enters as a proximal step, stable for any precision. After
    Tanno et al.'s repair treatments, reconstructed from the paper's description.

    Parameters
    ----------
    steps : int, default=10
        Step budget.
    lr : float or None, default=None
        Step size; None uses a tenth of the classifier's ``lr`` (ascent is unbounded, so
        steps are kept short).
    ewc_lambda : float, default=100.0
        Weight λ of the anchor. Small values let the ascent wreck a BatchNorm MLP (its
        eval-mode loss is steep even at the training optimum); the default is the safe
        side and forgets little. The docs' methods page has the measurements.

    See Also
    --------
    NewtonStep : The other treatment of the same paper.
    sklearn_unlearn.research.repair : Find the rows that caused failures, then treat them.

    References
    ----------
    .. [1] Tanno, Pradier, Nori, Li. "Repairing Neural Networks by Leaving the Right Past
       Behind". NeurIPS 2022.
    """

    name = "ewc_ascent"
    _parameter_constraints: dict = {
        "steps": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "ewc_lambda": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, steps: int = 10, lr: float | None = None, ewc_lambda: float = 100.0) -> None:
        self.steps = steps
        self.lr = lr
        self.ewc_lambda = ewc_lambda

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        imp_r = host.importance_split(request).retain
        params = trainable_parameters(host.module_)
        anchor = clone_parameters(host.module_)
        lr = 0.1 * host.lr if self.lr is None else self.lr
        precision = self.ewc_lambda * request.n_retain
        for _ in range(self.steps):
            ascent = summed_loss_gradient(host, request.X_forget, request.y_forget)
            with torch.no_grad():
                for name, p in params.items():
                    # Proximal (implicit) step on the anchor: stable however large |D_r|·G is.
                    pull = lr * precision * imp_r[name]
                    p.copy_((p + lr * ascent[name] / request.n_forget + pull * anchor[name]) / (1 + pull))
        return ForgetOutcome(None, {"steps": self.steps, "lr": lr, "ewc_lambda": self.ewc_lambda})
