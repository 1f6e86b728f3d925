# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the compound loss is the papers' alpha x (weighted) CE + beta x Dice for sigmoid and softmax heads.

Unweighted, it equals MONAI's ``DiceCELoss`` configured by hand for each head; class weights act on the
cross-entropy only and mean the same for a one-channel sigmoid head as for the equivalent two-class softmax head;
bad weights and shapes are refused with the numbers in the message.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from monai.losses import DiceCELoss

from monai_lite.engine import WeightedDiceCELoss


def _binary(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 1, 8, 8, generator=g), (torch.rand(2, 1, 8, 8, generator=g) > 0.6).float()


def _multiclass(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 6, 6, 6, generator=g), torch.randint(0, 3, (2, 1, 6, 6, 6), generator=g)


def test_binary_equals_monai_dice_bce() -> None:
    logits, target = _binary()
    ours = WeightedDiceCELoss(lambda_ce=0.5, lambda_dice=0.5)(logits, target)
    monai = DiceCELoss(sigmoid=True, lambda_ce=0.5, lambda_dice=0.5)(logits, target)
    torch.testing.assert_close(ours, monai)


def test_multiclass_equals_monai_dice_ce() -> None:
    logits, target = _multiclass()
    ours = WeightedDiceCELoss(lambda_ce=0.7, lambda_dice=0.3)(logits, target)
    monai = DiceCELoss(softmax=True, to_onehot_y=True, lambda_ce=0.7, lambda_dice=0.3)(logits, target)
    torch.testing.assert_close(ours, monai)


def test_one_hot_target_gives_the_same_loss_as_indices() -> None:
    logits, target = _multiclass()
    onehot = F.one_hot(target[:, 0].long(), 3).permute(0, 4, 1, 2, 3).float()
    loss = WeightedDiceCELoss(class_weights=[0.2, 1.0, 2.0])
    torch.testing.assert_close(loss(logits, onehot), loss(logits, target))


def test_class_weights_multiclass_are_torch_weighted_ce_plus_unweighted_dice() -> None:
    logits, target = _multiclass()
    weights = [0.1, 1.0, 3.0]
    loss = WeightedDiceCELoss(lambda_ce=0.4, lambda_dice=0.6, class_weights=weights)(logits, target)
    ce = F.cross_entropy(logits, target[:, 0].long(), weight=torch.tensor(weights))
    dice = DiceCELoss(softmax=True, to_onehot_y=True, lambda_ce=0.0, lambda_dice=1.0)(logits, target)
    torch.testing.assert_close(loss, 0.4 * ce + 0.6 * dice)


def test_binary_weights_mean_the_same_as_for_a_two_class_softmax_head() -> None:
    logits, target = _binary()
    weights = [0.3, 2.5]
    sigmoid_head = WeightedDiceCELoss(lambda_ce=1.0, lambda_dice=0.0, class_weights=weights)(logits, target)
    # softmax([0, z]) == [1 - sigmoid(z), sigmoid(z)]: the two heads predict the same probabilities.
    two_class = torch.cat([torch.zeros_like(logits), logits], dim=1)
    softmax_head = WeightedDiceCELoss(lambda_ce=1.0, lambda_dice=0.0, class_weights=weights)(two_class, target)
    torch.testing.assert_close(sigmoid_head, softmax_head)


def test_weights_change_only_the_cross_entropy_term() -> None:
    logits, target = _binary()
    dice_only = WeightedDiceCELoss(lambda_ce=0.0, lambda_dice=1.0)
    dice_weighted = WeightedDiceCELoss(lambda_ce=0.0, lambda_dice=1.0, class_weights=[1.0, 9.0])
    torch.testing.assert_close(dice_only(logits, target), dice_weighted(logits, target))
    ce_plain = WeightedDiceCELoss(lambda_ce=1.0, lambda_dice=0.0)(logits, target)
    ce_weighted = WeightedDiceCELoss(lambda_ce=1.0, lambda_dice=0.0, class_weights=[1.0, 9.0])(logits, target)
    assert not torch.isclose(ce_plain, ce_weighted)


def test_gradient_flows_and_loss_falls_for_a_better_prediction() -> None:
    logits, target = _binary()
    logits.requires_grad_(True)
    loss_fn = WeightedDiceCELoss(class_weights=[1.0, 2.0])
    loss = loss_fn(logits, target)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    better = (target * 2 - 1) * 6.0
    assert loss_fn(better, target) < loss


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lambda_ce": -1.0}, "lambda_ce and lambda_dice must be >= 0"),
        ({"lambda_ce": 0.0, "lambda_dice": 0.0}, "not both 0"),
        ({"class_weights": [1.0, -1.0]}, r"class_weights must be .* got \[1.0, -1.0\]"),
        ({"class_weights": []}, "class_weights must be a non-empty list"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeightedDiceCELoss(**kwargs)


def test_wrong_number_of_class_weights_names_the_head() -> None:
    logits, target = _multiclass()
    with pytest.raises(ValueError, match="class_weights has 2 entries but a 3-channel head needs 3"):
        WeightedDiceCELoss(class_weights=[1.0, 2.0])(logits, target)
    logits, target = _binary()
    with pytest.raises(ValueError, match=r"1-channel head needs 2 \(\[w_background, w_foreground\]\)"):
        WeightedDiceCELoss(class_weights=[1.0, 2.0, 3.0])(logits, target)


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"logits \(2, 1, 8, 8\) and target \(2, 1, 4, 4\)"):
        WeightedDiceCELoss()(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 4, 4))
