import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

import sklearn_unlearn
from sklearn_unlearn import CleanlabDetector, UnlearnableClassifier, UnlearnPipeline, make_pipeline
from sklearn_unlearn.datasets import delivery_label, inject_label_noise, make_supply_chain

from .conftest import assert_same_weights, weights
from .test_detection import Contrarian, contrarian_data


@pytest.fixture(scope="module")
def noisy_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:900], y[:900]
    y_noisy, flipped = inject_label_noise(y, 0.1, random_state=1)
    return X, y_noisy, flipped


def small_net(**params):
    return UnlearnableClassifier(module__hidden_layer_sizes=(32,), max_epochs=8, lr=0.1, random_state=0, **params)


def detector():
    return CleanlabDetector(LogisticRegression(max_iter=300), cv=3, random_state=0)


def pipeline(detected="forget"):
    return make_pipeline(MinMaxScaler(), detector(), small_net(), detected=detected)


def test_make_pipeline_names_steps():
    pipe = pipeline()
    assert isinstance(pipe, UnlearnPipeline)
    assert [name for name, _ in pipe.steps] == ["minmaxscaler", "cleanlabdetector", "unlearnableclassifier"]
    assert pipe.get_params()["detected"] == "forget"


def test_forgets_exactly_the_flagged_rows(noisy_digits):
    X, y_noisy, flipped = noisy_digits
    pipe = pipeline().fit(X, y_noisy)
    flagged = pipe.named_steps["cleanlabdetector"].label_issues_
    assert np.array_equal(pipe.label_issues_, flagged)
    assert flagged[flipped].mean() > 0.7  # the detector's recall on this data
    log = pipe[-1].forget_log_
    assert len(log) == 1 and log[0]["method"] == "assd" and log[0]["n_forget"] == flagged.sum()
    # The same forget done by hand gives the same network.
    Xs = MinMaxScaler().fit_transform(X)
    by_hand = small_net().fit(Xs, y_noisy).forget(Xs[flagged], y_noisy[flagged])
    assert_same_weights(weights(by_hand), pipe[-1])


def test_callers_list_of_steps_is_untouched(noisy_digits):
    X, y_noisy, _ = noisy_digits
    steps = [("scale", MinMaxScaler()), ("detect", detector()), ("net", small_net())]
    listed = list(steps)
    UnlearnPipeline(steps).fit(X, y_noisy)
    assert steps == listed


def test_methods_that_need_retain_rows_get_the_unflagged_rows(noisy_digits):
    X, y_noisy, _ = noisy_digits
    pipe = pipeline().set_params(unlearnableclassifier__forget_method="finetune").fit(X, y_noisy)
    entry = pipe[-1].forget_log_[-1]
    assert entry["method"] == "finetune"
    assert entry["n_retain"] == len(X) - pipe.label_issues_.sum()


def test_drop_refits_without_flagged_rows_and_keep_ignores_them(noisy_digits):
    X, y_noisy, _ = noisy_digits
    dropped = pipeline("drop").fit(X, y_noisy)
    assert dropped[-1].n_train_ == len(X) - dropped.label_issues_.sum()
    assert dropped[-1].forget_log_ == []
    kept = pipeline("keep").fit(X, y_noisy)
    assert kept[-1].n_train_ == len(X) and kept[-1].forget_log_ == []
    assert kept.label_issues_.sum() == dropped.label_issues_.sum()


def test_drop_works_with_any_final_classifier(noisy_digits):
    X, y_noisy, _ = noisy_digits
    pipe = make_pipeline(MinMaxScaler(), detector(), LogisticRegression(max_iter=300), detected="drop")
    assert pipe.fit(X, y_noisy).score(X, y_noisy) > 0.8


def test_grid_search_two_folds_end_to_end(noisy_digits):
    X, y_noisy, _ = noisy_digits
    grid = {
        "detected": ["forget", "drop", "keep"],
        "cleanlabdetector__filter_by": ["prune_by_noise_rate", "both"],
        "unlearnableclassifier__lr": [0.1],
    }
    search = GridSearchCV(pipeline(), grid, cv=2, error_score="raise").fit(X, y_noisy)
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_[-1].n_train_ > 0


