"""Published forget methods that train on the retain rows: NegGrad+ and SCRUB (the comparison peers).

Both are fine-tuning methods: they need every kept row (``X_retain``, ``y_retain``) and run
without the guard, like ``FineTune``.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ..utils import device_of, module_mode, trainable_parameters
from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest


class NegGradPlus(BaseUnlearner):
    """Descend on the kept rows' loss while ascending on the forget rows' (NegGrad+).

    ``L = β · CE(D_r) − (1 − β) · CE(D_f)``, SGD over ``epochs`` passes of the retain
    rows in batches of the classifier's ``batch_size``, each step paired with a batch of
    forget rows, at the mean learning rate of training times ``lr_factor``. BatchNorm
    trains as in ``fit``.

    Parameters
    ----------
    beta : float, default=0.95
        Weight of the kept rows' loss (Kurmanji et al.'s small-scale setting).
    epochs : int, default=1
        Passes over the retain rows.
    lr_factor : float, default=0.1
        Multiplies the training's mean learning rate.

    See Also
    --------
    SCRUB : A teacher-student method from the same paper.
    FineTune : The kept rows alone (``beta = 1``).

    References
    ----------
    .. [1] Kurmanji, Triantafillou, Hayes, Triantafillou. "Towards Unbounded Machine
       Unlearning". NeurIPS 2023.
    .. [2] Cadet, Borovykh, Malekzadeh, Ahmadi-Abhari, Haddadi. "Deep Unlearn:
       Benchmarking Machine Unlearning". arXiv:2410.01276, 2024.
    """

    name = "neggrad_plus"
    needs_retain = True
    guarded = False
    _parameter_constraints: dict = {
        "beta": [Interval(Real, 0, 1, closed="both")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, beta: float = 0.95, epochs: int = 1, lr_factor: float = 0.1) -> None:
        self.beta = beta
        self.epochs = epochs
        self.lr_factor = lr_factor

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        X_r, y_r = request.require_retain(self.name)
        module = host.module_
        device = device_of(module)
        lr = self.lr_factor * host.trace.mean_lr
        optimizer = torch.optim.SGD(list(trainable_parameters(module).values()), lr=lr)
        generator = torch.Generator().manual_seed(0)
        with module_mode(module, True):
            for _ in range(self.epochs):
                for rows in _batches(len(X_r), host.batch_size, generator):
                    # With replacement, at least two rows: BatchNorm in training mode needs two.
                    size = max(2, min(len(rows), request.n_forget))
                    forget = torch.randint(len(request.X_forget), (size,), generator=generator)
                    kept = host.eval_loss(module(X_r[rows].to(device)), y_r[rows].to(device))
                    gone = host.eval_loss(
                        module(request.X_forget[forget].to(device)), request.y_forget[forget].to(device)
                    )
                    loss = self.beta * kept - (1 - self.beta) * gone
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        _clear_grads(module)
        return ForgetOutcome(host.compute_importances(X_r, y_r), {"beta": self.beta, "epochs": self.epochs, "lr": lr})


class SCRUB(BaseUnlearner):
    """Teacher-student unlearning: stay close to the original on kept rows, move away on forget rows (SCRUB).

    The original model is the teacher. Each epoch, while ``epoch < max_steps``, one pass over
    the forget rows maximises ``KL(teacher ‖ student)`` on them; then one pass over the kept
    rows minimises ``α · KL(teacher ‖ student) + γ · CE``. SGD at the training's mean
    learning rate times ``lr_factor``; BatchNorm trains as in ``fit``.

    Parameters
    ----------
    epochs : int, default=2
        Passes over the kept rows.
    max_steps : int, default=1
        Epochs that start with a pass over the forget rows.
    alpha : float, default=1.0
        Weight of the distillation term on the kept rows.
    gamma : float, default=1.0
        Weight of the cross-entropy on the kept rows.
    lr_factor : float, default=0.1
        Multiplies the training's mean learning rate.

    See Also
    --------
    NegGradPlus : Gradient ascent on the forget rows, descent on the kept ones.

    References
    ----------
    .. [1] Kurmanji, Triantafillou, Hayes, Triantafillou. "Towards Unbounded Machine
       Unlearning". NeurIPS 2023.
    """

    name = "scrub"
    needs_retain = True
    guarded = False
    _parameter_constraints: dict = {
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "lr_factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self, epochs: int = 2, max_steps: int = 1, alpha: float = 1.0, gamma: float = 1.0, lr_factor: float = 0.1
    ) -> None:
        self.epochs = epochs
        self.max_steps = max_steps
        self.alpha = alpha
        self.gamma = gamma
        self.lr_factor = lr_factor

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        if request.regression:
            raise ValueError("forget_method='scrub' distils class probabilities; it works for classifiers only.")
        X_r, y_r = request.require_retain(self.name)
        student = host.module_
        teacher = copy.deepcopy(student).eval()
        device = device_of(student)
        lr = self.lr_factor * host.trace.mean_lr
        optimizer = torch.optim.SGD(list(trainable_parameters(student).values()), lr=lr)
        generator = torch.Generator().manual_seed(0)
        with module_mode(student, True):
            for epoch in range(self.epochs):
                if epoch < self.max_steps:
                    for rows in _batches(request.n_forget, host.batch_size, generator):
                        x = request.X_forget[rows].to(device)
                        loss = -_distillation(teacher, student, x)
                        _step(optimizer, loss)
                for rows in _batches(len(X_r), host.batch_size, generator):
                    x, t = X_r[rows].to(device), y_r[rows].to(device)
                    output = student(x)
                    with torch.no_grad():
                        teacher_log_p = F.log_softmax(teacher(x), dim=1)
                    kl = F.kl_div(F.log_softmax(output, dim=1), teacher_log_p, log_target=True, reduction="batchmean")
                    _step(optimizer, self.alpha * kl + self.gamma * host.eval_loss(output, t))
        _clear_grads(student)
        details = {"epochs": self.epochs, "max_steps": self.max_steps, "lr": lr}
        return ForgetOutcome(host.compute_importances(X_r, y_r), details)


def _distillation(teacher, student, x) -> torch.Tensor:
    with torch.no_grad():
        teacher_log_p = F.log_softmax(teacher(x), dim=1)
    return F.kl_div(F.log_softmax(student(x), dim=1), teacher_log_p, log_target=True, reduction="batchmean")


def _step(optimizer, loss) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _batches(n_rows: int, size: int, generator: torch.Generator):
    size = n_rows if size <= 0 else size
    order = torch.randperm(n_rows, generator=generator)
    for start in range(0, n_rows, size):
        rows = order[start : start + size]
        if len(rows) > 1:  # BatchNorm in training mode cannot take a batch of one row
            yield rows


def _clear_grads(module) -> None:
    for p in trainable_parameters(module).values():
        p.grad = None
