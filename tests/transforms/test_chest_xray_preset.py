# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the chest_xray preset and its Python helpers (to_grayscale, CLAHE) keep 2D geometry exactly right.

Images are non-square, and the expected pixels are computed from what PIL reads, so a transpose, a flip or a
misplaced pad fails. Checked: rows/columns kept, long side resized with the aspect ratio kept and symmetric
padding to ``spatial_size``, Invertd-style inverse back to the file's size, masks binarised from {0, 255},
colour/16-bit files become one channel without clamping, CLAHE raises contrast but keeps shape, dtype family and
MetaTensor meta (affine), the random chain has no vertical flip and moves image and mask together, and bad
parameters are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose
from PIL import Image
from skimage.exposure import equalize_adapthist

from monai_lite.transforms import CLAHE, CLAHEd, load_preset, read_preset, to_grayscale

H, W = 60, 100  # landscape and non-square on purpose


def gradient_picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A low-contrast grey picture with structure that differs along rows and columns."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    picture = 90 + 40 * rows / height + 20 * np.sin(cols / 7.0) + rng.normal(0, 3, (height, width))
    return np.clip(picture, 0, 255).astype(np.uint8)


@pytest.fixture()
def cxr_case(tmp_path: Path) -> dict:
    image = gradient_picture(H, W)
    mask = np.zeros((H, W), np.uint8)
    mask[5:25, 10:70] = 255  # wide rectangle in the upper-left part: a transpose or flip would move it
    Image.fromarray(image, "L").save(tmp_path / "cxr.png")
    Image.fromarray(mask, "L").save(tmp_path / "cxr_mask.png")
    return {"image": str(tmp_path / "cxr.png"), "label": str(tmp_path / "cxr_mask.png"), "_image": image, "_mask": mask}


def deterministic(**params) -> Compose:
    return Compose(load_preset("chest_xray", "deterministic", **params))


def expected_clahe(picture: np.ndarray) -> np.ndarray:
    unit = (picture - picture.min()) / float(picture.max() - picture.min())
    return equalize_adapthist(unit, clip_limit=0.01, nbins=256)


def test_rows_and_columns_are_kept_and_padding_is_symmetric(cxr_case: dict) -> None:
    out = deterministic(spatial_size=(W, W))({"image": cxr_case["image"], "label": cxr_case["label"]})
    image, label = out["image"], out["label"]
    assert tuple(image.shape) == tuple(label.shape) == (1, W, W)
    top = (W - H) // 2  # long side already W: no resize, rows padded equally above and below
    np.testing.assert_allclose(image[0, top : top + H].numpy(), expected_clahe(cxr_case["_image"]), atol=1e-5)
    np.testing.assert_array_equal(label[0, top : top + H].numpy(), cxr_case["_mask"] > 0)
    assert not image[0, :top].any() and not image[0, top + H :].any() and not label[0, :top].any()
    assert image.dtype == label.dtype == torch.float32
    assert set(torch.unique(label).tolist()) == {0.0, 1.0}
    assert float(image.affine[0, 3]) == -top  # the pad shifted the origin; the affine records it


def test_long_side_resize_keeps_the_aspect_ratio(tmp_path: Path) -> None:
    tall = np.zeros((120, 60), np.uint8)
    tall[10:50, 5:25] = 255  # upper-left box
    Image.fromarray(gradient_picture(120, 60), "L").save(tmp_path / "tall.png")
    Image.fromarray(tall, "L").save(tmp_path / "tall_mask.png")
    case = {"image": str(tmp_path / "tall.png"), "label": str(tmp_path / "tall_mask.png")}
    out = deterministic(spatial_size=(64, 96))(case)
    assert tuple(out["image"].shape) == (1, 64, 96)  # long side = min(spatial_size) = 64: 120x60 -> 64x32
    expected = np.zeros((64, 96), bool)
    expected[5:27, 32 + 3 : 32 + 13] = True  # box rows 10:50 and cols 5:25 halved (scale 64/120 ~ 0.533)
    found = out["label"][0].numpy() > 0
    rows, cols = np.nonzero(found)
    assert 4 <= rows.min() <= 6 and 25 <= rows.max() <= 27 and 34 <= cols.min() <= 36 and 44 <= cols.max() <= 46
    assert (found & expected).sum() / expected.sum() > 0.85


def test_inverse_restores_the_file_geometry(tmp_path: Path) -> None:
    mask = np.zeros((150, 90), np.uint8)
    mask[20:100, 10:50] = 255
    Image.fromarray(gradient_picture(150, 90), "L").save(tmp_path / "x.png")
    Image.fromarray(mask, "L").save(tmp_path / "x_mask.png")
    chain = deterministic(spatial_size=(64, 64))
    out = chain({"image": str(tmp_path / "x.png"), "label": str(tmp_path / "x_mask.png")})
    assert tuple(out["label"].shape) == (1, 64, 64)
    back = chain.inverse(out)
    assert tuple(back["label"].shape) == (1, 150, 90)
    restored, truth = back["label"][0].numpy() > 0.5, mask > 0
    assert 2 * (restored & truth).sum() / (restored.sum() + truth.sum()) > 0.97
    np.testing.assert_allclose(back["label"].affine.numpy(), np.eye(4), atol=1e-6)


