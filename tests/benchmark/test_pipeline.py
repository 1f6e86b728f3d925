# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves `monai-lite benchmark pipeline` on a tiny synthetic data folder laid out like the shared one (three PNG
pictures, two NIfTI volumes, one 16-slice DICOM series): for every input kind each timed case has all five stage
times (> 0) that fit inside the case's measured total and cover most of it, its prediction files are written,
pipeline.json and pipeline.md exist and hold the same numbers, an engine that cannot load becomes a row with its
reason, a start-up child that fails is reported with its exit status, a start-up child's peak memory is its own (not
the benchmark process's), and a data folder without the inputs gives a one-line error naming the missing folder. No
timing is asserted; one real-data test runs two Kvasir pictures and the CT series with a start-up run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from monai_lite.benchmark.pipeline import COLUMNS, CPU_COLUMNS, INPUT_KINDS, _run_child, run_pipeline
from monai_lite.cli import main
from monai_lite.data.synthetic import make_ct_case, make_lesion_case, make_volume_case
from monai_lite.inference.stage_times import STAGES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))  # tests/data modules import by bare name
from data_builders import real_data_dir, save_nifti, write_dicom_series  # noqa: E402

BAD_ENGINE = "no-such-engine"


def _data_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    images = root / INPUT_KINDS["kvasir"].folder
    images.mkdir(parents=True)
    for index in range(3):
        Image.fromarray(make_lesion_case(rng, 40)[0]).save(images / f"picture_{index}.png")
    for index in range(2):
        image, _ = make_volume_case(rng, (20, 24, 18))
        save_nifti(root / INPUT_KINDS["hippocampus"].folder / f"volume_{index}.nii.gz", image, np.eye(4))
    hu, _ = make_ct_case(rng, (24, 24, 16))
    write_dicom_series(root / INPUT_KINDS["ct"].folder, (hu.astype(np.int32) + 1024).astype(np.uint16))
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _data_folder(tmp_path_factory.mktemp("pipeline-data"))


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pipeline") / "report"
    argv = ["benchmark", "pipeline", "-o", str(out), "--data-dir", str(data), "--cases", "2", "--models", "medlitenet",
            "--engines", "torch", BAD_ENGINE, "--threads", "1", "--warmup", "0", "--startup-runs", "0",
            "--no-progress"]
    assert main(argv) == 0
    return out, json.loads((out / "pipeline.json").read_text())


def _torch_rows(report: dict) -> list[dict]:
    return [r for r in report["runs"] if r["engine"] == "torch"]


def test_every_stage_of_every_case_is_timed(run: tuple[Path, dict]) -> None:
    _, report = run
    rows = _torch_rows(report)
    assert sorted(r["input"] for r in rows) == sorted(INPUT_KINDS)
    for row in rows:
        assert row["error"] is None and len(row["cases"]) == 2, row
        for case in row["cases"]:
            assert set(case["stages_s"]) == set(STAGES) and all(v > 0 for v in case["stages_s"].values()), case
            assert set(case["cpu_s"]) == set(STAGES) and sum(case["cpu_s"].values()) > 0, case
            # the stages lie inside the window write() times the case with (rounded to 1 ms), and cover most of it
            assert case["stage_sum_s"] <= case["total_s"] + 0.001
            assert case["stage_sum_s"] >= 0.5 * case["total_s"]
        assert row["peak_rss_bytes"] > 0 and 0 < row["network_share"] < 1
        assert row["weights"].startswith("random weights (timing only)")


def test_predictions_are_written(run: tuple[Path, dict]) -> None:
    out, report = run
    names = {r["input"]: sorted(Path(p).name for c in r["cases"] for p in c["outputs"]) for r in _torch_rows(report)}
    assert names["kvasir"] == ["picture_0_overlay.png", "picture_0_seg.png", "picture_1_overlay.png", "picture_1_seg.png"]
    assert names["hippocampus"] == ["volume_0_seg.nii.gz", "volume_1_seg.nii.gz"]
    assert names["ct"] == ["dicom_2_seg.nii.gz", "dicom_seg.nii.gz"]  # one series, timed twice
    for row in _torch_rows(report):
        for case in row["cases"]:
            assert all(Path(p).is_file() and out in Path(p).parents for p in case["outputs"])
    assert nib.load(out / "predictions" / "ct" / "medlitenet-torch" / "cases" / "dicom_seg.nii.gz").shape == (24, 24, 16)


