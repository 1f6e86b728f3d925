# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves options and positionals of every verb may come in any order, and misplaced values get a hint.

Only parsing is exercised (``build_parser().parse_args``, plus the infer/prepare checks that run before any
work), so no network is built here; the commands themselves run in tests/docs/test_documented_commands.py.
"""

from __future__ import annotations

import argparse
import re

import pytest

from monai_lite import cli


def _parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def test_readme_ensemble_order_parses() -> None:
    args = _parse("infer", "--bundle", "medlitenet", "--ckpt", "A/model.pt", "--ckpt", "B/model.pt", "IMAGES/", "-o", "OUT")
    assert args.ckpt_path == ["A/model.pt", "B/model.pt"]
    assert cli._check_infer_inputs(args) == ["IMAGES/"]
    assert args.output_dir == "OUT"


@pytest.mark.parametrize(
    "argv",
    [
        ("infer", "--bundle", "medlitenet", "--ckpt", "M.pt", "IMG1.png", "IMG2.png", "-o", "OUT"),
        ("infer", "IMG1.png", "--ckpt", "M.pt", "IMG2.png", "-o", "OUT", "--bundle", "medlitenet"),
        ("infer", "-o", "OUT", "IMG1.png", "--ckpt-path", "M.pt", "--tta", "IMG2.png"),
    ],
)
def test_inputs_anywhere(argv: tuple[str, ...]) -> None:
    args = _parse(*argv)
    assert args.ckpt_path == ["M.pt"]
    assert cli._check_infer_inputs(args) == ["IMG1.png", "IMG2.png"]


def test_dice_repeats_per_member() -> None:
    args = _parse("infer", "--ckpt", "a.pt", "--dice", "0.9", "--ckpt", "b.pt", "--dice", "0.8", "IMAGES/")
    assert args.dice == [0.9, 0.8] and args.ckpt_path == ["a.pt", "b.pt"]


@pytest.mark.parametrize(
    "argv, hint",
    [
        (("infer", "--ckpt", "a.pt", "b.pt", "IMAGES/"), "b.pt looks like a weights file.*repeat it"),
        (("infer", "--dice", "0.9", "0.8", "IMAGES/"), "0.8 is not an INPUT: --dice takes one value"),
        (("infer", "--ckpt", "a.pt", "-o", "OUT"), "give at least one INPUT.*monai-lite infer --bundle medlitenet IMAGES/"),
    ],
)
def test_older_forms_get_a_hint(argv: tuple[str, ...], hint: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        cli._check_infer_inputs(_parse(*argv))
    assert stop.value.code == 2
    assert re.search(hint, capsys.readouterr().err)


def test_prepare_masks_after_options() -> None:
    args = _parse("prepare", "IMAGES", "--folds", "2", "MASKS", "--labels", "1=polyp", "-o", "dl.json")
    assert (args.input, args.masks, args.folds, args.output) == ("IMAGES", "MASKS", 2, "dl.json")


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["1=polyp"], {0: "background", 1: "polyp"}),
        (["0=bg", "1=left", "2=right"], {0: "bg", 1: "left", 2: "right"}),
        (["ct-totalseg/labels.json"], "ct-totalseg/labels.json"),
        ([], None),
    ],
)
def test_prepare_label_names(labels: list[str], expected: object) -> None:
    args = _parse("prepare", "IMAGES", "-o", "dl.json", *[x for item in labels for x in ("--labels", item)])
    assert cli._prepare_label_names(args) == expected


@pytest.mark.parametrize("labels", [["one=polyp"], ["1="], ["1=polyp", "labels.json"]])
def test_prepare_bad_labels_are_usage_errors(labels: list[str]) -> None:
    args = _parse("prepare", "IMAGES", "-o", "dl.json", *[x for item in labels for x in ("--labels", item)])
    with pytest.raises(SystemExit) as stop:
        cli._prepare_label_names(args)
    assert stop.value.code == 2


def test_evaluate_only_predicted_excludes_allow_missing(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--pred", "P", "--gt", "G", "-o", "O", "--only-predicted", "--allow-missing"])
    assert "give one" in capsys.readouterr().err
