# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves monai_lite's Rand2DElasticd, seeded like MONAI's, deforms the same calls as MONAI's, returns the input
untouched when it does not deform, and gives exactly MONAI's pictures when it never or always deforms."""

from __future__ import annotations

import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Rand2DElasticd as MonaiRand2DElasticd

from monai_lite.transforms import Rand2DElasticd

ARGS = {"keys": ["image", "label"], "spacing": [8, 8], "magnitude_range": [1, 3], "mode": ["bilinear", "nearest"],
        "padding_mode": "reflection"}


@pytest.mark.parametrize("prob", [0.0, 0.5, 1.0])
def test_deforms_the_calls_monai_deforms(prob: float) -> None:
    ours = Rand2DElasticd(prob=prob, **ARGS).set_random_state(seed=7)
    theirs = MonaiRand2DElasticd(prob=prob, **ARGS).set_random_state(seed=7)
    generator = torch.Generator().manual_seed(0)
    ours_deformed, theirs_deformed = [], []
    for _ in range(12):
        case = {"image": MetaTensor(torch.rand(3, 24, 32, generator=generator)),
                "label": MetaTensor((torch.rand(1, 24, 32, generator=generator) > 0.5).float())}
        a, b = ours(dict(case)), theirs(dict(case))
        ours_deformed.append(not torch.equal(a["image"].as_tensor(), case["image"].as_tensor()))
        theirs_deformed.append(not torch.equal(b["image"].as_tensor(), case["image"].as_tensor()))
        if not ours_deformed[-1]:
            assert a["image"] is case["image"] and a["label"] is case["label"], "returned as given, no resampling"
        if prob in (0.0, 1.0):
            for key in ("image", "label"):
                assert torch.equal(a[key].as_tensor(), b[key].as_tensor())
    assert ours_deformed == theirs_deformed
    if prob in (0.0, 1.0):
        assert sum(ours_deformed) == 12 * prob
    else:
        assert 0 < sum(ours_deformed) < 12, "the coin picks some calls"
