"""Bar charts drawn on the server as SVG geometry: the template only places the shapes.

No script and no style attribute: the looks come from classes in static/css/reports.css, so
the pages work under a strict Content Security Policy. Every chart has a title and a
description for screen readers, and the table beside it carries the same figures."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 16, 56
GRIDLINES = 4
MAX_LABELS = 14  # more bars than this: only every n-th is labelled under the axis


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str
    label_x: float
    show_label: bool


@dataclass(frozen=True)
class Gridline:
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    bars: list[Bar]
    gridlines: list[Gridline]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 16
    empty: bool = False


def _tick(value: float, unit: str) -> str:
    return f"{value:.0f}{unit}" if value >= 10 or value == int(value) else f"{value:.1f}{unit}"


def bar_chart(*, title: str, description: str, items: list[tuple[str, float]], unit: str = "", top=None) -> BarChart:
    """One bar per (label, value); ``top`` fixes the scale (100 for percentages)."""
    peak = top if top is not None else max((value for _, value in items), default=0)
    peak = peak or 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(items), 1)
    every = max(1, -(-len(items) // MAX_LABELS))
    bars = []
    for index, (label, value) in enumerate(items):
        height = plot_height * min(value, peak) / peak
        x = LEFT + index * step + step * 0.15
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(TOP + plot_height - height, 1),
                width=round(step * 0.7, 1),
                height=round(height, 1),
                label=label,
                value_text=_tick(value, unit),
                label_x=round(x + step * 0.35, 1),
                show_label=index % every == 0,
            )
        )
    gridlines = [
        Gridline(y=round(TOP + plot_height - plot_height * n / GRIDLINES, 1), text=_tick(peak * n / GRIDLINES, unit))
        for n in range(GRIDLINES + 1)
    ]
    return BarChart(title=title, description=description, bars=bars, gridlines=gridlines, empty=not items)
