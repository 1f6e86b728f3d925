# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Parity of an exported model with the bundle's eager network: reload the export, run the same input, compare.

An export is only trusted once it has been reloaded (``torch.jit.load`` for ``.ts``, an ONNX Runtime CPU session for
``.onnx``) and has reproduced the eager PyTorch output of the same weights on the same input. The tolerance is
relative to the output's scale: ``max |exported - eager| <= rtol * max(1, max |eager|)`` with ``rtol = 1e-4`` by
default, i.e. an absolute 1e-4 for logits of order one, looser only for larger logits (float32 kernels of
different libraries sum in different orders, so bit-equality is not expected).

Example::

    >>> from monai_lite.export import check_export_parity
    >>> result = check_export_parity("/tmp/lacnet.onnx", "lacnet", "bundles/lacnet/models/model.pt", (1, 3, 64, 64))
    >>> result.passed, result.max_abs_diff
    (True, 4.1e-07)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monai_lite.export.bundle_export import bundle_files

__all__ = ["ParityResult", "check_export_parity", "eager_network", "run_export"]


@dataclass
class ParityResult:
    """Outcome of :func:`check_export_parity`.

    Args:
        export_file: the exported model that was reloaded.
        max_abs_diff: largest absolute difference between the exported and the eager output.
        output_scale: ``max(1, max |eager output|)``.
        tolerance: ``rtol * output_scale``, the largest accepted difference.
        passed: ``max_abs_diff <= tolerance`` and equal output shapes.
        input_shape: the input the two were run on.
    """

    export_file: str
    max_abs_diff: float
    output_scale: float
    tolerance: float
    passed: bool
    input_shape: list[int]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def eager_network(
    bundle: str | os.PathLike, ckpt_file: str | os.PathLike, net_id: str = "network_def"
) -> torch.nn.Module:
    """The bundle's network as ``inference.json`` defines it, with the weights of ``ckpt_file``, in eval mode on CPU.

    Raises:
        ValueError: for an unknown bundle.
        FileNotFoundError: when ``ckpt_file`` does not exist.
    """
    from monai.bundle import ConfigParser

    _, _, config = bundle_files(bundle)
    if not Path(ckpt_file).is_file():
        raise FileNotFoundError(f"checkpoint {ckpt_file} does not exist.")
    parser = ConfigParser()
    parser.read_config(str(config))
    net = parser.get_parsed_content(net_id)
    net.load_state_dict(torch.load(str(ckpt_file), map_location="cpu", weights_only=True))
    return net.eval()


def run_export(export_file: str | os.PathLike, x: torch.Tensor) -> np.ndarray:
    """Reload ``export_file`` (``.ts``: ``torch.jit.load``; ``.onnx``: ONNX Runtime, CPU) and run ``x`` through it.

    Raises:
        FileNotFoundError: when ``export_file`` does not exist.
        ValueError: for a file that is neither ``.ts`` nor ``.onnx``.
    """
    path = Path(export_file)
    if not path.is_file():
        raise FileNotFoundError(f"exported model {path} does not exist.")
    if path.suffix == ".ts":
        scripted = torch.jit.load(str(path), map_location="cpu").eval()
        with torch.no_grad():
            return scripted(x).numpy()
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x.numpy().astype(np.float32)})[0]
    raise ValueError(f"exported model {path} must end with .ts or .onnx.")


def check_export_parity(
    export_file: str | os.PathLike,
    bundle: str | os.PathLike,
    ckpt_file: str | os.PathLike,
    input_shape: Sequence[int],
    rtol: float = 1e-4,
    seed: int = 0,
) -> ParityResult:
    """Compare a reloaded export with the bundle's eager network on one random input.

    Args:
        export_file: the ``.ts`` or ``.onnx`` file.
        bundle: the bundle it was exported from (name or folder).
        ckpt_file: the weights it was exported with.
        input_shape: ``[N, C, *spatial]`` of the test input; for ONNX the shape it was exported with.
        rtol: accepted difference relative to ``max(1, max |eager output|)``. Defaults to 1e-4.
        seed: seed of the uniform [0, 1) test input. Defaults to 0.

    Raises:
        ValueError: for an unknown bundle or file type.
        FileNotFoundError: when ``export_file`` or ``ckpt_file`` does not exist.
    """
    shape = [int(s) for s in input_shape]
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = eager_network(bundle, ckpt_file)(x).numpy()
    got = run_export(export_file, x)
    scale = max(1.0, float(np.max(np.abs(expected))))
    same_shape = got.shape == expected.shape
    diff = float(np.max(np.abs(got - expected))) if same_shape else float("inf")
    return ParityResult(str(export_file), diff, scale, rtol * scale, same_shape and diff <= rtol * scale, shape)
