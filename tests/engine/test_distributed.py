# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the single-process side of :mod:`monai_lite.engine.distributed` and of the multi-process resume.

- Which handlers run on ranks > 0 is decided by what they are: every handler listed in any bundle config is
  classified, each one that writes files or prints progress runs on rank 0 only (TensorBoard, whose writer creates
  its file when built, is switched off by its ``_disabled_`` flag and never built on rank 1), the training ones run
  everywhere, and an unknown handler is refused with its name rather than guessed.
- ``setup`` refuses to run outside torchrun and NCCL without CUDA with a sentence; ``seed_this_rank`` seeds
  ``seed + rank``; ``sync_batchnorm`` on CPU is refused.
- A ``last.pt`` written by another number of processes resumes after the same epoch with the iteration count and
  learning rate of this run's epochs (and ends where the uninterrupted run ends); one written mid-epoch is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from engine_tiny import TinyNet, build_run, weights_of
from ignite.engine import Events
from monai.bundle import ConfigParser
from monai.bundle.config_item import ComponentLocator

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles
from monai_lite.engine import (
    BestCheckpoint,
    EpochSummary,
    GradientClipping,
    ModelEMA,
    PreprocessingRecord,
    ProgressBar,
    ProgressiveResize,
    SharedHandler,
    TrainingCheckpoint,
    WallClockBudget,
)
from monai_lite.engine import distributed
from monai_lite.evaluation import CaseMetricsSaver

#: Handler classes that write files or print progress (what must never run on a rank > 0).
WRITERS = {"TensorBoardStatsHandler", "BestCheckpoint", "PreprocessingRecord", "ProgressBar", "EpochSummary",
           "StatsHandler", "CheckpointSaver", "MLFlowHandler"}
#: Handler classes that every rank must run (they train, validate, load, or gather every rank's results).
TRAINERS = {"StepLrScheduleHandler", "GradientClipping", "SharedHandler", "ProgressiveResize", "ValidationHandler",
            "TrainingCheckpoint", "CheckpointLoader", "CaseMetricsSaver", "WallClockBudget", "StopOnNonFiniteLoss"}
RANK_ZERO_FLAG = "$monai_lite.engine.distributed.this_rank() > 0"


def _handler_entries() -> list[tuple[str, dict]]:
    found = []
    for bundle in list_bundles():
        for name in ("train.json", "evaluate.json"):
            config = json.loads((BUNDLES_DIR / bundle / "configs" / name).read_text())
            for list_id in ("train#handlers", "validate#handlers"):
                node = config
                for key in list_id.split("#"):
                    node = node.get(key) if isinstance(node, dict) else None
                node = config.get(list_id, node)
                for entry in node if isinstance(node, list) else []:
                    found.append((f"{bundle}/{name}:{list_id}", entry))
    return found


def _class_of(target: str) -> type:
    module = ComponentLocator().get_component_module_name(target) if "." not in target else target.rsplit(".", 1)[0]
    module = module[0] if isinstance(module, list) else module
    name = target.rsplit(".", 1)[-1]
    return getattr(__import__(module, fromlist=[name]), name)


def test_every_bundle_handler_is_classified_and_writers_are_rank_zero_only() -> None:
    entries = _handler_entries()
    assert len(entries) > 40
    for where, entry in entries:
        target = entry["_target_"].rsplit(".", 1)[-1]
        assert target in WRITERS | TRAINERS, f"{where}: {target} is new here: classify it in this test and the code"
        cls = _class_of(entry["_target_"])
        if entry.get("_disabled_") == RANK_ZERO_FLAG:
            assert target in WRITERS, f"{where}: {target} is switched off on ranks > 0 but must run everywhere"
            continue
        if target == "SharedHandler":
            continue  # classified as the handler it shares, below
        every = distributed.runs_on_every_rank(cls)
        assert every == (target in TRAINERS), f"{where}: {target} on every rank: {every}"


def test_rank_one_keeps_only_the_training_handlers(tmp_path: Path) -> None:
    network = TinyNet()
    ema = ModelEMA(network, decay=0.9)
    training = [GradientClipping(0.5), SharedHandler(ema), ProgressiveResize([]), TrainingCheckpoint(tmp_path, {}),
                WallClockBudget(10.0), CaseMetricsSaver(tmp_path)]
    writers = [BestCheckpoint(tmp_path, {"model.pt": network}), PreprocessingRecord(tmp_path, "dermoscopy"),
               ProgressBar(), EpochSummary()]
    mixed = [writers[0], *training[:3], writers[1], writers[2], *training[3:], writers[3]]
    assert distributed.handlers_for_this_rank(mixed, rank=0) == mixed
    assert distributed.handlers_for_this_rank(mixed, rank=1) == training
    assert distributed.handlers_for_this_rank(mixed + [None], rank=3) == training


