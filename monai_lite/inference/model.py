# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""One trained bundle ready to predict: its network with weights, its preset preprocessing, and its output head.

Everything comes from the bundle's own ``configs/inference.json``, parsed with MONAI's ``ConfigParser`` and the
given overrides (the ids of ``--set``), so inference uses exactly the network definition and the preset
(``load_preset(preset, 'deterministic', **preset_params)``) that the bundle trains and validates with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from monai.transforms import Compose, LoadImaged

__all__ = ["BundleModel", "load_bundle_model", "resolve_device"]

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``"auto"``, ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``) or ``"mps"``.

    ``"auto"`` (and ``None``) picks CUDA, then Apple's MPS, then the CPU.

    Args:
        device: the requested device. Defaults to "auto".

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: for an unknown name, or a device this machine does not have.
    """
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name.split(":")[0] not in DEVICES[1:]:
        raise ValueError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got {device!r}.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but torch sees no CUDA GPU here; use --device cpu or auto.")
    if name == "mps" and not has_mps:
        raise ValueError("device 'mps' was asked for but Apple's MPS backend is not available here; use cpu or auto.")
    return torch.device(name)


@dataclass
class BundleModel:
    """A network with weights and the preprocessing of its bundle.

    Attributes:
        name: the bundle's folder name (or any label, for a network built in a script).
        network: the network, in eval mode, on its device.
        preprocessing: the preset's deterministic transforms, ``LoadImaged`` steps included.
        spatial_dims: 2 or 3, the network's dimensionality.
        in_channels: input channels the network expects.
        out_channels: 1 for a sigmoid (binary) head, more for a softmax head.
        roi_size: the bundle's ``image_size``: the sliding-window size of 3D networks.
        reads_pictures: True when the preset reads 2D picture files (PNG/JPEG with ``PILReader``), False when it
            reads volumes.
        threshold: the bundle's default threshold of binary probabilities.
        bundle: the bundle folder (``None`` for a network built in a script).
        ckpt_path: the weights file that was loaded (``None`` when none was).
        label_names: ``{label value: name}`` from the bundle metadata's output ``channel_def``.
        dice: the validation Dice used to weight this model in an ensemble (``None`` if unknown).
        preset: the name of the transform preset in ``preprocessing`` (``None`` when not from a bundle).
        engine: what runs ``network``: ``"torch"``, or ``"onnxruntime"``/``"auto"`` when ``network`` is an
            :class:`~monai_lite.inference.onnx_engine.OnnxRuntimeNetwork` (see :mod:`.onnx_engine`).
    """

    name: str
    network: nn.Module
    preprocessing: list
    spatial_dims: int
    in_channels: int
    out_channels: int
    roi_size: tuple[int, ...]
    reads_pictures: bool
    threshold: float = 0.5
    bundle: Path | None = None
    ckpt_path: Path | None = None
    label_names: dict[int, str] = field(default_factory=dict)
    dice: float | None = None
    preset: str | None = None
    engine: str = "torch"

    def __post_init__(self) -> None:
        # LoadImaged steps run separately (a DICOM series or an array is handed to them through a runtime reader);
        # the rest is one Compose, the object Invertd later undoes.
        self.loaders = [t for t in self.preprocessing if isinstance(t, LoadImaged)]
        self.transform = Compose([t for t in self.preprocessing if not isinstance(t, LoadImaged)])
        self.network.eval()

    @property
    def device(self) -> torch.device:
        """The device of the network's parameters (CPU for a network without parameters)."""
        return next(iter(self.network.parameters()), torch.empty(0)).device


def _preset_reads_pictures(preset: str) -> bool:
    from monai_lite.transforms.presets import read_preset

    config = read_preset(preset)
    for step in config.get("deterministic", []):
        if str(step.get("_target_", "")).endswith("LoadImaged") and "image" in step.get("keys", ()):
            reader = step.get("reader", "")
            if isinstance(reader, str) and reader.startswith("@"):
                reader = config.get(reader[1:], "")
            return str(reader).endswith("PILReader")
    return False


def _label_names(bundle: Path, out_channels: int) -> dict[int, str]:
    meta_file = bundle / "configs" / "metadata.json"
    try:
        outputs = json.loads(meta_file.read_text())["network_data_format"]["outputs"]
        channel_def = next(iter(outputs.values())).get("channel_def", {})
    except (OSError, KeyError, StopIteration, ValueError, AttributeError):
        channel_def = {}
    if out_channels == 1:
        return {1: str(channel_def.get("0", "foreground"))}
    return {k: str(channel_def.get(str(k), f"label {k}")) for k in range(1, out_channels)}


def _load_weights(network: nn.Module, path: Path, bundle: Path) -> None:
    from monai_lite.engine.checkpoint_file import load_model_state, model_state, read_checkpoint

    what = f"checkpoint of bundle {bundle.name}:"
    load_model_state(network, model_state(read_checkpoint(path, what), path, what), path, what)


