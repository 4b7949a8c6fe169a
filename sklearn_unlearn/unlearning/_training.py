"""Strategies that train on the retain rows: fine-tune and retrain (the paper's baselines)."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ._base import BaseUnlearner, ForgetHost, ForgetOutcome, ForgetRequest


class FineTune(BaseUnlearner):
    """Train more epochs on the retain rows only (the paper's fine-tune baseline).

    Parameters
    ----------
    epochs : int, default=1
        Epochs over the retain rows.
    lr_factor : float, default=1.0
        Multiplies the optimizer's current learning rate for these epochs. The paper
        uses its learning-rate decay here (0.95): the next epoch's rate.
    """

    name = "finetune"
    needs_retain = True
    guarded = False
    _parameter_constraints: dict = {
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, epochs: int = 1, lr_factor: float = 1.0) -> None:
        self.epochs = epochs
        self.lr_factor = lr_factor

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        X_r, y_r = request.require_retain(self.name)
        host.train_epochs(X_r, y_r, epochs=self.epochs, lr_factor=self.lr_factor)
        return ForgetOutcome(host.compute_importances(X_r, y_r), {"epochs": self.epochs})


class Retrain(BaseUnlearner):
    """Train from scratch on the retain rows, with the classifier's own settings.

    The gold standard, and the slowest. With ``random_state`` set the new weights start
    from the same initial weights as the original fit.
    """

    name = "retrain"
    needs_retain = True
    guarded = False

    def forget(self, host: ForgetHost, request: ForgetRequest) -> ForgetOutcome:
        X_r, y_r = request.require_retain(self.name)
        host.train_epochs(X_r, y_r, epochs=host.max_epochs, reinitialize=True)
        return ForgetOutcome(host.compute_importances(X_r, y_r), {"epochs": host.max_epochs})
