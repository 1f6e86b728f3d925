# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Pad an input up to a network's total stride and crop the logits back, so a net accepts any spatial size.

Networks whose encoder halves the resolution ``n`` times need every spatial size to be a multiple of
``2 ** n``. Instead of rejecting other sizes, :func:`pad_to_multiple` pads the *high* side of each axis up to
the next multiple (the low side stays put, so output voxel ``i`` still lines up with input voxel ``i``), and
:func:`crop_to_size` narrows the result back to the original size. Sizes that are already multiples are
returned untouched, without a copy. Both functions are TorchScript-compatible and are called from scripted
``forward`` methods.

Examples::

    >>> x = torch.randn(1, 3, 45, 70)
    >>> padded, size = pad_to_multiple(x, 16, mode=PAD_MODES["replicate"])
    >>> padded.shape, size
    (torch.Size([1, 3, 48, 80]), [45, 70])
    >>> crop_to_size(padded, size).shape
    torch.Size([1, 3, 45, 70])
"""

from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F

__all__ = ["PAD_MODES", "pad_to_multiple", "crop_to_size"]

#: user-facing padding names -> ``torch.nn.functional.pad`` modes
PAD_MODES = {"replicate": "replicate", "zeros": "constant"}


def pad_to_multiple(x: torch.Tensor, divisor: int, mode: str = "replicate") -> Tuple[torch.Tensor, List[int]]:
    """Pad the high side of every spatial axis of ``x`` ``(B, C, *spatial)`` up to a multiple of ``divisor``.

    Args:
        x: input tensor with one or more spatial axes after ``(B, C)``.
        divisor: the multiple every spatial size is rounded up to (the network's total stride).
        mode: a :func:`torch.nn.functional.pad` mode, e.g. ``"replicate"`` or ``"constant"`` (zeros).
            Defaults to ``"replicate"``.

    Returns:
        The (possibly) padded tensor and the original spatial size as a list, for :func:`crop_to_size`.
    """
    spatial: List[int] = list(x.shape[2:])
    pads: List[int] = []
    needs_pad = False
    for axis in range(len(spatial) - 1, -1, -1):  # F.pad lists the last axis first
        extra = (divisor - spatial[axis] % divisor) % divisor
        pads.append(0)
        pads.append(extra)
        if extra > 0:
            needs_pad = True
    if needs_pad:
        x = F.pad(x, pads, mode=mode)
    return x, spatial


def crop_to_size(x: torch.Tensor, size: List[int]) -> torch.Tensor:
    """Keep the first ``size[i]`` positions of spatial axis ``i`` of ``x`` ``(B, C, *spatial)`` (a view, no copy)."""
    for axis in range(len(size)):
        if x.shape[2 + axis] != size[axis]:
            x = x.narrow(2 + axis, 0, size[axis])
    return x