def load_bundle_model(
    bundle: str | Path,
    ckpt_path: str | Path | None = None,
    device: str | torch.device = "auto",
    overrides: Mapping[str, Any] | None = None,
    prepare: bool = True,
    engine: str = "torch",
) -> BundleModel:
    """Build a bundle's network from its ``configs/inference.json``, load its weights, and parse its preprocessing.

    Args:
        bundle: a shipped bundle name (``monai-lite list``) or a bundle folder.
        ckpt_path: the weights; None takes the bundle's ``ckpt_path`` (``models/model.pt``). A bare state dict or a
            checkpoint with a ``"model"`` entry. Defaults to None.
        device: see :func:`resolve_device`. Defaults to "auto".
        overrides: config ids to replace before parsing, e.g. ``{"preset": "ct", "preset_params": {}}``. Without
            one of ``preset``, ``preset_params`` or ``image_size`` here, the values recorded beside the weights at
            training (``preprocessing.json``, :class:`monai_lite.engine.PreprocessingRecord`) replace the bundle's;
            a recorded ``in_channels`` replaces the bundle's unless ``in_channels`` is here.
            ``load_pretrain=False`` keeps the random initialisation (for testing a pipeline only). Defaults to None.
        prepare: run the network through :func:`~monai_lite.networks.inference_prep.prepare_for_inference`
            (BatchNorm folded into the convolutions, in-place block activations, channels-last weights: the same
            outputs up to rounding, about 1.5x faster for MedLiteNet on CPU). Defaults to True.
        engine: ``"torch"``, ``"onnxruntime"`` or ``"auto"`` (see :mod:`~monai_lite.inference.onnx_engine`): the
            two others export the network to ONNX once per checkpoint and input size, check the export against
            the PyTorch network, and cache it beside the weights. Defaults to "torch".

    Returns:
        The :class:`BundleModel`.

    Raises:
        ValueError: an unknown bundle, a checkpoint that does not fit the network, a bad device or engine, or an
            ONNX export refused by its parity check (engine ``"onnxruntime"``).
        FileNotFoundError: ``no trained weights at .../models/model.pt`` when the weights are missing.

    Example::

        model = load_bundle_model("medlitenet", ckpt_path="runs/model.pt", device="cpu")
    """
    from monai.bundle import ConfigParser

    from monai_lite.engine.preprocessing_record import apply_recorded_preprocessing
    from monai_lite.bundle.paths import require_checkpoint
    from monai_lite.inference.onnx_engine import check_engine
    from monai_lite.networks.inference_prep import prepare_for_inference
    from monai_lite.bundle.runner import resolve_bundle

    engine = check_engine(engine)
    root = resolve_bundle(bundle)
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "inference.json"))
    # A plain ConfigParser has no config path to find the bundle from, so the root is set explicitly.
    parser["bundle_root"] = str(root)
    for key, value in dict(overrides or {}).items():
        parser[key.replace("::", "#")] = value
    weights = Path(ckpt_path).expanduser() if ckpt_path else Path(parser.get_parsed_content("ckpt_path"))
    load_pretrain = bool(parser.get_parsed_content("load_pretrain"))
    if load_pretrain:
        require_checkpoint(str(weights))
        apply_recorded_preprocessing(parser, weights, overrides or {})
    torch_device = resolve_device(device)
    network = parser.get_parsed_content("network_def")
    if load_pretrain:
        _load_weights(network, weights, root)
    else:
        logger.warning("load_pretrain is false: bundle %s runs with random weights (pipeline testing only).", root)
    out_channels = int(parser.get_parsed_content("network_def#out_channels"))
    preset = parser.get_parsed_content("preset")
    network = network.to(torch_device)
    if prepare:
        network = prepare_for_inference(network)
    spatial_dims = int(parser.get_parsed_content("network_def#spatial_dims"))
    in_channels = int(parser.get_parsed_content("network_def#in_channels"))
    roi_size = tuple(int(s) for s in parser.get_parsed_content("image_size"))
    reads_pictures = _preset_reads_pictures(preset)
    if engine != "torch":
        from monai_lite.inference.onnx_engine import engine_network

        # 3D bundles see their sliding-window size, picture presets resize to image_size: decided now, so a refused
        # export is reported before any image is read. A 2D bundle on volumes sees each volume's slice size.
        shapes = [roi_size] if spatial_dims == 3 or reads_pictures else []
        network = engine_network(network, engine, in_channels, weights if load_pretrain else None, torch_device,
                                 shapes)
        engine = getattr(network, "engine", "torch")
    return BundleModel(
        name=root.name,
        network=network,
        preprocessing=list(parser.get_parsed_content("preprocessing#transforms")),
        spatial_dims=spatial_dims,
        in_channels=in_channels,
        out_channels=out_channels,
        roi_size=roi_size,
        reads_pictures=reads_pictures,
        threshold=float(parser.get_parsed_content("threshold")),
        bundle=root,
        ckpt_path=weights.resolve() if load_pretrain else None,
        label_names=_label_names(root, out_channels),
        preset=str(preset),
        engine=engine,
    )
