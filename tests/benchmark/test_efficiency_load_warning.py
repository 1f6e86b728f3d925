# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``benchmark efficiency`` warns when the machine is busier than its thread count, and stays quiet otherwise."""

from __future__ import annotations

import pytest

from monai_lite.benchmark.efficiency import load_warning, render_markdown


@pytest.mark.parametrize(
    "load, threads, expected",
    [
        ([2.5, 1.0, 0.5], 2, "load average is 2.5, above the 2 benchmark thread(s)"),
        ([1.5, 3.0, 3.0], 1, "above the 1 benchmark thread(s)"),
        ([2.0, 9.0, 9.0], 2, None),  # only the 1-minute value counts, and equal is not above
        ([0.1, 0.1, 0.1], 4, None),
        (None, 2, None),  # platforms without a load average
    ],
)
def test_load_warning(load, threads: int, expected: str | None) -> None:
    text = load_warning(load, threads)
    assert (text is None) if expected is None else (expected in text)


def test_suggests_one_thread_only_when_more_were_asked() -> None:
    assert "--threads 1" in load_warning([5.0, 5.0, 5.0], 2)
    assert "--threads 1" not in load_warning([5.0, 5.0, 5.0], 1)


def test_markdown_shows_the_warning() -> None:
    machine = {"cpu_model": "AMD EPYC", "cpu_count": 2, "platform": "Linux", "load_average": [4.0, 4.0, 4.0],
               "load_average_end": [4.0, 4.0, 4.0], "python": "3.11", "torch": "2", "monai": "1.6",
               "torch_num_interop_threads": 1, "load_warning": load_warning([4.0, 4.0, 4.0], 2)}
    settings = {"threads": 2, "batch_size": 1, "repeats": {"2d": 1}, "warmup": {"2d": 0}, "baseline": "basicunet",
                "dims": [2], "input_size": {"2d": 32}, "io_channels": {"2d": [3, 1]}, "onnx": False, "gpu": False,
                "macs": "m", "weights": "w", "peak_rss": "p"}
    text = render_markdown({"machine": machine, "settings": settings, "results": [], "duration_s": 1.0})
    assert "**warning**: the 1-minute load average is 4.0" in text
    machine["load_warning"] = None
    assert "**warning**" not in render_markdown({"machine": machine, "settings": settings, "results": [],
                                                 "duration_s": 1.0})
