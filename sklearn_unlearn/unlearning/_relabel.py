"""Relabel: the corrective forget that pulls wrong rows toward what the model itself believes instead.

For rows whose labels are wrong, "forgetting" means the model stops predicting those labels
and predicts what it would have without them. The model's own belief with the wrong label's
mass removed is a target it can reach in a few steps, and a sample of the kept rows, trained
on at the same time, holds the rest of the model in place.
"""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import device_of, eval_mode, trainable_parameters
from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest
from ._fit import label_confidence
from ._gradient import PathGradient
from ._rules import assd_percentile, percentile

_VISITS = 10  # times each forget row is seen, about
_MIN_STEPS = 15
_BUDGET = 0.05  # of the rows training processed
_LONGEST = 0.1  # of the rows training processed: how far the stage and its control may go on for rows not yet forgotten
_DONE = 0.1  # share of forget rows still predicting their given label at which the stage may stop
_CHUNK = 5
_EXTRA = 4


def _agreement(module, rows: tuple[torch.Tensor, torch.Tensor]) -> float:
    return float(label_confidence(module, *rows)[1].float().mean())


def on_course(start: float, now: float, steps_taken: int, steps_left: int, done_at: float) -> bool:
    """Whether rows still agreeing with their labels will be down to ``done_at`` in ``steps_left`` more steps.

    At the pace of the steps so far (from ``start`` to ``now`` in ``steps_taken``): a
    forget whose rows have stopped moving, or move too slowly to get there, is not worth
    more steps.

    Parameters
    ----------
    start, now : float
        Share of the forget rows predicted with their given label, before and after ``steps_taken``.
    steps_taken, steps_left : int
        Steps so far, and steps the budget still allows.
    done_at : float
        The share at which the rows count as forgotten.

    Returns
    -------
    bool
    """
    pace = (start - now) / max(steps_taken, 1)
    return now <= done_at or (pace > 0 and now - done_at <= pace * steps_left)


def memorised(agreement: float, n_forget: int, kept_error: float, n_kept: int) -> bool:
    """Whether the model gives the forget rows their labels more often than chance explains.

    A model that never learned a row's wrong label still predicts it wherever it errs; so it
    agrees with wrong labels about as often as it errs on rows it keeps. Only agreement above
    that, by more than two standard errors of the difference, is memorisation.

    Parameters
    ----------
    agreement : float
        Share of the forget rows the model predicts with their given label.
    n_forget : int
        Number of forget rows.
    kept_error : float
        Share of a sample of kept rows the model gets wrong.
    n_kept : int
        Size of that sample.

    Returns
    -------
    bool
    """
    spread = math.sqrt(agreement * (1 - agreement) / max(n_forget, 1) + kept_error * (1 - kept_error) / max(n_kept, 1))
    return agreement > kept_error + 2 * spread


