# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the bookkeeping of :mod:`monai_lite.benchmark.accuracy_units` (pure functions, no training).

- ``--models`` with ``NAME:N`` and ``--seeds``: each model's seeds start at the base seed; bad counts and a model
  named twice are refused with one sentence;
- over seeds: the mean and the sample standard deviation (n - 1) of the seeds' own means, with n; one seed has no
  sd; a seed without a value (NaN) is left out of the statistics but kept in the values;
- a model's entry: its status from its planned seeds, its errors per seed, and its cost from a finished seed;
- a resume names every setting that changed, and none when only the plan changed;
- a format-1 result (one seed, ``models`` only) reads as units of that seed.
"""

from __future__ import annotations

import statistics

import pytest

from monai_lite.benchmark.accuracy_units import (
    aggregate_model,
    parse_model_seeds,
    resume_mismatch,
    seed_stats,
    upgrade_results,
)


def test_model_seed_syntax() -> None:
    assert parse_model_seeds(["medlitenet:3,segresnet:3,lacnet", "UNet"], seeds=1, base_seed=0) == [
        ("medlitenet", [0, 1, 2]), ("segresnet", [0, 1, 2]), ("lacnet", [0]), ("unet", [0])]
    assert parse_model_seeds(["unet", "basicunet:1"], seeds=2, base_seed=10) == [("unet", [10, 11]),
                                                                                ("basicunet", [10])]


@pytest.mark.parametrize(("models", "seeds", "message"), [
    (["unet:0"], 1, "positive whole number"), (["unet:x"], 1, "positive whole number"), ([":3"], 1, "name is missing"),
    (["unet,unet:2"], 1, "twice"), (["unet"], 0, "--seeds"),
])
def test_bad_plans_are_refused(models: list[str], seeds: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_model_seeds(models, seeds=seeds)


def test_stats_over_seeds() -> None:
    stats = seed_stats([0.70, 0.74, 0.78])
    assert stats["n"] == 3 and stats["mean"] == pytest.approx(0.74)
    assert stats["sd"] == pytest.approx(statistics.stdev([0.70, 0.74, 0.78]))
    one = seed_stats([0.7])
    assert one == {"mean": 0.7, "sd": None, "n": 1, "values": [0.7]}
    holes = seed_stats([0.6, None, float("nan"), 0.8])
    assert holes["n"] == 2 and holes["mean"] == pytest.approx(0.7) and len(holes["values"]) == 4
    assert seed_stats([])["mean"] is None


def _unit(seed: int, dice: float | None, status: str = "done", **extra) -> dict:
    held = {"dice": {"mean": dice, "std": 0.2}, "iou": {"mean": dice, "std": 0.2}, "hd95": {"mean": 5.0, "std": 1.0},
            "n_cases": 10, "distance_unit": "mm"} if dice is not None else None
    return {"name": "unet", "family": "monai", "seed": seed, "status": status, "held_out": held,
            "epochs_done": 4 + seed, "train_seconds": 60.0, "train_cpu_seconds": 110.0 + seed, "stopped_by": "budget",
            **extra}


def test_model_entry_over_seeds() -> None:
    units = {"0": _unit(0, 0.6, latency_ms=3.0, params=10), "1": _unit(1, 0.8), "2": _unit(2, None, "failed",
                                                                                         error="boom")}
    entry = aggregate_model(units, planned=[0, 1, 2])
    assert entry["status"] == "failed" and entry["errors"] == {"2": "boom"} and entry["seeds_done"] == [0, 1]
    assert entry["held_out"]["dice"]["mean"] == pytest.approx(0.7) and entry["held_out"]["dice"]["n"] == 2
    assert entry["held_out"]["dice"]["sd"] == pytest.approx(statistics.stdev([0.6, 0.8]))
    assert entry["held_out"]["dice"]["per_seed_std"] == [0.2, 0.2]
    assert entry["epochs_done"]["values"] == [4, 5] and entry["latency_ms"] == 3.0 and entry["params"] == 10
    assert entry["distance_unit"] == "mm" and entry["n_cases"] == 10

    assert aggregate_model({"0": _unit(0, 0.6)}, planned=[0, 1])["status"] == "pending"
    assert aggregate_model({"0": _unit(0, 0.6), "1": _unit(1, None, "interrupted")}, planned=[0, 1])["status"] == "interrupted"
    assert aggregate_model({"0": _unit(0, 0.6), "1": _unit(1, 0.7)}, planned=[0, 1])["status"] == "done"


def test_resume_mismatch_names_each_change() -> None:
    earlier = {"fold": 0, "epochs": 5, "budget_cpu_minutes": 10.0, "seeds": {"unet": [0]}, "n_train": 80}
    assert resume_mismatch(earlier, {**earlier, "seeds": {"unet": [0, 1, 2]}}) == "", "the plan may change"
    detail = resume_mismatch(earlier, {**earlier, "fold": 1, "budget_cpu_minutes": 15.0})
    assert detail == "fold: 0 then, 1 now, budget_cpu_minutes: 10.0 then, 15.0 now"


def test_format_1_reads_as_one_seed() -> None:
    old = {"benchmark": "accuracy", "settings": {"seed": 4, "budget_minutes": 5.0, "image_size": [128, 128]},
           "machine": {"cpu_model": "x"}, "created": "2026-01-01",
           "models": {"unet": {**_unit(4, 0.6), "latency_ms": 2.0}}}
    new = upgrade_results(old)
    assert new["format_version"] == 2 and new["settings"]["seeds"] == {"unet": [4]}
    assert new["units"]["unet"]["4"]["held_out"]["dice"]["mean"] == 0.6
    assert new["models"]["unet"]["held_out"]["dice"]["n"] == 1 and new["models"]["unet"]["status"] == "done"
    assert new["sittings"][0]["machine"] == {"cpu_model": "x"} and new["settings"]["spatial_dims"] == 2
    with pytest.raises(ValueError, match="newer"):
        upgrade_results({"format_version": 99})