def test_detection_sees_only_the_training_fold(noisy_digits):
    X, y_noisy, _ = noisy_digits
    result = cross_validate(pipeline(), X, y_noisy, cv=3, return_estimator=True, return_indices=True)
    for fitted, train in zip(result["estimator"], result["indices"]["train"], strict=True):
        assert len(fitted.named_steps["cleanlabdetector"].label_issues_) == len(train)
        assert fitted[-1].forget_log_[0]["n_forget"] == fitted.label_issues_.sum()
    scores = cross_val_score(pipeline(), X, y_noisy, cv=2)
    assert scores.shape == (2,) and (scores > 0.5).all()


def test_clone_of_fitted_pipeline_is_unfitted(noisy_digits):
    X, y_noisy, _ = noisy_digits
    fitted = pipeline().fit(X, y_noisy)
    copy = clone(fitted)
    assert copy.get_params()["detected"] == "forget"
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        copy.predict(X)
    assert not hasattr(copy, "label_issues_")


def raw_supply_chain(n_rows=1500):
    frame = make_supply_chain(n_rows, random_state=0)
    y = delivery_label(frame)
    y_noisy, flipped = inject_label_noise(y, 0.05, random_state=0)
    columns = ["Shipping Mode", "Market", "Customer Segment", "Type", "Days for shipment (scheduled)", "Sales"]
    return frame[columns], y_noisy, flipped


def column_transformer():
    return ColumnTransformer(
        [
            ("categories", OneHotEncoder(sparse_output=False), ["Shipping Mode", "Market", "Customer Segment", "Type"]),
            ("numbers", StandardScaler(), ["Days for shipment (scheduled)", "Sales"]),
        ]
    )


def test_column_transformer_on_raw_columns_with_pandas_output():
    X, y_noisy, _ = raw_supply_chain()
    pipe = make_pipeline(column_transformer(), detector(), small_net()).set_output(transform="pandas")
    pipe.fit(X, y_noisy)
    transformed = pipe[:-1].transform(X)
    assert isinstance(transformed, pd.DataFrame)
    assert list(pipe.named_steps["cleanlabdetector"].feature_names_in_) == list(transformed.columns)
    assert pipe[-1].forget_log_[0]["n_forget"] == pipe.label_issues_.sum() > 0
    assert pipe.score(X, y_noisy) > 0.4
    # Forgetting more raw rows later goes through the fitted ColumnTransformer.
    rows = np.flatnonzero(~pipe.label_issues_)[:10]
    pipe.forget(X.iloc[rows], y_noisy[rows])
    assert pipe[-1].forget_log_[-1]["n_forget"] == 10


def test_forget_function_routes_through_a_plain_pipeline(noisy_digits):
    X, y_noisy, _ = noisy_digits
    plain = Pipeline([("scale", StandardScaler()), ("net", small_net())]).fit(X, y_noisy)
    scaler_out = plain[0].transform(X[:20])
    by_hand = small_net().fit(plain[0].transform(X), y_noisy).forget(scaler_out, y_noisy[:20])
    assert sklearn_unlearn.forget(plain, X[:20], y_noisy[:20]) is plain
    assert_same_weights(weights(by_hand), plain[-1])
    with pytest.raises(TypeError, match="LogisticRegression, cannot forget"):
        plain_lr = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=300))])
        sklearn_unlearn.forget(plain_lr.fit(X, y_noisy), X, y_noisy)
    with pytest.raises(NotFittedError):
        sklearn_unlearn.forget(Pipeline([("scale", StandardScaler()), ("net", small_net())]), X, y_noisy)


def test_forget_function_uses_the_best_estimator_of_a_search(noisy_digits):
    X, y_noisy, _ = noisy_digits
    search = GridSearchCV(pipeline("keep"), {"unlearnableclassifier__lr": [0.05, 0.1]}, cv=2).fit(X, y_noisy)
    sklearn_unlearn.forget(search, X[:15], y_noisy[:15])
    assert search.best_estimator_[-1].forget_log_[-1]["n_forget"] == 15


