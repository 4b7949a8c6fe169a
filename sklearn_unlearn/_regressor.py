"""UnlearnableRegressor: a skorch ``NeuralNetRegressor`` that can forget training rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ._modules import MLP
from .nets import SklearnNetRegressor
from .unlearning import TargetFit, Unlearner, UnlearnMixin, make_unlearner
from .utils import device_of, eval_mode, row_batches

# Methods that work on class labels only: relabelling needs another label to move to, SCRUB
# distils class probabilities.
CLASSIFIER_ONLY = ("relabel", "scrub")


class UnlearnableRegressor(UnlearnMixin, SklearnNetRegressor):
    """A neural-network regressor for plain scikit-learn data that can forget rows.

    The regression twin of ``UnlearnableClassifier``: a skorch ``NeuralNetRegressor``
    (every skorch parameter works), a scikit-learn regressor (``score`` is R²), and the
    same ``forget``: no parameters, no retain rows, every weight-changing stage behind the
    guard. ``y`` may be one target per row (``predict`` then returns that shape) or
    several.

    What forgetting a number means: a row whose target is wrong (a day count keyed as 40
    instead of 4) pulled the model toward the wrong value; forgetting it should leave the
    model predicting what it would have predicted without the row. Unlike a wrong label,
    a wrong number says nothing about the right one, so the default forget does for
    corrections what it does for deletions: a path-gradient step that undoes the rows'
    share of training (every row
    in full: under squared error a row the model does not fit pulls hardest), then the
    ASSD rule, each guarded. The guard measures fit as the kept rows' mean closeness
    ``exp(−r²/2σ²)`` and their share within ``2σ`` of their targets, ``σ`` the training rows'
    robust residual scale (1.4826 × the median absolute residual) when the model was
    trained.

    Methods: ``"assd"`` (default), ``"ssd"``, ``"path_gradient"``, ``"single_gradient"``,
    ``"newton"``, ``"ewc_ascent"``, ``"finetune"``, ``"retrain"``, ``"neggrad_plus"`` and
    your own. ``"relabel"`` and ``"scrub"`` work on class labels and are refused.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLP
        The network; a class taking ``n_features`` and ``n_outputs`` (or ``n_classes``)
        gets them from the data.
    criterion : torch loss class, default=torch.nn.MSELoss
        Mean loss over a batch; also the loss the importances are taken of.
    optimizer : torch optimizer class, default=torch.optim.SGD
        Trains the network; its settings go by ``optimizer__<name>``.
    lr : float, default=0.01
        Learning rate.
    max_epochs : int, default=25
        Epochs of ``fit``.
    batch_size : int, default=128
        Training batch size (-1: all rows in one batch).
    train_split : callable or None, default=None
        skorch's validation split; None trains on every row.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else CPU.
    verbose : int, default=0
        0 is silent; 1 prints skorch's epoch table.
    forget_method : str or strategy object, default="assd"
        What ``forget`` does (see above); ``forget_method__<name>`` sets a method's own
        hyper-parameters.
    importance : {"per_sample", "minibatch"}, default="per_sample"
        Form of the diagonal Fisher.
    guard : bool, default=True
        Check every weight-changing forget on a reference sample of kept rows.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, batch order and dropout.
    **kwargs
        Further skorch parameters, prefixed as skorch expects.

    Attributes
    ----------
    n_features_in_ : int
        Features per row.
    n_outputs_ : int
        Targets per row.
    forget_state_ : ForgetState
        What ``forget`` needs from training (its ``target_scale`` is ``σ``).
    forget_log_ : list of dict
        One entry per ``forget``.

    See Also
    --------
    UnlearnableClassifier : The classifier, with the relabel stage for label errors.
    skorch.NeuralNetRegressor : The net this regressor is.

    References
    ----------
    .. [1] Thudi, Deza, Chandrasekaran, Papernot. "Unrolling SGD: Understanding Factors
       Influencing Machine Unlearning". IEEE EuroS&P 2022.
    .. [2] Schoepf, Foster, Brintrup. "Parameter-tuning-free data entry error unlearning
       with adaptive selective synaptic dampening". 2024.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_unlearn import UnlearnableRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)
    >>> reg = UnlearnableRegressor(max_epochs=5, random_state=0).fit(X, y / 100)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.forget(X[:3], y[:3] / 100).forget_log_[-1]["n_forget"]
    3
    """

    prefixes_ = [*SklearnNetRegressor.prefixes_, "forget_method"]
    _parameter_constraints: dict = {**SklearnNetRegressor._parameter_constraints, **UnlearnMixin._unlearn_constraints}
    _records = (*SklearnNetRegressor._records, *UnlearnMixin._unlearn_records)

    def __init__(
        self,
        module: type[nn.Module] | nn.Module = MLP,
        *,
        criterion: type[nn.Module] = nn.MSELoss,
        optimizer: type[torch.optim.Optimizer] = torch.optim.SGD,
        lr: float = 0.01,
        max_epochs: int = 25,
        batch_size: int = 128,
        train_split: Any = None,
        device: Any = "auto",
        verbose: int = 0,
        forget_method: str | Unlearner = "assd",
        importance: str = "per_sample",
        guard: bool = True,
        random_state: int | np.random.RandomState | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.forget_method = forget_method
        self.importance = importance
        self.guard = guard
        self.random_state = random_state

    def validate_settings(self) -> Unlearner:
        """Check every parameter and build the forget strategy, refusing classifier-only methods.

        Returns
        -------
        Unlearner
            The strategy ``forget`` would run.

        Raises
        ------
        ValueError
            For a bad parameter, or a ``forget_method`` that needs class labels.
        """
        unlearner = super().validate_settings()
        if getattr(unlearner, "name", None) in CLASSIFIER_ONLY:
            raise ValueError(
                f"forget_method={unlearner.name!r} works on class labels; UnlearnableRegressor cannot use it. "
                "Use 'assd' (the default), 'path_gradient', 'finetune', 'retrain' or 'neggrad_plus'."
            )
        return unlearner

    def forget(self, X, y, *, X_retain=None, y_retain=None, method=None, guard=None, reason="correction"):
        """Remove what the network learned from the rows ``(X, y)`` (see ``UnlearnMixin.forget``).

        Parameters
        ----------
        X : array_like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array_like of shape (n_forget,) or (n_forget, n_outputs)
            The targets they were trained with.
        X_retain, y_retain : array_like, optional
            All the rows the model keeps; required by ``"finetune"``, ``"retrain"`` and
            ``"neggrad_plus"``.
        method : str or strategy object, optional
            Use this method for this call instead of ``forget_method``.
        guard : bool, optional
            Override the ``guard`` parameter for this call.
        reason : {"correction", "deletion"}, default="correction"
            Why the rows go; for a regressor both run the same default stages.

        Returns
        -------
        self
            The regressor, without what it learned from the rows.
        """
        if method is not None and getattr(make_unlearner(method), "name", None) in CLASSIFIER_ONLY:
            raise ValueError(f"method={method!r} works on class labels; UnlearnableRegressor cannot use it.")
        return super().forget(X, y, X_retain=X_retain, y_retain=y_retain, method=method, guard=guard, reason=reason)

    def fit_of_rows(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per row, ``exp(−r²/2σ²)`` and whether the row is within ``2σ`` of its target.

        Parameters
        ----------
        X : Tensor
            Float32 rows.
        y : Tensor of shape (n_samples, n_outputs)
            Float32 targets.

        Returns
        -------
        closeness, hit : Tensor
            Float and bool, one per row, on the CPU.
        """
        return self._row_fit()(self.module_, X, y)

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-row squared error, averaged over the outputs.

        Parameters
        ----------
        output : Tensor
            The module's predictions.
        target : Tensor
            The targets.

        Returns
        -------
        Tensor of shape (n_samples,)
            One loss per row.
        """
        return ((output.reshape(len(output), -1) - target.reshape(len(target), -1)) ** 2).mean(dim=1)

    def _row_fit(self) -> TargetFit:
        return TargetFit(self.forget_state_.target_scale)

    def _target_scale(self, X32: np.ndarray, y32: np.ndarray) -> Tensor:
        residuals = []
        with torch.no_grad(), eval_mode(self.module_):
            for xb, yb in row_batches(torch.as_tensor(X32), torch.as_tensor(y32), 4096, device_of(self.module_)):
                residuals.append((self.module_(xb).float().reshape(len(xb), -1) - yb.reshape(len(yb), -1)).abs().cpu())
        # Robust (1.4826 x the median absolute residual): the wrong targets this forget is for
        # must not inflate what "a typical kept row" means.
        scale = 1.4826 * torch.cat(residuals).median(dim=0).values.double()
        # A model that fits every row exactly still needs a scale: a millionth of the targets' spread.
        floor = torch.as_tensor(np.std(y32.reshape(len(y32), -1), axis=0), dtype=torch.float64).clamp_min(1e-12) * 1e-6
        return torch.maximum(scale, floor).float()
