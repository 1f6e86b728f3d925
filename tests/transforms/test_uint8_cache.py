# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the picture presets cache uint8 and still feed the network the numbers of the float32 chain they replace.

The reference is the dermoscopy chain as it was before the uint8 cache (scale, normalise, resize, binarise, float32,
all cached). Through ``CacheDataset`` and MONAI's ``DataLoader`` with the same seed:

- the cache holds uint8 images and labels, a quarter of the reference's bytes;
- training batches (deterministic and random transforms, every augmentation on) are equal up to float rounding when
  the resize keeps the size, and labels are equal exactly;
- with a real resize, images differ by at most the half 8-bit level the rounding allows, labels not at all;
- reading the items (two epochs of random transforms) leaves the cached uint8 items as they were;
- a value outside 0..255 (a picture that is not 8-bit) is refused, naming the file, and so is a zero ``std``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import CacheDataset, DataLoader, MetaTensor
from monai.transforms import (
    AsDiscreted,
    Compose,
    EnsureChannelFirstd,
    EnsureTyped,
    LoadImaged,
    NormalizeIntensityd,
    Resized,
    ScaleIntensityRanged,
)
from monai.utils import set_determinism
from PIL import Image

from monai_lite.transforms import ToUint8d, Uint8ToFloatd, load_preset, to_rgb

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
#: Every augmentation of the preset on, so the random part sees the whole range of its inputs.
ALL_ON = {"prob_flip": 0.5, "prob_rotate90": 0.5, "prob_affine": 1.0, "prob_elastic": 1.0, "prob_intensity": 1.0,
          "prob_noise": 1.0, "prob_blur": 1.0}


@pytest.fixture()
def pictures(tmp_path: Path) -> list[dict]:
    rng = np.random.default_rng(0)
    cases = []
    for i in range(6):
        image = rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8)  # square: 90-degree rotations keep the shape
        mask = np.zeros((48, 48), np.uint8)
        mask[5 + i:20 + i, 10:40 - i] = 255
        Image.fromarray(image, "RGB").save(tmp_path / f"case{i}.png")
        Image.fromarray(mask, "L").save(tmp_path / f"case{i}_mask.png")
        cases.append({"image": str(tmp_path / f"case{i}.png"), "label": str(tmp_path / f"case{i}_mask.png")})
    return cases


def _float_reference(size: tuple[int, int]) -> list:
    """The dermoscopy deterministic chain before the uint8 cache: float32 from the decode on, all of it cached."""
    return [
        LoadImaged("image", reader="PILReader", reverse_indexing=False, converter=to_rgb, image_only=False),
        LoadImaged("label", reader="PILReader", reverse_indexing=False, image_only=False),
        EnsureChannelFirstd("image", channel_dim=-1),
        EnsureChannelFirstd("label", channel_dim="no_channel"),
        ScaleIntensityRanged("image", a_min=0, a_max=255, b_min=0.0, b_max=1.0),
        NormalizeIntensityd("image", subtrahend=MEAN, divisor=STD, channel_wise=True),
        Resized(["image", "label"], spatial_size=size, mode=["area", "nearest-exact"]),
        AsDiscreted("label", threshold=0.5),
        EnsureTyped(["image", "label"], dtype=torch.float32),
    ]


def _batches(cases: list[dict], deterministic: list, random: list) -> tuple[CacheDataset, list[dict]]:
    set_determinism(seed=0)  # as the bundle's initialize does; the loader then seeds the transforms from torch
    dataset = CacheDataset(cases, Compose(deterministic + random), cache_rate=1.0, num_workers=1, progress=False)
    batches = list(DataLoader(dataset, batch_size=3, shuffle=False, num_workers=0))
    set_determinism(seed=None)
    return dataset, batches


def _cached_bytes(dataset: CacheDataset) -> int:
    return sum(item[key].element_size() * item[key].numel() for item in dataset._cache for key in ("image", "label"))


def test_cache_is_uint8_and_a_quarter_of_float32(pictures: list[dict]) -> None:
    size = (32, 32)
    new = CacheDataset(pictures, Compose(load_preset("dermoscopy", "deterministic", spatial_size=size)),
                       cache_rate=1.0, num_workers=1, progress=False)
    old = CacheDataset(pictures, Compose(_float_reference(size)), cache_rate=1.0, num_workers=1, progress=False)
    assert {new._cache[0][k].dtype for k in ("image", "label")} == {torch.uint8}
    assert {old._cache[0][k].dtype for k in ("image", "label")} == {torch.float32}
    assert _cached_bytes(new) * 4 == _cached_bytes(old)
    assert new[0]["image"].dtype == torch.float32, "what the network gets is still float32"


def test_training_batches_equal_the_float_chain_when_the_size_is_kept(pictures: list[dict]) -> None:
    size = (48, 48)
    _, old = _batches(pictures, _float_reference(size), load_preset("dermoscopy", "random", **ALL_ON))
    dataset, new = _batches(pictures, load_preset("dermoscopy", "deterministic", spatial_size=size),
                            load_preset("dermoscopy", "random", **ALL_ON))
    assert len(old) == len(new) == 2
    for a, b in zip(old, new):
        assert a["image"].dtype == b["image"].dtype == torch.float32
        torch.testing.assert_close(b["image"].as_tensor(), a["image"].as_tensor(), atol=1e-4, rtol=1e-5)
        assert torch.equal(b["label"].as_tensor(), a["label"].as_tensor())


def test_reading_leaves_the_cached_items_untouched(pictures: list[dict]) -> None:
    dataset, _ = _batches(pictures, load_preset("dermoscopy", "deterministic", spatial_size=(48, 48)),
                          load_preset("dermoscopy", "random", **ALL_ON))
    before = [(item["image"].clone(), len(item["image"].applied_operations)) for item in dataset._cache]
    for _ in range(2):
        for index in range(len(dataset)):
            read = dataset[index]
            assert read["image"].dtype == torch.float32 and read["image"].applied_operations, "augmented copies"
    for item, (pixels, operations) in zip(dataset._cache, before):
        assert item["image"].dtype == torch.uint8 and torch.equal(item["image"].as_tensor(), pixels.as_tensor())
        assert len(item["image"].applied_operations) == operations


def test_a_real_resize_moves_values_by_at_most_half_an_8_bit_level(pictures: list[dict]) -> None:
    size = (32, 32)
    new = Compose(load_preset("dermoscopy", "deterministic", spatial_size=size))
    old = Compose(_float_reference(size))
    bound = 0.5 / 255 / min(STD) + 1e-5
    largest = 0.0
    for case in pictures:
        a, b = old(dict(case)), new(dict(case))
        largest = max(largest, float((a["image"] - b["image"]).abs().max()))
        assert torch.equal(a["label"].as_tensor(), b["label"].as_tensor())
    assert 0 < largest <= bound


def test_values_outside_8_bit_are_refused_naming_the_file() -> None:
    image = MetaTensor(torch.full((1, 4, 4), 300.0), meta={"filename_or_obj": "scan_16bit.png"})
    with pytest.raises(ValueError, match=r"scan_16bit\.png: image has values in \[300, 300\], outside the 8-bit"):
        ToUint8d("image")({"image": image})


def test_a_zero_std_is_refused() -> None:
    with pytest.raises(ValueError, match="std must not hold 0"):
        Uint8ToFloatd("image", mean=[0.5], std=[0.0])
