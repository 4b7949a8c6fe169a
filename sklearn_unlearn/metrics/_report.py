"""Accuracy per split and the population membership-inference score of the SSD code."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


def fitted_net(model: Any, name: str):
    """The model, if it is a fitted skorch-style net (a ``module_`` and ``predict_proba``)."""
    if not (hasattr(model, "predict_proba") and hasattr(type(model), "__sklearn_is_fitted__")):
        raise TypeError(
            f"{name} must be a fitted network estimator (UnlearnableClassifier); got {type(model).__name__}."
        )
    check_is_fitted(model)
    return model


def _entropies(clf, X) -> np.ndarray:
    proba = np.clip(clf.predict_proba(X), 1e-12, 1.0)
    return -(proba * np.log(proba)).sum(axis=1, keepdims=True)


def membership_inference(clf, X_retain, X_forget, X_test) -> float:
    """Share of the forget rows an attacker calls "member" (SSD/Chundawat MIA).

    The feature is the entropy of the model's softmax output. A logistic regression
    (``class_weight="balanced"``) learns to tell retain rows (members) from test rows
    (non-members) and is applied to the forget rows. Lower means better forgotten; the
    ideal is the retrained model's value, not zero.

    Parameters
    ----------
    clf : UnlearnableClassifier
        Fitted model.
    X_retain, X_forget, X_test : array-like
        Rows the model keeps, rows it should have forgotten, rows it never saw.

    Returns
    -------
    float
        Share of forget rows predicted "member", in [0, 1].
    """
    fitted_net(clf, "clf")
    retain, forget, test = (_entropies(clf, X) for X in (X_retain, X_forget, X_test))
    attack = LogisticRegression(class_weight="balanced")
    attack.fit(np.vstack([retain, test]), np.r_[np.ones(len(retain)), np.zeros(len(test))])
    return float(attack.predict(forget).mean())


def forget_report(
    clf,
    X_retain,
    y_retain,
    X_forget,
    y_forget,
    X_test,
    y_test,
    *,
    reference=None,
) -> dict[str, float]:
    """Accuracies and membership inference of a model after a forget.

    Parameters
    ----------
    clf : UnlearnableClassifier
        The model to judge.
    X_retain, y_retain : array-like
        Rows the model keeps.
    X_forget, y_forget : array-like
        Rows it should have forgotten, with the labels it was trained with.
    X_test, y_test : array-like
        Held-out rows.
    reference : UnlearnableClassifier, optional
        Usually the model retrained without the forget rows: its values are reported
        under ``reference_*`` keys, since the ideal MIA and forget accuracy are its
        values, not zero.

    Returns
    -------
    dict of str to float
        ``retain_accuracy``, ``forget_accuracy``, ``test_accuracy``, ``mia`` (and the
        same with a ``reference_`` prefix). ``pandas.DataFrame([report])`` tabulates it.
    """
    models = {"": clf} if reference is None else {"": clf, "reference_": reference}
    report: dict[str, float] = {}
    for prefix, model in models.items():
        fitted_net(model, "reference" if prefix else "clf")
        report[f"{prefix}retain_accuracy"] = float(model.score(X_retain, y_retain))
        report[f"{prefix}forget_accuracy"] = float(model.score(X_forget, y_forget))
        report[f"{prefix}test_accuracy"] = float(model.score(X_test, y_test))
        report[f"{prefix}mia"] = membership_inference(model, X_retain, X_forget, X_test)
    return report
