# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the ``monai-lite evaluate`` verb end to end on tmp files: ``--pred/--gt`` writes the report and prints
per-class results and the predictions it did not score, ``--labels`` and ``--spacing`` reach the API, ``--gt DATALIST --dataset-dir --fold`` works,
``--combine`` joins two fold reports, and problems end in one ``error:`` line (exit 1) or a usage error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _eval_helpers import save_png, square

from monai_lite import cli


def _folders(root: Path, shift: int = 0) -> tuple[Path, Path]:
    gt, pred = root / "gt", root / "pred"
    for index in range(3):
        save_png(gt / f"case{index}.png", square((8, 12), slice(2, 6), slice(2 + index, 6 + index), 255))
        save_png(pred / f"case{index}_seg.png", square((8, 12), slice(2, 6), slice(2 + index + shift, 6 + index + shift), 255))
    return pred, gt


def test_pred_gt_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pred, gt = _folders(tmp_path, shift=1)
    save_png(pred / "stray_seg.png", np.zeros((8, 12)))
    out = tmp_path / "out"
    code = cli.main(["evaluate", "--pred", str(pred), "--gt", str(gt), "-o", str(out), "--labels", "1=lesion",
                     "--spacing", "0.5", "0.5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "lesion: Dice 0.750 ± 0.000" in printed and f"wrote {out}" in printed
    assert f"1 prediction file(s) match no ground truth and were not scored: {pred / 'stray_seg.png'}" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["lesion"]["hd95"]["mean"] == pytest.approx(0.5)  # 1 px shift at 0.5 mm
    assert {p.name for p in out.iterdir()} == {"metrics.csv", "summary.json", "boxplot.png"}


def test_datalist_and_combine(tmp_path: Path) -> None:
    pred, _ = _folders(tmp_path / "data")
    entries = [{"image": f"gt/case{i}.png", "label": f"gt/case{i}.png", "fold": i % 2} for i in range(3)]
    datalist = tmp_path / "list.json"
    datalist.write_text(json.dumps({"training": entries}))
    for fold in (0, 1):
        assert cli.main(["evaluate", "--pred", str(pred), "--gt", str(datalist), "--dataset-dir", str(tmp_path / "data"),
                         "--fold", str(fold), "-o", str(tmp_path / f"fold{fold}"), "--no-plot"]) == 0
    assert cli.main(["evaluate", "--combine", str(tmp_path / "fold0"), str(tmp_path / "fold1"),
                     "-o", str(tmp_path / "cv")]) == 0
    summary = json.loads((tmp_path / "cv" / "summary.json").read_text())
    assert [f["n_cases"] for f in summary["folds"]] == [2, 1]
    assert summary["metrics"]["class_1"]["dice"]["mean_of_fold_means"] == pytest.approx(1.0)


def test_problems_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pred, gt = _folders(tmp_path)
    save_png(pred / "case1_seg.png", np.zeros((12, 8)))
    assert cli.main(["evaluate", "--pred", str(pred), "--gt", str(gt), "-o", str(tmp_path / "out")]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"monai-lite evaluate: error: prediction {pred / 'case1_seg.png'} has shape (12, 8)")
    assert str(gt / "case1.png") in last


@pytest.mark.parametrize(
    "argv, message",
    [(["--pred", "p", "--gt", "g"], "-o/--output"), (["--pred", "p", "-o", "o"], "--pred needs --gt"),
     (["--pred", "p", "--combine", "a", "-o", "o"], "separate jobs"),
     (["--gt", "g", "-o", "o"], "--gt apply to file evaluation; add --pred")],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["evaluate", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
