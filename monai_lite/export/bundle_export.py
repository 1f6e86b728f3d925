# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Export a bundle's network to TorchScript and ONNX with MONAI's own bundle exporters, by bundle name or folder.

These call the functions behind ``python -m monai.bundle ckpt_export`` and ``python -m monai.bundle onnx_export``
with the bundle's ``inference.json`` and ``metadata.json``, so a file made here equals one made on the command
line; the shell equivalents, from the repository root, are::

    python -m monai.bundle ckpt_export network_def --filepath model.ts --ckpt_file bundles/lacnet/models/model.pt \\
        --meta_file bundles/lacnet/configs/metadata.json --config_file bundles/lacnet/configs/inference.json
    python -m monai.bundle onnx_export network_def --filepath model.onnx --ckpt_file bundles/lacnet/models/model.pt \\
        --meta_file bundles/lacnet/configs/metadata.json --config_file bundles/lacnet/configs/inference.json \\
        --input_shape "[1, 3, 256, 256]" --use_trace True --converter_kwargs "{'dynamo': False}"

Why these ONNX settings: with torch >= 2.9, ``torch.onnx.export`` defaults to the ``torch.export`` (dynamo)
exporter, which exports every monai-lite network but takes 10-20 s per 2D network; ``dynamo=False`` selects the
TorchScript-based exporter (seconds; PyTorch warns that it is deprecated) and ``use_trace=True`` makes MONAI hand
it the eager module. :func:`export_bundle_onnx` tries the TorchScript-based exporter first and falls back to the
``torch.export`` one: the former cannot export LightAWNet's dynamic convolutions when the input needs padding to
the network's stride (the batch size, folded into the channels, is traced through the padding and the kernel
shape becomes unknown to it). Either way the ONNX graph has the fixed ``input_shape`` it was traced with: the padding
to the network's stride is resolved for that size, so export at the size you will run.

The version record asked of exports (torch version in the file): ``ckpt_export`` stores the bundle metadata
(``pytorch_version``, ``monai_version``, ...) in the TorchScript archive's ``metadata.json``; the ONNX exporter
writes the torch version as the model's ``producer_version``, and :func:`export_bundle_onnx` adds
``metadata_props`` ``torch_version``, ``monai_version``, ``monai_lite_version``, ``bundle``, ``input_shape`` and
``exporter`` (``torchscript`` or ``dynamo``).

Example::

    >>> from monai_lite.export import export_bundle_onnx, export_bundle_torchscript
    >>> export_bundle_torchscript("lacnet", "/tmp/lacnet.ts", ckpt_file="bundles/lacnet/models/model.pt")
    >>> export_bundle_onnx("lacnet", "/tmp/lacnet.onnx", ckpt_file="bundles/lacnet/models/model.pt",
    ...                    input_shape=(1, 3, 256, 256))
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from monai_lite.bundle.runner import resolve_bundle
from monai_lite.engine.atomic import atomic_path

__all__ = ["bundle_files", "export_bundle_onnx", "export_bundle_torchscript", "version_record"]


def bundle_files(bundle: str | os.PathLike) -> tuple[Path, Path, Path]:
    """The bundle folder, its ``configs/metadata.json`` and its ``configs/inference.json``.

    Args:
        bundle: a shipped bundle name (``monai-lite list``) or a bundle folder.

    Raises:
        ValueError: for an unknown bundle.
        FileNotFoundError: when the bundle has no ``configs/inference.json``.
    """
    root = resolve_bundle(bundle)
    meta, config = root / "configs" / "metadata.json", root / "configs" / "inference.json"
    if not config.is_file():
        raise FileNotFoundError(f"bundle {root} has no configs/inference.json to export the network from.")
    return root, meta, config


def _check_paths(filepath: str | os.PathLike, ckpt_file: str | os.PathLike, suffix: str) -> tuple[Path, Path]:
    filepath, ckpt_file = Path(filepath), Path(ckpt_file)
    if not ckpt_file.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt_file} does not exist; train the bundle first or pass another file.")
    if filepath.suffix != suffix:
        raise ValueError(f"export file {filepath} must end with {suffix}.")
    if not filepath.parent.is_dir():
        raise FileNotFoundError(f"folder {filepath.parent} of the export file {filepath.name} does not exist.")
    return filepath, ckpt_file


