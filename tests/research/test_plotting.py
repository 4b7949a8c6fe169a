import matplotlib
import pytest

from sklearn_unlearn.metrics import forget_report
from sklearn_unlearn.research import plot_forget_report

matplotlib.use("Agg")


def test_forget_report_plot_has_both_panels(fitted, data):
    X, y = data
    before = forget_report(fitted, X[20:], y[20:], X[:20], y[:20], X, y)
    fitted.forget(X[:20], y[:20])
    after = forget_report(fitted, X[20:], y[20:], X[:20], y[:20], X, y)
    fig = plot_forget_report(before, after, fitted)
    accuracy, dampened = fig.axes
    assert [t.get_text() for t in accuracy.get_xticklabels()] == ["retain", "forget", "test", "MIA"]
    assert len(accuracy.patches) == 8
    shares = [bar.get_width() for bar in dampened.patches]
    assert len(shares) == len(fitted.forget_log_[-1]["selected_per_parameter"])
    assert all(0 <= s <= 100 for s in shares) and max(shares) > 0


def test_plot_without_model_and_bad_reports():
    fig = plot_forget_report({"test_accuracy": 0.8}, {"test_accuracy": 0.85})
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="share no report key"):
        plot_forget_report({"a": 1}, {"b": 2})
