"""``UnlearnMixin``: what makes a scikit-learn-style skorch net able to forget rows.

Mixed in before the net class (``class UnlearnableClassifier(UnlearnMixin,
SklearnNetClassifier)``). It records what training did, keeps ``forget_state_`` and runs
``forget``: validate the request, run the strategy's stages behind the guard, then
replace the state. The net below it trains, validates and predicts; this layer only adds
forgetting, so a classifier and a regressor share it as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

import numpy as np
import torch
from sklearn.base import is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from ..utils import all_or_nothing, device_of, eval_mode, forward_arguments
from ._base import ForgetRequest, Unlearner
from ._guard import GuardRows
from ._host import ForgetContext
from ._importance import Importances, minibatch_importances, per_sample_importances
from ._records import TrainedRows
from ._registry import UNLEARNERS, make_unlearner
from ._request import build_request, correction_problem
from ._runner import method_name, run_forget
from ._state import ForgetState
from ._trace import Trace, current_lr

IMPORTANCE_FORMS = ("per_sample", "minibatch")
REASONS = ("correction", "deletion")
_PER_SAMPLE_CHUNK = 2048  # rows per importance batch; the per-sample result does not depend on it
_PROGRESS_MIN_ROWS = 10_000  # below this an importance pass takes well under a second: no bar


class UnlearnMixin:
    """Forgetting for a scikit-learn-style skorch net: ``forget``, ``forget_state_``, the guard.

    The net it is mixed into provides ``encode_rows``, ``train_epochs``, ``eval_loss`` and
    the ``_after_training`` hook; the estimator says what fitting a row means for its
    targets (``fit_of_rows``, ``row_losses``, ``_row_fit`` and, for numbers,
    ``_target_scale``). This class sets the parameters ``forget_method``, ``importance``
    and ``guard`` (declared in ``_unlearn_constraints``).
    """

    _unlearn_constraints: dict = {
        "forget_method": [StrOptions(set(UNLEARNERS)), HasMethods(["forget"])],
        "importance": [StrOptions(set(IMPORTANCE_FORMS))],
        "guard": ["boolean"],
    }
    # Changed in place by training and forgetting: deep-copied by the transaction.
    _unlearn_records = ("forget_state_", "forget_log_")

    # --- parameters ----------------------------------------------------------------------

    def set_params(self, **params: Any):
        """Set parameters as skorch does; ``forget_method__*`` ones never re-initialise the network.

        Parameters
        ----------
        **params
            Parameter names (prefixed as skorch expects) and values.

        Returns
        -------
        self
            The estimator.
        """
        # A forget method's parameters never touch the network, so they must not send
        # skorch into re-initialising (it knows only module/criterion/optimizer prefixes).
        own = {k: v for k, v in params.items() if k == "forget_method" or k.startswith("forget_method__")}
        for key, value in own.items():
            setattr(self, key, value)
            if key != "forget_method":
                self._params_to_validate.add(key)
        rest = {k: v for k, v in params.items() if k not in own}
        return super().set_params(**rest) if rest else self

    def validate_settings(self) -> Unlearner:
        """Check every parameter against its constraints and build the forget strategy.

        Runs at the start of ``fit`` and of every ``forget``, so a parameter changed with
        ``set_params`` after fitting is checked before it is used.

        Returns
        -------
        Unlearner
            The strategy ``forget`` would run.
        """
        super().validate_settings()
        return make_unlearner(self.forget_method, self.get_params_for("forget_method"))

    def needs_retain_rows(self) -> bool:
        """Whether ``forget_method`` needs ``X_retain``/``y_retain`` (fine-tune, retrain).

        Returns
        -------
        bool
            True for methods that train on the kept rows.
        """
        return bool(getattr(self.validate_settings(), "needs_retain", False))

    # --- what training leaves behind -------------------------------------------------------

    @property
    def n_train_(self) -> int:
        """Rows the model is trained on, minus those forgotten since."""
        return self._forget_state().n_train

    @property
    def importances_(self) -> Importances | None:
        """Importances over the kept rows (``forget_state_.importances``; None when stale)."""
        return self._forget_state().importances

    @property
    def training_trace_(self) -> Trace:
        """``w_0``, steps, epochs and learning rates of training (``forget_state_.trace``)."""
        return self._forget_state().trace

    def _forget_state(self) -> ForgetState:
        state = self.__dict__.get("forget_state_")
        if state is None:
            raise AttributeError(f"This {type(self).__name__} is not fitted yet: it has no forget_state_.")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        forget_state = self.__dict__.get("forget_state_")
        if forget_state is not None and "module_" in self.__dict__:  # pickled on the CPU: back to the module
            self.forget_state_ = forget_state.on(device_of(self.module_))

    def initialize_module(self):
        """Build the module (skorch's hook); a new module starts without a forget state.

        Returns
        -------
        self
            The estimator.
        """
        super().initialize_module()
        self.__dict__.pop("forget_state_", None)  # a new module: nothing learned, nothing to forget
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Start recording training (skorch's hook): ``w_0`` for a new module.

        Parameters
        ----------
        net : skorch.NeuralNet
            This estimator.
        X, y : array_like, optional
            The training rows.
        **kwargs
            skorch's other arguments.
        """
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.__dict__.get("forget_state_") is None:
            self.forget_state_ = ForgetState(Trace.start(*self.trained_parts()), trained_rows=TrainedRows())

    def trained_parts(self) -> tuple[torch.nn.Module, Any]:
        """The module and the optimizer that trains it, without any wrapper a launcher put around them.

        Returns
        -------
        module : torch.nn.Module
            ``module_``, unwrapped.
        optimizer : torch.optim.Optimizer
            ``optimizer_``, unwrapped: the optimizer whose state and settings say how it steps.
        """
        return self.module_, self.optimizer_

    def on_batch_end(self, net, batch=None, training: bool = False, **kwargs) -> None:
        """Count a training step (skorch's hook).

        Parameters
        ----------
        net : skorch.NeuralNet
            This estimator.
        batch : tuple, optional
            The batch's rows and targets.
        training : bool, default=False
            Whether the batch was a training step.
        **kwargs
            skorch's other arguments.
        """
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if training:
            n_rows = len(batch[1]) if batch is not None and batch[1] is not None else 0
            self.forget_state_.trace.record_step(n_rows, current_lr(self.optimizer_), steps=self._batch_steps())

    def _batch_steps(self) -> bool:
        """Hook: whether the optimizer stepped after the batch that just ended (gradient accumulation may skip)."""
        return True

    def on_epoch_end(self, net, **kwargs) -> None:
        """Count an epoch (skorch's hook).

        Parameters
        ----------
        net : skorch.NeuralNet
            This estimator.
        **kwargs
            skorch's other arguments.
        """
        super().on_epoch_end(net, **kwargs)
        self.forget_state_.trace.n_epochs += 1

    def _after_training(self, X32: np.ndarray, y_enc: np.ndarray, *, fresh: bool, fit_params: dict) -> None:
        super()._after_training(X32, y_enc, fresh=fresh, fit_params=fit_params)
        state = self.forget_state_
        if fresh or "forget_log_" not in self.__dict__:
            self.forget_log_ = []
        first = fresh or (state.n_train == 0 and state.trained_rows is not None)
        if fresh:
            state = ForgetState(state.trace, trained_rows=TrainedRows())
        if state.target_scale is None:
            state = state.replace(target_scale=self._target_scale(X32, y_enc))
        self.forget_state_ = state  # what the reference rows' fit is measured against
        if first:
            references = self._sample_reference_rows(X32, y_enc)
        else:  # partial_fit moved the weights: new reference values
            references = state.reference_rows(lambda rows: rows.reanchored(self.module_))
        record = state.trained_rows
        self.forget_state_ = state.replace(
            # After partial_fit the cache would cover part of the rows at older weights: stale.
            importances=self.compute_importances(torch.as_tensor(X32), torch.as_tensor(y_enc), **fit_params)
            if fresh
            else None,
            importance_point=None,
            n_train=state.n_train + len(X32),
            trained_rows=None if record is None else record.plus(TrainedRows.of(X32, y_enc)),
            **references,
        )

    def _sample_reference_rows(self, X32: np.ndarray, y_enc: np.ndarray) -> dict[str, GuardRows | None]:
        # A module that needs fit params in forward cannot be called by the guard (or forget).
        if forward_arguments(self.module_):
            return {"guard_rows": None, "repair_rows": None}
        rng = np.random.default_rng(self._reference_seed())
        judge, repair = GuardRows.sample_pair(self.module_, X32, y_enc, rng, self._row_fit())
        return {"guard_rows": judge, "repair_rows": repair}

    def _reference_seed(self) -> int | None:
        """Hook: the seed that draws the reference rows (``random_state`` when it is an int, else fresh)."""
        return int(self.random_state) if isinstance(self.random_state, (int, np.integer)) else None

    def compute_importances(self, X: Tensor, y: Tensor, **forward_kwargs) -> Importances:
        """Importances of ``(X, y)`` (float32 rows, encoded targets) at the current weights.

        Parameters
        ----------
        X, y : Tensor
            Rows and encoded targets.
        **forward_kwargs
            Passed to every call of the module's ``forward`` (fit params).

        Returns
        -------
        dict of str to Tensor
            One tensor per trainable parameter, in the ``importance`` form. The module and
            the criterion run in eval mode.
        """
        progress = bool(self.verbose) and len(X) >= _PROGRESS_MIN_ROWS
        options = {"progress": progress, "forward_kwargs": forward_kwargs}
        criterion = getattr(self, "criterion_", None)
        with eval_mode(criterion) if isinstance(criterion, torch.nn.Module) else contextlib.nullcontext():
            if self.importance == "minibatch":
                return minibatch_importances(self.module_, X, y, self.eval_loss, self.batch_size, **options)
            chunk = max(self.batch_size, _PER_SAMPLE_CHUNK) if self.batch_size > 0 else _PER_SAMPLE_CHUNK
            return per_sample_importances(self.module_, X, y, self.eval_loss, chunk, **options)

    def set_guard_rows(self, X, y):
        """Give the forget guard a reference sample of rows the model keeps.

        ``fit`` draws one itself and keeps it in memory; a model loaded from a file has
        none (a saved model holds no training rows), so call this before forgetting with
        the guard on. Any sample of the kept rows works: at most 2,048 are used, half for the
        guard to judge on and half for the relabel stage to train on.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Rows the model keeps.
        y : array_like
            Their targets, as trained.

        Returns
        -------
        self
            The estimator, with the new reference sample.
        """
        self._check_trained()
        X32, y_enc = self.encode_rows(X, y)
        self.forget_state_ = self.forget_state_.replace(**self._sample_reference_rows(X32, y_enc))
        return self

    # --- forgetting ----------------------------------------------------------------------

    def forget(
        self,
        X,
        y,
        *,
        X_retain=None,
        y_retain=None,
        method: str | Unlearner | None = None,
        guard: bool | None = None,
        reason: str = "correction",
    ):
        """Remove what the network learned from the rows ``(X, y)``.

        Runs ``forget_method`` (by default the relabel stage for label errors, a path-gradient
        step then the ASSD rule for deletions, each behind
        the guard: no parameters, no retain rows). A failed call — bad input, a bad
        parameter, an error or Ctrl-C inside the method — leaves the model exactly as it
        was. ``forget_log_[-1]`` says what happened, the guard's scale included.

        Parameters
        ----------
        X : array_like of shape (n_forget, n_features)
            Rows to forget, as given to ``fit``.
        y : array_like
            The targets they were trained with.
        X_retain, y_retain : array_like, optional
            All the rows the model keeps, that is the training rows minus ``X``
            (checked); required by ``"finetune"`` and ``"retrain"``. ASSD/SSD then take
            their importances from these rows, as the authors' code does.
        method : str or strategy object, optional
            Use this method for this call instead of ``forget_method``.
        guard : bool, optional
            Override the ``guard`` parameter for this call.
        reason : {"correction", "deletion"}, default="correction"
            ``"correction"``: the rows' labels are wrong (found by hand or by a detector); the
            model should stop predicting them. ``"deletion"``: the rows are right but must go
            (a customer's request); the model should answer on them as if it had never seen
            them. The default forget runs different stages for each; for a deletion that
            must be exact, use ``ShardedClassifier``.

        Returns
        -------
        self
            The estimator, without what it learned from the rows.

        Raises
        ------
        ValueError
            For rows the model never trained on (or already forgot), a forget set as large
            as the training set, retain rows that are not the kept rows, bad parameters;
            for a correction, more than half of the training rows, or (classifier) every
            row of a class.
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        self._check_trained()
        unlearner = self.validate_settings()
        if method is not None:
            unlearner = make_unlearner(method)
        if guard is not None and not isinstance(guard, (bool, np.bool_)):
            raise ValueError(f"guard must be True or False; got {guard!r}.")
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}; got {reason!r}.")
        use_guard = self.guard if guard is None else bool(guard)
        state = self.forget_state_
        request, retain_record = build_request(self, state.n_train, state.trained_rows, X, y, X_retain, y_retain)
        request = dataclasses.replace(request, reason=reason, regression=is_regressor(self))
        if reason == "correction":
            self._check_correction(request)
        start = time.perf_counter()
        with all_or_nothing(self, self._records), torch.random.fork_rng(devices=[]):
            record, references = _kept_after(state, request, retain_record)
            context = ForgetContext(self, state, request, references["repair_rows"])
            outcome, details, references["guard_rows"] = run_forget(
                context, unlearner, request, references["guard_rows"], use_guard
            )
            importances, point = context.importances_after(outcome)
            kept = state.replace(**references)
            if outcome.retain_importances is not None:  # retrained: a new model to guard
                references = kept.reference_rows(lambda rows: rows.reanchored(self.module_))
            self.forget_state_ = ForgetState(
                # After a retrain the trace is the new run's.
                self.forget_state_.trace,
                importances,
                point,
                request.n_retain,
                record,
                **references,
                target_scale=state.target_scale,
            )
            self._forgot(request)
            entry = {"method": method_name(unlearner), "n_forget": request.n_forget, "n_retain": request.n_retain}
            self.forget_log_.append({**entry, **details, "seconds": time.perf_counter() - start})
        return self

    def _check_correction(self, request: ForgetRequest) -> None:
        problem = correction_problem(request.n_forget, request.n_train, *self._rows_per_class(request))
        if problem:
            raise ValueError(
                f"{request.n_forget} of the {request.n_train} training rows were passed as wrong "
                f"(reason='correction'), {problem}: correcting assumes most targets, and some of every class, "
                "are right. To fix the targets, fit on the corrected rows; to forget a class, use fit_class_filters "
                "and forget_class; to remove these rows anyway, forget them with reason='deletion'."
            )

    def _rows_per_class(self, request: ForgetRequest) -> tuple:
        """Hook: forget rows per class, training rows per class and the classes (a classifier's); none here."""
        return ()

    def _forgot(self, request: ForgetRequest) -> None:
        """Hook: the request's rows are gone (a classifier updates its class counts)."""

    def _target_scale(self, X32: np.ndarray, y_enc: np.ndarray) -> Tensor | None:
        """Hook: a regressor's ``σ`` per output after training (None for a classifier)."""
        return None

    def _check_trained(self) -> None:
        check_is_fitted(self)
        if self.__dict__.get("forget_state_") is None or self.forget_state_.n_train == 0:
            raise NotFittedError(
                f"This {type(self).__name__} was initialised (or loaded with load_params) but not trained with fit: "
                "it has no importances and no record of its rows to forget from. Fit it, or save and load it with "
                "sklearn_unlearn.persistence."
            )
        needed = forward_arguments(self.module_)
        if needed:
            raise ValueError(
                f"The module's forward needs {needed} besides X (fit params): forget calls the module with the rows "
                "alone, so it cannot forget for this module. Give those arguments defaults, or fold them into X."
            )


def _kept_after(
    state: ForgetState, request: ForgetRequest, retain_record: TrainedRows | None
) -> tuple[TrainedRows | None, dict[str, GuardRows | None]]:
    """The record of trained rows and the reference rows once the request's rows are gone."""
    X_f, y_f = request.X_forget.numpy(), request.y_forget.numpy()
    record = retain_record
    if record is None and state.trained_rows is not None:
        record = state.trained_rows.without(X_f, y_f)
    if record is not None:
        return record, state.reference_rows(lambda rows: rows.kept_in(record.fingerprints))
    # A loaded model: no record, so every copy of a forgotten row leaves.
    return record, state.reference_rows(lambda rows: rows.without(X_f, y_f))