def test_an_unknown_handler_is_refused_with_its_name() -> None:
    class HomeMadeLogger:
        def attach(self, engine) -> None:
            pass

    with pytest.raises(ValueError, match="HomeMadeLogger.*every_rank"):
        distributed.handlers_for_this_rank([HomeMadeLogger()], rank=1)
    assert distributed.handlers_for_this_rank([HomeMadeLogger()], rank=0)  # a single process runs everything


@pytest.mark.parametrize("rank, built", [("0", True), ("1", False)])
def test_tensorboard_is_not_even_built_on_rank_one(tmp_path: Path, monkeypatch, rank: str, built: bool) -> None:
    template = json.loads((BUNDLES_DIR / "_template" / "configs" / "train.json").read_text())
    entries = [h for h in template["train"]["handlers"] + template["validate"]["handlers"]
               if h["_target_"] == "TensorBoardStatsHandler"]
    assert len(entries) == 2 and all(h["_disabled_"] == RANK_ZERO_FLAG for h in entries)
    monkeypatch.setenv("RANK", rank)
    parser = ConfigParser({"tensorboard_dir": str(tmp_path / "tb"), "grad_clip_norm": 0, "ema_decay": 0,
                           "handlers": entries},
                          globals={"monai_lite": "monai_lite"})
    handlers = parser.get_parsed_content("handlers")
    assert len(handlers) == (2 if built else 0)
    assert (tmp_path / "tb").exists() == built


def test_setup_refuses_without_torchrun_and_nccl_without_cuda(monkeypatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="started by torchrun"):
        distributed.setup("gloo")
    with pytest.raises(ValueError, match="dist_backend"):
        distributed.setup("mpi-ish")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="needs CUDA"):
            distributed.setup("nccl")
        with pytest.raises(ValueError, match="sync_batchnorm needs CUDA"):
            distributed.wrap_network(TinyNet(), "cpu", sync_batchnorm=True)


def test_each_rank_gets_its_own_seed(monkeypatch) -> None:
    monkeypatch.setenv("RANK", "1")
    assert distributed.seed_this_rank(7) == 8 and torch.initial_seed() == 8
    first = torch.rand(3)
    distributed.seed_this_rank(7)
    assert torch.equal(torch.rand(3), first)
    monkeypatch.setenv("RANK", "0")
    distributed.seed_this_rank(7)
    assert not torch.equal(torch.rand(3), first)


class _LrRecorder:
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.ITERATION_STARTED, lambda e: self.lrs.append(e.optimizer.param_groups[0]["lr"]))


class _Stop:
    def attach(self, engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED(once=2), lambda e: e.terminate())


def _as_if_written_by_two_ranks(path: Path, mid_epoch: bool = False) -> None:
    checkpoint = torch.load(path, weights_only=True)
    trainer = checkpoint["trainer"]
    assert trainer["world_size"] == 1 and trainer["epoch_length"] == 3
    # Two ranks split the 12 cases: 2 iterations of 4 per rank and epoch.
    epochs = trainer["iteration"] // 3
    trainer.update(world_size=2, epoch_length=2, iteration=epochs * 2 - (1 if mid_epoch else 0))
    torch.save(checkpoint, path)


def test_a_checkpoint_of_another_number_of_ranks_resumes_after_the_same_epoch(tmp_path: Path) -> None:
    lr_full = _LrRecorder()
    full = build_run(tmp_path / "full", epochs=4, extra_handlers=[lr_full])
    full["trainer"].run()
    build_run(tmp_path / "part", epochs=4, extra_handlers=[_Stop()])["trainer"].run()
    _as_if_written_by_two_ranks(tmp_path / "part" / "last.pt")

    lr_resumed = _LrRecorder()
    resumed = build_run(tmp_path / "part", epochs=4, resume=True, extra_handlers=[lr_resumed])
    resumed["trainer"].run()
    # This run has 3 iterations per epoch: it continues at iteration 6 with the schedule of the uninterrupted run.
    assert resumed["trainer"].state.iteration == full["trainer"].state.iteration == 12
    assert lr_resumed.lrs == pytest.approx(lr_full.lrs[6:], rel=1e-9)
    for key, value in weights_of(full["network"]).items():
        torch.testing.assert_close(weights_of(resumed["network"])[key], value, rtol=1e-6, atol=1e-7)


def test_a_mid_epoch_checkpoint_of_another_number_of_ranks_is_refused(tmp_path: Path) -> None:
    build_run(tmp_path, epochs=4, extra_handlers=[_Stop()])["trainer"].run()
    _as_if_written_by_two_ranks(tmp_path / "last.pt", mid_epoch=True)
    with pytest.raises(ValueError, match="middle of an epoch"):
        build_run(tmp_path, epochs=4, resume=True)["trainer"].run()
