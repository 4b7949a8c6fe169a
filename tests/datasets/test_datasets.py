from importlib import resources

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_unlearn.datasets import (
    dataco_task,
    delivery_label,
    inject_label_noise,
    load_dataco,
    load_supply_chain,
    make_supply_chain,
)

SAMPLE = resources.files("sklearn_unlearn.datasets") / "data" / "dataco_sample.csv.gz"


@pytest.fixture(scope="module")
def real_frame():
    with resources.as_file(SAMPLE) as path:
        return pd.read_csv(path, encoding="utf-8")


def test_real_label_counts_match_the_data_readme(real_frame):
    counts = np.bincount(delivery_label(real_frame))
    assert counts.tolist() == [1342, 1131, 3527]  # early, on time, late


def test_paper_features_reach_the_papers_accuracy_through_the_leak():
    task = load_dataco(features="paper")
    assert "Late_delivery_risk" in task.feature_names and "leaks the label" in task.DESCR
    accuracy = LogisticRegression(max_iter=2000).fit(task.X_train, task.y_train).score(task.X_test, task.y_test)
    assert accuracy >= 0.85
    assert len(task.y_train) == 4800 and task.X_train.dtype == np.float32


def test_order_time_features_stay_near_the_majority_rate():
    task = load_dataco(features="order_time")
    assert "Late_delivery_risk" not in task.feature_names
    majority = np.bincount(task.y_test).max() / len(task.y_test)
    accuracy = LogisticRegression(max_iter=2000).fit(task.X_train, task.y_train).score(task.X_test, task.y_test)
    assert abs(accuracy - majority) <= 0.03


def test_split_is_time_ordered_and_canceled_rows_can_be_dropped():
    task = load_dataco(drop_canceled=True)
    dates = task.frame["shipping date (DateOrders)"]
    assert dates.is_monotonic_increasing
    assert (task.frame["Delivery Status"] != "Shipping canceled").all() and len(task.frame) == 6000 - 261


def test_clear_errors_for_wrong_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No DataCo file"):
        load_dataco(tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(wrong, index=False)
    with pytest.raises(ValueError, match="missing DataCo columns"):
        load_dataco(wrong)
    with pytest.raises(ValueError, match="features"):
        dataco_task(make_supply_chain(100, 0), features="everything")


def test_synthetic_matches_the_real_sample(real_frame):
    synthetic = make_supply_chain(60_000, random_state=0)
    real_shares = np.bincount(delivery_label(real_frame)) / len(real_frame)
    synthetic_shares = np.bincount(delivery_label(synthetic)) / len(synthetic)
    np.testing.assert_allclose(synthetic_shares, real_shares, atol=0.02)
    real_late = real_frame.groupby("Shipping Mode")["Late_delivery_risk"].mean()
    synthetic_late = synthetic.groupby("Shipping Mode", observed=True)["Late_delivery_risk"].mean()
    for mode in real_late.index:
        assert synthetic_late[mode] == pytest.approx(real_late[mode], abs=0.04), mode
    mode_shares = synthetic["Shipping Mode"].value_counts(normalize=True)
    for mode, share in real_frame["Shipping Mode"].value_counts(normalize=True).items():
        assert mode_shares[mode] == pytest.approx(share, abs=0.02)


def test_synthetic_is_deterministic_and_loads_through_the_same_feature_code():
    a, b = make_supply_chain(2000, random_state=3), make_supply_chain(2000, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(make_supply_chain(2000, random_state=4))
    for features in ("paper", "order_time"):
        task = load_supply_chain(3000, random_state=0, features=features)
        assert task.X_train.shape[0] == 2400 and np.isfinite(task.X_train).all()


@pytest.mark.parametrize("rate", [0.0025, 0.025, 0.1])
def test_uniform_noise_changes_exactly_the_requested_rows(rate):
    y = np.random.default_rng(0).integers(0, 3, 4000)
    y_noisy, changed = inject_label_noise(y, rate, random_state=0)
    assert changed.sum() == round(rate * len(y))
    assert (y_noisy[changed] != y[changed]).all() and (y_noisy[~changed] == y[~changed]).all()


def test_noise_keeps_label_types_and_does_not_touch_the_input():
    y = np.array(["a", "b", "c"] * 100)
    before = y.copy()
    y_noisy, changed = inject_label_noise(y, 0.1, random_state=1)
    assert set(y_noisy) <= {"a", "b", "c"} and changed.sum() == 30
    np.testing.assert_array_equal(y, before)


def test_paper_noise_reproduces_the_notebooks_quirk():
    y = np.repeat([0, 1, 2], 40_000)
    y_noisy, changed, selected = inject_label_noise(y, 0.5, random_state=0, mode="paper", return_selected=True)
    assert selected.sum() == 60_000
    assert not (y_noisy[selected] == 2).any(), "no row is ever relabelled 'late'"
    kept = {c: (y_noisy[selected & (y == c)] == c).mean() for c in (0, 1, 2)}
    assert kept[0] == pytest.approx(0.625, abs=0.01)
    assert kept[1] == pytest.approx(0.25, abs=0.01)
    assert kept[2] == 0.0
    assert (changed == (selected & (y_noisy != y))).all()


def test_wrong_encoding_is_named(tmp_path):
    utf16 = tmp_path / "utf16.csv"
    make_supply_chain(50, 0).to_csv(utf16, index=False, encoding="utf-16")
    with pytest.raises(ValueError, match="encoding|missing DataCo columns"):
        load_dataco(utf16)


def test_the_shipped_sample_is_the_real_one_with_its_attribution(real_frame):
    task = load_dataco()
    assert len(task.frame) == 6000 and "CC BY 4.0" in task.DESCR and "Constante" in task.DESCR
    assert len(real_frame.columns) == 32


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_utf8_and_latin1_files_read_the_same(real_frame, tmp_path, encoding):
    path = tmp_path / f"{encoding}.csv"
    frame = real_frame.head(300).copy()
    frame.loc[0, "Customer Country"] = "España"
    frame.to_csv(path, index=False, encoding=encoding)
    assert (load_dataco(path).frame["Customer Country"] == "España").sum() == 1


BROKEN_FILES = {
    "a missing label day": (
        lambda f: f.assign(**{"Days for shipping (real)": f["Days for shipping (real)"].where(f.index != 3)}),
        "Days for shipping \\(real\\)' \\(1 of",
    ),
    "a missing leak column value": (
        lambda f: f.assign(Late_delivery_risk=f["Late_delivery_risk"].where(f.index != 7)),
        "Late_delivery_risk' \\(1 of",
    ),
    "a missing order-time value": (lambda f: f.assign(Sales=f["Sales"].where(f.index > 10)), "'Sales' \\(11 of"),
    "no rows": (lambda f: f.head(0), "no rows"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
@pytest.mark.parametrize("features", ["paper", "order_time"])
def test_broken_files_get_errors_that_name_file_column_and_rows(real_frame, tmp_path, case, features):
    make, message = BROKEN_FILES[case]
    path = tmp_path / "broken.csv"
    make(real_frame.head(200).reset_index(drop=True)).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message) as error:
        load_dataco(path, features=features)
    assert "broken.csv" in str(error.value)


def test_an_empty_file_is_named(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match="empty.csv.*is empty"):
        load_dataco(path)
