"""The safety guard: after a weight-changing forget, scale the update back until the model keeps what it knew.

A forget that changes weights without retraining (ASSD, SSD, the gradient methods) moves
the weights from ``w`` to ``w'``. The guard evaluates the model on a small reference sample
of the rows it keeps, the *guard rows*, along the segment ``w + s (w' − w)`` and keeps the
largest ``s`` in ``SCALES`` at which both the rows' *mean confidence* (the mean probability
the model gives each row's label) and their *accuracy* are at most ``TOLERANCE`` (one
percentage point) below their values when the model was trained — or, if earlier forgets
already used that room, no lower than before this one; ``s = 0`` (no update) when no scale
qualifies. And the move must be *specific*: where it lowers the guard rows' mean
confidence at all, it must lower the forget rows' mean confidence at least ``SPECIFICITY``
(ten) times as much; a move that takes as much from the kept rows as from the forgotten
ones is not forgetting those rows, it is degrading the model (what the path-gradient step
does to correctly labelled rows of a model that never memorised them: retraining without
them would change nothing). Every weight-changing method is a move from ``w`` to ``w'``,
so one rule serves all of them, dampening included.

Memorised rows hide one kind of harm: a move can keep every trained row and still cost the
model what it generalised (a model that memorised its rows holds them however the space
between them changes). So for labels the guard also scores the *between rows*: the
midpoint of each guard row and another guard row of the same class, labelled with that
class. The model never trained on them, and they sit where it must generalise; their
accuracy may fall at most ``TOLERANCE`` below its value when the model was trained (or
before this forget), with no allowance for a stage's control. On the memorising models
measured, its drop tracked the drop in test accuracy, and corrective forgets that gained
test accuracy raised it.

Why these two and not the loss: the guard rows were trained on, so a model that memorised
them has a loss near zero on them, and any real forgetting multiplies that loss many times
while test accuracy does not move. Mean confidence is bounded and sees confidence drain
away before rows flip; accuracy sees rows flip where confidence barely moves, as in a model
still unsure of most rows (probabilities near 1/K).

Guard rows are a random sample of at most ``MAX_ROWS`` training rows (fewer for large
inputs such as images: at most ``MAX_BYTES`` of features), drawn at ``fit`` with the
classifier's ``random_state``, each with its loss at the end of training. Forgotten rows
leave the sample. They live in memory only: a saved model holds none (see
``sklearn_unlearn.local_state``); after loading, give the model a sample of the rows it
keeps with ``set_guard_rows`` or the guard cannot run, and then refuses the update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor, nn

from ..utils import trainable_parameters
from ._fit import LabelFit
from ._records import row_fingerprints

SCALES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.35, 0.25, 0.18, 0.125, 0.0625)
TOLERANCE = 0.01  # how far the guard rows' mean confidence and accuracy may fall below the model as trained
SPECIFICITY = 10.0  # how many times more the forget rows' mean confidence must fall than the guard rows'
RowFit = Callable[[nn.Module, Tensor, Tensor], tuple[Tensor, Tensor]]
MAX_ROWS = 1024
MAX_BYTES = 2**26


@dataclass(frozen=True)
class BetweenRows:
    """Pairs of guard rows with the same label, and whether the model gave each pair's midpoint that label.

    Parameters
    ----------
    first, second : Tensor
        Indices into the guard rows (int64), one pair per entry.
    anchor_correct : Tensor
        Whether the model as trained (or as last retrained) predicted each midpoint's label.
    """

    first: Tensor
    second: Tensor
    anchor_correct: Tensor

    @classmethod
    def draw(cls, y: Tensor, rng: np.random.Generator) -> BetweenRows:
        """Pair each row with another row of its class, at random (rows alone in their class get none).

        Parameters
        ----------
        y : Tensor
            The guard rows' class indices.
        rng : numpy.random.Generator
            Draws the partners.

        Returns
        -------
        BetweenRows
            Not yet anchored (``anchor_correct`` all False): see ``anchored``.
        """
        labels = y.numpy()
        first, second = [], []
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            if len(members) < 2:
                continue
            # A random shift of a random order: every row gets a partner other than itself.
            order = rng.permutation(members)
            first.append(order)
            second.append(np.roll(order, int(rng.integers(1, len(order)))))
        pair = [
            torch.as_tensor(np.concatenate(part) if part else np.zeros(0, dtype=np.int64)) for part in (first, second)
        ]
        return cls(pair[0].long(), pair[1].long(), torch.zeros(len(pair[0]), dtype=torch.bool))

    def __len__(self) -> int:
        return len(self.first)

    def rows(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The midpoints and their labels."""
        return (X[self.first] + X[self.second]) / 2, y[self.first]

    def correct(self, module: nn.Module, X: Tensor, y: Tensor, fit: RowFit) -> Tensor:
        """Whether ``module`` predicts each midpoint's label."""
        if len(self) == 0:
            return torch.zeros(0, dtype=torch.bool)
        return fit(module, *self.rows(X, y))[1]

    def anchored(self, module: nn.Module, X: Tensor, y: Tensor, fit: RowFit) -> BetweenRows:
        """The same pairs, with ``module``'s predictions as their reference."""
        return BetweenRows(self.first, self.second, self.correct(module, X, y, fit))

    def subset(self, keep: Tensor) -> BetweenRows:
        """The pairs whose rows are both kept, re-indexed into the kept rows."""
        position = torch.cumsum(keep.long(), 0) - 1
        both = keep[self.first] & keep[self.second]
        return BetweenRows(position[self.first[both]], position[self.second[both]], self.anchor_correct[both])


