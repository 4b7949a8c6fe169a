"""Run skorch's own test suite against UnlearnableClassifier and UnlearnableRegressor (a pytest plugin; CI runs it).

    python -m pytest -p tests.skorch_suite --pyargs skorch.tests.test_classifier skorch.tests.test_net \
        skorch.tests.test_regressor

skorch's tests take their class from fixtures that do ``from skorch import NeuralNetClassifier``;
this plugin makes that name resolve to ``SkorchDefaultsClassifier``: ``UnlearnableClassifier``
with skorch's default parameter values (NLLLoss on probabilities... see below), so that every
test exercises our class with the settings skorch's tests assume. Our own defaults
(``train_split=None``, 25 epochs, cross-entropy on logits, ``device="auto"``, shuffled training
batches) are documented design choices, not contract breaks.

Tests that fail by design are listed in ``EXPECTED_FAILURES`` with a one-line reason; they are
marked xfail with ``strict=True``, so a listed test that starts to pass fails the run until it
leaves the list.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import types
from pathlib import Path

import pytest
import skorch
import torch
from skorch.dataset import ValidSplit

from sklearn_unlearn import UnlearnableClassifier, UnlearnableRegressor

MODULE_CHECK = (
    "fit checks the module's output shape on two rows, even with max_epochs=0: 2 outputs for 10 classes is refused"
)
CLASS_NAME = "expects the class to be called NeuralNetClassifier in a message or repr"
EXTRA_CALLS = "fit also calls the module for its importance pass (and a two-row shape check), so more calls"
ARRAYS = "X is read into one array per row: dict inputs are refused by name"
DIVERGED = "the test's toy setting trains to a NaN loss (plain skorch too); fit refuses NaN weights with a clear error"
EXPECTED_FAILURES: dict[str, str] = {
    "TestNeuralNet::test_with_initialized_module_other_params": DIVERGED,
    "TestNeuralNet::test_fit_params_passed_to_train_split": DIVERGED,
    "TestMetadataRouting::test_fit_with_extra_params_does_not_break_valid_split": DIVERGED,
    "TestMetadataRouting::test_groups_routed_to_train_split": DIVERGED,
    "TestMetadataRouting::test_pipeline_with_routing_enabled": DIVERGED,
    "TestMetadataRouting::test_backward_compat_fit_params_to_train_split": DIVERGED,
    "TestMetadataRouting::test_pipeline_with_dict_x_and_groups_routing": ARRAYS + " (the regressor)",
    "TestNeuralNet::test_non_binary_classes_set_by_default": MODULE_CHECK,
    "TestNeuralNet::test_classes_data_torch_tensor": MODULE_CHECK,
    "TestNeuralNet::test_classes_with_gaps": MODULE_CHECK,
    "TestNeuralNet::test_classes_are_set_with_tensordataset_explicit_y": MODULE_CHECK,
    "TestNeuralNet::test_classes_are_set_with_tensordataset_implicit_y": MODULE_CHECK,
    "TestNeuralNet::test_error_when_classes_could_not_be_inferred": (
        "train_split=False is refused (None means no split), and y is read from the Dataset, so classes_ is known"
    ),
    "TestNeuralNet::test_pass_empty_classes_raises[classes0]": "classes=[] is refused at fit: a classifier needs 2",
    "TestNeuralNet::test_pass_empty_classes_raises[classes1]": "classes=[] is refused at fit: a classifier needs 2",
    "TestNeuralNet::test_not_init_raises[predict]": CLASS_NAME,
    "TestNeuralNet::test_not_init_raises[predict_proba]": CLASS_NAME,
    "TestNeuralNet::test_not_init_raises[forward]": CLASS_NAME,
    "TestNeuralNet::test_not_init_raises[forward_iter]": CLASS_NAME,
    "TestNeuralNet::test_not_fitted_raises": CLASS_NAME,
    "TestNeuralNet::test_repr_uninitialized_works": CLASS_NAME,
    "TestNeuralNet::test_repr_initialized_works": CLASS_NAME,
    "TestNeuralNet::test_repr_fitted_works": CLASS_NAME,
    "TestNeuralNet::test_fit_params_passed_to_module": EXTRA_CALLS,
    "TestNeuralNet::test_fit_params_passed_to_module_in_pipeline": EXTRA_CALLS,
    "TestMetadataRouting::test_fit_with_extra_params_and_routing": EXTRA_CALLS,
    "TestMetadataRouting::test_partial_fit_with_extra_params_and_routing": EXTRA_CALLS,
    "TestNeuralNet::test_criterion_training_set_correctly": EXTRA_CALLS + " (the criterion, in eval mode)",
    "TestMetadataRouting::test_undeclared_param_rejected_by_routing": "y with one class is refused at fit",
    "TestNeuralNet::test_data_dict_and_fit_params": ARRAYS,
    "TestNeuralNet::test_data_dict_and_fit_params_conflicting_names_raises": ARRAYS,
    "TestNeuralNet::test_net_variable_prediction_lengths": "X must be one array: rows of different lengths are refused",
    "TestNeuralNet::test_net_variable_label_lengths": "y must be one label per row: label sequences are refused",
    "TestNeuralNet::test_predefined_split": "a Dataset passed to fit is read into arrays, so the loader gets those",
    "TestNeuralNet::test_fit_with_dataset_stratified_without_explicit_y_raises": (
        "y is read from the Dataset, so a stratified split needs no explicit y"
    ),
}
EXPECTED_FAILURES.update(
    {
        **{f"TestNeuralNetRegressor::test_not_init_raises[{m}]": CLASS_NAME for m in ("predict", "predict_proba")},
        **{f"TestNeuralNetRegressor::test_not_init_raises[{m}]": CLASS_NAME for m in ("forward", "forward_iter")},
        "TestNeuralNetRegressor::test_not_fitted_raises": CLASS_NAME,
        "TestNeuralNetRegressor::test_predict_predict_proba": (
            "a regressor offers predict only: scikit-learn's checks require regressors not to expose predict_proba"
        ),
        "TestNeuralNetRegressor::test_dimension_mismatch_warning": (
            "a 1-D y is trained as (n, 1) against an (n, 1) output: the broadcasting mistake this test expects "
            "torch to warn about cannot happen"
        ),
    }
)
# Not ours to pass: skorch's wheel does not ship the files these tests read (skorch's own class fails too).
MISSING_FILES = {
    "TestNeuralNet::test_load_cuda_params_to_cpu[f_params-net_cuda.pt]",
    "TestNeuralNet::test_load_cuda_params_to_cpu[f_optimizer-optimizer_cuda.pt]",
    "TestNeuralNet::test_pickle_load[False]",
}
_SKORCH_SPLIT = ValidSplit(5, stratified=True)  # skorch's default train_split
_SKORCH_REGRESSION_SPLIT = ValidSplit(5)  # the same for a regressor (nothing to stratify)


class SkorchDefaultsClassifier(UnlearnableClassifier):
    """``UnlearnableClassifier`` with skorch's ``NeuralNetClassifier`` defaults.

    NLLLoss (the module returns probabilities, as skorch's tests' modules do), lr 0.01,
    10 epochs, a stratified 5-fold validation split, the CPU, verbose output and unshuffled
    training batches; everything else is ours.
    """

    def __init__(
        self,
        module,
        *args,
        criterion=torch.nn.NLLLoss,
        optimizer=torch.optim.SGD,
        lr=0.01,
        max_epochs=10,
        batch_size=128,
        train_split=_SKORCH_SPLIT,
        device="cpu",
        verbose=1,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", False)
        super().__init__(
            module,
            *args,
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


class SkorchDefaultsRegressor(UnlearnableRegressor):
    """``UnlearnableRegressor`` with skorch's ``NeuralNetRegressor`` defaults (as for the classifier)."""

    def __init__(
        self,
        module,
        *args,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.SGD,
        lr=0.01,
        max_epochs=10,
        batch_size=128,
        train_split=_SKORCH_REGRESSION_SPLIT,
        device="cpu",
        verbose=1,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", False)
        super().__init__(
            module,
            *args,
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


def pytest_configure(config):
    skorch.NeuralNetClassifier = SkorchDefaultsClassifier
    skorch.NeuralNetRegressor = SkorchDefaultsRegressor
    # Some of skorch's tests read files by paths relative to the folder that holds skorch.
    os.chdir(Path(skorch.__file__).resolve().parents[1])


class _DistinctSeconds:
    """A ``time`` module whose ``time()`` moves on a second per call.

    skorch's ``test_fit_lbfgs_optimizer`` seeds torch with ``int(time.time())`` so that flaky's
    reruns draw new seeds, but the reruns come within the same second and so all reuse one seed;
    for about 1 seed in 8 the toy LBFGS fit ends at or below its 75 % bar (skorch's own class
    too: 13 of 100 seeds, ours 12 of 100), and then every rerun fails alike. Each call here
    returns a later second, so each rerun gets the fresh seed the test intends.
    """

    def __init__(self) -> None:
        self._offsets = itertools.count()

    def time(self) -> float:
        return time.time() + next(self._offsets)


def pytest_collection_modifyitems(config, items):
    test_net = sys.modules.get("skorch.tests.test_net")
    if test_net is not None:
        test_net.time = types.SimpleNamespace(time=_DistinctSeconds().time)
    for item in items:
        key = _key(item)
        if key in MISSING_FILES:
            item.add_marker(pytest.mark.skip(reason="skorch's wheel does not ship the CUDA files this test reads"))
        elif key in EXPECTED_FAILURES:
            item.add_marker(pytest.mark.xfail(reason=EXPECTED_FAILURES[key], strict=True))


def _key(item) -> str:
    parts = item.nodeid.split("::")
    return "::".join(parts[1:])
