# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that a mask written by RowMajorPILWriter through SaveImaged overlays its image with no transpose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from monai.transforms import Compose, SaveImaged
from PIL import Image

from monai_lite.transforms import load_preset


def test_saved_mask_overlays_the_loaded_image(tmp_path: Path) -> None:
    h, w = 30, 50
    mask = np.zeros((h, w), np.uint8)
    mask[2:8, 5:45] = 255
    image = np.stack([mask] * 3, axis=-1)
    Image.fromarray(image, "RGB").save(tmp_path / "img.png")
    case = Compose(load_preset("dermoscopy", "deterministic", spatial_size=(h, w)))({"image": str(tmp_path / "img.png")})
    case["pred"] = (case["image"][:1] > 0).float()
    save = SaveImaged(
        keys="pred", meta_keys="image_meta_dict", output_dir=str(tmp_path / "out"), output_postfix="seg",
        output_ext=".png", output_dtype=np.uint8, scale=255, separate_folder=False,
        writer="monai_lite.transforms.writers.RowMajorPILWriter", print_log=False,
    )
    save(case)
    written = np.array(Image.open(tmp_path / "out" / "img_seg.png"))
    assert written.shape == (h, w)
    np.testing.assert_array_equal(written, mask)
