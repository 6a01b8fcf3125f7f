"""Line charts of training curves as SVG coordinates (drawn by a template, no JS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 220
LEFT = 64
RIGHT = 12
TOP = 12
BOTTOM = 34


@dataclass(frozen=True)
class Series:
    label: str
    css_class: str
    points: str  # "x,y x,y ..." for <polyline points>
    last: float


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def line_chart(
    *,
    title: str,
    curves: Mapping[str, Sequence[float]],
    classes: Mapping[str, str],
    y_range: tuple[float, float] | None = None,
    percent: bool = False,
) -> Chart | None:
    """Curves (name -> one value per epoch) scaled into the plot area; None if empty."""
    curves = {name: [float(v) for v in values] for name, values in curves.items() if values}
    if not curves:
        return None
    epochs = max(len(values) for values in curves.values())
    low, high = y_range or (
        min(min(values) for values in curves.values()),
        max(max(values) for values in curves.values()),
    )
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(epoch: int) -> float:
        return LEFT + (plot_w * epoch / (epochs - 1) if epochs > 1 else plot_w / 2)

    def y(value: float) -> float:
        clipped = min(max(value, low), high)
        return TOP + plot_h * (1 - (clipped - low) / (high - low))

    series = [
        Series(
            label=name,
            css_class=classes.get(name, ""),
            points=" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)),
            last=values[-1],
        )
        for name, values in curves.items()
    ]
    y_ticks = []
    for step in range(5):
        value = low + (high - low) * step / 4
        label = f"{value * 100:.0f}%" if percent else f"{value:.2f}"
        y_ticks.append(Tick(round(y(value), 1), label))
    x_marks = sorted({0, (epochs - 1) // 2, epochs - 1})
    x_ticks = [Tick(round(x(i), 1), str(i + 1)) for i in x_marks]
    return Chart(title=title, series=series, y_ticks=y_ticks, x_ticks=x_ticks)


def training_charts(history: Mapping[str, Sequence[float]] | None) -> list[Chart]:
    """The loss chart and the accuracy chart of one model's per-epoch history."""
    history = history or {}
    charts = [
        line_chart(
            title="Loss per epoch",
            curves={
                "training loss": history.get("loss", []),
                "validation loss": history.get("val_loss", []),
            },
            classes={"training loss": "train", "validation loss": "val"},
        ),
        line_chart(
            title="Accuracy per epoch",
            curves={
                "training accuracy": history.get("accuracy", []),
                "validation accuracy": history.get("val_accuracy", []),
            },
            classes={"training accuracy": "train", "validation accuracy": "val"},
            y_range=(0.0, 1.0),
            percent=True,
        ),
    ]
    return [chart for chart in charts if chart is not None]
