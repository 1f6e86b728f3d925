# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves mixed precision on CUDA works with the rest of the recipe (clipping un-scales first, EMA, accumulation)
and that its gradient scaler is saved in ``last.pt`` and restored on resume. Skipped without CUDA; on CPU the
trainer's ``amp`` flag is switched off by the bundle configs (``amp and device is cuda``), a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from engine_tiny import build_run, weights_of
from ignite.engine import Events

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


def test_amp_run_saves_and_resumes_the_scaler(tmp_path: Path) -> None:
    full = build_run(tmp_path / "full", epochs=3, device="cuda", amp=True)
    full["trainer"].run()
    last = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    assert "scaler" in last and last["scaler"]["scale"] > 0
    assert torch.isfinite(torch.stack([p.float().sum() for p in full["network"].state_dict().values()])).all()

    half = build_run(tmp_path / "half", epochs=3, device="cuda", amp=True)
    half["trainer"].add_event_handler(Events.EPOCH_COMPLETED(once=2), lambda e: e.terminate())
    half["trainer"].run()
    resumed = build_run(tmp_path / "half", epochs=3, device="cuda", amp=True, resume=True)
    resumed["trainer"].run()
    assert resumed["trainer"].scaler.get_scale() == full["trainer"].scaler.get_scale()
    a, b = weights_of(full["network"]), weights_of(resumed["network"])
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-3, atol=1e-4)
