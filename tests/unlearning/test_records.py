import numpy as np

from sklearn_unlearn.unlearning import TrainedRows, row_fingerprints


def test_forgetting_takes_one_copy_per_request_and_counts_the_absent():
    X = np.array([[1.0], [3.0], [3.0], [5.0], [9.0]], dtype=np.float32)
    y = np.zeros(5, dtype=np.int64)
    record = TrainedRows.of(X, y)
    asked = np.array([[3.0], [9.0], [9.0], [7.0]], dtype=np.float32)
    assert record.count_missing(asked, np.zeros(4, dtype=np.int64)) == 2  # the second 9 and the 7
    remaining = record.without(asked, np.zeros(4, dtype=np.int64))
    assert remaining.same_rows(TrainedRows.of(np.array([[1.0], [3.0], [5.0]], dtype=np.float32), y[:3]))


def test_fingerprints_tell_rows_and_labels_apart():
    X = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    prints = row_fingerprints(X, np.array([0, 1, 0]))
    assert prints[0] != prints[1] and prints[0] != prints[2]
    assert row_fingerprints(X[:1], np.array([0]))[0] == prints[0]
