"""The SVG line charts of training curves."""

from __future__ import annotations

from web.charts import HEIGHT, LEFT, TOP, WIDTH, line_chart, training_charts


def test_points_span_the_plot_area() -> None:
    chart = line_chart(title="t", curves={"a": [1.0, 0.5, 0.0]}, classes={"a": "train"})
    assert chart is not None
    points = [tuple(map(float, p.split(","))) for p in chart.series[0].points.split()]
    assert points[0] == (LEFT, TOP)  # first epoch, highest value
    assert points[-1][0] == WIDTH - 12
    assert points[-1][1] == HEIGHT - 34  # lowest value on the x axis
    assert [tick.label for tick in chart.x_ticks] == ["1", "2", "3"]


def test_accuracy_chart_uses_a_fixed_percent_scale() -> None:
    charts = training_charts({"accuracy": [0.5, 0.9], "val_accuracy": [0.4, 1.0], "loss": [2, 1]})
    titles = [chart.title for chart in charts]
    assert titles == ["Loss per epoch", "Accuracy per epoch"]
    accuracy = charts[1]
    assert [tick.label for tick in accuracy.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert [series.label for series in accuracy.series] == [
        "training accuracy",
        "validation accuracy",
    ]


def test_no_history_no_chart() -> None:
    assert training_charts(None) == []
    assert training_charts({"loss": []}) == []


def test_flat_and_single_epoch_curves_do_not_divide_by_zero() -> None:
    chart = line_chart(title="t", curves={"a": [0.3]}, classes={})
    assert chart is not None
    assert chart.series[0].points.count(",") == 1