def test_inference_without_label(cxr_case: dict) -> None:
    out = deterministic()({"image": cxr_case["image"]})
    assert tuple(out["image"].shape) == (1, 256, 256) and "label" not in out


def test_colour_and_16_bit_files_become_one_unclamped_channel(tmp_path: Path, cxr_case: dict) -> None:
    grey = cxr_case["_image"]
    Image.fromarray(np.stack([grey] * 3, -1), "RGB").save(tmp_path / "rgb.png")
    Image.fromarray(grey.astype(np.uint16) * 16).save(tmp_path / "deep.png")  # 12-bit values
    chain = deterministic(spatial_size=(W, W))
    reference = chain({"image": cxr_case["image"]})["image"]
    for name in ("rgb.png", "deep.png"):
        out = chain({"image": str(tmp_path / name)})["image"]
        assert tuple(out.shape) == (1, W, W), name
        torch.testing.assert_close(out.as_tensor(), reference.as_tensor(), atol=1e-4, rtol=0)


def test_to_grayscale_modes() -> None:
    assert to_grayscale(Image.new("RGB", (4, 3), (10, 200, 30))).mode == "L"
    deep = Image.fromarray(np.full((3, 4), 4000, np.uint16))
    assert deep.mode == "I;16"
    assert to_grayscale(deep) is deep  # converting to L would clamp 4000 to 255
    grey = Image.new("L", (4, 3), 7)
    assert to_grayscale(grey) is grey
    rgba = Image.new("RGBA", (4, 3), (255, 255, 255, 0))  # fully transparent white: black after compositing
    assert np.asarray(to_grayscale(rgba)).max() == 0
    assert to_grayscale(Image.new("P", (4, 3))).mode == "L"


def test_clahe_raises_contrast_but_keeps_shape_and_meta() -> None:
    picture = gradient_picture(H, W).astype(np.float32)[None]
    picture[0, 0, 0], picture[0, -1, -1] = 0.0, 255.0  # two outliers: min-max scaling alone leaves it dull
    affine = torch.tensor([[0.3, 0, 0, 5.0], [0, 0.2, 0, -7.0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.float64)
    image = MetaTensor(torch.from_numpy(picture), affine=affine, meta={"filename_or_obj": "cxr.png"})
    out = CLAHEd("image", clip_limit=0.02)({"image": image})["image"]
    assert isinstance(out, MetaTensor) and tuple(out.shape) == (1, H, W) and out.dtype == torch.float32
    torch.testing.assert_close(out.affine, affine)
    assert out.meta["filename_or_obj"] == "cxr.png"
    unit = (picture - picture.min()) / (picture.max() - picture.min())
    assert float(out.std()) > 1.2 * float(unit.std())  # equalisation spreads the grey levels
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


def test_clahe_numpy_volumes_and_constant_images() -> None:
    volume = np.random.default_rng(2).random((2, 16, 12, 3)).astype(np.float32)  # last axis 3: not an RGB picture
    out = CLAHE(kernel_size=4)(volume)
    assert isinstance(out, np.ndarray) and out.shape == volume.shape and out.dtype == np.float32
    assert not CLAHE()(np.full((1, 8, 9), 5.0, np.float32)).any()  # constant: zeros, no division by zero


@pytest.mark.parametrize(
    "kwargs", [{"clip_limit": 0}, {"clip_limit": 1.5}, {"kernel_size": 0}, {"kernel_size": [8, -1]}, {"nbins": 1}]
)
def test_clahe_refuses_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="CLAHE"):
        CLAHE(**kwargs)


def test_clahe_refuses_images_without_a_channel_axis() -> None:
    with pytest.raises(ValueError, match="channel-first"):
        CLAHE()(np.zeros((8, 9), np.float32))
    with pytest.raises(ValueError, match="kernel_size"):
        CLAHE(kernel_size=[4, 4, 4])(np.random.default_rng(0).random((1, 8, 9)))


def test_random_chain_has_no_vertical_flip_and_moves_image_and_mask_together(cxr_case: dict) -> None:
    config = read_preset("chest_xray")
    flips = [t for t in config["random"] if t["_target_"] in ("RandFlipd", "RandAxisFlipd", "RandRotate90d")]
    assert all(t["_target_"] == "RandFlipd" and t["spatial_axis"] == 1 for t in flips)  # columns only
    assert config["prob_flip_lr"] == 0.0
    case = deterministic(spatial_size=(W, W))({"image": cxr_case["label"], "label": cxr_case["label"]})
    case["image"] = case["label"].clone()  # image identical to the mask: any mismatch shows
    rand = Compose(load_preset("chest_xray", "random", prob_affine=1.0, max_rotation_deg=10, prob_flip_lr=1.0,
                               prob_intensity=0.0, prob_gamma=0.0))
    rand.set_random_state(seed=5)
    out = rand(case)
    assert tuple(out["image"].shape) == (1, W, W)
    moved = (out["image"][0] > 0.5).numpy()
    assert (moved == (out["label"][0] > 0.5).numpy()).mean() > 0.99  # bilinear vs nearest differ only at edges
    assert not np.array_equal(moved, (case["label"][0] > 0.5).numpy())


def test_bad_parameter_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['clahe_clip'\].*clahe_clip_limit"):
        load_preset("chest_xray", "deterministic", clahe_clip=0.02)