def test_detector_last_is_an_error(noisy_digits):
    X, y_noisy, _ = noisy_digits
    pipe = make_pipeline(MinMaxScaler(), detector())
    with pytest.raises(ValueError, match="'cleanlabdetector' is the last step"):
        pipe.fit(X, y_noisy)


def test_forget_needs_a_final_step_that_can_forget(noisy_digits):
    X, y_noisy, _ = noisy_digits
    pipe = make_pipeline(MinMaxScaler(), detector(), LogisticRegression())
    with pytest.raises(TypeError, match="LogisticRegression has no forget method"):
        pipe.fit(X, y_noisy)
    with pytest.raises(InvalidParameterError, match="detected"):
        pipeline("remove").fit(X, y_noisy)


def test_all_rows_flagged_leaves_nothing_fitted():
    X, y = contrarian_data()
    net = small_net()
    pipe = make_pipeline(CleanlabDetector(Contrarian(), cv=2, filter_by="predicted_neq_given"), net)
    with pytest.warns(UserWarning, match="flagged every row"), pytest.raises(ValueError, match="flagged all 60 rows"):
        pipe.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)
    assert not hasattr(pipe, "label_issues_")
    assert not hasattr(pipe.named_steps["cleanlabdetector"], "label_issues_")


class FlagRows(TransformerMixin, BaseEstimator):
    """A stand-in detector: flags the rows ``select(y)`` picks."""

    def __init__(self, select=None):
        self.select = select

    def fit(self, X, y):
        self.label_issues_ = self.select(np.asarray(y))
        return self

    def transform(self, X):
        return X


@pytest.mark.parametrize(
    "select, message",
    [(lambda y: np.arange(len(y)) < 0.7 * len(y), "more than half"), (lambda y: y == 3, "every row labelled 3")],
    ids=["most rows", "a whole class"],
)
def test_flags_a_forget_cannot_correct_fail_before_the_last_step_is_fitted(noisy_digits, select, message):
    X, y_noisy, _ = noisy_digits
    pipe = make_pipeline(FlagRows(select), small_net(), detected="forget")
    with pytest.raises(ValueError, match=message):
        pipe.fit(X, y_noisy)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)
    assert not hasattr(pipe, "label_issues_")
    # Dropping the same rows is an ordinary fit on the rest.
    dropped = make_pipeline(FlagRows(select), LogisticRegression(max_iter=200), detected="drop").fit(X, y_noisy)
    assert dropped.label_issues_.sum() == select(y_noisy).sum()


def test_rare_class_failure_leaves_nothing_fitted(noisy_digits):
    X, y_noisy, _ = noisy_digits
    y = y_noisy.copy()
    y[0] = 99  # a class with a single row
    pipe = pipeline()
    with pytest.raises(ValueError, match="Class 99 has 1 rows"):
        pipe.fit(X, y)
    assert not hasattr(pipe.named_steps["minmaxscaler"], "scale_")
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)


def test_failed_forget_during_fit_restores_nothing_half_done(noisy_digits, monkeypatch):
    X, y_noisy, _ = noisy_digits

    def broken(self, *args, **kwargs):
        raise RuntimeError("forget failed")

    monkeypatch.setattr(UnlearnableClassifier, "forget", broken)
    pipe = pipeline()
    with pytest.raises(RuntimeError, match="forget failed"):
        pipe.fit(X, y_noisy)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)


def test_predictions_unchanged_by_detector_step(noisy_digits):
    X, y_noisy, _ = noisy_digits
    with_detector = pipeline("keep").fit(X, y_noisy)
    without = make_pipeline(MinMaxScaler(), small_net()).fit(X, y_noisy)
    torch.testing.assert_close(
        torch.as_tensor(with_detector.predict_proba(X)), torch.as_tensor(without.predict_proba(X))
    )
