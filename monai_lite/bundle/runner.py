# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Run a bundle's workflows from Python, by bundle name or folder, through MONAI's own ``ConfigWorkflow``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["BUNDLES_DIR", "WORKFLOWS", "list_bundles", "resolve_bundle", "parse_override", "run_bundle"]

#: The bundles that ship with monai-lite, in the checkout this package is installed from.
BUNDLES_DIR = Path(__file__).resolve().parents[2] / "bundles"

#: workflow name -> (config files on top of each other, run id).
WORKFLOWS = {
    "train": (("train.json",), "run"),
    "evaluate": (("train.json", "evaluate.json"), "run"),
    "infer": (("inference.json",), "run"),
}


def list_bundles() -> list[str]:
    """Names of the bundles in :data:`BUNDLES_DIR` (folders with ``configs/metadata.json``), sorted.

    Folders starting with ``_`` (the template) are not bundles.
    """
    found = (p.parent.parent.name for p in BUNDLES_DIR.glob("*/configs/metadata.json"))
    return sorted(name for name in found if not name.startswith("_"))


def resolve_bundle(bundle: str | Path) -> Path:
    """A bundle folder from a name of :func:`list_bundles` or a path.

    Raises:
        ValueError: if ``bundle`` is neither; the message lists the shipped bundles.
    """
    path = Path(bundle)
    if (path / "configs" / "metadata.json").is_file():
        return path.resolve()
    if (BUNDLES_DIR / str(bundle) / "configs" / "metadata.json").is_file():
        return (BUNDLES_DIR / str(bundle)).resolve()
    raise ValueError(
        f"{bundle!r} is neither a bundle folder (with configs/metadata.json) nor a shipped bundle; "
        f"shipped bundles: {', '.join(list_bundles())}."
    )


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``id=value`` as given to ``--set``: the value is JSON when it parses as JSON, else a plain string.

    Raises:
        ValueError: if there is no ``=`` or the id is empty.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set expects ID=VALUE, e.g. --set epochs=50 or --set train#batch_size=4; got {text!r}.")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("::", "#"), value


def run_bundle(bundle: str | Path, workflow: str = "train", **overrides: Any) -> None:
    """Initialise, run and finalise one workflow of a bundle, as ``python -m monai.bundle run`` does.

    Evaluation and inference use the preprocessing the loaded weights were trained with, as ``monai-lite infer``
    does: the preset, its parameters, the image size and the input channels recorded beside them
    (``models/preprocessing.json``) replace the bundle's defaults unless ``overrides`` sets them
    (:func:`~monai_lite.engine.preprocessing_record.apply_recorded_preprocessing`). Without this, weights trained
    with another preset or size would be scored on inputs they never saw, and the run would still exit 0.

    Args:
        bundle: a bundle name (see :func:`list_bundles`) or folder.
        workflow: ``"train"``, ``"evaluate"`` or ``"infer"``. Defaults to "train".
        overrides: config ids to replace, e.g. ``epochs=2`` or ``**{"train#dataloader#batch_size": 4}``.

    Raises:
        ValueError: for an unknown bundle or workflow.
    """
    from monai.bundle import ConfigWorkflow

    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {sorted(WORKFLOWS)}, got {workflow!r}.")
    root = resolve_bundle(bundle)
    files, run_id = WORKFLOWS[workflow]
    configs = root / "configs"
    engine = ConfigWorkflow(
        config_file=[str(configs / name) for name in files],
        meta_file=str(configs / "metadata.json"),
        logging_file=str(configs / "logging.conf"),
        workflow_type="infer" if workflow == "infer" else "train",
        run_id=run_id,
        **overrides,
    )
    weights = _loaded_weights(engine.parser, workflow)
    if weights is not None:
        from monai_lite.engine.preprocessing_record import apply_recorded_preprocessing

        apply_recorded_preprocessing(engine.parser, weights, overrides)
    engine.initialize()
    engine.run()
    engine.finalize()


def _loaded_weights(parser: Any, workflow: str) -> Path | None:
    """The checkpoint an evaluation or inference run loads (its ``preprocessing.json`` says how the weights were
    trained), or None for training, which writes the record rather than reads it."""
    if workflow == "evaluate":  # evaluate.json's CheckpointLoader reads @ckpt_dir/model.pt
        return Path(parser.get_parsed_content("ckpt_dir")) / "model.pt"
    if workflow == "infer":
        return Path(parser.get_parsed_content("ckpt_path"))
    return None
