import numpy as np

from sklearn_unlearn.membership import remove_rows, row_fingerprints


def test_remove_rows_takes_one_occurrence_each_and_counts_the_absent():
    fingerprints = np.sort(np.array([5, 1, 3, 3, 9], dtype=np.uint64))
    remaining, missing = remove_rows(fingerprints, np.array([3, 9, 9, 7], dtype=np.uint64))
    assert remaining.tolist() == [1, 3, 5]
    assert missing == 2  # the second 9 and the 7


def test_fingerprints_tell_rows_and_labels_apart():
    X = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    prints = row_fingerprints(X, np.array([0, 1, 0]))
    assert prints[0] != prints[1] and prints[0] != prints[2]
    assert row_fingerprints(X[:1], np.array([0]))[0] == prints[0]
