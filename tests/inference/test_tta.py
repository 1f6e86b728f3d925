# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the six-fold test-time augmentation: the documented set of six per dimensionality, each transform undone
exactly by its inverse (on non-square, non-cubic tensors), TTA of a flip/rotation-equivariant pointwise model equal to
its plain output, and TTA of a model that is not equivariant different from its plain output (so TTA really runs)."""

from __future__ import annotations

import pytest
import torch
from inference_helpers import Pointwise

from monai_lite.inference import predict_with_tta, tta_transforms


@pytest.mark.parametrize(
    "dims, names",
    [(2, ["identity", "flip0", "flip1", "rot90x1", "rot90x2", "rot90x3"]),
     (3, ["identity", "flip0", "flip1", "flip2", "rot90x1", "rot90x3"])],
)
def test_the_six_transforms(dims: int, names: list[str]) -> None:
    assert [t.name for t in tta_transforms(dims)] == names


def test_other_dimensionality_is_refused() -> None:
    with pytest.raises(ValueError, match="2 or 3 spatial dimensions"):
        tta_transforms(1)


@pytest.mark.parametrize("shape", [(1, 2, 5, 7), (1, 1, 4, 6, 3)])
def test_each_inverse_restores_the_input(shape: tuple[int, ...]) -> None:
    x = torch.arange(int(torch.tensor(shape).prod()), dtype=torch.float32).reshape(shape)
    for transform in tta_transforms(len(shape) - 2):
        moved = transform.apply(x)
        if transform.name != "identity" and moved.shape == x.shape:
            assert not torch.equal(moved, x), transform.name  # the transform does move voxels
        torch.testing.assert_close(transform.invert(moved), x, rtol=0, atol=0)


def test_rotation_turns_rows_into_columns() -> None:
    x = torch.zeros(1, 1, 2, 3)
    x[0, 0, 0, 2] = 1.0  # top-right corner
    rot = {t.name: t for t in tta_transforms(2)}["rot90x1"]
    y = rot.apply(x)
    assert y.shape == (1, 1, 3, 2) and y[0, 0, 0, 0] == 1.0  # counter-clockwise: top-right goes to top-left


@pytest.mark.parametrize("dims, shape", [(2, (1, 1, 12, 20)), (3, (1, 1, 6, 10, 4))])
def test_equivariant_model_is_unchanged_by_tta(dims: int, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    net = Pointwise(dims, scale=3.0, offset=0.1)
    x = torch.rand(shape)

    def predict(t: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(net(t))

    with torch.no_grad():
        torch.testing.assert_close(predict_with_tta(predict, x), predict(x), rtol=0, atol=1e-6)


def test_non_equivariant_model_changes_under_tta() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, kernel_size=3, padding=1)
    x = torch.rand(1, 1, 9, 13)

    def predict(t: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(conv(t))

    with torch.no_grad():
        averaged, plain = predict_with_tta(predict, x), predict(x)
    assert averaged.shape == plain.shape
    assert not torch.allclose(averaged, plain, atol=1e-4)
