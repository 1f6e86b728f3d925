# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the Dice-weighted ensemble: w_i = dice_i / sum dice (0.6 and 0.9 give 0.4 and 0.6), two constant models
with probabilities 0.2 and 0.8 average to 0.4*0.2 + 0.6*0.8 = 0.56 on the input grid, the Dice is read from the
run's models/last.pt ('evaluator_best'), bundles pair with checkpoints by the documented rule, and an ensemble
without known Dice values is refused with the way out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from inference_helpers import Constant, asymmetric_picture, dummy_model

from monai_lite.inference import Predictor, ensemble_weights, read_validation_dice
from monai_lite.inference.ensemble import pair_members, weighted_mean


def test_weights_are_dice_over_their_sum() -> None:
    assert ensemble_weights([0.6, 0.9]) == pytest.approx([0.4, 0.6])
    with pytest.raises(ValueError, match="positive sum"):
        ensemble_weights([0.0, 0.0])
    with pytest.raises(ValueError, match="non-negative"):
        ensemble_weights([0.5, -0.1])


def test_weighted_mean_arithmetic() -> None:
    a, b = torch.full((1, 2, 3), 0.2), torch.full((1, 2, 3), 0.8)
    torch.testing.assert_close(weighted_mean([a, b], [0.4, 0.6]), torch.full((1, 2, 3), 0.56))
    with pytest.raises(ValueError, match="different shapes"):
        weighted_mean([a, torch.zeros(1, 3, 3)], [0.5, 0.5])


def test_two_constant_models_average_with_dice_weights() -> None:
    models = [
        dummy_model(Constant(0.2), "dermoscopy", 2, in_channels=3, dice=0.6, spatial_size=(32, 32)),
        dummy_model(Constant(0.8), "dermoscopy", 2, in_channels=3, dice=0.9, spatial_size=(48, 48)),
    ]
    predictor = Predictor(models)
    assert predictor.weights == pytest.approx([0.4, 0.6])
    proba = predictor.predict_proba(asymmetric_picture(40, 64))
    assert proba.shape == (1, 40, 64) and proba.dtype == np.float32
    np.testing.assert_allclose(proba, 0.56, atol=1e-5)
    assert predictor(asymmetric_picture(40, 64)).max() == 1  # 0.56 >= 0.5
    assert Predictor(models, threshold=0.6)(asymmetric_picture(40, 64)).max() == 0


def test_missing_dice_is_refused() -> None:
    models = [dummy_model(Constant(0.2), "dermoscopy", 2, in_channels=3) for _ in range(2)]
    with pytest.raises(ValueError, match="validation Dice"):
        Predictor(models)
    assert Predictor(models, weights=[1, 3]).weights == pytest.approx([0.25, 0.75])


def test_dice_is_read_from_last_pt(tmp_path: Path) -> None:
    model_pt = tmp_path / "models" / "model.pt"
    model_pt.parent.mkdir()
    torch.save({"w": torch.zeros(1)}, model_pt)
    assert read_validation_dice(model_pt) is None
    torch.save({"model": {}, "evaluator_best": {"best_metric": 0.8125, "best_metric_epoch": 7}}, model_pt.with_name("last.pt"))
    assert read_validation_dice(model_pt) == pytest.approx(0.8125)
    torch.save({"model": {}, "evaluator_best": {"best_metric": -1.0, "best_metric_epoch": -1}}, model_pt.with_name("last.pt"))
    assert read_validation_dice(model_pt) is None  # a run that never validated has no Dice


def test_pairing_rule() -> None:
    assert pair_members(["a"], []) == [("a", None)]
    assert pair_members(["a"], ["1.pt", "2.pt"]) == [("a", "1.pt"), ("a", "2.pt")]
    assert pair_members(["a", "b"], []) == [("a", None), ("b", None)]
    assert pair_members(["a", "b"], ["1.pt", "2.pt"]) == [("a", "1.pt"), ("b", "2.pt")]
    with pytest.raises(ValueError, match="cannot be paired"):
        pair_members(["a", "b", "c"], ["1.pt", "2.pt"])