@dataclass(frozen=True)
class GuardRows:
    """A reference sample of kept rows, with each row's score when the model was trained.

    Parameters
    ----------
    X : Tensor
        Float32 rows, on the CPU.
    y : Tensor
        Encoded labels.
    anchor : Tensor
        The probability of each row's label under the model as trained (or as last
        retrained).
    anchor_correct : Tensor
        Whether the model as trained predicted each row's label (bool).
    fingerprints : ndarray
        Each row's hash (``row_fingerprints``), to find forgotten rows fast.
    fit : callable, default=LabelFit()
        How a model fits a row (``LabelFit`` for labels, ``TargetFit`` for numeric targets):
        ``fit(module, X, y) -> (closeness, hit)``.
    between : BetweenRows or None, default=None
        Same-class pairs of these rows whose midpoints the guard also scores (labels only).
    """

    X: Tensor
    y: Tensor
    anchor: Tensor
    anchor_correct: Tensor
    fingerprints: np.ndarray
    fit: RowFit = field(default_factory=LabelFit)
    between: BetweenRows | None = None

    @classmethod
    def sample_pair(
        cls, module: nn.Module, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, fit: RowFit | None = None
    ) -> tuple[GuardRows, GuardRows]:
        """Two disjoint samples of training rows: one for the guard to judge on, one to repair with.

        A stage that trains on kept rows (the relabel stage) trains on the second sample only,
        so the guard never grades a stage on the rows it trained on.

        Parameters
        ----------
        module : torch.nn.Module
            The trained network.
        X : ndarray
            Float32 training rows.
        y : ndarray
            Their encoded labels.
        rng : numpy.random.Generator
            Draws the samples.
        fit : callable, optional
            How a model fits a row (default: ``LabelFit()``).

        Returns
        -------
        judge, repair : GuardRows
            At most ``MAX_ROWS`` rows each (and ``MAX_BYTES`` of features); the judge sample
            gets the odd row when their count is odd.
        """
        row_bytes = max(int(np.prod(X.shape[1:])) * 4, 1)
        n = min(len(X), 2 * MAX_ROWS, max(2 * MAX_BYTES // row_bytes, 2))
        rows = rng.choice(len(X), size=n, replace=False)
        half = (n + 1) // 2
        fit = fit or LabelFit()
        judge = cls._of(module, X, y, np.sort(rows[:half]), fit)
        if isinstance(fit, LabelFit):  # a midpoint of two numeric targets is no target
            between = BetweenRows.draw(judge.y, rng).anchored(module, judge.X, judge.y, fit)
            judge = replace(judge, between=between)
        return judge, cls._of(module, X, y, np.sort(rows[half:]), fit)

    @classmethod
    def _of(cls, module: nn.Module, X: np.ndarray, y: np.ndarray, rows: np.ndarray, fit=None) -> GuardRows:
        fit = fit or LabelFit()
        X_s, y_s = torch.as_tensor(X[rows]).clone(), torch.as_tensor(y[rows]).clone()
        return cls(X_s, y_s, *fit(module, X_s, y_s), row_fingerprints(X_s.numpy(), y_s.numpy()), fit)

    def __len__(self) -> int:
        return len(self.y)

    def without(self, X: np.ndarray, y: np.ndarray) -> GuardRows:
        """The sample without any of these rows (exact matches of row and label).

        Parameters
        ----------
        X : ndarray
            Rows.
        y : ndarray
            Their encoded labels.

        Returns
        -------
        GuardRows
            The rows that are not among them.
        """
        if len(self) == 0:
            return self
        gone = np.isin(self.fingerprints, row_fingerprints(X, y))
        return self.subset(torch.as_tensor(~gone))

    def kept_in(self, fingerprints: np.ndarray) -> GuardRows:
        """The sample without the rows whose fingerprint is not among ``fingerprints`` (the kept rows').

        Unlike ``without``, a row stays while any copy of it is still kept: on data with repeated
        rows, forgetting some copies must not empty the sample.

        Parameters
        ----------
        fingerprints : ndarray
            The kept rows' hashes.

        Returns
        -------
        GuardRows
            The rows still kept.
        """
        if len(self) == 0:
            return self
        return self.subset(torch.as_tensor(np.isin(self.fingerprints, fingerprints)))

    def subset(self, keep: Tensor) -> GuardRows:
        """The rows where ``keep`` is True.

        Parameters
        ----------
        keep : Tensor of bool
            One flag per row.

        Returns
        -------
        GuardRows
            The kept rows, with their anchors.
        """
        kept = keep.numpy()
        between = None if self.between is None else self.between.subset(keep)
        return GuardRows(
            self.X[keep],
            self.y[keep],
            self.anchor[keep],
            self.anchor_correct[keep],
            self.fingerprints[kept],
            self.fit,
            between,
        )

    def reanchored(self, module: nn.Module) -> GuardRows:
        """The same rows with their scores under ``module`` (after a retrain).

        Parameters
        ----------
        module : torch.nn.Module
            The new network.

        Returns
        -------
        GuardRows
            Anchored at ``module``.
        """
        between = None if self.between is None else self.between.anchored(module, self.X, self.y, self.fit)
        return GuardRows(self.X, self.y, *self.fit(module, self.X, self.y), self.fingerprints, self.fit, between)

    def scores(self, module: nn.Module) -> tuple[float, float]:
        """Mean confidence and accuracy of the module on these rows.

        Parameters
        ----------
        module : torch.nn.Module
            The network to score.

        Returns
        -------
        confidence : float
            Mean probability of the rows' labels.
        accuracy : float
            Share of rows whose label is predicted.
        """
        confidence, correct = self.fit(module, self.X, self.y)
        return float(confidence.mean()), float(correct.float().mean())

    def between_accuracy(self, module: nn.Module) -> float | None:
        """Share of the between rows (same-class midpoints) whose label ``module`` predicts; None without any.

        Parameters
        ----------
        module : torch.nn.Module
            The network to score.

        Returns
        -------
        float or None
            The share, or None for guard rows without between rows (numeric targets, or no
            class with two rows).
        """
        if self.between is None or len(self.between) == 0:
            return None
        return float(self.between.correct(module, self.X, self.y, self.fit).float().mean())


def guard_update(
    module: nn.Module,
    before: dict[str, Tensor],
    rows: GuardRows,
    scores_before: tuple[float, float],
    forget_rows: tuple[Tensor, Tensor],
    control: Callable[[], nn.Module] | None = None,
) -> dict:
    """Scale the move from ``before`` to the module's current weights back until it is safe.

    Parameters
    ----------
    module : torch.nn.Module
        Holds the updated weights; left at the accepted point.
    before : dict of str to Tensor
        Every trainable parameter before the update.
    rows : GuardRows
        The reference sample (forget rows already removed); not empty.
    scores_before : (float, float)
        Mean confidence and accuracy of ``rows`` before the update.
    forget_rows : (Tensor, Tensor)
        The rows being forgotten and their labels (for the specificity check).
    control : callable, optional
        Builds the stage's control (``ForgetOutcome.control``). Such a stage's targets are
        soft by design, so confidence is not bounded (the specificity rule still weighs it,
        in accuracy). What the control loses of the kept rows is the stage's mechanics, not
        its purpose: the rows' reference (their anchor) drops to the control's per-row
        scores, for this forget and every later one, and the stage's purpose must fit in
        the room that leaves. The control costs as much as the stage, so it is built only
        when the full move fails without that room: the room can only widen the bounds, so
        a move that passes without it would pass with it.

    Returns
    -------
    report : dict
        ``guard_scale`` (the ``s`` kept), the mean confidence and accuracy of the guard rows
        before and after (``guard_confidence_*``, ``guard_accuracy_*``) with the bounds
        they had to meet, ``guard_control`` (for a stage with a control: whether it was
        built) and ``guard_rows``, for ``forget_log_``.
    rows : GuardRows
        The reference sample for later stages and forgets (re-anchored after a control).
    """
    after = {k: p.detach().clone() for k, p in trainable_parameters(module).items()}
    judged = (module, before, after, rows, scores_before, forget_rows)
    if control is None:
        return _guarded(*judged, soft=False)
    report, kept = _guarded(*judged, soft=True)
    if report["guard_scale"] == SCALES[0]:
        return {**report, "guard_control": "not needed: the full move passed without it"}, kept
    report, kept = _guarded(*judged, soft=True, control=control())
    return {**report, "guard_control": "built"}, kept


def _guarded(
    module: nn.Module,
    before: dict[str, Tensor],
    after: dict[str, Tensor],
    rows: GuardRows,
    scores_before: tuple[float, float],
    forget_rows: tuple[Tensor, Tensor],
    *,
    soft: bool,
    control: nn.Module | None = None,
) -> tuple[dict, GuardRows]:
    """``guard_update`` from ``before`` to ``after``, with the control, if any, built; ``soft``: confidence unbounded."""
    params = trainable_parameters(module)
    erosion = 0.0
    if control is not None:
        confidence, correct = rows.fit(control, rows.X, rows.y)
        erosion = max(0.0, scores_before[1] - float(correct.float().mean()))
        anchor, anchor_correct = torch.minimum(rows.anchor, confidence), rows.anchor_correct & correct
        rows = replace(rows, anchor=anchor, anchor_correct=anchor_correct)
    anchor = (float(rows.anchor.mean()), float(rows.anchor_correct.float().mean()))
    bounds = tuple(min(a - TOLERANCE, b - erosion) for a, b in zip(anchor, scores_before, strict=True))
    if soft:
        bounds = (-np.inf, bounds[1])
    _move(params, before, after, 0.0)
    between_before = rows.between_accuracy(module)
    between_bound = None
    if between_before is not None:
        between_anchor = float(rows.between.anchor_correct.float().mean())
        between_bound = min(between_anchor - TOLERANCE, between_before)
    # Specificity in the measure the bounds hold: accuracy after a control (whose stage's
    # soft targets lower every confidence a little), confidence otherwise.
    measure = 1 if soft else 0
    forget_before = _forget_scores(rows.fit, module, forget_rows)

    def check(scale: float):
        """The guard-row scores and forget-row confidence at ``scale`` if the move is acceptable there, else None."""
        _move(params, before, after, scale)
        trial = rows.scores(module)
        if not all(np.isfinite(t) and t >= b for t, b in zip(trial, bounds, strict=True)):
            return None
        between = rows.between_accuracy(module)
        if between_bound is not None and between < between_bound:
            return None
        forget_trial = _forget_scores(rows.fit, module, forget_rows)
        guard_drop = scores_before[measure] - erosion * measure - trial[measure]
        specific = guard_drop <= 0 or forget_before[measure] - forget_trial[measure] >= SPECIFICITY * guard_drop
        return (trial, forget_trial, between) if specific else None

    chosen, scores, forget_after, between_after = 0.0, scores_before, forget_before, between_before
    # Harm grows with the scale: if the smallest scale fails, none passes; otherwise the
    # largest passing one is found by bisection over SCALES (decreasing), a handful of checks
    # instead of one per scale. Every scale kept was checked.
    best, result = len(SCALES) - 1, check(SCALES[-1])
    if result is not None:
        high = 0  # SCALES[high:best] are unchecked; SCALES[best] passes
        while high < best:
            middle = (high + best) // 2
            found = check(SCALES[middle])
            if found is not None:
                best, result = middle, found
            else:
                high = middle + 1
        chosen, (scores, forget_after, between_after) = SCALES[best], result
    _move(params, before, after, chosen)
    return {
        "guard_scale": chosen,
        "guard_erosion_allowed": erosion,
        "guard_confidence_before": scores_before[0],
        "guard_confidence_after": scores[0],
        "guard_confidence_bound": bounds[0],
        "guard_accuracy_before": scores_before[1],
        "guard_accuracy_after": scores[1],
        "guard_accuracy_bound": bounds[1],
        "guard_forget_confidence_before": forget_before[0],
        "guard_forget_confidence_after": forget_after[0],
        "guard_forget_agreement_before": forget_before[1],
        "guard_forget_agreement_after": forget_after[1],
        "guard_rows": len(rows),
        **(
            {}
            if between_bound is None
            else {
                "guard_between_accuracy_before": between_before,
                "guard_between_accuracy_after": between_after,
                "guard_between_accuracy_bound": between_bound,
                "guard_between_rows": len(rows.between),
            }
        ),
    }, rows


def _forget_scores(fit: RowFit, module: nn.Module, forget_rows: tuple[Tensor, Tensor]) -> tuple[float, float]:
    confidence, correct = fit(module, *forget_rows)
    return float(confidence.mean()), float(correct.float().mean())


@torch.no_grad()
def _move(params: dict[str, Tensor], before: dict[str, Tensor], after: dict[str, Tensor], scale: float) -> None:
    for name, p in params.items():
        # lerp at 0 of a non-finite update would still be NaN: copy the start instead.
        p.copy_(before[name] if scale == 0 else torch.lerp(before[name], after[name], scale))
