"""scikit-learn's estimator contract, run on the classifier."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_unlearn import UnlearnableClassifier

EXPECTED_FAILURES = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet sets history_, initialized_ and virtual_params_ in __init__ by design."
    ),
}


@parametrize_with_checks(
    [UnlearnableClassifier(max_epochs=20, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
