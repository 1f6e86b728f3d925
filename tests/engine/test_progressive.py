# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves progressive resizing follows its schedule (absolute and fractional epochs and sizes), shrinks images by
area averaging and labels by nearest neighbour without inventing label values, works in 3D, is a no-op when off or
at full size, switches stage inside a real trainer run, and refuses malformed schedules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from engine_tiny import build_run
from ignite.engine import Events

from monai_lite.engine import ProgressiveResize


def test_absolute_schedule() -> None:
    resize = ProgressiveResize([[0, 96], [10, 128], [20, 256]])
    assert [resize.size_for_epoch(e, 30) for e in (0, 9, 10, 19, 20, 29)] == [96, 96, 128, 128, 256, 256]


def test_fractional_epochs_follow_the_run_length() -> None:
    resize = ProgressiveResize([[0, 0.5], [0.3, 0.75], [0.6, 1.0]])
    assert [resize.size_for_epoch(e, 15) for e in (0, 3, 4, 8, 9, 14)] == [0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    assert [resize.size_for_epoch(e, 100) for e in (29, 30, 59, 60)] == [0.5, 0.75, 0.75, 1.0]


def test_fractional_sizes_follow_the_image_size_and_round_to_the_multiple() -> None:
    resize = ProgressiveResize([[0, 0.5]], size_multiple=32)
    assert resize.target_shape((128, 128), 0.5) == (64, 64)
    assert resize.target_shape((256, 192), 0.75) == (192, 160)  # 144 rounds to 160
    assert resize.target_shape((40, 40), 0.1) == (32, 32), "never below one multiple"
    assert resize.target_shape((16, 16), 0.5) == (16, 16), "axes smaller than the multiple stay as they are"
    assert resize.target_shape((128, 96), [64, 48]) == (64, 48)


def test_batch_is_resized_labels_keep_their_values() -> None:
    resize = ProgressiveResize([[0, 8]])
    resize.stage_size = 8
    image = torch.arange(16.0).repeat(16, 1)[None, None].repeat(2, 3, 1, 1)
    label = torch.randint(0, 3, (2, 1, 16, 16))
    out_image, out_label = resize({"image": image, "label": label}, torch.device("cpu"), False)
    assert out_image.shape == (2, 3, 8, 8) and out_label.shape == (2, 1, 8, 8)
    torch.testing.assert_close(out_image[0, 0, 0, :2], torch.tensor([0.5, 2.5]), msg="area averaging")
    assert out_label.dtype == label.dtype and set(out_label.unique().tolist()) <= {0, 1, 2}


def test_3d_batches() -> None:
    resize = ProgressiveResize([[0, 0.5]], size_multiple=8)
    resize.stage_size = 0.5
    image, label = torch.randn(1, 1, 32, 48, 32), (torch.rand(1, 1, 32, 48, 32) > 0.5).float()
    out_image, out_label = resize({"image": image, "label": label}, torch.device("cpu"), False)
    assert out_image.shape[2:] == (16, 24, 16) and out_label.shape[2:] == (16, 24, 16)
    assert set(out_label.unique().tolist()) <= {0.0, 1.0}


def test_off_and_full_size_pass_the_batch_through() -> None:
    image, label = torch.randn(2, 1, 16, 16), torch.zeros(2, 1, 16, 16)
    off = ProgressiveResize([])
    assert not off.enabled
    out = off({"image": image, "label": label}, torch.device("cpu"), False)
    assert out[0] is image or torch.equal(out[0], image)
    full = ProgressiveResize([[0, 16]])
    full.stage_size = 16
    assert torch.equal(full({"image": image, "label": label}, torch.device("cpu"), False)[0], image)


def test_stage_changes_inside_a_trainer_run(tmp_path: Path) -> None:
    sizes: list[tuple[int, ...]] = []

    class Spy:
        def attach(self, engine):
            engine.add_event_handler(
                Events.ITERATION_COMPLETED, lambda e: sizes.append(tuple(e.state.output[0]["image"].shape[1:]))
            )

    build_run(tmp_path, epochs=4, extra_handlers=[Spy()])["trainer"].run()  # schedule [[0, 8], [0.5, 1.0]]
    assert sizes[:6] == [(8, 8)] * 6 and sizes[6:] == [(16, 16)] * 6


@pytest.mark.parametrize(
    "schedule, message",
    [
        ([[1, 64]], "must start at epoch 0"),
        ([[0, 64, 3]], r"must be \[epoch, size\]"),
        ([[0, -1]], "size must be positive"),
        ([[0, 1.5]], "fractions in"),
        ([[1.5, 64]], "int >= 0 or a fraction"),
    ],
)
def test_malformed_schedules_are_refused(schedule: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProgressiveResize(schedule)
