# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that :mod:`monai_lite.benchmark.plot` writes its charts as PNG, atomically.

- a chart of a few models is a readable PNG and leaves no temporary file beside it;
- the accuracy-versus-training-time chart takes points over seeds (error bars) and skips those without a time;
- models without a latency or a Dice (failed runs) are skipped, and a chart with none left is still written;
- a path that is not ``.png`` is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from monai_lite.benchmark.plot import plot_accuracy_vs_latency, plot_accuracy_vs_training_time

POINTS = [
    {"name": "medlitenet", "latency_ms": 40.0, "dice": 0.82, "params": 3_000_000, "family": "monai-lite"},
    {"name": "segresnet", "latency_ms": 12.0, "dice": 0.78, "params": 400_000, "family": "monai"},
    {"name": "basicunet", "latency_ms": 400.0, "dice": 0.80, "params": 1_900_000, "family": "monai"},
]


def test_chart_is_written(tmp_path: Path) -> None:
    path = plot_accuracy_vs_latency(POINTS, tmp_path / "sub" / "chart.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400
    assert sorted(p.name for p in path.parent.iterdir()) == ["chart.png"]


def test_failed_models_are_skipped(tmp_path: Path) -> None:
    failed = [{"name": "msaunet", "latency_ms": None, "dice": None, "params": None},
              {"name": "unet", "latency_ms": float("nan"), "dice": 0.7, "params": 10}]
    assert plot_accuracy_vs_latency(POINTS + failed, tmp_path / "a.png").is_file()
    assert plot_accuracy_vs_latency(failed, tmp_path / "b.png").is_file()


def test_only_png(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PNG"):
        plot_accuracy_vs_latency(POINTS, tmp_path / "chart.svg")


def test_training_time_chart_over_seeds(tmp_path: Path) -> None:
    points = [{**p, "train_minutes": 10.0 - i, "dice_sd": 0.01 * i, "n_seeds": 1 + i} for i, p in enumerate(POINTS)]
    points.append({"name": "unfinished", "train_minutes": None, "dice": 0.5, "params": 10})
    path = plot_accuracy_vs_training_time(points, tmp_path / "time.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["time.png"]