def belief_without_label(proba: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The model's class probabilities with each row's label removed and the rest renormalised.

    A row the model gives all its mass to (the others underflow to zero) gets the other classes
    uniformly.

    Parameters
    ----------
    proba : Tensor of shape (n_samples, n_classes)
        Class probabilities.
    y : Tensor of shape (n_samples,)
        Each row's class index.

    Returns
    -------
    Tensor of shape (n_samples, n_classes)
        Probabilities that give the row's label nothing.
    """
    target = proba.detach().clone().float()
    rows = torch.arange(len(y))
    target[rows, y] = 0.0
    mass = target.sum(dim=1, keepdim=True)
    uniform = torch.ones_like(target)
    uniform[rows, y] = 0.0
    uniform /= uniform.sum(dim=1, keepdim=True)
    return torch.where(mass > 1e-12, target / mass.clamp_min(1e-12), uniform)


class Relabel(BaseUnlearner):
    """Pull the forget rows toward the model's own belief without their labels, repairing on kept rows.

    For ``steps`` Adam steps the module minimises, on a batch of each,

    ``CE(y, p(x)) over repair rows  +  w * CE(q_x, p(x)) over forget rows``

    where ``q_x`` is the model's class distribution on ``x`` before the forget with the given
    label's mass removed and the rest renormalised (``belief_without_label``), the repair
    rows are a sample of kept rows the classifier keeps in memory, disjoint from the rows the
    guard judges on, and ``w = |D_f| / (|D| - |D_f|)`` by default: each forget row weighs what
    it weighed in training, as one row among the rest (the loss training would have had with
    those rows' targets replaced). A memorised row's loss under its new target is large, so the
    rows still move in a few steps; weighted equally with the kept rows they pulled the whole
    model after them and cost test accuracy on wide networks. BatchNorm statistics stay as
    trained (the module runs in eval mode; gradients still reach every weight). The module
    must return logits.

    This is the corrective case (``reason="correction"``): the labels are wrong, so the model
    should stop predicting them. It runs only when the model memorised them: it must give the forget rows their labels more often than it errs
    on the repair rows (``memorised``); a model that never learned the wrong labels is left
    as it is, with the reason in ``forget_log_``. For a deletion request (``reason="deletion"``) the given
    labels are right and the target would push the model away from the truth; there the
    stage trains on the repair rows only.

    Without repair rows (a model loaded from a file, before ``set_guard_rows``, or a sample
    used up by earlier forgets) it cannot hold the rest of the model in place, so it runs
    the path-gradient step instead (``PathGradient``, behind the same guard) and says so in
    ``forget_log_`` (``fallback``).

    A correction returns a *control* with its outcome: the same steps on the same batches
    without the forget rows' term. The guard trains it only if the stage's move fails without
    it, and then lets the kept rows lose what the control loses (the stage's mechanics).

    Only the weights the forget rows weigh on most, relative to the rows kept, move: the
    top share of ``I_Df / I_Dr`` (ASSD's relative importance), ``share_factor`` times the
    share ASSD's own rule dampens (``ln(1 + 100 |D_f| / |D|)`` percent), at most all of
    them. Moving every weight also wipes out what the model memorised of the kept rows;
    moving these rewrites the forget rows and leaves the rest.

    Parameters
    ----------
    steps : int or "auto", default="auto"
        Adam steps. ``"auto"``: enough for each forget row to be seen about ten times,
        at least 15, and at most what keeps the stage's rows within 5 % of the rows
        training processed (the training trace counts them), unless that is below 15;
        then, while more than one forget row in ten (or, if higher, the share of repair rows
        the model gets wrong) still gets its given label, five more
        at a time, up to four times as many; past that, only while the rows are on course
        to be forgotten (``on_course``, at the pace so far) before the rows of the stage and
        of its control (which takes the same steps on the kept rows) reach 10 % of the rows
        training processed (a strongly memorised row takes longer, and a model trained long
        has the budget for it; rows that barely move are not worth it).
    lr : float, default=1e-3
        Adam's step size (its default): each weight moves at most about ``lr`` per step,
        whatever the scale of the gradients.
    batch_size : int, default=256
        Rows of each kind per step (all of them when fewer).
    share_factor : float or None, default=10.0
        How many times ASSD's share of the weights may move; None moves every weight.
    forget_weight : float or "share", default="share"
        ``w`` above: the forget rows' term relative to the repair rows' (both are means
        over their batch). ``"share"``: ``|D_f| / (|D| - |D_f|)``, the forget rows' weight in
        training.

    See Also
    --------
    ASSD : The default forget, which runs this stage first for label errors.
    PathGradient : Undo the rows' share of training along the training path.

    References
    ----------
    .. [1] Goel, Prabhu, Torr, Dokania, Kumaraguru. "Corrective Machine Unlearning".
       TMLR 2024 (the corrective setting).
    .. [2] Kurmanji, Triantafillou, Hayes, Triantafillou. "Towards Unbounded Machine
       Unlearning". NeurIPS 2023 (SCRUB: forget and retain terms optimised together).
    """

    name = "relabel"
    _parameter_constraints: dict = {
        "steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "share_factor": [Interval(Real, 0, None, closed="neither"), None],
        "forget_weight": [Interval(Real, 0, None, closed="neither"), StrOptions({"share"})],
    }

    def __init__(
        self,
        steps: int | str = "auto",
        lr: float = 1e-3,
        batch_size: int = 256,
        share_factor: float | None = 10.0,
        forget_weight: float | str = "share",
    ) -> None:
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size
        self.share_factor = share_factor
        self.forget_weight = forget_weight

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        if request.regression:
            raise ValueError(
                "forget_method='relabel' rewrites class labels; a regressor's targets are numbers. Use the default "
                "('assd': a path-gradient step, then the ASSD rule) or 'path_gradient'."
            )
        repair = host.repair_rows()
        if repair is None or len(repair[1]) == 0:
            # Pulling the forget rows with nothing to hold the rest in place moves the whole model.
            stepped = PathGradient().forget(host, request)
            note = "no repair rows (set_guard_rows gives some): the path-gradient step instead"
            details = {"steps": 0, "note": note, "fallback": PathGradient.name, **stepped.details}
            return ForgetOutcome(stepped.retain_importances, details)
        module = host.module_
        correcting = request.reason == "correction"
        target, done_at, judged = None, _DONE, {"repair_rows": len(repair[1])}
        if correcting:
            proba = host.probabilities(request.X_forget)
            still = proba.argmax(dim=1).cpu() == request.y_forget.cpu()
            kept_error = float((host.probabilities(repair[0]).argmax(dim=1).cpu() != repair[1].cpu()).float().mean())
            agreement = float(still.float().mean())
            judged.update(forget_agreement=agreement, kept_error=kept_error)
            if not memorised(agreement, len(still), kept_error, len(repair[1])):
                # A model predicts a wrong label about as often as it errs on rows it keeps when it
                # never memorised them (the label is then often the likelier class): pulling those
                # rows away moves the model off what it learned from everything else.
                note = (
                    f"the model gives {agreement:.1%} of the forget rows their label and errs on {kept_error:.1%} "
                    "of the kept rows: nothing memorised to correct"
                )
                return ForgetOutcome(None, {"steps": 0, "note": note, **judged})
            # Every forget row takes part: for a row the model already predicts otherwise the target
            # is close to what it predicts, which holds that row in place while the others move.
            target = belief_without_label(proba, request.y_forget)
            done_at = max(_DONE, kept_error)
        masks, share = self._movable(host, request)
        steps = self._steps(host, request.n_forget)
        before = copy.deepcopy(module.state_dict()) if correcting else None  # the control's start
        until = (request.X_forget, request.y_forget) if correcting and self.steps == "auto" else None
        X_pulled = request.X_forget if correcting else None
        weight = self._weight(request)
        steps = self._train(host, module, repair, X_pulled, target, masks, steps, until, done_at, weight)
        control = None
        if correcting:

            def control() -> torch.nn.Module:
                """The same steps on the same batches without the forget rows' targets."""
                twin = copy.deepcopy(module)
                twin.load_state_dict(before)
                self._train(host, twin, repair, None, None, masks, steps)
                return twin

        details = {"steps": steps, "lr": self.lr, **judged, "weights_share": share}
        if correcting:
            details["forget_weight"] = weight
        if masks is not None:
            details["selected_per_parameter"] = {k: int(m.sum()) for k, m in masks.items()}
        details["target"] = "belief without the label" if correcting else "none (deletion: repair rows only)"
        return ForgetOutcome(None, details, control)

    def _train(
        self,
        host: ForgetHost,
        module,
        repair,
        X_f,
        target,
        masks,
        steps: int,
        until=None,
        done_at: float = _DONE,
        weight: float = 1.0,
    ) -> int:
        """Adam steps on the repair rows, plus the forget rows' targets when given; the steps taken.

        With ``until`` (the forget rows and their labels) the steps go on past ``steps``, five
        at a time, while more than ``done_at`` of those rows still get their label: up to four
        times as many, and past that, within the ``_LONGEST`` budget of the stage and its
        control together, only while the rows are ``on_course`` to be forgotten within it.
        """
        device = device_of(module)
        X_r, y_r = repair[0].to(device), repair[1].to(device)
        params = trainable_parameters(module)
        optimizer = torch.optim.Adam(list(params.values()), lr=self.lr, foreach=True)
        # Its own generator: the same forget gives the same model (and the control the same
        # batches), and the global stream is untouched.
        generator = torch.Generator().manual_seed(0)

        def step() -> None:
            kept = _batch(len(X_r), self.batch_size, generator)
            forget = _batch(len(X_f) if X_f is not None else 1, self.batch_size, generator)
            if target is None:
                loss = host.eval_loss(module(X_r[kept]), y_r[kept])
            else:
                output = module(torch.cat([X_r[kept], X_f[forget].to(device)]))
                log_p = F.log_softmax(output[len(kept) :], dim=1)
                soft = (target[forget].to(device) * log_p).sum(dim=1).mean()
                loss = host.eval_loss(output[: len(kept)], y_r[kept]) - weight * soft
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for name, p in params.items():
                if masks is not None and p.grad is not None:
                    p.grad.mul_(masks[name])
            optimizer.step()

        with eval_mode(module):  # BatchNorm as trained: one forward pass can take both kinds of rows
            for _ in range(steps):
                step()
            taken = steps
            if until is not None:
                sure = _EXTRA * steps
                # The control, if the guard needs it, repeats every step on a batch of kept rows.
                longest = max(sure, self._rows_budget(host, _LONGEST, rows_per_step=3 * self.batch_size))
                start = now = _agreement(module, until)
                while taken < longest and now > done_at:
                    if taken >= sure and not on_course(start, now, taken - steps, longest - taken, done_at):
                        break
                    for _ in range(_CHUNK):
                        step()
                    taken += _CHUNK
                    now = _agreement(module, until)
        for p in params.values():
            p.grad = None
        return taken

    def _weight(self, request: ForgetRequest) -> float:
        if self.forget_weight != "share":
            return float(self.forget_weight)
        return request.n_forget / max(request.n_train - request.n_forget, 1)

    def _steps(self, host: ForgetHost, n_rows: int) -> int:
        if self.steps != "auto":
            return int(self.steps)
        visits = math.ceil(_VISITS * n_rows / self.batch_size)
        budget = self._rows_budget(host, _BUDGET, rows_per_step=2 * self.batch_size)
        return int(min(max(visits, _MIN_STEPS), max(budget, _MIN_STEPS)))

    def _rows_budget(self, host: ForgetHost, share: float, rows_per_step: int) -> int:
        """Steps of ``rows_per_step`` rows that add up to ``share`` of the rows training processed."""
        return int(share * host.trace.n_rows_seen / rows_per_step)

    def _movable(self, host: ForgetHost, request: ForgetRequest) -> tuple[dict[str, torch.Tensor] | None, float]:
        """Per parameter, 1 where the weight may move (its ``I_Df / I_Dr`` is in the top share), else 0."""
        if self.share_factor is None:
            return None, 1.0
        share = min(1.0, self.share_factor * (100.0 - assd_percentile(request.n_forget, request.n_train)) / 100.0)
        if share >= 1.0:
            return None, 1.0
        split = host.importance_split(request)
        ratios = {k: split.forget[k] / split.retain[k].clamp_min(torch.finfo(torch.float32).tiny) for k in split.retain}
        cut = percentile(torch.cat([r.flatten() for r in ratios.values()]), 100.0 * (1.0 - share))
        return {k: (r >= cut).to(r.dtype) for k, r in ratios.items()}, share


def _batch(n_rows: int, size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randperm(n_rows, generator=generator)[:size]
