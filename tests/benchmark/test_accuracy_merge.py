# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves ``monai-lite benchmark accuracy -o A --merge B`` joins two runs of one comparison into one.

- B's finished units (other models, or other seeds of a model) join A's, each naming the folder it came from; a
  failed unit of B is not taken; A's seeds list gains B's; B's sittings are appended; A's reports are rewritten with
  every model in one table; B is left as it was;
- refused with the reason, before anything is written: runs with other settings (the differing key is named), a
  (model, seed) finished in both, the same folder twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lite.benchmark.accuracy_merge import merge_run
from monai_lite.cli import main


def _unit(name: str, seed: int, dice: float, status: str = "done") -> dict:
    held = {"dice": {"mean": dice, "std": 0.1}, "iou": {"mean": dice - 0.1, "std": 0.1},
            "hd95": {"mean": 9.0, "std": 1.0}, "n_cases": 4, "distance_unit": "pixel"}
    return {"name": name, "seed": seed, "family": "monai", "network": name, "description": "defaults",
            "status": status, "held_out": held, "epochs_done": 2, "train_seconds": 3.0, "train_cpu_seconds": 5.0,
            "stopped_by": "budget", "best_val_dice": dice, "params": 10, "macs": 10, "latency_ms": 1.0,
            "latency_threads": 1}


def _run(folder: Path, units: dict[str, dict[str, dict]], threads: int = 1) -> Path:
    settings = {"data_name": "kvasir_seg", "fold": 0, "image_size": [256, 256], "spatial_dims": 2,
                "budget_cpu_minutes": 10.0, "n_train": 798, "n_val": 200, "bundle": "medlitenet",
                "recipe": "common", "base_seed": 0, "train_threads": threads, "latency_threads": 1,
                "seeds": {name: sorted(int(s) for s in by_seed) for name, by_seed in units.items()},
                "budget": {"clock": "cpu", "minutes": 10.0, "definition": "CPU-minutes: test clock"}}
    results = {"benchmark": "accuracy", "format_version": 2, "created": "2026-12-02T10:00:00+00:00",
               "settings": settings, "machine": {}, "units": units,
               "sittings": [{"started": "2026-12-02T10:00:00+00:00", "cwd": "/work", "command": f"run {folder.name}",
                             "machine": {"cpu_model": "AMD EPYC"}}]}
    folder.mkdir(parents=True)
    (folder / "accuracy.json").write_text(json.dumps(results))
    return folder


def test_units_of_another_core_join_the_run(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", {"medlitenet": {"0": _unit("medlitenet", 0, 0.7)}})
    b = _run(tmp_path / "b", {"medlitenet": {"1": _unit("medlitenet", 1, 0.8)},
                              "basicunet": {"0": _unit("basicunet", 0, 0.6)},
                              "unet": {"0": _unit("unet", 0, 0.5, status="failed")}})
    b_before = (b / "accuracy.json").read_text()
    assert main(["benchmark", "accuracy", "-o", str(a), "--merge", str(b)]) == 0
    merged = json.loads((a / "accuracy.json").read_text())
    assert sorted(merged["units"]) == ["basicunet", "medlitenet"], "the failed unit stays behind"
    assert merged["units"]["medlitenet"]["1"]["merged_from"] == str(b)
    assert "merged_from" not in merged["units"]["medlitenet"]["0"]
    assert merged["settings"]["seeds"] == {"medlitenet": [0, 1], "basicunet": [0]}
    assert [s["command"] for s in merged["sittings"]] == ["run a", "run b"]
    assert merged["sittings"][1]["merged_from"] == str(b)
    assert merged["models"]["medlitenet"]["held_out"]["dice"]["n"] == 2
    assert merged["models"]["medlitenet"]["held_out"]["dice"]["mean"] == pytest.approx(0.75)
    table = (a / "accuracy.md").read_text()
    assert "| medlitenet |" in table and "| basicunet |" in table
    assert (b / "accuracy.json").read_text() == b_before


def test_other_settings_duplicates_and_the_same_folder_are_refused(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", {"medlitenet": {"0": _unit("medlitenet", 0, 0.7)}})
    a_before = (a / "accuracy.json").read_text()
    two_threads = _run(tmp_path / "t", {"unet": {"0": _unit("unet", 0, 0.5)}}, threads=2)
    with pytest.raises(ValueError, match=r"other settings \(train_threads: 1 in .*a, 2 in .*t\)"):
        merge_run(a, two_threads)
    twice = _run(tmp_path / "d", {"medlitenet": {"0": _unit("medlitenet", 0, 0.9)}})
    with pytest.raises(ValueError, match="medlitenet seed 0 finished in both"):
        merge_run(a, twice)
    with pytest.raises(ValueError, match="is the output folder itself"):
        merge_run(a, a)
    assert (a / "accuracy.json").read_text() == a_before
