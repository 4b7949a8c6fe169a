"""Label errors to inject into clean labels."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

NOISE_MODES = ("uniform", "paper")


def inject_label_noise(
    y,
    rate: float,
    random_state: int | np.random.RandomState | None = None,
    mode: str = "uniform",
    *,
    return_selected: bool = False,
):
    """Relabel ``round(rate · n)`` rows chosen at random.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Clean labels (any type); not modified.
    rate : float in [0, 1)
        Share of rows chosen as errors.
    random_state : int, RandomState or None
        Picks the rows and their wrong labels.
    mode : {"uniform", "paper"}, default="uniform"
        ``"uniform"``: each chosen row gets another class, uniformly, never its own.
        ``"paper"`` reproduces the ASSD DataCo notebook, bug included: it walks the
        classes in order with ``if`` instead of ``elif`` (``if y == c: y = random other
        class``), so a relabelled row can be relabelled again. With 3 classes, 62.5 % of
        chosen class-0 rows and 25 % of chosen class-1 rows end with their true label,
        and no row ends as the last class ("late").
    return_selected : bool, default=False
        Also return the mask of chosen rows (in ``"paper"`` mode some keep their label;
        the authors forget all chosen rows).

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The labels, with the errors.
    changed : ndarray of bool
        Rows whose label differs from ``y``.
    selected : ndarray of bool
        Only with ``return_selected=True``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D; got shape {y.shape}.")
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1); got {rate!r}.")
    if mode not in NOISE_MODES:
        raise ValueError(f"mode must be one of {NOISE_MODES}; got {mode!r}.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("Label noise needs at least 2 classes in y.")
    rng = check_random_state(random_state)
    n_errors = int(round(rate * len(y)))
    chosen = rng.choice(len(y), size=n_errors, replace=False)
    codes = np.searchsorted(classes, y)
    new = codes[chosen].copy()
    k = len(classes)
    if mode == "uniform":
        new = (new + rng.randint(1, k, size=n_errors)) % k
    else:
        for c in range(k):
            hit = new == c
            new[hit] = (c + rng.randint(1, k, size=int(hit.sum()))) % k
    noisy_codes = codes.copy()
    noisy_codes[chosen] = new
    y_noisy = classes[noisy_codes]
    changed = noisy_codes != codes
    if return_selected:
        selected = np.zeros(len(y), dtype=bool)
        selected[chosen] = True
        return y_noisy, changed, selected
    return y_noisy, changed
