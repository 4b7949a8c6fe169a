"""The regression grids of ``benchmarks.beyond``: wrong day counts (typos) forgotten by a regressor.

Task ``typos``: that share of the training targets replaced by a plausible data-entry typo,
each at random one of: the value times ten, its sign flipped, or the value plus 3-5 standard
deviations (up or down); a zero, which a sign flip leaves alone, gets the shift. Methods as for
classification, without the classifier-only ones, plus the detect -> forget pipeline
(``ResidualDetector`` + the default forget) and detect -> drop.

Goals, on the means over seeds of each cell:
* forget: where the baseline memorised (its predictions on the typo rows at least
  ``MEMORISED_SHARE`` closer to the typos than the retrain's), the predictions move at least
  ``MOVE_SHARE`` of the way from the baseline's distance to the typos to the retrain's;
* test: test R² at least the baseline's minus ``R2_SLACK``;
* time: at most ``TIME_SHARE`` of the retrain's seconds;
* the pipelines: test R² at least the baseline's.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from sklearn_unlearn import FineTune, ResidualDetector, make_pipeline

from .common import timed
from .tasks import Task

MEMORISED_SHARE = 0.2
MOVE_SHARE = 0.8
R2_SLACK = 0.005
TIME_SHARE = 0.10
PLANS = {  # name: (parameters set on the copy, given the retain rows, forget's keyword arguments)
    "retrain": ({"forget_method": "retrain"}, True, {}),
    "fine-tune": ({"forget_method": FineTune(epochs=1, lr_factor=0.95)}, True, {}),
    "NegGrad+": ({"forget_method": "neggrad_plus"}, True, {}),
    "default": ({}, False, {}),
    "default, unguarded": ({}, False, {"guard": False}),
}
METHODS = ["baseline", *PLANS, "detect + forget", "detect + drop"]


def typos(y: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(targets with typos, mask of the rows changed)``."""
    y = np.asarray(y, dtype=np.float32)
    chosen = np.zeros(len(y), dtype=bool)
    rows = rng.choice(len(y), size=max(1, round(rate * len(y))), replace=False)
    chosen[rows] = True
    wrong, spread = y.copy(), float(np.std(y))
    kinds = rng.integers(0, 3, size=len(rows))
    for row, kind in zip(rows, kinds, strict=True):
        value = y[row]
        if kind == 0 and abs(value) * 9 > spread:  # times ten, when that is a visible change
            wrong[row] = value * 10
        elif kind == 1 and value != 0:
            wrong[row] = -value
        else:
            wrong[row] = value + rng.choice([-1, 1]) * rng.uniform(3, 5) * spread
    return wrong, chosen


def run_cell(data: Task, size: str, rate: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    y_train, chosen = typos(data.y_train, rate, rng)
    X_f, y_f = data.X_train[chosen], y_train[chosen]
    X_r, y_r = data.X_train[~chosen], y_train[~chosen]
    baseline, fit_seconds = timed(lambda: data.make(size, seed).fit(data.X_train, y_train))
    models = [("baseline", baseline, fit_seconds)]
    for name, (params, with_retain, kwargs) in PLANS.items():
        model = copy.deepcopy(baseline).set_params(**params)
        call = {**kwargs, **({"X_retain": X_r, "y_retain": y_r} if with_retain else {})}
        _, seconds = timed(lambda model=model, call=call: model.forget(X_f, y_f, **call))
        models.append((name, model, seconds))
    for name, detected in (("detect + forget", "forget"), ("detect + drop", "drop")):
        pipe = make_pipeline(ResidualDetector(random_state=seed), data.make(size, seed), detected=detected)
        _, seconds = timed(lambda pipe=pipe: pipe.fit(data.X_train, y_train))
        models.append((name, pipe, seconds))
    return [
        {
            "task": "typos",
            "size": size,
            "rate": rate,
            "seed": seed,
            "method": name,
            "test_r2": model.score(data.X_test, data.y_test),
            "forget_dist": float(np.abs(model.predict(X_f).reshape(-1) - y_f).mean()),
            "seconds": seconds,
            "n_forget": int(chosen.sum()),
        }
        for name, model, seconds in models
    ]


def goal_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Means ± std per cell and method, with each goal's verdict."""
    rows = []
    for (dataset, size, rate), block in frame.groupby(["dataset", "size", "rate"], sort=False):
        means = block.groupby("method").mean(numeric_only=True)
        base, retrain = means.loc["baseline"], means.loc["retrain"]
        memorised = retrain.forget_dist - base.forget_dist >= MEMORISED_SHARE * retrain.forget_dist
        for method in [m for m in METHODS if m in means.index]:
            part, mean = block[block.method == method], means.loc[method]
            moved = (mean.forget_dist - base.forget_dist) / max(retrain.forget_dist - base.forget_dist, 1e-12)
            pipeline = method.startswith("detect")
            rows.append(
                {
                    "dataset": dataset,
                    "size": size,
                    "rate %": rate * 100,
                    "method": method,
                    "seeds": part.seed.nunique(),
                    "test R²": f"{mean.test_r2:.4f} ± {part.test_r2.std(ddof=1) if len(part) > 1 else 0:.4f}",
                    "ΔR²": mean.test_r2 - base.test_r2,
                    "distance to typos": mean.forget_dist,
                    "moved toward retrain": moved if method != "baseline" else np.nan,
                    "time / retrain": mean.seconds / retrain.seconds,
                    "forget goal": "n/a" if not memorised or pipeline else ("yes" if moved >= MOVE_SHARE else "no"),
                    "test goal": "yes" if mean.test_r2 >= base.test_r2 - (0 if pipeline else R2_SLACK) else "no",
                    "time goal": "n/a"
                    if pipeline
                    else ("yes" if mean.seconds <= TIME_SHARE * retrain.seconds else "no"),
                }
            )
    return pd.DataFrame(rows)