def export_bundle_torchscript(
    bundle: str | os.PathLike, filepath: str | os.PathLike, ckpt_file: str | os.PathLike, net_id: str = "network_def"
) -> Path:
    """TorchScript export of a bundle's network with MONAI's ``ckpt_export`` (the bundle metadata, including
    ``pytorch_version``, and ``inference.json`` travel inside the archive).

    Args:
        bundle: a shipped bundle name or a bundle folder.
        filepath: the ``.ts`` file to write (its folder must exist); written atomically.
        ckpt_file: the weights (``state_dict`` saved by ``torch.save``, e.g. ``models/model.pt``).
        net_id: the network's id in ``inference.json``. Defaults to ``"network_def"``.

    Returns:
        ``Path(filepath)``.

    Raises:
        ValueError: for an unknown bundle or a ``filepath`` not ending in ``.ts``.
        FileNotFoundError: when ``ckpt_file`` or the folder of ``filepath`` does not exist.
    """
    from monai.bundle import ckpt_export

    _, meta, config = bundle_files(bundle)
    filepath, ckpt_file = _check_paths(filepath, ckpt_file, ".ts")
    with atomic_path(filepath) as tmp:  # keeps the .ts ending, which MONAI's saver looks at
        ckpt_export(
            net_id=net_id, filepath=str(tmp), ckpt_file=str(ckpt_file), meta_file=str(meta), config_file=str(config)
        )
    return filepath


def version_record(bundle: str | os.PathLike, input_shape: Sequence[int]) -> dict[str, str]:
    """The ``metadata_props`` :func:`export_bundle_onnx` writes: library versions, bundle name and input shape."""
    import monai
    import torch

    import monai_lite

    return {
        "torch_version": torch.__version__,
        "monai_version": monai.__version__,
        "monai_lite_version": getattr(monai_lite, "__version__", "unknown"),
        "bundle": resolve_bundle(bundle).name,
        "input_shape": str([int(s) for s in input_shape]),
    }


def export_bundle_onnx(
    bundle: str | os.PathLike,
    filepath: str | os.PathLike,
    ckpt_file: str | os.PathLike,
    input_shape: Sequence[int],
    net_id: str = "network_def",
    dynamo: bool | None = None,
) -> Path:
    """ONNX export of a bundle's network with MONAI's ``onnx_export``, stamped with the library versions.

    Args:
        bundle: a shipped bundle name or a bundle folder.
        filepath: the ``.onnx`` file to write (its folder must exist); written atomically.
        ckpt_file: the weights (``state_dict`` saved by ``torch.save``).
        input_shape: ``[N, C, *spatial]`` the graph is traced with and will accept, e.g. ``(1, 3, 256, 256)``.
        net_id: the network's id in ``inference.json``. Defaults to ``"network_def"``.
        dynamo: True for the ``torch.export``-based exporter, False for the TorchScript-based one, None (default)
            for the TorchScript-based one with the ``torch.export``-based one as fallback when it fails (LightAWNet's
            dynamic convolutions at input sizes that need padding: the TorchScript exporter cannot infer their
            kernel shape).

    Returns:
        ``Path(filepath)``.

    Raises:
        ValueError: for an unknown bundle, a ``filepath`` not ending in ``.onnx``, or an ``input_shape`` whose
            length does not match the bundle's spatial dimensions plus 2 or that holds a size < 1.
        FileNotFoundError: when ``ckpt_file`` or the folder of ``filepath`` does not exist.
    """
    import onnx
    from monai.bundle import ConfigParser, onnx_export

    _, meta, config = bundle_files(bundle)
    filepath, ckpt_file = _check_paths(filepath, ckpt_file, ".onnx")
    parser = ConfigParser()
    parser.read_config(str(config))
    spatial_dims = int(parser.get("network_def", {}).get("spatial_dims", 2))
    shape = [int(s) for s in input_shape]
    if len(shape) != spatial_dims + 2 or min(shape) < 1:
        raise ValueError(
            f"input_shape must be [N, C] plus {spatial_dims} positive sizes for bundle {bundle}, "
            f"got {list(input_shape)}."
        )
    exporters = (False, True) if dynamo is None else (bool(dynamo),)
    with atomic_path(filepath) as tmp:
        for use_dynamo in exporters:
            try:
                with warnings.catch_warnings():
                    # the TorchScript-based exporter warns that it is deprecated and that traced shape arithmetic
                    # is constant; the graph is meant for this input_shape only and the parity check verifies it
                    warnings.simplefilter("ignore")
                    onnx_export(
                        net_id=net_id, filepath=str(tmp), ckpt_file=str(ckpt_file), meta_file=str(meta),
                        config_file=str(config), input_shape=shape, use_trace=True,
                        # external_data=False: the weights stay inside the .onnx that is renamed into place
                        converter_kwargs={"dynamo": use_dynamo, "external_data": False},
                    )
                break
            except Exception:  # noqa: BLE001 - the next exporter is tried; the last one's error propagates
                if use_dynamo == exporters[-1]:
                    raise
        model = onnx.load(str(tmp))
        record = {**version_record(bundle, shape), "exporter": "dynamo" if use_dynamo else "torchscript"}
        for key, value in record.items():
            prop = model.metadata_props.add()
            prop.key, prop.value = key, value
        onnx.save(model, str(tmp))
    return filepath
