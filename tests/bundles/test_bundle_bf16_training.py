# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a bundle trains one tiny epoch with CPU bf16 autocast forced on and channels-last: the training forward
pass runs its convolutions in bf16, validation stays fp32, the loss is finite, the weights come out fp32 and load
into a plain network, and the log says which precision and memory format were used and why. Skipped where this
CPU cannot run bf16 convolutions at all (bf16 that is merely emulated still runs here, slowly)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from monai.bundle import ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR
from monai_lite.networks import MedLiteNet

TRAIN = BUNDLES_DIR / "medlitenet" / "configs" / "train.json"
#: A few seconds on two CPU cores: 8 training and 4 validation cases at 64x64, no EMA.
TINY = {"image_size": [64, 64], "batch_size": 4, "num_workers": 0, "epochs": 1, "ema_decay": 0,
        "train#dataset#data": "$@data[0][:8]", "validate#dataset#data": "$@data[1][:4]"}


def _cpu_runs_bf16_convolutions() -> bool:
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return nn.Conv2d(1, 1, 3)(torch.rand(1, 1, 5, 5)).dtype == torch.bfloat16
    except Exception:  # noqa: BLE001 - any failure means: not on this CPU
        return False


@pytest.mark.skipif(not _cpu_runs_bf16_convolutions(), reason="this CPU/PyTorch cannot run bf16 convolutions")
def test_bundle_trains_an_epoch_in_bf16_channels_last(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    workflow = ConfigWorkflow(
        config_file=str(TRAIN), meta_file=str(TRAIN.parent / "metadata.json"), logging_file=False,
        workflow_type="train", bundle_root=str(tmp_path), device="$torch.device('cpu')", cpu_bf16=True,
        channels_last=True, **TINY,
    )
    workflow.initialize()
    network = workflow.parser.get_parsed_content("network")
    seen: list[tuple[bool, torch.dtype]] = []
    first_conv = next(m for m in network.modules() if isinstance(m, nn.Conv2d))
    first_conv.register_forward_hook(lambda module, args, out: seen.append((module.training, out.dtype)))
    workflow.run()
    workflow.finalize()

    trainer = workflow.parser.get_parsed_content("train#trainer")
    assert trainer.state.training_precision["precision"] == "bf16 autocast"
    assert trainer.state.training_precision["memory_format"] == "channels-last"
    assert {dtype for training, dtype in seen if training} == {torch.bfloat16}
    assert {dtype for training, dtype in seen if not training} == {torch.float32}, "validation stays fp32"
    assert math.isfinite(trainer.state.epoch_loss)
    assert all(p.dtype == torch.float32 for p in network.parameters())
    plain = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)
    plain.load_state_dict(torch.load(tmp_path / "models" / "model.pt", weights_only=True))

    messages = [r.getMessage() for r in caplog.records if r.name == "monai_lite.train"]
    assert any(m.startswith("Training precision: bf16 autocast (cpu_bf16=true, forced") and
               "channels-last (channels_last=true)" in m for m in messages), messages
    assert messages[-1].startswith("Training finished at epoch 1/1 (bf16 autocast, channels-last)"), messages[-1]
