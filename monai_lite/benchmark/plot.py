# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The charts of ``monai-lite benchmark accuracy``: one labelled bubble per model.

y is the held-out Dice (with an error bar of its standard deviation over seeds when a model has several), x a cost:
the CPU latency in milliseconds (:func:`plot_accuracy_vs_latency`) or the training time
(:func:`plot_accuracy_vs_training_time`), on a log scale when the values span more than a factor of ten; the
bubble *area* is proportional to the number of parameters, so a model that is both small and fast sits as a small
bubble in the upper left. :func:`plot_accuracy_bubbles` draws either. The figure is drawn with matplotlib's Agg canvas directly (no ``pyplot``), so it
works without a display and leaves the caller's matplotlib backend and global state untouched.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from monai_lite.engine.atomic import atomic_path

__all__ = ["PlotPoint", "plot_accuracy_bubbles", "plot_accuracy_vs_latency", "plot_accuracy_vs_training_time"]

#: One bubble: ``{"name": str, "latency_ms": float, "dice": float, "params": int, "family": str}``, optionally
#: ``"dice_sd"`` and ``"n_seeds"`` (an error bar and "n=3" in the label when over several seeds), and any other x
#: value such as ``"train_minutes"`` (``family`` is optional and picks the colour).
PlotPoint = Mapping[str, object]

#: Area in points^2 of the largest model's bubble.
_MAX_AREA = 1600.0
_COLOURS = {"monai-lite": "tab:blue", "monai": "tab:orange"}


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _minor_tick_label(value: float, _position: int) -> str:
    """Label the 2x and 5x minor ticks of a log axis (20, 50, 200, ...); the others stay unlabelled."""
    if value <= 0:
        return ""
    leading = value / 10 ** math.floor(math.log10(value))
    return f"{value:g}" if round(leading) in (2, 5) and abs(leading - round(leading)) < 1e-6 else ""


def plot_accuracy_vs_latency(
    points: Sequence[PlotPoint],
    path: str | os.PathLike,
    title: str = "Accuracy versus CPU latency",
    xlabel: str = "CPU latency, batch 1 (ms)",
    ylabel: str = "held-out Dice",
) -> Path:
    """Draw the models as bubbles at their CPU latency and write the chart as a PNG, atomically.

    Points whose latency or Dice is missing or not finite (a model that failed) are left out; a chart with no point
    left is still written, with a note, so the report never links to a missing file.

    Args:
        points: one mapping per model with ``name``, ``latency_ms``, ``dice``, ``params`` and optionally ``family``
            (``"monai-lite"`` blue, ``"monai"`` orange, anything else grey), ``dice_sd`` and ``n_seeds``.
        path: the PNG to write; its folder is created.
        title: chart title. Defaults to "Accuracy versus CPU latency".
        xlabel: x-axis label. Defaults to "CPU latency, batch 1 (ms)".
        ylabel: y-axis label. Defaults to "held-out Dice".

    Returns:
        The path written.

    Raises:
        ValueError: if ``path`` does not end in ``.png``.

    Example::

        plot_accuracy_vs_latency(
            [{"name": "medlitenet", "latency_ms": 41.0, "dice": 0.82, "params": 3_000_000, "family": "monai-lite"},
             {"name": "basicunet", "latency_ms": 95.0, "dice": 0.80, "params": 1_900_000, "family": "monai"}],
            "out/accuracy_vs_latency.png",
        )
    """
    return plot_accuracy_bubbles(points, path, "latency_ms", title=title, xlabel=xlabel, ylabel=ylabel)


