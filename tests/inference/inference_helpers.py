# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Helpers of the inference tests: tiny dummy networks, a BundleModel around them, synthetic pictures, and the
synthetic DICOM writer and real-data finder of ``tests/data/data_builders.py`` (loaded by path, because pytest puts
only this folder on ``sys.path`` when it runs ``tests/inference`` alone)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import torch.nn as nn

from monai_lite.inference import BundleModel
from monai_lite.transforms import load_preset

__all__ = ["builders", "Pointwise", "Constant", "TinySegNet", "dummy_model", "asymmetric_picture"]


def _data_builders() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "data" / "data_builders.py"
    spec = importlib.util.spec_from_file_location("monai_lite_test_data_builders", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builders = _data_builders()


class Pointwise(nn.Module):
    """A 1x1 convolution ``scale * (x[channel] - offset)``: equivariant to every flip and rotation.

    Records the shape of every input it sees, so tests can tell slice-by-slice from volume inference.
    """

    def __init__(self, spatial_dims: int, in_channels: int = 1, out_channels: int = 1, channel: int = 0,
                 scale: float = 20.0, offset: float = 0.0) -> None:
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        self.conv = conv(in_channels, out_channels, kernel_size=1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.fill_(-scale * offset)
            self.conv.weight[:, channel] = scale
            if out_channels > 1:  # logit_k = scale * (k x - k^2 offset): with offset 0.5 the arg-max is round(x)
                k = torch.arange(out_channels, dtype=torch.float32)
                self.conv.weight[:, channel] = (k * scale).view(-1, *([1] * spatial_dims))
                self.conv.bias.copy_(-(k**2) * scale * offset)
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape))
        return self.conv(x)


class Constant(nn.Module):
    """Logits such that the sigmoid is ``probability`` everywhere."""

    def __init__(self, probability: float) -> None:
        super().__init__()
        self.logit = float(np.log(probability / (1.0 - probability)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 1, *x.shape[2:]), self.logit, dtype=torch.float32)


class TinySegNet(nn.Module):
    """A two-level encoder-decoder small enough to export to ONNX in a second, built like the real networks: the
    input is padded up to the total stride (4) and the logits cropped back, so an export bakes in the padding of its
    input size as theirs does.

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels. Defaults to 1.
        out_channels: output channels. Defaults to 1.
        seed: seed of the random initial weights (different seeds: different ensemble members). Defaults to 0.
    """

    def __init__(self, spatial_dims: int, in_channels: int = 1, out_channels: int = 1, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        self.spatial_dims = spatial_dims
        self.stem = conv(in_channels, 6, 3, padding=1)
        self.down = conv(6, 8, 3, stride=2, padding=1)
        self.bottom = conv(8, 8, 3, stride=2, padding=1)
        self.head = conv(6 + 8, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from monai_lite.networks.blocks.pad_crop import crop_to_size, pad_to_multiple

        x, size = pad_to_multiple(x, 4)
        skip = torch.relu(self.stem(x))
        deep = torch.relu(self.bottom(torch.relu(self.down(skip))))
        mode = "bilinear" if self.spatial_dims == 2 else "trilinear"
        deep = nn.functional.interpolate(deep, size=skip.shape[2:], mode=mode, align_corners=False)
        return crop_to_size(self.head(torch.cat([skip, deep], dim=1)), size)


def dummy_model(network: nn.Module, preset: str, spatial_dims: int, roi_size=(16, 16, 8), out_channels: int = 1,
                in_channels: int = 1, dice: float | None = None, **preset_params) -> BundleModel:
    """A :class:`BundleModel` around ``network`` with a real preset's deterministic preprocessing."""
    return BundleModel(
        name=f"dummy-{preset}",
        network=network,
        preprocessing=load_preset(preset, "deterministic", **preset_params),
        spatial_dims=spatial_dims,
        in_channels=in_channels,
        out_channels=out_channels,
        roi_size=tuple(roi_size),
        reads_pictures=preset in ("dermoscopy", "endoscopy", "chest_xray"),
        label_names={k: f"label {k}" for k in range(1, max(out_channels, 2))},
        dice=dice,
    )


def asymmetric_picture(height: int = 40, width: int = 64) -> np.ndarray:
    """RGB uint8 picture, dark with one bright rectangle in the upper-left, wider than tall: any transpose or flip
    of a mask made from it moves the rectangle."""
    picture = np.full((height, width, 3), 20, dtype=np.uint8)
    picture[4:14, 6:30] = 230
    return picture
