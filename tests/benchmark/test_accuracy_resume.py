# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that ``benchmark_accuracy`` works unit by unit (model, seed), so that a long run can span several sittings.

Training, held-out evaluation and measurement are replaced by fakes that record each call (the real ones run in
test_accuracy.py's smoke test), so nothing here trains:

- the plan: ``NAME:N`` gives a model N seeds from ``seed`` on, the others ``seeds`` each; every unit trains with its
  own seed in its own folder under the same budget (the same clock and seconds for every model), and the cost is
  measured once per model;
- ``accuracy.json`` holds each seed's raw numbers and, per model, the mean and sample sd over seeds with n;
- a run of two seeds resumed with three trains only the third: nothing finished is redone;
- an interruption (``SystemExit``, as Ctrl-C's ``TrainingInterrupted``) in the second unit leaves the first recorded
  as done (the file is rewritten after every unit) and the second as interrupted; the resume retrains the second
  alone, in a fresh folder;
- a resume with a changed setting is refused, naming the setting; an earlier result without ``resume`` is refused,
  and one of format 1 is never resumed or overwritten;
- a default model replaced by its lighter variant stays replaced in a later sitting, without a new probe;
- a second sitting on a folder while another runs is refused.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
from pathlib import Path
from typing import Any

import pytest

from monai_lite.benchmark import accuracy
from monai_lite.benchmark.accuracy import Budget, benchmark_accuracy

SMALL = {"epochs": 1, "image_size": (32, 32), "batch_size": 4, "num_workers": 0, "latency_repeats": 2,
         "budget_cpu_minutes": 2.0, "log": None}


class FakeWorkflow:
    def finalize(self) -> None:
        pass


class Fakes:
    """Stand-ins for the training, the held-out evaluation and the measurement, recording every call."""

    def __init__(self, out: Path, fail_on: tuple[str, int] | None = None) -> None:
        self.out, self.fail_on = out, fail_on
        self.trained: list[tuple[str, int]] = []
        self.budgets: list[Any] = []
        self.measured: list[str] = []
        self.seen_on_disk: list[dict] = []
        self.fresh: list[bool] = []

    def train(self, bundle: str, overrides: dict, budget: Any, log_path: Path, **kwargs: Any):
        run_dir = Path(overrides["bundle_root"])
        unit = (run_dir.parent.name, int(overrides["seed"]))
        self.fresh.append(run_dir.name == f"seed{unit[1]}" and not run_dir.exists())
        self.seen_on_disk.append(json.loads((self.out / "accuracy.json").read_text()))
        (run_dir / "models").mkdir(parents=True)
        (run_dir / "models" / "partial.txt").write_text("left by this attempt")
        self.trained.append(unit)
        self.budgets.append(budget)
        if unit == self.fail_on:
            raise SystemExit(130)
        return FakeWorkflow(), {"epochs_done": 3 + unit[1], "iterations": 12, "max_epochs": 1, "stopped_by": "budget",
                                "stopped_mid_epoch": True, "train_seconds": 60.0, "train_cpu_seconds": 120.0,
                                "best_val_dice": 0.5, "best_val_epoch": 1}

    def held_out(self, workflow: Any, val_files: Any, datalist: str, report_dir: Path) -> dict:
        seed = int(report_dir.parent.name.removeprefix("seed"))
        dice = 0.5 + 0.1 * seed  # seeds 0, 1, 2 -> 0.5, 0.6, 0.7
        stats = {"mean": dice, "std": 0.2, "median": dice, "n": 13, "excluded": 0}
        return {"dice": stats, "iou": {**stats, "mean": dice - 0.1}, "hd95": {**stats, "mean": 10.0 * (seed + 1)},
                "n_cases": 13, "distance_unit": "pixel"}

    def measure(self, zoo_model: Any, *args: Any, **kwargs: Any) -> dict:
        self.measured.append(zoo_model.name)
        return {"params": 1000, "macs": 10**9, "latency_ms": 5.0, "latency": {}, "latency_threads": 1,
                "latency_input": [1, 3, 32, 32]}


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    made = Fakes(tmp_path / "bench")
    monkeypatch.setattr(accuracy, "_train", made.train)
    monkeypatch.setattr(accuracy, "_held_out", made.held_out)
    monkeypatch.setattr(accuracy, "_measure", made.measure)
    monkeypatch.setattr(accuracy.gc, "collect", lambda *a: 0)  # nothing to free here, and it takes a second
    return made


def test_seeds_plan_and_aggregate(fakes: Fakes) -> None:
    results = benchmark_accuracy(fakes.out, models=["segresnet:3", "unet"], seed=0, **SMALL)
    assert fakes.trained == [("segresnet", 0), ("segresnet", 1), ("segresnet", 2), ("unet", 0)]
    assert set(fakes.budgets) == {Budget("cpu", 120.0)}, "every unit stops by the same rule"
    assert fakes.measured == ["segresnet", "unet"], "the cost is measured once per model"
    saved = json.loads((fakes.out / "accuracy.json").read_text())
    assert saved["settings"]["seeds"] == {"segresnet": [0, 1, 2], "unet": [0]}
    assert saved["settings"]["budget"]["clock"] == "cpu" and saved["settings"]["budget"]["definition"]
    assert [saved["units"]["segresnet"][s]["held_out"]["dice"]["mean"] for s in "012"] == pytest.approx([.5, .6, .7])
    dice = results["models"]["segresnet"]["held_out"]["dice"]
    assert dice["n"] == 3 and dice["mean"] == pytest.approx(0.6)
    assert dice["sd"] == pytest.approx(statistics.stdev([0.5, 0.6, 0.7]))
    assert results["models"]["segresnet"]["epochs_done"]["values"] == [3, 4, 5]
    assert results["models"]["unet"]["held_out"]["dice"]["n"] == 1 and results["models"]["unet"]["held_out"]["dice"]["sd"] is None
    table = (fakes.out / "accuracy.md").read_text()
    assert "| segresnet |" in table and "0.6000 ± 0.1000 (n=3)" in table and "0.5000 (n=1)" in table


def test_resume_with_more_seeds_trains_only_the_new_ones(fakes: Fakes) -> None:
    benchmark_accuracy(fakes.out, models=["segresnet:2"], **SMALL)
    first = json.loads((fakes.out / "accuracy.json").read_text())
    fakes.trained.clear()
    results = benchmark_accuracy(fakes.out, models=["segresnet:3"], resume=True, **SMALL)
    assert fakes.trained == [("segresnet", 2)]
    assert fakes.measured == ["segresnet"], "not measured again"
    for seed in "01":
        assert results["units"]["segresnet"][seed] == first["units"]["segresnet"][seed], "a finished unit is kept as is"
    assert results["models"]["segresnet"]["held_out"]["dice"]["n"] == 3 and len(results["sittings"]) == 2


def test_interrupted_unit_is_retrained_alone(fakes: Fakes, tmp_path: Path) -> None:
    fakes.fail_on = ("segresnet", 1)
    with pytest.raises(SystemExit):
        benchmark_accuracy(fakes.out, models=["segresnet:2", "unet"], **SMALL)
    assert fakes.seen_on_disk[1]["units"]["segresnet"]["0"]["status"] == "done", "written after the first unit"
    assert fakes.seen_on_disk[1]["units"]["segresnet"]["1"]["status"] == "running"
    saved = json.loads((fakes.out / "accuracy.json").read_text())
    assert saved["units"]["segresnet"]["1"]["status"] == "interrupted" and "unet" not in saved["units"]

    fakes.fail_on, fakes.trained = None, []
    with pytest.raises(ValueError, match="--resume"):
        benchmark_accuracy(fakes.out, models=["segresnet:2", "unet"], **SMALL)
    results = benchmark_accuracy(fakes.out, models=["segresnet:2", "unet"], resume=True, **SMALL)
    assert fakes.trained == [("segresnet", 1), ("unet", 0)], "the finished unit is not redone"
    assert fakes.fresh == [True] * 4, "every unit, the retrained one included, starts in its own empty folder"
    assert all(m["status"] == "done" for m in results["models"].values())


def test_resume_with_other_settings_is_refused(fakes: Fakes) -> None:
    benchmark_accuracy(fakes.out, models=["unet"], **SMALL)
    fakes.trained.clear()
    for change, named in [({"epochs": 2}, "epochs: 1 then, 2 now"),
                          ({"budget_cpu_minutes": 3.0}, "budget_cpu_minutes: 2.0 then, 3.0 now"),
                          ({"budget_cpu_minutes": None, "budget_minutes": 2.0}, "budget_minutes: None then, 2.0 now"),
                          ({"train_threads": 7}, "train_threads:"),
                          ({"image_size": (64, 64)}, "image_size: [32, 32] then, [64, 64] now")]:
        with pytest.raises(ValueError, match="other settings") as caught:
            benchmark_accuracy(fakes.out, models=["unet", "segresnet"], resume=True, **{**SMALL, **change})
        assert named in str(caught.value)
    assert fakes.trained == []


def test_format_1_result_is_not_resumed(fakes: Fakes) -> None:
    fakes.out.mkdir()
    old = {"benchmark": "accuracy", "settings": {"seed": 0}, "models": {"unet": {"status": "done"}}}
    (fakes.out / "accuracy.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="older monai-lite"):
        benchmark_accuracy(fakes.out, models=["unet"], resume=True, **SMALL)
    assert json.loads((fakes.out / "accuracy.json").read_text()) == old and fakes.trained == []


def test_substitution_is_kept_across_sittings(fakes: Fakes, monkeypatch: pytest.MonkeyPatch) -> None:
    probes = []
    monkeypatch.setattr(accuracy, "DEFAULT_MODELS", ("msaunet", "unet"))
    monkeypatch.setattr(accuracy, "_does_not_fit", lambda *a: probes.append(a[0].name) or "too slow (test)")
    results = benchmark_accuracy(fakes.out, **SMALL)
    assert probes == ["msaunet"] and fakes.trained == [("msaunet-w0.5", 0), ("unet", 0)]
    unit = results["units"]["msaunet-w0.5"]["0"]
    assert unit["substituted_for"] == "msaunet" and unit["substitution_reason"] == "too slow (test)"
    assert results["settings"]["seeds"] == {"msaunet-w0.5": [0], "unet": [0]}
    fakes.trained.clear()
    results = benchmark_accuracy(fakes.out, seeds=2, resume=True, **SMALL)
    assert probes == ["msaunet"], "not probed again"
    assert fakes.trained == [("msaunet-w0.5", 1), ("unet", 1)]
    assert results["units"]["msaunet-w0.5"]["1"]["substituted_for"] == "msaunet"
    assert list(results["models"]) == ["msaunet-w0.5", "unet"]


def _hold_lock(folder: str, ready: Any, release: Any) -> None:
    from monai_lite.engine.run_lock import RunFolderLock

    with RunFolderLock(folder, name=accuracy.LOCK_NAME):
        ready.set()
        release.wait(30)


def test_a_second_sitting_on_a_running_folder_is_refused(fakes: Fakes) -> None:
    from monai_lite.engine.run_lock import RunFolderLockedError

    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(fakes.out), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(RunFolderLockedError, match="in use"):
            benchmark_accuracy(fakes.out, models=["unet"], **SMALL)
        assert fakes.trained == []
    finally:
        release.set()
        holder.join(30)
