# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves that every shipped bundle has the model-zoo layout and keeps the id contract of MONAI's tools.

MONAI's ConfigWorkflow, MONAI Label and the model-zoo CI read fixed ids and files; a misspelt id fails silently
there (see STYLE.md §2), so each one is asserted here, without running anything heavy.
"""

from __future__ import annotations

import json

import pytest
from monai.bundle import ConfigParser, ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles

BUNDLES = list_bundles()
REQUIRED_FILES = (
    "LICENSE",
    "configs/metadata.json",
    "configs/train.json",
    "configs/inference.json",
    "configs/evaluate.json",
    "configs/multi_gpu_train.json",
    "configs/multi_gpu_evaluate.json",
    "configs/logging.conf",
    "docs/README.md",
    "docs/data_license.txt",
)


def _config(bundle: str, name: str) -> dict:
    return json.loads((BUNDLES_DIR / bundle / "configs" / name).read_text())


def test_bundles_are_found() -> None:
    assert "medlitenet" in BUNDLES


@pytest.mark.parametrize("bundle", BUNDLES)
def test_layout(bundle: str) -> None:
    root = BUNDLES_DIR / bundle
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    assert not missing, f"{bundle} lacks {missing}"
    # `--config_file bundles/<name>/train.json` must find the same files that configs/ holds (links, not copies).
    for name in ("train.json", "metadata.json", "logging.conf"):
        link = root / name
        assert link.is_symlink() and link.resolve() == (root / "configs" / name).resolve(), f"{link} is not a link"
    assert (root / "models").is_dir(), "models/ must exist (weights are produced there, never committed)"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_network_def_is_shared_by_train_and_inference(bundle: str) -> None:
    assert _config(bundle, "train.json")["network_def"] == _config(bundle, "inference.json")["network_def"]


@pytest.mark.parametrize("bundle", BUNDLES)
@pytest.mark.parametrize(
    "config, workflow_type, run_alias",
    [("train.json", "train", "training"), ("inference.json", "infer", "inference")],
)
def test_required_properties(bundle: str, config: str, workflow_type: str, run_alias: str) -> None:
    configs = BUNDLES_DIR / bundle / "configs"
    workflow = ConfigWorkflow(
        config_file=str(configs / config), meta_file=str(configs / "metadata.json"), logging_file=False,
        workflow_type=workflow_type, **({"load_pretrain": False} if workflow_type == "infer" else {}),
    )
    workflow.initialize()
    missing = workflow.check_properties()
    assert not missing, f"{config} lacks required or optional-but-checked ids: {missing}"
    raw = _config(bundle, config)
    for run_id in ("initialize", "run", "finalize"):
        assert isinstance(raw[run_id], list), f"{config} needs a list at id {run_id!r}"
    assert raw[run_alias] == "%run", f"{config}: `run {run_alias}` must alias the real `run` list"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_train_handlers_are_literal_lists(bundle: str) -> None:
    # MONAI Label inserts a CheckpointLoader dict into the raw train#handlers list (at index 0, after filtering the
    # entries with `t.get("_target_")`), and ConfigWorkflow.check_properties reads `h["_target_"]` of each entry:
    # every entry must be a handler definition, not a bare "@id" reference.
    raw = _config(bundle, "train.json")
    for section in ("train", "validate"):
        handlers = raw[section]["handlers"]
        assert isinstance(handlers, list)
        assert all(isinstance(h, dict) and "_target_" in h for h in handlers), f"{section}#handlers: {handlers}"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_evaluate_saves_the_per_case_report(bundle: str) -> None:
    """evaluate.json writes its metrics through monai_lite.evaluation, the code of `monai-lite evaluate --pred`."""
    evaluate = _config(bundle, "evaluate.json")
    savers = [h for h in evaluate["validate#handlers"] if h["_target_"] == "monai_lite.evaluation.CaseMetricsSaver"]
    assert len(savers) == 1, "evaluate.json should save the per-case report"
    assert savers[0]["output_dir"] == "@output_dir"
    parser = ConfigParser()
    parser.read_config([str(BUNDLES_DIR / bundle / "configs" / n) for n in ("train.json", "evaluate.json")])
    parser["bundle_root"] = str(BUNDLES_DIR / bundle)
    index = evaluate["validate#handlers"].index(savers[0])
    names = parser.get_parsed_content(f"validate#handlers#{index}#labels")
    assert names and 0 not in names, f"class names from the metadata expected, got {names}"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_multi_gpu_overrides_gate_handlers_by_what_they_are(bundle: str) -> None:
    """No handler is switched off by its position in a list; the handler lists go through the rank filter."""
    for name in ("multi_gpu_train.json", "multi_gpu_evaluate.json"):
        overrides = _config(bundle, name)
        positional = [key for key in overrides if key.endswith("#_disabled_")]
        assert not positional, f"{name}: handlers switched off by list position: {positional}"
        assert overrides["validate#evaluator#val_handlers"] == (
            "$monai_lite.engine.distributed.handlers_for_this_rank(@validate#handlers)"
        )
    train_handlers = _config(bundle, "multi_gpu_train.json")["train#trainer#train_handlers"]
    assert "handlers_for_this_rank(@train#handlers)" in train_handlers
    # The multi-GPU files parse on top of train.json.
    parser = ConfigParser()
    parser.read_config([str(BUNDLES_DIR / bundle / "configs" / n) for n in ("train.json", "multi_gpu_train.json")])
    assert parser["train#dataloader#sampler"] == "@train#sampler"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_metadata_matches_network_def(bundle: str) -> None:
    meta = _config(bundle, "metadata.json")
    network = _config(bundle, "inference.json")
    raw = _config(bundle, "train.json")
    fmt = meta["network_data_format"]
    assert fmt["inputs"]["image"]["num_channels"] == raw["in_channels"] == network["in_channels"]
    assert fmt["outputs"]["pred"]["num_channels"] == raw["out_channels"] == network["out_channels"]
    spatial = len(fmt["inputs"]["image"]["spatial_shape"])
    assert spatial == raw["network_def"]["spatial_dims"], "MONAI Label takes the dimension from spatial_shape"
    assert meta["version"] in meta["changelog"]


@pytest.mark.parametrize("bundle", ["medlitenet", "lacnet_hippocampus"])
def test_inference_loads_the_weights_then_prepares_the_network(bundle: str, tmp_path) -> None:
    """MONAI's own inference run prepares the network (prepare_for_inference) after loading the trained weights,
    so its outputs are those of the checkpoint (a fold before the load would be overwritten or mismatch keys)."""
    import torch

    configs = BUNDLES_DIR / bundle / "configs"
    parser = ConfigParser()
    parser.read_config(str(configs / "inference.json"))
    torch.manual_seed(0)
    trained = parser.get_parsed_content("network_def").eval()
    for norm in trained.modules():  # statistics far from identity, as after training
        if isinstance(norm, torch.nn.modules.batchnorm._BatchNorm):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 1.5)
    (tmp_path / "models").mkdir()
    torch.save(trained.state_dict(), tmp_path / "models" / "model.pt")
    workflow = ConfigWorkflow(config_file=str(configs / "inference.json"), meta_file=str(configs / "metadata.json"),
                              logging_file=False, workflow_type="infer", bundle_root=str(tmp_path),
                              device=torch.device("cpu"))
    workflow.initialize()
    network = workflow.parser.get_parsed_content("network")
    assert network.inference_prep.folded_batch_norms > 0
    size = [64, 64] if parser["network_def"]["spatial_dims"] == 2 else [32, 48, 32]
    x = torch.rand(1, parser.get_parsed_content("network_def#in_channels"), *size)
    with torch.no_grad():
        expected, actual = trained(x), network(x)
    assert torch.allclose(actual, expected, atol=1e-4 * max(1.0, float(expected.abs().max())))
