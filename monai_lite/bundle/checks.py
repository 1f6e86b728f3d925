# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Check a bundle's settings when its workflow starts, before any data is read or network run.

``python -m monai.bundle run ... --image_size 96`` or ``--epochs -3`` would otherwise fail deep inside MONAI (a
transform's error about ``spatial_size=1``, an abort in a data loader worker) or, worse, run. The bundles'
``initialize`` step calls :func:`check_bundle_settings` first: each bad value is refused with its config id, the
value and what is allowed, and the rest of the run reports a fixable problem in one line instead of a traceback
(:func:`monai_lite.errors.install_bundle_error_reporting`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch.nn as nn

from monai_lite.errors import CheckpointError, SettingError, install_bundle_error_reporting

__all__ = ["check_bundle_settings"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse(config_id: str, value: Any, allowed: str) -> None:
    raise SettingError(f"bundle setting '{config_id}' = {value!r} is not allowed: {allowed}.")


def _check_image_size(image_size: Any, network: nn.Module | None) -> None:
    # No multiple of the network's stride is required: every network pads its input up to its own stride.
    dims = int(getattr(network, "spatial_dims", 0) or 0) if network is not None else 0
    length = f"{dims} " if dims else ""
    shape = f"a list of {length}positive integers, e.g. --image_size \"{[64] * (dims or 2)}\""
    if not isinstance(image_size, (list, tuple)) or not all(_is_int(s) and s > 0 for s in image_size):
        _refuse("image_size", image_size, shape)
    if (dims and len(image_size) != dims) or len(image_size) not in (2, 3):
        _refuse("image_size", image_size, f"{shape} (one per spatial axis of this {dims or 2}D network)")


def _check_preset(preset: Any, preset_params: Any) -> None:
    from monai_lite.plain_values import require_no_config_syntax
    from monai_lite.transforms.presets import list_presets, preset_parameters

    names = list_presets()
    if not isinstance(preset, str) or preset not in names:
        _refuse("preset", preset, f"one of the presets {', '.join(names)}")
    if preset_params is None:
        return
    if not isinstance(preset_params, dict):
        _refuse("preset_params", preset_params, "a mapping of preset parameter names to values")
    unknown = sorted(set(preset_params) - set(preset_parameters(preset)))
    if unknown:
        _refuse("preset_params", preset_params,
                f"parameters of preset {preset!r} only ({', '.join(preset_parameters(preset))}); unknown: {unknown}")
    require_no_config_syntax(preset_params, "preset_params", "bundle setting 'preset_params'")


def _datalist_folds(datalist: Path) -> set[int]:
    try:
        content = json.loads(datalist.read_text(encoding="utf-8"))
        entries = content["training"]
        return {int(e["fold"]) for e in entries if isinstance(e, dict) and _is_int(e.get("fold"))}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SettingError(f"bundle setting 'datalist' = {str(datalist)!r} cannot be read as a datalist "
                           f"({type(err).__name__}: {err}); build one with `monai-lite prepare`.") from None


def _check_data(dataset_dir: Any, datalist: Any, fold: Any) -> None:
    if fold is not None and not _is_int(fold):
        _refuse("fold", fold, "an integer: the validation fold, or -1 to train on every case")
    if dataset_dir and not Path(str(dataset_dir)).is_dir():
        _refuse("dataset_dir", str(dataset_dir), "an existing folder")
    if not datalist:
        return
    path = Path(str(datalist))
    if not path.is_file() and dataset_dir and (Path(str(dataset_dir)) / path).is_file():
        path = Path(str(dataset_dir)) / path
    if not path.is_file():
        _refuse("datalist", str(datalist), "an existing datalist JSON file (see `monai-lite prepare`)")
    folds = _datalist_folds(path)
    if _is_int(fold) and fold >= 0 and folds and fold not in folds:
        _refuse("fold", fold, f"a fold of {path} ({', '.join(map(str, sorted(folds)))}), or -1 for no validation")


def _check_weights_file(config_id: str, value: Any, network: nn.Module | None) -> None:
    from monai_lite.engine.checkpoint_file import load_model_state, model_state, read_checkpoint

    if not value or not isinstance(value, str) or value.strip().lower() in ("true", "false"):
        return
    if config_id == "ckpt_path" and not os.path.isfile(value):
        from monai_lite.bundle.paths import require_checkpoint

        require_checkpoint(value)  # names the training command that writes the missing weights
    what = f"bundle setting '{config_id}':"
    state = read_checkpoint(value, what, mmap=True)
    if network is not None:
        # a copy, so a refused file leaves the run's network untouched
        import copy

        try:
            load_model_state(copy.deepcopy(network), model_state(state, value, what), value, what)
        except CheckpointError as err:
            hint = _recorded_input_hint(value, network)
            if not hint:
                raise
            raise CheckpointError(f"{err} {hint}") from None


def _recorded_input_hint(weights: str, network: nn.Module) -> str:
    """What to pass when the record beside ``weights`` says they were trained on another number of input channels
    (weights of a paper overlay, e.g. LightAWNet's on one grey channel, run with the bundle's own configs)."""
    from monai_lite.engine.preprocessing_record import read_preprocessing_record

    try:
        record = read_preprocessing_record(weights) or {}
    except ValueError:  # a damaged record is reported where it is applied; the mismatch is the problem here
        return ""
    channels = record.get("in_channels")
    if channels is None or channels == getattr(network, "in_channels", channels):
        return ""
    flags = f"--in_channels {channels} --preset {record['preset']}"
    if record.get("image_size"):
        flags += f" --image_size \"{record['image_size']}\""
    return (f"These weights were trained on {channels} input channel(s) (preprocessing.json beside them): pass "
            f"{flags} (or serve them with `monai-lite infer`, which reads the record).")


def check_bundle_settings(
    network: nn.Module | None = None,
    image_size: Any = None,
    preset: Any = None,
    preset_params: Any = None,
    epochs: Any = None,
    fold: Any = None,
    dataset_dir: Any = "",
    datalist: Any = "",
    ckpt_path: Any = None,
    init_weights: Any = None,
    resume: Any = None,
) -> bool:
    """Refuse a bundle setting outside what the bundle accepts, naming the id, the value and what is allowed.

    Called first in the bundles' ``initialize`` (train, evaluate and inference configs); also installs the
    one-line error report of :func:`monai_lite.errors.install_bundle_error_reporting` for the rest of the run.
    Arguments left at None are not checked.

    Args:
        network: the bundle's ``network_def`` (gives the number of spatial axes).
        image_size: training image (2D) or patch (3D) size: one positive integer per axis (any size; the
            networks pad to their stride).
        preset: a preset name of ``transforms/``.
        preset_params: parameters of that preset, holding no MONAI config syntax.
        epochs: a positive integer.
        fold: an integer; with a datalist, one of its folds or negative (no validation).
        dataset_dir: "" or an existing folder.
        datalist: "" or an existing datalist JSON (also looked for under ``dataset_dir``).
        ckpt_path: weights the inference loads: must read as a checkpoint and fit ``network``.
        init_weights: weights a new training run starts from: same check.
        resume: ``True``/``False`` or the path of a ``last.pt`` (checked by the resume itself).

    Returns:
        True, so the config expression has a value.

    Raises:
        SettingError: the first setting that is not allowed.
        CheckpointError: a weights file that cannot be used.
    """
    install_bundle_error_reporting()
    if network is not None and not isinstance(network, nn.Module):
        _refuse("network_def", type(network).__name__, "a torch network")
    if image_size is not None:
        _check_image_size(image_size, network)
    if preset is not None:
        _check_preset(preset, preset_params)
    if epochs is not None and (not _is_int(epochs) or epochs < 1):
        _refuse("epochs", epochs, "a positive integer")
    _check_data(dataset_dir, datalist, fold)
    if resume is not None and not isinstance(resume, (bool, str)):
        _refuse("resume", resume, "true, false, or the path of a last.pt to resume from")
    if isinstance(resume, str) and resume.strip().lower() not in ("", "true", "false") and not Path(resume).is_file():
        _refuse("resume", resume, "true, false, or the path of an existing last.pt")
    _check_weights_file("ckpt_path", ckpt_path, network)
    _check_weights_file("init_weights", init_weights, network)
    return True
