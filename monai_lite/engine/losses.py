# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The papers' compound segmentation loss: ``lambda_ce`` x (class-weighted) cross-entropy + ``lambda_dice`` x Dice.

MedLiteNet (001) trains with 0.5 BCE + 0.5 Dice; the lightweight attention CNN (000) with alpha x weighted CE +
beta x Dice. MONAI's ``DiceCELoss`` covers the unweighted case, but its ``weight`` argument means a positive-class
``pos_weight`` for one-channel heads, also re-weights the Dice term, and must be a tensor on the model's device, so
it cannot be written as a plain list in a bundle config. :class:`WeightedDiceCELoss` adds what it lacks:

- class weights given as a list, applied to the cross-entropy term only, with the same meaning for both kinds of
  head: ``[w_background, w_foreground]`` for a one-channel (sigmoid) head, one weight per channel for a
  multi-channel (softmax) head; the weighted mean is normalised like ``torch.nn.CrossEntropyLoss(weight=...)``;
- the head decides the activation: one output channel means sigmoid + binary cross-entropy, several mean softmax +
  cross-entropy with the label map one-hot encoded for the Dice term, so one config serves 2D binary and 3D
  multi-class bundles.

The Dice term is MONAI's ``DiceLoss``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.losses import DiceLoss

__all__ = ["WeightedDiceCELoss"]


class WeightedDiceCELoss(nn.Module):
    """``lambda_ce`` x class-weighted (binary) cross-entropy + ``lambda_dice`` x Dice, for sigmoid or softmax heads.

    Args:
        lambda_ce: weight of the cross-entropy term (the papers' alpha). Defaults to 0.5.
        lambda_dice: weight of the Dice term (the papers' beta). Defaults to 0.5.
        class_weights: cross-entropy weight per class, or ``None`` for equal weights. For a one-channel head give
            ``[w_background, w_foreground]``; for a ``C``-channel head give ``C`` numbers. Defaults to None.
        include_background: whether the Dice term of a multi-channel head includes channel 0. A one-channel head
            has only the foreground channel, so this applies to softmax heads only. Defaults to True.
        smooth_nr: Dice numerator smoothing. Defaults to 1e-5.
        smooth_dr: Dice denominator smoothing. Defaults to 1e-5.
        batch: compute Dice over the whole batch instead of per sample. Defaults to False.

    Raises:
        ValueError: if a lambda is negative, both are zero, or a class weight is negative or all are zero.

    Examples::

        loss = WeightedDiceCELoss()                                         # 001: 0.5 BCE + 0.5 Dice
        loss(torch.randn(2, 1, 64, 64), torch.randint(0, 2, (2, 1, 64, 64)).float())
        loss = WeightedDiceCELoss(0.6, 0.4, class_weights=[0.2, 1.0, 1.5])  # 000: alpha wCE + beta Dice
        loss(torch.randn(2, 3, 32, 32, 32), torch.randint(0, 3, (2, 1, 32, 32, 32)))
    """

    def __init__(
        self,
        lambda_ce: float = 0.5,
        lambda_dice: float = 0.5,
        class_weights: Sequence[float] | None = None,
        include_background: bool = True,
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
    ) -> None:
        super().__init__()
        if lambda_ce < 0 or lambda_dice < 0 or lambda_ce + lambda_dice == 0:
            raise ValueError(
                f"lambda_ce and lambda_dice must be >= 0 and not both 0, got lambda_ce={lambda_ce} "
                f"lambda_dice={lambda_dice}."
            )
        self.lambda_ce = float(lambda_ce)
        self.lambda_dice = float(lambda_dice)
        weights = None
        if class_weights is not None:
            weights = torch.as_tensor(list(class_weights), dtype=torch.float32)
            if weights.ndim != 1 or weights.numel() == 0 or (weights < 0).any() or weights.sum() == 0:
                raise ValueError(
                    f"class_weights must be a non-empty list of numbers >= 0, not all 0, got {list(class_weights)}."
                )
        self.register_buffer("class_weights", weights, persistent=False)
        common = {"smooth_nr": smooth_nr, "smooth_dr": smooth_dr, "batch": batch}
        self.sigmoid_dice = DiceLoss(sigmoid=True, **common)
        self.softmax_dice = DiceLoss(softmax=True, to_onehot_y=True, include_background=include_background, **common)
        self.softmax_dice_onehot = DiceLoss(softmax=True, include_background=include_background, **common)

    def _weights(self, channels: int, like: torch.Tensor) -> torch.Tensor | None:
        if self.class_weights is None:
            return None
        expected = 2 if channels == 1 else channels
        if self.class_weights.numel() != expected:
            raise ValueError(
                f"class_weights has {self.class_weights.numel()} entries but a {channels}-channel head needs "
                f"{expected} ({'[w_background, w_foreground]' if channels == 1 else 'one per channel'})."
            )
        return self.class_weights.to(device=like.device, dtype=like.dtype)

    def _binary_ce(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(logits.dtype)
        weights = self._weights(1, logits)
        if weights is None:
            return F.binary_cross_entropy_with_logits(logits, target)
        pixel_weight = weights[0] * (1 - target) + weights[1] * target
        per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return (pixel_weight * per_pixel).sum() / pixel_weight.sum().clamp_min(torch.finfo(logits.dtype).tiny)

    def _multiclass_ce(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        index = target[:, 0] if target.shape[1] == 1 else target.argmax(dim=1)
        return F.cross_entropy(logits, index.long(), weight=self._weights(logits.shape[1], logits))

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of a batch of logits.

        Args:
            input: logits ``(B, C, *spatial)``; ``C == 1`` is a sigmoid head, ``C > 1`` a softmax head.
            target: ``(B, 1, *spatial)`` with {0, 1} (sigmoid) or class indices (softmax), or a one-hot
                ``(B, C, *spatial)`` for a softmax head.

        Returns:
            The scalar loss.

        Raises:
            ValueError: if the shapes do not match or ``class_weights`` has the wrong length for the head.
        """
        if input.ndim != target.ndim or input.shape[0] != target.shape[0] or input.shape[2:] != target.shape[2:]:
            raise ValueError(f"logits {tuple(input.shape)} and target {tuple(target.shape)} must be (B, C, *spatial).")
        channels = input.shape[1]
        if target.shape[1] not in (1, channels):
            raise ValueError(
                f"target must have 1 or {channels} channels for {channels}-channel logits, got {target.shape[1]}."
            )
        if channels == 1:
            ce = self._binary_ce(input, target)
            dice = self.sigmoid_dice(input, target) if self.lambda_dice else ce.new_zeros(())
        else:
            ce = self._multiclass_ce(input, target)
            dice_loss = self.softmax_dice if target.shape[1] == 1 else self.softmax_dice_onehot
            dice = dice_loss(input, target) if self.lambda_dice else ce.new_zeros(())
        return self.lambda_ce * ce + self.lambda_dice * dice
