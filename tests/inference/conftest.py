# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Fixtures of the inference tests: bundle checkpoints holding the random initial weights of a bundle's network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from monai_lite.inference import load_bundle_model


@pytest.fixture(scope="session")
def random_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``random_ckpt(bundle, **overrides)``: a ``model.pt`` with the bundle network's random initial weights."""
    made: dict[tuple, Path] = {}

    def make(bundle: str, **overrides) -> Path:
        key = (bundle, tuple(sorted((k, repr(v)) for k, v in overrides.items())))
        if key not in made:
            torch.manual_seed(0)
            # prepare=False: a checkpoint holds the trainable layout (BatchNorms unfolded), as training writes it
            model = load_bundle_model(
                bundle, device="cpu", overrides={"load_pretrain": False, **overrides}, prepare=False
            )
            path = tmp_path_factory.mktemp("ckpt") / "model.pt"
            torch.save(model.network.state_dict(), path)
            made[key] = path
        return made[key]

    return make
