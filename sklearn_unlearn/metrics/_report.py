"""Accuracy per split and the population membership-inference score of the SSD code."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ._audit import check_audited_rows, check_reference_rows, membership_audit, train_shadows


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
    X_retain, X_forget, X_test : array_like
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
    X_reference=None,
    y_reference=None,
    n_shadow: int = 8,
    random_state=None,
) -> dict[str, float]:
    """Accuracies and membership inference of a model after a forget.

    Parameters
    ----------
    clf : UnlearnableClassifier
        The model to judge.
    X_retain, y_retain : array_like
        Rows the model keeps.
    X_forget, y_forget : array_like
        Rows it should have forgotten, with the labels it was trained with.
    X_test, y_test : array_like
        Held-out rows.
    reference : UnlearnableClassifier, optional
        Usually the model retrained without the forget rows: its values are reported
        under ``reference_*`` keys, since the ideal MIA and forget accuracy are its
        values, not zero.
    X_reference, y_reference : array_like, optional
        Rows to train shadow models on (neither forget nor test rows; the retain rows
        serve). With them the report adds the per-row membership audit of the forget rows
        against the test rows (``membership_audit``): ``audit_auc``,
        ``audit_tpr_at_1pct_fpr`` and ``audit_tpr_at_0.1pct_fpr``. When the forget rows
        carry wrong labels and the test rows true ones, the audit also sees that difference:
        read it next to the reference's values, not next to 0.5.
    n_shadow : int, default=8
        Shadow models for the audit (trained once, shared by ``clf`` and ``reference``).
    random_state : int, RandomState or None, default=None
        Seeds the audit's shadows.

    Returns
    -------
    dict of str to float
        ``retain_accuracy``, ``forget_accuracy``, ``test_accuracy``, ``mia``, the audit's
        keys with reference rows (and the same with a ``reference_`` prefix).
        ``pandas.DataFrame([report])`` tabulates it.

    See Also
    --------
    membership_audit : The per-row audit on its own, with its ROC curve.
    """
    models = {"": clf} if reference is None else {"": clf, "reference_": reference}
    report: dict[str, float] = {}
    for prefix, model in models.items():
        fitted_net(model, "reference" if prefix else "clf")
        report[f"{prefix}retain_accuracy"] = float(model.score(X_retain, y_retain))
        report[f"{prefix}forget_accuracy"] = float(model.score(X_forget, y_forget))
        report[f"{prefix}test_accuracy"] = float(model.score(X_test, y_test))
        report[f"{prefix}mia"] = membership_inference(model, X_retain, X_forget, X_test)
    if X_reference is not None or y_reference is not None:
        audit_rows = check_audited_rows(clf, X_forget, np.asarray(y_forget), X_test, np.asarray(y_test))
        reference_rows = check_reference_rows(X_reference, y_reference, *audit_rows)
        shadows = train_shadows(clf, *reference_rows, n_shadow=n_shadow, random_state=random_state)
        for prefix, model in models.items():
            audit = membership_audit(model, *audit_rows[0], *audit_rows[1], shadows=shadows)
            report[f"{prefix}audit_auc"] = audit.auc
            report[f"{prefix}audit_tpr_at_1pct_fpr"] = audit.tpr_at_fpr(0.01)
            report[f"{prefix}audit_tpr_at_0.1pct_fpr"] = audit.tpr_at_fpr(0.001)
    return report
