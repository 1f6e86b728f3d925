# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the saved random state replays the same draws after a restore, through a checkpoint file loaded with
``weights_only=True``: Python, NumPy and torch global generators and the private generators of nested random MONAI
transforms (``RandAffined`` holds two more); a pipeline with other transforms is refused."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.transforms import Compose, RandAffined, RandFlipd, RandGaussianNoised

from monai_lite.engine import RNGState, atomic_save, random_transform_states


def _pipeline() -> Compose:
    pipeline = Compose([
        RandFlipd(keys="image", prob=0.5),
        RandAffined(keys="image", prob=1.0, rotate_range=0.5),
        RandGaussianNoised(keys="image", prob=1.0),
    ])
    pipeline.set_random_state(seed=3)
    return pipeline


def _draws(pipeline: Compose) -> list:
    data = {"image": torch.ones(1, 8, 8)}
    out = [random.random(), float(np.random.rand()), float(torch.rand(1))]
    for _ in range(3):
        out.append(float(pipeline(dict(data))["image"].sum()))
    return out


def test_restore_replays_the_same_draws(tmp_path: Path) -> None:
    pipeline = _pipeline()
    _draws(pipeline)  # move every generator away from its seed
    state = RNGState(pipeline)
    atomic_save({"rng": state.state_dict()}, tmp_path / "rng.pt")
    expected = _draws(pipeline)
    _draws(pipeline)
    state.load_state_dict(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    assert _draws(pipeline) == expected


def test_nested_generators_are_found_once() -> None:
    pipeline = _pipeline()
    generators = random_transform_states(pipeline)
    # Compose, RandFlipd (+ its RandFlip), RandAffined (+ RandAffine + RandAffineGrid), RandGaussianNoised (+ inner)
    assert len(generators) >= 6
    assert len({id(g) for g in generators}) == len(generators)


def test_other_pipeline_is_refused() -> None:
    state = RNGState(_pipeline()).state_dict()
    other = RNGState(Compose([RandFlipd(keys="image", prob=0.5)]))
    with pytest.raises(ValueError, match="augmentations changed since it was written"):
        other.load_state_dict(state)


def test_without_transforms_only_global_generators() -> None:
    state = RNGState().state_dict()
    assert state["transforms"] == []
    expected = [random.random(), float(np.random.rand()), float(torch.rand(1))]
    RNGState().load_state_dict(state)
    assert [random.random(), float(np.random.rand()), float(torch.rand(1))] == expected
