# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that a 2D picture goes through a bundle's preset and back without transpose or flip: a non-square (40x64)
PNG with an off-centre bright rectangle, segmented by a pointwise model through the dermoscopy preset (resize to
48x48 and back by Invertd), gives a 40x64 mask whose foreground is that rectangle; the written mask PNG (0/255) and
the RGB overlay have the input's width and height; an (H, W, C) channels-last array gives the file's result; and a
multi-class head writes label values, not 0/255."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from inference_helpers import Pointwise, asymmetric_picture, dummy_model
from PIL import Image

from monai_lite.inference import Predictor


def _rectangle(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[4:14, 6:30] = 1
    return mask


def _predictor(out_channels: int = 1) -> Predictor:
    net = Pointwise(2, in_channels=3, out_channels=out_channels, scale=20.0, offset=0.0 if out_channels == 1 else 0.5)
    return Predictor([dummy_model(net, "dermoscopy", 2, in_channels=3, out_channels=out_channels, spatial_size=(48, 48))])


def test_png_mask_keeps_rows_and_columns(tmp_path: Path) -> None:
    picture = asymmetric_picture(40, 64)
    (tmp_path / "in").mkdir()
    Image.fromarray(picture).save(tmp_path / "in" / "case.png")
    predictor = _predictor()
    mask = predictor(tmp_path / "in" / "case.png")
    assert mask.shape == (40, 64) and mask.dtype == np.uint8
    expected = _rectangle((40, 64))
    # Resizing 40x64 -> 48x48 -> 40x64 may move the rectangle's edge by one pixel, never the rectangle itself.
    assert np.logical_xor(mask, expected).sum() <= expected.sum() * 0.1
    assert mask[5:13, 7:29].all() and not mask[20:, :].any() and not mask[:, 40:].any()
    np.testing.assert_array_equal(predictor(picture), mask)  # channels-last array = file

    record = predictor.write(tmp_path / "in", tmp_path / "out", progress=False)
    assert [Path(p).name for p in record["cases"][0]["outputs"]] == ["case_seg.png", "case_overlay.png"]
    saved = Image.open(tmp_path / "out" / "case_seg.png")
    assert saved.size == (64, 40) and saved.mode == "L"  # PIL size is (width, height)
    np.testing.assert_array_equal(np.asarray(saved), mask * 255)
    overlay = Image.open(tmp_path / "out" / "case_overlay.png")
    assert overlay.size == (64, 40) and overlay.mode == "RGB"
    rgb = np.asarray(overlay).astype(int)
    np.testing.assert_array_equal(rgb[30:, 40:], picture[30:, 40:])  # background untouched
    assert rgb[8, 15, 0] > rgb[8, 15, 1] + 40  # the rectangle's inside is tinted red (label 1's colour)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def test_multiclass_head_writes_label_values(tmp_path: Path) -> None:
    picture = np.full((24, 36, 3), 20, np.uint8)
    picture[2:10, 3:12] = 250  # bright: normalised ~2.2 -> label 2 of "round(intensity)"
    picture[14:20, 20:30] = 200  # middle: ~1.3 -> label 1
    (tmp_path / "in").mkdir()
    Image.fromarray(picture).save(tmp_path / "in" / "m.png")
    predictor = _predictor(out_channels=3)
    mask = predictor(tmp_path / "in" / "m.png")
    assert mask.shape == (24, 36) and set(np.unique(mask)) == {0, 1, 2}
    assert mask[5, 6] == 2 and mask[17, 25] == 1 and mask[22, 2] == 0
    predictor.write(tmp_path / "in", tmp_path / "out", progress=False)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "m_seg.png")), mask)
