# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves a run interrupted mid-epoch and resumed from ``last.pt`` ends exactly where an uninterrupted run ends.

Every recipe piece is on (accumulation, clipping, EMA, warm-up cosine schedule, progressive resizing, random
augmentation, shuffling, best checkpoint), so the test fails if any of their states is not saved or restored:
final weights, EMA weights, optimiser moments, learning rate and best validation metric are compared. It also
proves that the learning rate does not jump at the resume, that a finished run resumes as a no-op, and that
resuming with a different schedule length or without a checkpoint is refused with the reason, that training
longer is a separate new run from trained weights (``init_weights``, EMA included), and that the same seed gives
the same run bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from engine_tiny import build_run, weights_of
from ignite.engine import Events


class _Crash(RuntimeError):
    pass


def _crash_at(iteration: int):
    class Crash:
        def attach(self, engine):
            engine.add_event_handler(Events.ITERATION_COMPLETED(once=iteration), self)

        def __call__(self, engine):
            raise _Crash(f"simulated kill at iteration {iteration}")

    return Crash()


class _LrRecorder:
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.ITERATION_STARTED, lambda e: self.lrs.append(e.optimizer.param_groups[0]["lr"]))


@pytest.mark.parametrize("num_workers", [0, 2], ids=["in-process", "2-workers"])
def test_resumed_run_equals_uninterrupted_run(tmp_path: Path, num_workers: int) -> None:
    epochs = 4
    lr_full = _LrRecorder()
    full = build_run(tmp_path / "full", epochs=epochs, extra_handlers=[lr_full], num_workers=num_workers)
    full["trainer"].run()

    # 3 iterations per epoch: iteration 8 is in epoch 3, after last.pt of epoch 2 was written.
    crashed = build_run(tmp_path / "crash", epochs=epochs, extra_handlers=[_crash_at(8)], num_workers=num_workers)
    with pytest.raises(_Crash):
        crashed["trainer"].run()
    assert torch.load(tmp_path / "crash" / "last.pt", weights_only=True)["trainer"]["iteration"] == 6

    lr_resumed = _LrRecorder()
    resumed = build_run(tmp_path / "crash", epochs=epochs, resume=True, extra_handlers=[lr_resumed],
                        num_workers=num_workers)
    resumed["trainer"].run()

    assert resumed["trainer"].state.epoch == full["trainer"].state.epoch == epochs
    for name in ("network",):
        a, b = weights_of(full[name]), weights_of(resumed[name])
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-7, msg=f"{name}.{key} differs after resume")
    a, b = weights_of(full["ema"].ema_model), weights_of(resumed["ema"].ema_model)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-7, msg=f"EMA {key} differs after resume")
    assert resumed["ema"].steps == full["ema"].steps
    moments_a = [s["exp_avg_sq"] for s in full["optimizer"].state_dict()["state"].values()]
    moments_b = [s["exp_avg_sq"] for s in resumed["optimizer"].state_dict()["state"].values()]
    for x, y in zip(moments_a, moments_b):
        torch.testing.assert_close(y, x, rtol=1e-6, atol=1e-10)
    # The learning rate continues where it was: the resumed iterations see exactly the uninterrupted schedule.
    assert lr_resumed.lrs == pytest.approx(lr_full.lrs[6:], rel=1e-9)
    assert resumed["evaluator"].state.best_metric == pytest.approx(full["evaluator"].state.best_metric)
    assert resumed["evaluator"].state.best_metric_epoch == full["evaluator"].state.best_metric_epoch
    best_full = torch.load(tmp_path / "full" / "model.pt", weights_only=True)
    best_resumed = torch.load(tmp_path / "crash" / "model.pt", weights_only=True)
    for key in best_full:
        torch.testing.assert_close(best_resumed[key], best_full[key], rtol=1e-6, atol=1e-7)


def test_resuming_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    run = build_run(tmp_path, epochs=2)
    run["trainer"].run()
    before = weights_of(run["network"])
    again = build_run(tmp_path, epochs=2, resume=True)
    again["trainer"].run()
    assert again["trainer"].state.epoch == 2
    for key, value in weights_of(again["network"]).items():
        torch.testing.assert_close(value, before[key])


def test_resume_with_another_length_is_refused(tmp_path: Path) -> None:
    build_run(tmp_path, epochs=2)["trainer"].run()
    longer = build_run(tmp_path, epochs=3, resume=True)
    with pytest.raises(ValueError, match="run of 2 epochs and this one has 3.*to train longer"):
        longer["trainer"].run()


def test_resume_without_checkpoint_says_so(tmp_path: Path) -> None:
    run = build_run(tmp_path / "empty", epochs=2, resume=True)
    with pytest.raises(FileNotFoundError, match="cannot resume: no checkpoint at .*last.pt"):
        run["trainer"].run()


def test_resume_from_an_explicit_path(tmp_path: Path) -> None:
    build_run(tmp_path / "a", epochs=2)["trainer"].run()
    run = build_run(tmp_path / "b", epochs=2, resume=str(tmp_path / "a" / "last.pt"))
    run["trainer"].run()
    assert run["trainer"].state.iteration == 6  # restored at the end: nothing left to train


def test_same_seed_same_run_other_seed_other_run(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        run = build_run(tmp_path / name, epochs=2, seed=seed)
        run["trainer"].run()
        runs[name] = weights_of(run["network"])
    for key in runs["a"]:
        torch.testing.assert_close(runs["b"][key], runs["a"][key], rtol=0, atol=0)
    assert any(not torch.equal(runs["a"][k], runs["c"][k]) for k in runs["a"] if runs["a"][k].is_floating_point())


def test_train_longer_is_a_new_run_from_the_trained_weights(tmp_path: Path) -> None:
    build_run(tmp_path / "first", epochs=2)["trainer"].run()
    trained = torch.load(tmp_path / "first" / "model.pt", weights_only=True)
    seen: dict = {}

    class Spy:
        def attach(self, engine):
            @engine.on(Events.ITERATION_STARTED(once=1))
            def first_iteration(e):
                seen["network"] = weights_of(longer["network"])
                seen["ema"] = weights_of(longer["ema"].ema_model)
                seen["lr"] = e.optimizer.param_groups[0]["lr"]

    longer = build_run(tmp_path / "second", epochs=3, init_weights=str(tmp_path / "first" / "model.pt"),
                       extra_handlers=[Spy()])
    longer["trainer"].run()
    for key, value in trained.items():
        torch.testing.assert_close(seen["network"][key], value, msg=f"network {key} did not start from model.pt")
        torch.testing.assert_close(seen["ema"][key], value, msg=f"EMA {key} did not start from model.pt")
    assert seen["lr"] == 0.0, "a new run starts its own warm-up"
    assert longer["trainer"].state.epoch == 3
