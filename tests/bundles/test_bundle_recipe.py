# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the training recipe works inside the real bundles, as a user runs them.

- MedLiteNet's train.json carries the paper's (001) recipe, and every recipe id exists in every bundle;
- a short MedLiteNet run with everything on (EMA, clipping, accumulation, warm-up cosine, progressive resizing,
  TensorBoard) writes the validated EMA weights as ``model.pt``, the raw ones beside them, a complete ``last.pt``,
  TensorBoard events and one summary line per epoch;
- (slow) a run killed with SIGKILL resumes with ``--resume true`` and ends with the weights of an uninterrupted run;
- (slow) ``--tracking mlflow`` records the run in a local SQLite store under the bundle's eval folder, offline.

The 3D bundle's run with its recipe is in test_bundle_commands.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles
from monai_lite.networks import MedLiteNet

REPO = BUNDLES_DIR.parent
TRAIN = BUNDLES_DIR / "medlitenet" / "configs" / "train.json"
RECIPE_IDS = ("learning_rate", "weight_decay", "warmup_epochs", "lambda_ce", "lambda_dice", "class_weights",
              "grad_clip_norm", "amp", "ema_decay", "accumulation_steps", "progressive_sizes", "resume", "init_weights",
              "seed")
#: A few seconds per epoch on two CPU cores: 8 training and 4 validation cases at 64x64.
TINY = {"image_size": [64, 64], "batch_size": 4, "num_workers": 0,
        "train#dataset#data": "$@data[0][:8]", "validate#dataset#data": "$@data[1][:4]"}


def _cli_overrides(overrides: dict) -> list[str]:
    args = []
    for key, value in overrides.items():
        args += [f"--{key}", value if isinstance(value, str) else json.dumps(value)]
    return args


def test_medlitenet_trains_with_the_papers_recipe() -> None:
    raw = json.loads(TRAIN.read_text())
    assert raw["ema_decay"] == 0.999 and raw["grad_clip_norm"] == 0.5 and raw["accumulation_steps"] == 2
    assert raw["lambda_ce"] == raw["lambda_dice"] == 0.5 and raw["learning_rate"] == 1e-3
    assert raw["optimizer"]["_target_"] == "torch.optim.AdamW" and raw["amp"] is True
    assert raw["progressive_sizes"] and raw["resume"] is False


@pytest.mark.parametrize("bundle", list_bundles())
def test_every_bundle_has_the_recipe_ids(bundle: str) -> None:
    raw = json.loads((BUNDLES_DIR / bundle / "configs" / "train.json").read_text())
    assert not [i for i in RECIPE_IDS if i not in raw]
    targets = [h["_target_"] for h in raw["train"]["handlers"]]
    validation, checkpoint = targets.index("ValidationHandler"), targets.index("monai_lite.engine.TrainingCheckpoint")
    assert validation < checkpoint, "last.pt must be written after validation ran"


def test_short_run_with_everything_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    workflow = ConfigWorkflow(
        config_file=str(TRAIN), meta_file=str(TRAIN.parent / "metadata.json"), logging_file=False,
        workflow_type="train", epochs=2, bundle_root=str(tmp_path), progressive_sizes=[[0, 32], [1, 1.0]], **TINY,
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    models = tmp_path / "models"
    assert sorted(p.name for p in models.iterdir()) == ["last.pt", "model.pt", "model_raw.pt", "preprocessing.json"]
    net = MedLiteNet(spatial_dims=2, in_channels=3, out_channels=1)
    net.load_state_dict(torch.load(models / "model.pt", weights_only=True))
    last = torch.load(models / "last.pt", weights_only=True)
    assert set(last) == {"model", "optimizer", "lr_scheduler", "ema", "rng", "evaluator_best", "trainer"}
    assert last["trainer"]["iteration"] == 4 and last["ema"]["steps"] == 2, "2 epochs x 2 batches, 1 step each"
    ema = workflow.parser.get_parsed_content("ema")
    best_epoch = last["evaluator_best"]["best_metric_epoch"]
    if best_epoch == 2:  # model.pt holds the EMA weights of the best epoch
        for key, value in ema.ema_model.state_dict().items():
            torch.testing.assert_close(torch.load(models / "model.pt", weights_only=True)[key], value)
    events = list((tmp_path / "eval" / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 2, "one event file for training, one for validation"
    messages = [r.getMessage() for r in caplog.records if r.name == "monai_lite.train"]
    summaries = [m for m in messages if m.startswith("Epoch")]
    assert len(summaries) == 2 and "val_mean_dice" in summaries[0] and "input 32x32" in summaries[0]
    assert "input 64x64" in summaries[1], "progressive resizing reaches the full size"


def _train_cli(root: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", str(TRAIN),
            "--bundle_root", str(root), *_cli_overrides(TINY), *extra]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-5000:]
    return out


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    epochs = ["--epochs", "4"]
    full = _train_cli(tmp_path / "full", *epochs)
    _finish(full)

    killed = _train_cli(tmp_path / "killed", *epochs)
    last = tmp_path / "killed" / "models" / "last.pt"
    deadline = time.monotonic() + 600
    while not last.exists():
        assert killed.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    assert torch.load(last, weights_only=True)["trainer"]["iteration"] < 8, "killed before the end"

    out = _finish(_train_cli(tmp_path / "killed", *epochs, "--resume", "true"))
    assert "Resumed from" in out
    for name in ("last.pt", "model.pt", "model_raw.pt"):
        a = torch.load(tmp_path / "full" / "models" / name, weights_only=True)
        b = torch.load(tmp_path / "killed" / "models" / name, weights_only=True)
        a, b = (a["model"], b["model"]) if name == "last.pt" else (a, b)
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6, msg=f"{name}:{key}")


@pytest.mark.slow
def test_tracking_mlflow_writes_a_local_store(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow", reason="pip install -e '.[tracking]' for --tracking mlflow")
    out = _finish(_train_cli(tmp_path, "--epochs", "1", "--tracking", "mlflow"))
    store = tmp_path / "eval" / "mlruns.db"
    assert store.is_file(), out[-3000:]
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{store}")
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    assert runs and "val_mean_dice" in runs[0].data.metrics and "train_loss" in runs[0].data.metrics
