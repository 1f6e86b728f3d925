# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that ``monai-lite benchmark report`` writes a results page from accuracy runs (fake ``accuracy.json``).

- one section per run folder, in order: the table over seeds (mean ± sd with n; one seed without sd), the two
  charts as PNG files beside the page, the exact commands with their folder, one machine line per sitting (CPU,
  AVX512-BF16 and AMX yes/no, cores, torch and MONAI versions) and the per-seed table;
- two runs of the same dataset get distinct chart files; a format-1 result (one seed) is read too;
- a folder without ``accuracy.json``, or one given twice, is refused before anything is written;
- the recorded commands (hours of training each) are opted out of the documentation tests, which would otherwise
  run every command of ``docs/results.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from monai_lite.benchmark.results import write_results
from monai_lite.cli import main

XEON = {"cpu_model": "Intel Xeon", "cpu_count": 2, "cpu_affinity": [0, 1], "torch": "2.13.0", "monai": "1.6.1",
        "python": "3.11", "torch_num_threads": 2,
        "cpu_flags": {"avx512_bf16": True, "amx_bf16": True, "amx_tile": True}}
EPYC = {**XEON, "cpu_model": "AMD EPYC", "cpu_flags": {"avx512_bf16": False, "amx_bf16": False}}


def _unit(name: str, seed: int, dice: float, family: str = "monai") -> dict:
    held = {"dice": {"mean": dice, "std": 0.2}, "iou": {"mean": dice - 0.1, "std": 0.2},
            "hd95": {"mean": 20.0, "std": 5.0}, "n_cases": 200, "distance_unit": "pixel"}
    return {"name": name, "seed": seed, "family": family, "network": name, "description": "defaults",
            "status": "done", "held_out": held, "epochs_done": 7, "train_seconds": 330.0, "train_cpu_seconds": 600.0,
            "stopped_by": "budget", "best_val_dice": dice, "params": 3_000_000, "macs": 5 * 10**8,
            "latency_ms": 12.5, "latency_threads": 2}


def _run(folder: Path, data_name: str, seeds: dict[str, list[float]], command: str) -> Path:
    units = {name: {str(k): _unit(name, k, d, "monai-lite" if name == "medlitenet" else "monai")
                    for k, d in enumerate(values)} for name, values in seeds.items()}
    results = {
        "benchmark": "accuracy", "format_version": 2, "created": "2026-12-01T10:00:00+00:00",
        "settings": {"data_name": data_name, "fold": 0, "image_size": [256, 256], "spatial_dims": 2,
                     "budget_cpu_minutes": 10.0, "budget_minutes": None, "epochs": None, "n_train": 798, "n_val": 200,
                     "bundle": "medlitenet", "preset": "endoscopy", "batch_size": 8, "recipe": "common",
                     "base_seed": 0, "seeds": {n: list(range(len(v))) for n, v in seeds.items()},
                     "train_threads": 2, "num_workers": 2,
                     "budget": {"clock": "cpu", "minutes": 10.0, "definition": "CPU-minutes: test clock"}},
        "machine": XEON,
        "sittings": [{"started": "2026-12-01T10:00:00+00:00", "cwd": "/work/repo", "command": command, "machine": XEON},
                     {"started": "2026-12-02T09:00:00+00:00", "cwd": "/work/repo", "command": command + " --resume",
                      "machine": EPYC}],
        "units": units,
    }
    folder.mkdir(parents=True)
    (folder / "accuracy.json").write_text(json.dumps(results))
    return folder


def test_page_from_two_runs(tmp_path: Path) -> None:
    kvasir = _run(tmp_path / "kvasir", "kvasir_seg", {"medlitenet": [0.70, 0.74, 0.78], "lacnet": [0.6]},
                  "monai-lite benchmark accuracy -o bench/kvasir --models medlitenet:3,lacnet")
    again = _run(tmp_path / "kvasir2", "kvasir_seg", {"segresnet": [0.65, 0.67]}, "monai-lite benchmark accuracy -o k2")
    page = write_results([kvasir, again], tmp_path / "docs" / "results.md")
    text = page.read_text()
    assert text.count("## kvasir_seg, fold 0, 256x256, 10 CPU-minutes per model") == 2
    assert "| medlitenet | 3.000 | 0.50 | 12.5 | 7, 7, 7 | 10.0 / 5.5 | 0.7400 ± 0.0400 (n=3) |" in text
    assert "| lacnet |" in text and "0.6000 (n=1)" in text
    assert ("-->\n```bash\ncd /work/repo\nmonai-lite benchmark accuracy -o bench/kvasir --models medlitenet:3,lacnet\n"
            "monai-lite benchmark accuracy -o bench/kvasir --models medlitenet:3,lacnet --resume\n```") in text
    assert "Intel Xeon; AVX512-BF16 yes, AMX yes; 2 core(s) visible" in text and "AMD EPYC; AVX512-BF16 no, AMX no" in text
    assert "torch 2.13.0" in text and "MONAI 1.6.1" in text and "Budget clock: CPU-minutes: test clock" in text
    assert "<summary>Per seed</summary>" in text
    charts = sorted(p.name for p in page.parent.glob("*.png"))
    assert charts == ["results_kvasir_seg_fold0_2_accuracy_vs_latency.png",
                      "results_kvasir_seg_fold0_2_accuracy_vs_training_time.png",
                      "results_kvasir_seg_fold0_accuracy_vs_latency.png",
                      "results_kvasir_seg_fold0_accuracy_vs_training_time.png"]
    for chart in charts:
        assert f"]({chart})" in text
        with Image.open(page.parent / chart) as image:
            assert image.format == "PNG"


def test_format_1_run_and_command_line(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    unit = {**_unit("unet", 0, 0.5), "seed": None}
    (old / "accuracy.json").write_text(json.dumps({
        "benchmark": "accuracy", "settings": {"data_name": "ph2", "fold": 1, "seed": 0, "budget_minutes": 5.0,
                                              "image_size": [128, 128]},
        "machine": XEON, "models": {"unet": unit}}))
    assert main(["benchmark", "report", str(old), "-o", str(tmp_path / "r.md"), "--title", "Old"]) == 0
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# Old") and "## ph2, fold 1, 128x128, 5 wall-clock minutes per model" in text
    assert "0.5000 (n=1)" in text and "(Python API call)" in text


def test_bad_folders_are_refused(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", "kvasir_seg", {"unet": [0.5]}, "x")
    with pytest.raises(FileNotFoundError, match="accuracy.json not found"):
        write_results([run, tmp_path], tmp_path / "out" / "results.md")
    with pytest.raises(ValueError, match="twice"):
        write_results([run, run], tmp_path / "out" / "results.md")
    assert not (tmp_path / "out").exists()


def test_recorded_commands_are_not_run_by_the_documentation_tests(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "docs"))
    from doc_commands import find_commands

    run = _run(tmp_path / "kvasir", "kvasir_seg", {"unet": [0.5]}, "monai-lite benchmark accuracy -o bench/kvasir")
    page = write_results([run], tmp_path / "docs" / "results.md")
    commands = find_commands(page)
    assert [c.argv[:3] for c in commands] == [["monai-lite", "benchmark", "accuracy"]] * 2
    assert all(c.skip and "hours" in c.skip for c in commands)
