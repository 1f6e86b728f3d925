# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the committed bundles are exactly what the template and bundles.json generate, and that the generator
refuses specs that leave a template id unset or name an id the template lacks; specs may extend several bases (in
order), and a spec's `paper` section becomes the configs/paper.json overlay, whose ids must exist in train.json."""

from __future__ import annotations

import json

import pytest

from monai_lite.bundle import generate
from monai_lite.bundle.runner import list_bundles


def test_committed_bundles_match_the_template() -> None:
    assert generate.write_bundles(check=True) == [], "run: python -m monai_lite.bundle.generate"


def test_every_spec_is_a_shipped_bundle() -> None:
    specs = json.loads((generate.TEMPLATE_DIR / "bundles.json").read_text())
    assert sorted(k for k in specs if not k.startswith("_")) == list_bundles()


def test_unset_placeholder_is_refused() -> None:
    spec = generate.bundle_specs()["medlitenet"]
    del spec["shared"]["in_channels"]
    with pytest.raises(ValueError, match=r"configs/\w+.json leaves template ids unset: \['in_channels'\]"):
        generate.render_bundle("medlitenet", spec)


def test_child_spec_overrides_its_base() -> None:
    specs = generate.bundle_specs()
    assert specs["medlitenet_hippocampus"]["shared"]["in_channels"] == 1  # from _hippocampus_3d
    assert specs["medlitenet"]["shared"]["in_channels"] == 3  # from _lesion_2d
    assert specs["lacnet"]["train"]["optimizer#_target_"] == "torch.optim.Adam"  # the paper's Adam + L2
    assert "extends" not in specs["lacnet"]


def test_unknown_id_is_refused() -> None:
    spec = generate.bundle_specs()["medlitenet"]
    spec["train"]["validate#no_such_section#x"] = 1
    with pytest.raises(KeyError, match="does not exist in the template"):
        generate.render_bundle("medlitenet", spec)


def test_several_bases_merge_in_order() -> None:
    specs = {
        "_a": {"train": {"x": 1, "y": 1}, "paper": {"epochs": 5}},
        "_b": {"train": {"y": 2}, "paper": {"epochs": 7, "lambda_ce": 1.0}},
        "child": {"extends": ["_a", "_b"], "paper": {"lambda_ce": 0.5}},
    }
    merged = generate._merged("child", specs)
    assert merged == {"train": {"x": 1, "y": 2}, "paper": {"epochs": 7, "lambda_ce": 0.5}}
    with pytest.raises(KeyError, match="unknown spec '_c'"):
        generate._merged("child", {**specs, "child": {"extends": ["_a", "_c"]}})


def test_paper_section_becomes_an_overlay_of_known_ids() -> None:
    spec = generate.bundle_specs()["lacnet"]
    files = generate.render_bundle("lacnet", spec)
    assert json.loads(files["configs/paper.json"])["class_weights"] == "median_frequency"
    spec["paper"]["no_such_id"] = 1
    with pytest.raises(KeyError, match="'no_such_id' is not in its train.json"):
        generate.render_bundle("lacnet", spec)
