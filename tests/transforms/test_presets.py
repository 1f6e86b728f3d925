# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the modality presets load images the right way round, binarise masks, and refuse bad names.

Geometry bugs are silent (MONAI#3976: PNGs load transposed by default), so every check uses non-square images
and compares pixels with what PIL itself reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.transforms import Compose
from PIL import Image

from monai_lite.transforms import list_presets, load_preset, read_preset

H, W = 40, 72  # non-square on purpose


@pytest.fixture()
def rgb_case(tmp_path: Path) -> dict:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[5:20, 10:60] = 255  # wide rectangle: a transpose would move it
    Image.fromarray(image, "RGB").save(tmp_path / "case.png")
    Image.fromarray(mask, "L").save(tmp_path / "case_mask.png")
    return {"image": str(tmp_path / "case.png"), "label": str(tmp_path / "case_mask.png"), "_image": image, "_mask": mask}


def test_shipped_presets_are_listed() -> None:
    assert {"dermoscopy", "endoscopy"} <= set(list_presets())


@pytest.mark.parametrize("preset", ["dermoscopy", "endoscopy"])
def test_rgb_presets_keep_rows_and_columns(preset: str, rgb_case: dict) -> None:
    chain = Compose(load_preset(preset, "deterministic", spatial_size=(H, W)))
    out = chain({"image": rgb_case["image"], "label": rgb_case["label"]})
    assert tuple(out["image"].shape) == (3, H, W)
    assert tuple(out["label"].shape) == (1, H, W)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    expected = (torch.from_numpy(rgb_case["_image"]).permute(2, 0, 1).float() / 255 - mean) / std
    torch.testing.assert_close(out["image"].as_tensor(), expected, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(out["label"][0].numpy(), rgb_case["_mask"] > 0)


def test_masks_in_0_1_and_0_255_give_the_same_labels(tmp_path: Path, rgb_case: dict) -> None:
    Image.fromarray((rgb_case["_mask"] > 0).astype(np.uint8), "L").save(tmp_path / "mask01.png")
    chain = Compose(load_preset("dermoscopy", "deterministic", spatial_size=(H, W)))
    a = chain({"image": rgb_case["image"], "label": rgb_case["label"]})["label"]
    b = chain({"image": rgb_case["image"], "label": str(tmp_path / "mask01.png")})["label"]
    assert set(torch.unique(a).tolist()) == {0.0, 1.0}
    torch.testing.assert_close(a.as_tensor(), b.as_tensor())


def test_resize_and_inference_without_label(rgb_case: dict) -> None:
    chain = Compose(load_preset("dermoscopy", "deterministic", spatial_size=(32, 32)))
    out = chain({"image": rgb_case["image"]})
    assert tuple(out["image"].shape) == (3, 32, 32)
    assert "label" not in out


def test_random_chain_moves_image_and_label_together(rgb_case: dict) -> None:
    """Spatial augmentations must apply the same motion to both keys; the image here is the mask itself."""
    det = Compose(load_preset("dermoscopy", "deterministic", spatial_size=(H, W)))
    rand = Compose(
        load_preset("dermoscopy", "random", prob_flip=1.0, prob_rotate90=1.0, prob_affine=0.0, prob_elastic=0.0,
                    prob_intensity=0.0, prob_noise=0.0, prob_blur=0.0)
    )
    rand.set_random_state(seed=3)
    case = det({"image": rgb_case["label"], "label": rgb_case["label"]})  # the grey mask read as an RGB image
    out = rand(case)
    torch.testing.assert_close((out["image"][0] > 0).float().as_tensor(), out["label"][0].as_tensor())
    assert not torch.equal(out["label"].as_tensor(), case["label"].as_tensor()), "flips at p=1 must change the mask"


def test_grey_image_becomes_three_channels(rgb_case: dict) -> None:
    out = Compose(load_preset("dermoscopy", "deterministic", spatial_size=(H, W)))({"image": rgb_case["label"]})
    assert tuple(out["image"].shape) == (3, H, W)


def test_endoscopy_extends_dermoscopy() -> None:
    derm, endo = read_preset("dermoscopy"), read_preset("endoscopy")
    assert endo["deterministic"] == derm["deterministic"]
    assert endo["prob_elastic"] == 0.0 and derm["prob_elastic"] > 0
    assert endo["description"] != derm["description"]


def test_bad_names_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid presets: .*dermoscopy"):
        load_preset("dermoscopyy", "deterministic")
    with pytest.raises(ValueError, match="section must be one of"):
        load_preset("dermoscopy", "train")
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['spatial_sise'\].*spatial_size"):
        load_preset("dermoscopy", "deterministic", spatial_sise=(8, 8))


@pytest.mark.parametrize("value", ["$print('ran')", "@image_size", "%other.json#x", {"_target_": "os.getcwd"}])
def test_parameters_holding_config_syntax_are_refused(value) -> None:
    """load_preset parses the preset, so a parameter value that MONAI would run or follow is refused first."""
    from monai_lite.errors import UnsafeValueError

    with pytest.raises(UnsafeValueError, match=r"preset 'dermoscopy': preset_params.spatial_size"):
        load_preset("dermoscopy", "deterministic", spatial_size=value)
