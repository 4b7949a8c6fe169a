"""Data: the real DataCo file, a synthetic DataCo-like generator, and label noise."""

from ._dataco import (
    FEATURE_SETS,
    REQUIRED_COLUMNS,
    TARGET_NAMES,
    TARGETS,
    dataco_task,
    delay_days,
    delivery_label,
    load_dataco,
)
from ._noise import inject_label_noise
from ._synthetic import make_supply_chain


def load_supply_chain(n_samples: int = 10_000, random_state=None, features: str = "paper", **kwargs):
    """Synthetic DataCo-like rows turned into a task, exactly as ``load_dataco`` does.

    Parameters
    ----------
    n_samples : int, default=10_000
        Orders to generate.
    random_state : int, RandomState or None
        Seeds the generator.
    features : {"paper", "order_time"}, default="paper"
        As in ``load_dataco``.
    **kwargs
        Passed to ``dataco_task`` (``drop_canceled``, ``test_size``).

    Returns
    -------
    Bunch
        As ``load_dataco`` returns it.
    """
    source = f"synthetic DataCo-like orders from make_supply_chain ({n_samples} rows, random_state={random_state})"
    return dataco_task(make_supply_chain(n_samples, random_state), features=features, source=source, **kwargs)


__all__ = [
    "FEATURE_SETS",
    "REQUIRED_COLUMNS",
    "TARGETS",
    "TARGET_NAMES",
    "dataco_task",
    "delay_days",
    "delivery_label",
    "inject_label_noise",
    "load_dataco",
    "load_supply_chain",
    "make_supply_chain",
]