def plot_accuracy_vs_training_time(
    points: Sequence[PlotPoint],
    path: str | os.PathLike,
    title: str = "Accuracy versus training time",
    xlabel: str = "training time (CPU minutes)",
    ylabel: str = "held-out Dice",
) -> Path:
    """Draw the models as bubbles at their training time (``train_minutes`` of each point) and write the PNG.

    Under a time budget most models sit at the budget; those left of it reached their epoch limit first. The axis
    starts at zero, so that small differences around the budget do not look large.

    Args:
        points: as :func:`plot_accuracy_vs_latency`, with ``train_minutes`` instead of ``latency_ms``.
        path: the PNG to write; its folder is created.
        title: chart title. Defaults to "Accuracy versus training time".
        xlabel: x-axis label; say which clock. Defaults to "training time (CPU minutes)".
        ylabel: y-axis label. Defaults to "held-out Dice".

    Returns:
        The path written.

    Raises:
        ValueError: if ``path`` does not end in ``.png``.
    """
    return plot_accuracy_bubbles(points, path, "train_minutes", title=title, xlabel=xlabel, ylabel=ylabel,
                                 from_zero=True)


def plot_accuracy_bubbles(
    points: Sequence[PlotPoint],
    path: str | os.PathLike,
    x_key: str,
    title: str,
    xlabel: str,
    ylabel: str = "held-out Dice",
    from_zero: bool = False,
) -> Path:
    """Draw the models as bubbles (x = ``point[x_key]``, y = ``dice``) and write the chart as a PNG, atomically.

    Args:
        points: one mapping per model (see :data:`PlotPoint`); those without a finite x or Dice are left out.
        path: the PNG to write; its folder is created.
        x_key: the key of the x value in each point, e.g. ``"latency_ms"``.
        title: chart title.
        xlabel: x-axis label.
        ylabel: y-axis label. Defaults to "held-out Dice".
        from_zero: start the x axis at zero (linear) instead of fitting it to the points (log when they span more
            than a factor of ten). Defaults to False.

    Returns:
        The path written.

    Raises:
        ValueError: if ``path`` does not end in ``.png``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the accuracy chart is written as PNG; {path} does not end in .png.")
    drawn = [p for p in points if _finite(p.get(x_key)) and _finite(p.get("dice"))]
    sizes = [float(p["params"]) if _finite(p.get("params")) and float(p["params"]) > 0 else 0.0 for p in drawn]
    largest = max(sizes, default=0.0) or 1.0

    figure = Figure(figsize=(9, 5.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for point, size in zip(drawn, sizes):
        colour = _COLOURS.get(str(point.get("family", "")), "tab:gray")
        x, y = float(point[x_key]), float(point["dice"])
        # Area (not radius) proportional to parameters; a floor keeps parameter-less points visible.
        area = max(_MAX_AREA * size / largest, 20.0)
        axes.scatter(x, y, s=area, color=colour, alpha=0.45, edgecolors="black", linewidths=0.6)
        if _finite(point.get("dice_sd")):
            axes.errorbar(x, y, yerr=float(point["dice_sd"]), color="black", linewidth=0.8, capsize=3)
        label = f"{point['name']}\n{size / 1e6:.2f} M" if size else str(point["name"])
        if isinstance(point.get("n_seeds"), int) and point["n_seeds"] > 1:
            label += f", n={point['n_seeds']}"
        axes.annotate(label, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=7)
    if drawn:
        xs = [float(p[x_key]) for p in drawn]
        if not from_zero and min(xs) > 0 and max(xs) / min(xs) > 10:
            axes.set_xscale("log")
            # plain numbers (10, 20, 50), not 10^1 and 2 x 10^1
            axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.xaxis.set_minor_formatter(FuncFormatter(_minor_tick_label))
        for family, colour in _COLOURS.items():
            if any(p.get("family") == family for p in drawn):
                axes.scatter([], [], s=60, color=colour, alpha=0.45, edgecolors="black", label=family)
        if any(p.get("family") in _COLOURS for p in drawn):
            # Outside the axes, so it never hides a bubble.
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="bubble area ∝ parameters",
                        title_fontsize=8, labelspacing=1.2, borderpad=0.8)
        # Room around the outermost bubbles and their labels.
        axes.margins(x=0.15, y=0.15)
        if from_zero:
            axes.set_xlim(0, max(xs) * 1.15)
    else:
        axes.text(0.5, 0.5, "no model finished with a Dice and this cost", ha="center", va="center",
                  transform=axes.transAxes)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()

    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    return path
