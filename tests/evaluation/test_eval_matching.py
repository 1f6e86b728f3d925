# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves predictions pair with ground truths by case name: exact stems first, then ignoring a ``_seg``/``_pred``/
``_mask`` postfix (as MONAI's SaveImaged writes), recursive prediction folders, datalist cases under their image's
stem; unmatched predictions are listed, missing ones fail with every case named unless allowed, and ambiguous names
fail; the colour overlays ``monai-lite infer`` writes beside a case's mask are dropped, a lone ``*_overlay`` is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lite.evaluation.matching import (
    GroundTruth,
    case_key,
    ground_truth_from_datalist,
    ground_truth_from_folder,
    list_masks,
    match_cases,
    without_overlays,
)


def _gt(*names: str) -> list[GroundTruth]:
    return [GroundTruth(n, Path(f"gt/{n}.png"), (n,)) for n in names]


def test_case_key_strips_one_postfix() -> None:
    assert case_key("case_seg") == "case"
    assert case_key("case_PRED") == "case"
    assert case_key("hippocampus_001_mask") == "hippocampus_001"
    assert case_key("_seg") == "_seg"
    assert case_key("case") == "case"


def test_postfix_and_exact_matches() -> None:
    preds = [Path("p/a_seg.png"), Path("p/b.png"), Path("p/b_seg.png"), Path("p/extra_seg.png")]
    result = match_cases(preds, _gt("a", "b"))
    assert [(p.case, p.pred) for p in result.pairs] == [("a", Path("p/a_seg.png")), ("b", Path("p/b.png"))]
    # b_seg.png lost to the exact b.png; it and extra_seg.png are reported, not scored.
    assert result.unmatched_predictions == [Path("p/b_seg.png"), Path("p/extra_seg.png")]
    assert result.missing == []


def test_missing_predictions_fail_naming_every_case() -> None:
    with pytest.raises(ValueError, match=r"2 of 3 ground-truth case\(s\) have no prediction: b, c\. .*--allow-missing"):
        match_cases([Path("p/a.png")], _gt("a", "b", "c"))


def test_allow_missing_pairs_with_none() -> None:
    result = match_cases([Path("p/a.png")], _gt("a", "b"), allow_missing=True)
    assert result.missing == ["b"]
    assert result.pairs[1].pred is None


def test_ambiguous_predictions_fail() -> None:
    with pytest.raises(ValueError, match="several predictions match case 'a'"):
        match_cases([Path("p/a_seg.png"), Path("p/a_pred.nii.gz")], _gt("a"))


def test_folders(tmp_path: Path) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "a.png").write_bytes(b"")
    (tmp_path / "gt" / "notes.txt").write_text("not a mask")
    (tmp_path / "gt" / "sub").mkdir()
    (tmp_path / "gt" / "sub" / "image.png").write_bytes(b"")  # ground-truth folders are not searched recursively
    assert [t.case for t in ground_truth_from_folder(tmp_path / "gt")] == ["a"]
    (tmp_path / "pred" / "a").mkdir(parents=True)
    (tmp_path / "pred" / "a" / "a_seg.png").write_bytes(b"")  # SaveImaged(separate_folder=True)
    (tmp_path / "pred" / ".hidden").mkdir()
    (tmp_path / "pred" / ".hidden" / "x.png").write_bytes(b"")
    assert list_masks(tmp_path / "pred", recursive=True) == [tmp_path / "pred" / "a" / "a_seg.png"]
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        list_masks(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no mask file"):
        list_masks(tmp_path / "empty")
    (tmp_path / "gt" / "a.nii.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="share the case name 'a'"):
        ground_truth_from_folder(tmp_path / "gt")


def test_datalist_fold_cases_answer_to_image_and_label_stems(tmp_path: Path) -> None:
    for rel in ("images/IMD002.jpg", "masks/IMD002_lesion.png", "images/IMD003.jpg", "masks/IMD003_lesion.png"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    datalist = tmp_path / "list.json"
    datalist.write_text(json.dumps({"training": [
        {"image": "images/IMD002.jpg", "label": "masks/IMD002_lesion.png", "fold": 0},
        {"image": "images/IMD003.jpg", "label": "masks/IMD003_lesion.png", "fold": 1},
    ]}))
    truths = ground_truth_from_datalist(datalist, tmp_path, fold=0)
    assert [(t.case, t.aliases) for t in truths] == [("IMD002", ("IMD002", "IMD002_lesion"))]
    assert len(ground_truth_from_datalist(datalist, tmp_path, fold=-1)) == 2
    # Inference names outputs after the image: IMD002_seg.png.
    assert match_cases([Path("p/IMD002_seg.png")], truths).pairs[0].pred == Path("p/IMD002_seg.png")


def test_overlays_beside_a_mask_are_dropped() -> None:
    files = [Path(p) for p in ("out/a_seg.png", "out/a_overlay.png", "out/b.png", "out/b_overlay.png",
                               "out/c_overlay.png", "other/a_overlay.png", "out/d_seg.nii.gz")]
    kept = without_overlays(files)
    assert kept == [Path(p) for p in ("out/a_seg.png", "out/b.png", "out/c_overlay.png", "other/a_overlay.png",
                                      "out/d_seg.nii.gz")]
