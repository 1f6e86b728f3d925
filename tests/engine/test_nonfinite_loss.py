# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves StopOnNonFiniteLoss: a batch poisoned with NaN in the middle of epoch 3 stops training with an error naming
the iteration (8), the epoch and the batch; the NaN step is never applied (the parameters in memory are finite) and
``last.pt`` and ``model.pt`` stay those of the last good epoch (iteration 6, finite weights, bytes unchanged). The
same poisoned run without the handler writes NaN weights into ``last.pt``, so the test would notice a handler that
does nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from engine_tiny import build_run
from ignite.engine import Events

from monai_lite.engine import NonFiniteLossError, StopOnNonFiniteLoss


class _Poison:
    """Put a NaN into the image batch of one iteration (as a corrupt image would)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.ITERATION_STARTED(once=self.iteration), self)

    def __call__(self, engine) -> None:
        engine.state.batch["image"][0, 0, 0, 0] = float("nan")


class _Digest:
    """sha256 of last.pt after each epoch."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.digests = folder, {}

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine) -> None:
        self.digests[engine.state.epoch] = hashlib.sha256((self.folder / "last.pt").read_bytes()).hexdigest()


def _finite(state: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if torch.is_tensor(v) and v.is_floating_point())


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    digest = _Digest(tmp_path)
    # 3 iterations per epoch: iteration 8 is batch 2 of epoch 3, after last.pt of epoch 2 (iteration 6).
    run = build_run(tmp_path, epochs=4, accumulation_steps=1, extra_handlers=[_Poison(8), digest, StopOnNonFiniteLoss()])
    with pytest.raises(NonFiniteLossError, match=r"the loss is nan at iteration 8 \(epoch 3, batch 2 of 3\)"):
        run["trainer"].run()
    # The optimiser step with the NaN was not applied (BatchNorm's running statistics did see the NaN batch in the
    # forward pass, which is why nothing is saved after it).
    assert _finite(dict(run["network"].named_parameters()))
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] == 6 and _finite(last["model"])
    assert hashlib.sha256((tmp_path / "last.pt").read_bytes()).hexdigest() == digest.digests[2]
    assert _finite(torch.load(tmp_path / "model.pt", weights_only=True))


def test_without_the_handler_the_nan_reaches_the_checkpoint(tmp_path: Path) -> None:
    run = build_run(tmp_path, epochs=3, accumulation_steps=1, extra_handlers=[_Poison(5)])
    run["trainer"].run()
    assert not _finite(torch.load(tmp_path / "last.pt", weights_only=True)["model"])


def test_finite_losses_pass(tmp_path: Path) -> None:
    run = build_run(tmp_path, epochs=2, extra_handlers=[StopOnNonFiniteLoss()])
    run["trainer"].run()
    assert run["trainer"].state.iteration == 6
