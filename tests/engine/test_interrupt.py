# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that Ctrl-C (SIGINT, sent to a real training process) stops the run after the current iteration, writes
a resumable ``last.pt`` holding that iteration, and exits with status 130 and a message saying where the
checkpoint is and how to continue; resuming from it finishes the run (every remaining iteration is trained once, the
learning-rate schedule continues where it stopped). Also proves the SIGINT handler is put back after a run, so
Ctrl-C outside training behaves as usual."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_tiny import build_run
from ignite.engine import Events

_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from engine_tiny import build_run
from ignite.engine import Events

class Announce:
    def attach(self, engine):
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
    def __call__(self, engine):
        if engine.state.iteration == 4:
            print("iteration 4", flush=True)
        time.sleep(0.1)  # time for the parent's signal to arrive in the middle of the run

run = build_run(__import__("pathlib").Path(sys.argv[2]), epochs=6, extra_handlers=[Announce()])
run["trainer"].run()
print("finished without interruption", flush=True)
"""


class _LrRecorder:
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.ITERATION_STARTED, lambda e: self.lrs.append(e.optimizer.param_groups[0]["lr"]))


def test_sigint_saves_last_pt_and_exits_130(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(Path(__file__).parent), str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "iteration 4", line + child.stderr.read()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err[-3000:]
    assert "finished without interruption" not in out
    saved = torch.load(folder / "last.pt", weights_only=True)
    iteration = saved["trainer"]["iteration"]
    assert 4 <= iteration < 18  # stopped in the middle of the run, after the iteration it was in
    assert f"Training interrupted (SIGINT) after iteration {iteration}" in err
    assert f"saved a resumable checkpoint to {folder / 'last.pt'}" in err and "--resume" in err
    assert "Traceback" not in err

    lrs = _LrRecorder()
    resumed = build_run(folder, epochs=6, resume=True, extra_handlers=[lrs])
    resumed["trainer"].run()
    assert resumed["trainer"].state.iteration == 18 and resumed["trainer"].state.epoch == 6
    assert len(lrs.lrs) == 18 - iteration  # each remaining iteration once
    assert lrs.lrs[-1] < lrs.lrs[0]  # the cosine schedule continued, it did not restart
    assert torch.load(folder / "last.pt", weights_only=True)["trainer"]["iteration"] == 18


def test_sigint_handler_is_restored_after_a_run(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    build_run(tmp_path, epochs=2)["trainer"].run()
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(RuntimeError):
        run = build_run(tmp_path / "b", epochs=2)

        class Boom:
            def attach(self, engine):
                engine.add_event_handler(Events.ITERATION_COMPLETED(once=2), self)

            def __call__(self, engine):
                raise RuntimeError("boom")

        Boom().attach(run["trainer"])
        run["trainer"].run()
    assert signal.getsignal(signal.SIGINT) is before
