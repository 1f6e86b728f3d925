# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that :class:`monai_lite.engine.budget.WallClockBudget` and :class:`~monai_lite.engine.budget.CpuTimeBudget`
stop a MONAI training run cleanly, by the same rule.

Each test runs once per budget kind, with a fake clock that advances one second per training iteration (so nothing
depends on real time; the CPU clock itself is tested in test_cpu_clock.py):

- a budget spent mid-epoch ends that epoch early, the ``ValidationHandler`` still validates it, ``BestCheckpoint``
  writes ``model.pt``, and the run terminates;
- when ``val_interval`` would skip the stopping epoch, the handler runs the evaluator itself;
- a budget spent on the last iteration of an epoch is not reported as mid-epoch;
- the clock starts when the trainer starts, not when the handler is built;
- a run that finishes its epochs inside the budget is untouched;
- a budget that is not a positive number is refused;
- the CPU-time budget reads a process-tree CPU clock unless given one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from monai.data import DataLoader, Dataset
from monai.engines import SupervisedEvaluator, SupervisedTrainer
from monai.handlers import MeanDice, ValidationHandler, from_engine
from monai.transforms import Activationsd, AsDiscreted, Compose

from monai_lite.engine import BestCheckpoint
from monai_lite.engine.budget import CpuTimeBudget, ProcessTreeCpuClock, WallClockBudget


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cases(n: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        label = (torch.rand(1, 8, 8, generator=g) > 0.5).float()
        out.append({"image": label + 0.1 * torch.randn(1, 8, 8, generator=g), "label": label})
    return out


@pytest.fixture(params=[WallClockBudget, CpuTimeBudget], ids=["wall", "cpu"])
def kind(request: pytest.FixtureRequest) -> type:
    return request.param


def _run(folder: Path, seconds: float, val_interval: int = 1, max_epochs: int = 3, late_start: float = 0.0,
         kind: type = WallClockBudget):
    """Train a one-layer net, 4 iterations per epoch, each advancing the fake clock by 1 s."""
    clock = FakeClock()
    network = torch.nn.Conv2d(1, 1, 3, padding=1)
    post = Compose([Activationsd(keys="pred", sigmoid=True), AsDiscreted(keys="pred", threshold=0.5)])
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=DataLoader(Dataset(_cases(2)), batch_size=2),
        network=network,
        postprocessing=post,
        key_val_metric={"val_mean_dice": MeanDice(output_transform=from_engine(["pred", "label"]))},
        val_handlers=[BestCheckpoint(folder, {"model.pt": network})],
    )
    budget = kind(seconds, evaluator=evaluator, clock=clock)
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=max_epochs,
        train_data_loader=DataLoader(Dataset(_cases(8)), batch_size=2),
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.1),
        loss_function=torch.nn.BCEWithLogitsLoss(),
        postprocessing=post,
        train_handlers=[ValidationHandler(validator=evaluator, interval=val_interval, epoch_level=True)],
    )
    # Registered before the budget's own handler, so the budget sees the clock after the iteration's "work".
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda _: setattr(clock, "now", clock.now + 1.0))
    budget.attach(trainer)
    clock.now += late_start  # time passing between building the handler and starting the run
    trainer.run()
    return trainer, evaluator, budget


def test_budget_spent_mid_epoch_validates_and_stops(tmp_path: Path, kind: type) -> None:
    trainer, evaluator, budget = _run(tmp_path, seconds=2.5, kind=kind)
    assert budget.exhausted and budget.stopped_mid_epoch
    assert (trainer.state.epoch, trainer.state.iteration) == (1, 3), "stops after the 3rd of 4 iterations"
    assert evaluator.state.epoch == 1 and evaluator.state.best_metric_epoch == 1, "the cut epoch was validated"
    assert (tmp_path / "model.pt").is_file()


def test_budget_runs_the_validation_that_val_interval_skips(tmp_path: Path, kind: type) -> None:
    trainer, evaluator, budget = _run(tmp_path, seconds=1.5, val_interval=2, kind=kind)
    assert trainer.state.epoch == 1 and budget.exhausted
    assert evaluator.state.epoch == 1, "ValidationHandler skips epoch 1 with interval 2; the budget validates it"
    assert (tmp_path / "model.pt").is_file()


def test_budget_spent_at_the_end_of_an_epoch(tmp_path: Path, kind: type) -> None:
    trainer, evaluator, budget = _run(tmp_path, seconds=4.0, kind=kind)
    assert budget.exhausted and not budget.stopped_mid_epoch
    assert (trainer.state.epoch, trainer.state.iteration) == (1, 4)
    assert evaluator.state.epoch == 1


def test_clock_starts_with_the_trainer(tmp_path: Path, kind: type) -> None:
    trainer, _, budget = _run(tmp_path, seconds=2.5, late_start=100.0, kind=kind)
    assert trainer.state.iteration == 3 and budget.elapsed == pytest.approx(3.0)


def test_run_inside_the_budget_is_untouched(tmp_path: Path, kind: type) -> None:
    trainer, evaluator, budget = _run(tmp_path, seconds=100.0, max_epochs=2, kind=kind)
    assert not budget.exhausted
    assert (trainer.state.epoch, trainer.state.iteration) == (2, 8)
    assert evaluator.state.epoch == 2


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf"), "10", True])
def test_bad_budget_is_refused(seconds: object, kind: type) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        kind(seconds)  # type: ignore[arg-type]


def test_cpu_budget_reads_the_process_tree_clock() -> None:
    budget = CpuTimeBudget(600)
    assert isinstance(budget.clock, ProcessTreeCpuClock) and budget.kind == "CPU-time"


def test_benchmark_budget_makes_the_handler_of_its_clock() -> None:
    from monai_lite.benchmark.accuracy import Budget

    cpu, wall = Budget("cpu", 600.0).handler(None), Budget("wall", 300.0).handler(None)
    assert type(cpu) is CpuTimeBudget and cpu.seconds == 600.0
    assert type(wall) is WallClockBudget and wall.seconds == 300.0
