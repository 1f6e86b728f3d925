# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Shared forward pass of the stem + strided-encoder U-Nets (:class:`~monai_lite.networks.MedLiteNet`; any
network of that shape can reuse it).

The skeleton, written once so that such networks differ only in their modules and their bottleneck::

    pad the input up to a multiple of the total stride              (pad_to_multiple)
    h = stem(x); every encoder stage: h = stage(h), keeping each output as a skip
    h = bottleneck_forward(h, output of the stage before the last)  (subclass)
    every decoder stage, coarse to fine: h = stage(h, skip of the next finer level)
    logits = head(h), linearly resized to the padded size when the stem was strided, cropped back (crop_to_size)

The class holds no parameters, so the subclasses' ``state_dict`` keys are exactly their own modules' names.
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from monai_lite.networks.blocks import crop_to_size, pad_to_multiple

__all__ = ["StemUNetBase"]


class StemUNetBase(nn.Module):
    """Base class whose ``forward`` runs stem -> encoder stages -> bottleneck -> decoder stages -> head.

    Subclasses set, in ``__init__``:

    - ``stem`` (``nn.Module``), ``encoder`` (``nn.ModuleList`` of stages), ``decoder`` (``nn.ModuleList`` of
      stages called as ``stage(h, skip)``, one per encoder stage, coarse to fine; the last one receives the stem
      output as its skip) and ``head`` (``nn.Module``, e.g. a ``1 x 1`` convolution);
    - ``divisor`` (the total stride), ``pad_mode`` (a :func:`torch.nn.functional.pad` mode) and ``interp_mode``
      (the linear interpolation mode for their number of spatial dimensions);

    and override :meth:`bottleneck_forward` (identity by default), which receives the deepest encoder output and
    the output of the stage before it, for bottlenecks that look at two resolutions (MedLiteNet's cross-scale
    token mixer).

    Examples::

        >>> from monai_lite.networks import MedLiteNet
        >>> isinstance(MedLiteNet(), StemUNetBase)
        True
    """

    def bottleneck_forward(self, h: torch.Tensor, finer: torch.Tensor) -> torch.Tensor:
        """The network's bottleneck (identity here).

        Args:
            h: the deepest encoder output, the bottleneck's input.
            finer: the output of the encoder stage before the deepest (the stem's when there is one stage), for a
                bottleneck that also reads the next finer resolution; others ignore it.
        """
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment ``x`` of shape ``(B, in_channels, *spatial)`` (2 or 3 spatial axes, any size).

        Returns raw logits ``(B, out_channels, *spatial)``: apply a sigmoid when ``out_channels == 1``, a
        softmax over dim 1 otherwise. Sizes that are not multiples of the total stride (``divisor``) are
        padded internally and cropped back.
        """
        x, size = pad_to_multiple(x, self.divisor, self.pad_mode)
        h = self.stem(x)
        skips: List[torch.Tensor] = [h]
        for stage in self.encoder:
            h = stage(h)
            skips.append(h)
        h = self.bottleneck_forward(h, skips[-2])
        idx = len(skips) - 2
        for stage in self.decoder:
            h = stage(h, skips[idx])
            idx -= 1
        logits = self.head(h)
        # a strided stem leaves the head at a fraction of the input size; the head is linear, so resizing its
        # logits equals running it on resized features, at 1/out_channels-th of the cost
        if logits.shape[2:] != x.shape[2:]:
            logits = F.interpolate(logits, size=x.shape[2:], mode=self.interp_mode, align_corners=False)
        return crop_to_size(logits, size)