def test_json_and_markdown_agree(run: tuple[Path, dict]) -> None:
    out, report = run
    text = (out / "pipeline.md").read_text()
    assert report["settings"]["threads"] == 1 and report["machine"]["cpu_model"] in text
    for row in report["runs"]:
        line = "| " + " | ".join(COLUMNS[c](row) for c in COLUMNS) + " |"
        assert line in text, line
    for row in _torch_rows(report):
        line = "| " + " | ".join(CPU_COLUMNS[c](row) for c in CPU_COLUMNS) + " |"
        assert line in text, line
    for row in _torch_rows(report):  # the medians in the table are those of the raw per-case times
        network = sorted(c["stages_s"]["network"] for c in row["cases"])
        assert row["network_ms"] == pytest.approx(1000 * (network[0] + network[1]) / 2)


def test_failing_engine_is_a_row_with_its_reason(run: tuple[Path, dict]) -> None:
    out, report = run
    failed = [r for r in report["runs"] if r["engine"] == BAD_ENGINE]
    assert sorted(r["input"] for r in failed) == sorted(INPUT_KINDS)
    for row in failed:
        assert row["cases"] == [] and row["error"].startswith("load_bundle failed: ")
        assert "engine" in row["error"]  # no such keyword yet, or no such engine
    assert f"| {BAD_ENGINE} | 0 |" in (out / "pipeline.md").read_text()


def test_failed_startup_child_is_reported(data: Path, tmp_path: Path) -> None:
    # An engine the command does not know ends each child at argument parsing, before torch is imported. SegResNet
    # alone is compared, so the start-up runs get weights of the CT bundle's own network made for them.
    report = run_pipeline(tmp_path / "out", inputs=["ct"], data_dir=data, cases=1, models=["segresnet"],
                          engines=[BAD_ENGINE], startup_runs=2, threads=1, progress=False)
    (row,) = report["startup"]
    assert len(row["runs"]) == 1 and row["runs"][0]["returncode"] == 2 and row["median_s"] is None
    assert row["error"].startswith("exit status 2: ") and "--engine" in row["error"]
    assert row["model"] == "bundle's own MedLiteNet" and row["weights"].startswith("random weights")
    assert (tmp_path / "out" / "weights" / "medlitenet_ct--own.pt").is_file()
    assert "exit status 2" in (tmp_path / "out" / "pipeline.md").read_text()


def test_startup_child_peak_is_its_own(tmp_path: Path) -> None:
    # This test process holds hundreds of MiB (torch, MONAI); a child that writes 200 MiB must report about 200 MiB.
    command = [sys.executable, "-c", "import time; block = b'x' * (200 << 20); time.sleep(0.3)"]
    wall, code, peak, cpu = _run_child(command, {}, tmp_path / "child.log")
    assert code == 0 and wall > 0.3 and cpu is not None
    assert 200 * 2**20 <= peak < 260 * 2**20, peak / 2**20


def test_missing_data_folder_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["benchmark", "pipeline", "-o", str(tmp_path / "out"), "--data-dir", str(tmp_path / "nowhere"),
                 "--inputs", "hippocampus", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert str(tmp_path / "nowhere" / "hippocampus" / "imagesTr") in err and "--data-dir" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.realdata
@pytest.mark.slow
def test_real_kvasir_pictures_and_ct_series(tmp_path: Path) -> None:
    data = real_data_dir()
    if data is None or not (data / "ct-totalseg" / "dicom").is_dir():
        pytest.skip("shared data not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    report = run_pipeline(tmp_path / "out", inputs=["kvasir", "ct"], data_dir=data, cases={"kvasir": 2, "ct": 1},
                          models=["medlitenet"], engines=["torch"], warmup=0, startup_runs=1, threads=2,
                          progress=False)
    rows = {r["input"]: r for r in report["runs"]}
    assert rows["kvasir"]["error"] is None and len(rows["kvasir"]["cases"]) == 2
    assert rows["ct"]["error"] is None and len(rows["ct"]["cases"]) == 1
    for row in rows.values():
        for case in row["cases"]:
            assert all(case["stages_s"][s] > 0 for s in STAGES)
    ct = nib.load(rows["ct"]["cases"][0]["outputs"][0])
    assert ct.shape == (512, 512, 20)
    startup = report["startup"][0]
    assert startup["error"] is None and startup["median_s"] > 0
    assert nib.load(startup["runs"][0]["nifti"]).shape == (512, 512, 20)
