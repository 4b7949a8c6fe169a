"""Running a forget strategy: its stages, each behind the safety guard, and what goes in the log."""

from __future__ import annotations

from typing import Any

from ..utils import clone_parameters, warn
from ._base import ForgetHost, ForgetOutcome, ForgetRequest, Unlearner
from ._guard import GuardRows, guard_update


def stages_of(unlearner: Unlearner, request: ForgetRequest) -> list[Unlearner]:
    """The strategies a forget runs in turn: ``unlearner.stages(request)`` if it has them, else itself."""
    stages = getattr(unlearner, "stages", None)
    return list(stages(request)) if callable(stages) else [unlearner]


def method_name(unlearner: Any) -> str:
    return getattr(unlearner, "name", "") or type(unlearner).__name__


def run_forget(
    host: ForgetHost, unlearner: Unlearner, request: ForgetRequest, guard_rows: GuardRows | None, guard: bool
) -> tuple[ForgetOutcome, dict[str, Any], GuardRows | None]:
    """Run every stage of ``unlearner``; guard the ones that change weights without retraining.

    Returns the last stage's outcome, the log entry's details and the guard rows as the
    guard left them (re-anchored after a stage whose control the guard built). The details are those
    (and the guard report) of the stage that is ``unlearner`` itself, or else of the
    first stage, at the top level, and one dict per stage under ``"stages"`` when there
    are several, with ``"guard_scales"`` (one per stage, None where a stage is not
    guarded) beside them: the top-level details describe what that stage proposed, the
    scales what was kept.
    """
    stages = stages_of(unlearner, request)
    blind = guard and (guard_rows is None or len(guard_rows) == 0)
    if blind and any(getattr(stage, "guarded", True) for stage in stages):
        warn(
            "The forget guard has no reference rows (a model loaded from a file keeps none, and forgets can "
            "use them all up), so the guarded stages were not applied. Give the model a sample of the rows it "
            "keeps with set_guard_rows(X, y), or forget with guard=False to apply them unchecked."
        )
    reports, outcome, main = [], ForgetOutcome(None), 0
    for index, stage in enumerate(stages):
        main = index if stage is unlearner else main
        guarded = guard and getattr(stage, "guarded", True)
        if guarded and blind:
            # The safe side: no reference rows, no way to know an update is harmless.
            reports.append({"method": method_name(stage), **_NOT_APPLIED})
            continue
        before = clone_parameters(host.module_) if guarded else None
        scores = guard_rows.scores(host.module_) if guarded else None
        outcome = stage.forget(host, request)
        if not isinstance(outcome, ForgetOutcome):
            raise TypeError(f"{type(stage).__name__}.forget must return a ForgetOutcome; it returned {outcome!r}.")
        report = {"method": method_name(stage), **outcome.details}
        if guarded:
            forget_rows = (request.X_forget, request.y_forget)
            checked, guard_rows = guard_update(host.module_, before, guard_rows, scores, forget_rows, outcome.control)
            report.update(checked)
        reports.append(report)
    details = {k: v for k, v in reports[main].items() if k != "method"}
    if len(reports) > 1:
        details["stages"] = reports
        details["guard_scales"] = [report.get("guard_scale") for report in reports]
    return outcome, details, guard_rows


_NOT_APPLIED = {"guard_scale": 0.0, "guard_rows": 0, "guard_note": "no reference rows: update not applied"}
