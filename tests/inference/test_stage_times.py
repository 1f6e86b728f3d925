# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the Predictor's per-stage timer (monai_lite.inference.stage_times): Predictor.write records one entry per
case, in order and named after the case, with each of read, preprocess, network, invert and write timed (wall > 0 s,
and process CPU time) and the wall times summing to no more than the case's seconds in inference_log.json;
predict_proba records the four stages before write; an ensemble adds both members' times into one entry per case;
the recorder keeps only its last ``keep`` cases and records a stage that raised. (That the timer changes no output
is what the other Predictor tests show.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inference_helpers import Pointwise, asymmetric_picture, dummy_model
from PIL import Image

from monai_lite.inference import Predictor
from monai_lite.inference.stage_times import STAGES, StageTimes


def _model():
    net = Pointwise(2, in_channels=3, out_channels=1, scale=20.0, offset=0.0)
    return dummy_model(net, "dermoscopy", 2, in_channels=3, spatial_size=(48, 48))


@pytest.fixture()
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for index, name in enumerate(["b_case", "a_case", "c_case"]):
        Image.fromarray(np.roll(asymmetric_picture(40, 64), 5 * index, axis=1)).save(folder / f"{name}.png")
    return folder


def test_write_records_every_stage_per_case(pictures: Path, tmp_path: Path) -> None:
    predictor = Predictor([_model()])
    record = predictor.write(pictures, tmp_path / "out", progress=False)
    timed = list(predictor.stage_times.cases)
    assert [t["case"] for t in timed] == ["a_case", "b_case", "c_case"] == [Path(c["input"]).stem for c in record["cases"]]
    for stages, case in zip(timed, record["cases"]):
        assert set(stages) == {"case", "cpu", *STAGES} and set(stages["cpu"]) == set(STAGES)
        assert all(stages[s] > 0 and stages["cpu"][s] >= 0 for s in STAGES), stages
        # every stage lies inside the window write() times the case with (its seconds are rounded to 1 ms)
        assert sum(stages[s] for s in STAGES) <= case["seconds"] + 0.001
    assert predictor.stage_times.last is timed[-1]


def test_predict_proba_records_stages_before_write(pictures: Path) -> None:
    predictor = Predictor([_model()])
    predictor.predict_proba(pictures / "a_case.png")
    assert set(predictor.stage_times.last) == {"case", "cpu", "read", "preprocess", "network", "invert"}


def test_ensemble_members_add_into_one_entry(pictures: Path) -> None:
    single, pair = Predictor([_model()]), Predictor([_model(), _model()], weights=[1.0, 1.0])
    np.testing.assert_array_equal(single(pictures / "a_case.png"), pair(pictures / "a_case.png"))
    assert len(pair.stage_times.cases) == 1
    assert set(pair.stage_times.last) == {"case", "cpu", "read", "preprocess", "network", "invert"}


def test_recorder_accumulates_and_forgets() -> None:
    times = StageTimes(keep=2)
    assert times.last is None
    for name in ("x", "y", "z"):
        times.start_case(name)
        with times.stage("network"):
            pass
        with times.stage("network"):
            pass
    assert [t["case"] for t in times.cases] == ["y", "z"]
    assert set(times.last) == {"case", "cpu", "network"} and times.last["network"] >= 0
    assert set(times.last["cpu"]) == {"network"}
    with pytest.raises(RuntimeError), times.stage("write"):
        raise RuntimeError("the time of a failed stage is still recorded")
    assert "write" in times.last and "write" in times.last["cpu"]
    times.clear()
    assert times.last is None
