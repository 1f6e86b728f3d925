# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Six-fold test-time augmentation (TTA): predict on flipped and rotated copies, undo each, average probabilities.

The six transforms act on the preprocessed network input (``(B, C, *spatial)``, after the bundle's preset), so the
preset's own inversion back to the input geometry is unaffected. They are exact: flips and 90-degree rotations
move voxels without interpolation, and each has an exact inverse.

==============  ==========================================  ==========================================
fold            2D images (axes H, W)                       3D volumes (axes 0, 1, 2 after the preset)
==============  ==========================================  ==========================================
1               identity                                    identity
2               flip along axis 0 (rows)                    flip along axis 0
3               flip along axis 1 (columns)                 flip along axis 1
4               rotate 90 degrees in the (0, 1) plane       flip along axis 2
5               rotate 180 degrees in the (0, 1) plane      rotate 90 degrees in the (0, 1) plane
6               rotate 270 degrees in the (0, 1) plane      rotate 270 degrees in the (0, 1) plane
==============  ==========================================  ==========================================

Rotations are ``torch.rot90`` (counter-clockwise from axis 0 towards axis 1). A flip of a label-defining axis (e.g.
the anterior/posterior axis of the hippocampus labels) asks the network about an anatomy it never saw; TTA is off by
default, and such bundles are better run without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["TTATransform", "tta_transforms", "predict_with_tta"]


@dataclass(frozen=True)
class TTATransform:
    """One exact, invertible augmentation of a ``(B, C, *spatial)`` tensor.

    Attributes:
        name: e.g. ``"flip1"`` or ``"rot90x3"``, recorded in the inference log.
        flip_axis: the spatial axis to flip, or ``None``.
        rot_k: the number of 90-degree turns in the plane of spatial axes (0, 1); 0 for none.
    """

    name: str
    flip_axis: int | None = None
    rot_k: int = 0

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The augmented copy of ``x`` (``(B, C, *spatial)``)."""
        if self.flip_axis is not None:
            x = torch.flip(x, dims=(self.flip_axis + 2,))
        if self.rot_k:
            x = torch.rot90(x, k=self.rot_k, dims=(2, 3))
        return x

    def invert(self, y: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`apply` on a prediction ``y`` with the same spatial layout."""
        if self.rot_k:
            y = torch.rot90(y, k=-self.rot_k, dims=(2, 3))
        if self.flip_axis is not None:
            y = torch.flip(y, dims=(self.flip_axis + 2,))
        return y


def tta_transforms(spatial_dims: int) -> list[TTATransform]:
    """The six transforms of the table in the module docstring.

    Args:
        spatial_dims: 2 or 3, the number of spatial axes of the tensor that is augmented.

    Returns:
        Six :class:`TTATransform`, identity first.

    Raises:
        ValueError: for other ``spatial_dims``.
    """
    if spatial_dims == 2:
        flips = [TTATransform("flip0", flip_axis=0), TTATransform("flip1", flip_axis=1)]
        turns = [TTATransform(f"rot90x{k}", rot_k=k) for k in (1, 2, 3)]
    elif spatial_dims == 3:
        flips = [TTATransform(f"flip{axis}", flip_axis=axis) for axis in (0, 1, 2)]
        turns = [TTATransform(f"rot90x{k}", rot_k=k) for k in (1, 3)]
    else:
        raise ValueError(f"test-time augmentation needs 2 or 3 spatial dimensions, got {spatial_dims}.")
    return [TTATransform("identity"), *flips, *turns]


def predict_with_tta(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The mean of ``predict`` over the six augmented copies of ``x``, each mapped back before averaging.

    Args:
        predict: maps ``(B, C, *spatial)`` to probabilities ``(B, K, *spatial)`` with the same spatial size (a
            network followed by its activation, through an inferer).
        x: the preprocessed input batch.

    Returns:
        The averaged probabilities, float32, in the layout of ``x``.

    Example::

        proba = predict_with_tta(lambda t: torch.sigmoid(net(t)), image[None])
    """
    total = None
    transforms = tta_transforms(x.ndim - 2)
    for transform in transforms:
        y = transform.invert(predict(transform.apply(x))).float()
        total = y if total is None else total.add_(y)
    return total / len(transforms)
