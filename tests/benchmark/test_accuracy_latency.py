# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``monai-lite benchmark accuracy --remeasure-latency`` times a finished run's models again, trains nothing,
and says so in its reports.

- every model with a finished unit gets a new latency (the stand-in 999 ms is replaced by a real measurement on the
  requested threads) in all its finished units; a failed unit is left as it was; nothing is trained (no run folder
  appears);
- the sitting is recorded under ``latency_remeasured`` (threads, repeats, machine, command) and ``accuracy.md`` says
  where the latency column comes from;
- a folder without ``accuracy.json``, or whose run is still training (its lock held), is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monai_lite.benchmark.accuracy import LOCK_NAME
from monai_lite.benchmark.accuracy_latency import remeasure_latency
from monai_lite.cli import main
from monai_lite.engine.run_lock import RunFolderLockedError

#: A training sitting in another process: holds the run folder's lock until killed.
_HOLDER = """
import sys, time
from monai_lite.engine.run_lock import RunFolderLock
RunFolderLock(sys.argv[1], name=sys.argv[2]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _unit(name: str, seed: int, status: str = "done") -> dict:
    held = {"dice": {"mean": 0.5, "std": 0.1}, "iou": {"mean": 0.4, "std": 0.1}, "hd95": {"mean": 9.0, "std": 1.0},
            "n_cases": 4, "distance_unit": "pixel"}
    return {"name": name, "seed": seed, "family": "monai", "network": name, "description": "defaults",
            "status": status, "held_out": held, "epochs_done": 1, "train_seconds": 3.0, "train_cpu_seconds": 5.0,
            "stopped_by": "budget", "best_val_dice": 0.5, "params": 1, "macs": 1, "latency_ms": 999.0,
            "latency_threads": 7}


def _finished_run(folder: Path) -> Path:
    settings = {"data_name": "synthetic", "fold": 0, "image_size": [32, 32], "spatial_dims": 2, "in_channels": 3,
                "out_channels": 1, "budget_cpu_minutes": 1.0, "n_train": 8, "n_val": 4, "bundle": "medlitenet",
                "recipe": "common", "base_seed": 0, "seeds": {"segresnet": [0, 1], "unet": [0]},
                "latency_threads": 7, "latency_repeats": 20,
                "budget": {"clock": "cpu", "minutes": 1.0, "definition": "CPU-minutes: test clock"}}
    results = {"benchmark": "accuracy", "format_version": 2, "created": "2026-12-01T10:00:00+00:00",
               "settings": settings, "machine": {}, "sittings": [],
               "units": {"segresnet": {"0": _unit("segresnet", 0), "1": _unit("segresnet", 1)},
                         "unet": {"0": _unit("unet", 0, status="failed")}}}
    folder.mkdir(parents=True)
    (folder / "accuracy.json").write_text(json.dumps(results))
    return folder


def test_finished_models_are_timed_again(tmp_path: Path) -> None:
    run = _finished_run(tmp_path / "run")
    assert main(["benchmark", "accuracy", "-o", str(run), "--remeasure-latency", "--threads", "1",
                 "--repeats", "2"]) == 0
    results = json.loads((run / "accuracy.json").read_text())
    units = results["units"]
    fresh = [units["segresnet"]["0"], units["segresnet"]["1"]]
    assert all(u["latency_ms"] < 999.0 and u["latency_threads"] == 1 for u in fresh)
    assert fresh[0]["latency_ms"] == fresh[1]["latency_ms"], "one measurement per model, shared by its seeds"
    assert fresh[0]["params"] > 1 and fresh[0]["macs"] > 1 and fresh[0]["latency_input"] == [1, 3, 32, 32]
    assert units["unet"]["0"]["latency_ms"] == 999.0 and units["unet"]["0"]["status"] == "failed"
    again = results["latency_remeasured"]
    assert again["threads"] == 1 and again["repeats"] == 2 and again["models"] == ["segresnet"]
    assert "--remeasure-latency" in again["command"] and again["machine"]["cpu_count"] >= 1
    assert "measured again for every model in one sitting" in (run / "accuracy.md").read_text()
    assert not (run / "runs").exists(), "nothing was trained"


def test_missing_or_busy_runs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="accuracy.json not found"):
        remeasure_latency(tmp_path / "nothing")
    run = _finished_run(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run), LOCK_NAME], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderLockedError, match="in use"):
            remeasure_latency(run, threads=1, repeats=1)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert json.loads((run / "accuracy.json").read_text())["units"]["segresnet"]["0"]["latency_ms"] == 999.0
