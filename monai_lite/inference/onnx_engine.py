# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The inference engine: PyTorch, ONNX Runtime, or whichever of the two is faster for a model (``--engine``).

:class:`OnnxRuntimeNetwork` stands in for a torch network: it takes a float32 ``(B, C, *spatial)`` tensor and returns
the logits as a tensor, so MONAI's sliding-window and slice-by-slice inferers, test-time augmentation and ensembles
run unchanged on either engine. Per input size it gets a verified graph from :class:`~.onnx_cache.OnnxExportCache`
(exported once per checkpoint and size, parity-checked against the eager network, cached beside the weights) and
runs it in an ONNX Runtime CPU session with ``torch.get_num_threads()`` intra-op threads. A graph with a fixed
batch of one (LightAWNet's) is run once per sample of a batch.

===============  =========================================================================================
engine           what runs
===============  =========================================================================================
``torch``        the PyTorch network (the default)
``onnxruntime``  ONNX Runtime; an export that fails its parity check is refused with an error saying so, and
                 so are a GPU device and a missing ``onnxruntime`` (``pip install 'monai-lite[export]'``)
``auto``         per input size, ONNX Runtime when it is installed, its export passes the parity check and it
                 is faster for this model: the first call of that size times both engines on its own input
                 (the batch the inferer sends: one picture, or ``sw_batch_size`` windows or slices;
                 interleaved calls, median), and the decision is recorded in the export's sidecar so later
                 loads on the same machine, thread count and versions do not time again; PyTorch otherwise
                 (with a warning when the export was refused). On a GPU, PyTorch.
===============  =========================================================================================

The sizes a model will see are exported when it is loaded (3D bundles: their sliding-window size; picture bundles:
their ``image_size``, which the presets resize every picture to), so a refusal is reported before any image is read;
other sizes (a 2D bundle run slice by slice on volumes of any in-plane size) are exported on first use.

Example::

    model = load_bundle_model("medlitenet", engine="onnxruntime")   # model.network is an OnnxRuntimeNetwork
    logits = model.network(torch.rand(2, 3, 128, 128))
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from monai_lite.errors import SettingError
from monai_lite.inference.onnx_cache import OnnxExport, OnnxExportCache, ort_session

__all__ = ["ENGINES", "OnnxRuntimeNetwork", "check_engine", "engine_network", "engine_record", "import_onnxruntime"]

logger = logging.getLogger(__name__)

ENGINES = ("torch", "onnxruntime", "auto")
#: Timed calls of each engine when ``auto`` decides (after one untimed call each)...
AUTO_REPEATS = 5
#: ... fewer (but at least 2) once this many seconds have passed: a large 3D network takes a second per call.
AUTO_BUDGET_S = 4.0


def check_engine(engine: str) -> str:
    """``engine`` lower-cased if it is one of :data:`ENGINES`, else a :class:`~monai_lite.errors.SettingError`."""
    name = str(engine).strip().lower()
    if name not in ENGINES:
        raise SettingError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    return name


def import_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or a :class:`~monai_lite.errors.SettingError` saying how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise SettingError(
            "the onnxruntime engine needs ONNX Runtime, which is not installed: pip install 'monai-lite[export]' "
            "(or run with --engine torch)."
        ) from err
    return onnxruntime


class OnnxRuntimeNetwork(nn.Module):
    """A network run by ONNX Runtime (or, under ``auto``, by whichever engine is faster), one graph per input size.

    Args:
        network: the PyTorch network (prepared, eval mode, CPU): the parity reference, the source of the exports,
            and what runs where PyTorch is chosen. It stays a submodule, so ``parameters()`` still tell the device.
        cache: the exports of ``network``'s weights.
        engine: ``"onnxruntime"`` (refuse a failed export) or ``"auto"`` (fall back to PyTorch, time both).
            Defaults to "onnxruntime".

    Raises:
        SettingError: for another ``engine``.
    """

    def __init__(self, network: nn.Module, cache: OnnxExportCache, engine: str = "onnxruntime") -> None:
        super().__init__()
        if engine not in ENGINES[1:]:
            raise SettingError(f"OnnxRuntimeNetwork runs engine 'onnxruntime' or 'auto', got {engine!r}.")
        self.network = network
        self.cache = cache
        self.engine = engine
        self._exports: dict[tuple[int, ...], OnnxExport] = {}
        self._sessions: dict[tuple[int, ...], Any] = {}
        self._runs: dict[tuple[int, ...], str | None] = {}  # per size: "onnxruntime", "torch", None (auto, untimed)
        self._inputs: dict[str, dict[str, Any]] = {}  # describe()'s per-size entries, kept current

    def prepare(self, spatial_shape: Sequence[int]) -> str | None:
        """Export and check (once) the graph for inputs of ``spatial_shape`` and decide what runs them.

        Returns:
            ``"onnxruntime"``, ``"torch"``, or None under ``auto`` when the speed of the two is not known yet for
            this machine (it is measured on the first call of that size, see :meth:`forward`).

        Raises:
            SettingError: engine ``"onnxruntime"`` and the export was refused.
        """
        shape = tuple(int(s) for s in spatial_shape)
        if shape not in self._runs:
            self._runs[shape] = self._decide(shape)
            self._describe_size(shape)
        return self._runs[shape]

    def _decide(self, shape: tuple[int, ...]) -> str | None:
        export = self._exports[shape] = self.cache.get(shape)
        if not export.usable:
            source = self.cache.checkpoint or "the network"
            problem = (f"the ONNX export of {source} for inputs of size {'x'.join(map(str, shape))} is refused: "
                       f"{export.refusal()} (record: {export.sidecar})")
            if self.engine == "onnxruntime":
                raise SettingError(problem + "; run with --engine torch (engine='torch') or auto.")
            logger.warning("%s; engine auto runs PyTorch for this size.", problem)
            return "torch"
        self._sessions[shape] = ort_session(export.model_bytes)
        if self.engine == "onnxruntime":
            return "onnxruntime"
        speed = export.record.get("speed")
        if isinstance(speed, dict) and speed.get("conditions") == _speed_conditions():
            return speed.get("faster") if speed.get("faster") in ENGINES[:2] else None
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` ``(B, C, *spatial)``, from the engine chosen for its spatial size.

        Under ``auto``, the first call of a size whose speed is not recorded for this machine times both engines on
        ``x`` itself, so on the batch the inferer really sends (one picture, ``sw_batch_size`` windows or slices):
        ONNX Runtime gains on a single 2D picture but not always on a batch of 3D windows.
        """
        shape = tuple(int(s) for s in x.shape[2:])
        runs = self.prepare(shape)
        if runs is None:
            runs = self._time_and_choose(shape, x)
        if runs == "torch":
            return self.network(x)
        return self._run_onnx(shape, x).to(x.device)

    def _time_and_choose(self, shape: tuple[int, ...], x: torch.Tensor) -> str:
        export = self._exports[shape]
        torch_ms, ort_ms = self._time_both(shape, x)
        faster = "onnxruntime" if ort_ms < torch_ms else "torch"
        export.record["speed"] = {"conditions": _speed_conditions(), "batch": int(x.shape[0]),
                                  "torch_ms": round(torch_ms, 3), "onnxruntime_ms": round(ort_ms, 3), "faster": faster}
        self.cache.save_record(export)
        logger.info("engine auto, inputs %s x %s: PyTorch %.1f ms, ONNX Runtime %.1f ms per call: %s runs.",
                    int(x.shape[0]), "x".join(map(str, shape)), torch_ms, ort_ms, faster)
        self._runs[shape] = faster
        self._describe_size(shape)
        return faster

    def _time_both(self, shape: tuple[int, ...], x: torch.Tensor) -> tuple[float, float]:
        """Median ms per call of PyTorch and ONNX Runtime on ``x``, after one untimed call each, calls interleaved
        so that a change of machine load hits both; :data:`AUTO_REPEATS` calls each, at least 2 past
        :data:`AUTO_BUDGET_S` seconds."""
        runs = {"torch": lambda: self.network(x), "onnxruntime": lambda: self._run_onnx(shape, x)}
        samples: dict[str, list[float]] = {name: [] for name in runs}
        deadline = time.perf_counter() + AUTO_BUDGET_S
        with torch.no_grad():
            for repeat in range(AUTO_REPEATS + 1):
                for name, run in runs.items():
                    started = time.perf_counter()
                    run()
                    if repeat:
                        samples[name].append((time.perf_counter() - started) * 1000.0)
                if repeat >= 2 and time.perf_counter() > deadline:
                    break
        return statistics.median(samples["torch"]), statistics.median(samples["onnxruntime"])

    def _run_onnx(self, shape: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
        session = self._sessions[shape]
        name = session.get_inputs()[0].name
        tensor = x.as_tensor() if hasattr(x, "as_tensor") else x  # a MetaTensor's plain data
        array = np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())
        if self._exports[shape].dynamic_batch or array.shape[0] == 1:
            return torch.from_numpy(session.run(None, {name: array})[0])
        # a graph of batch 1 (LightAWNet): one run per sample
        return torch.from_numpy(np.concatenate([session.run(None, {name: array[i:i + 1]})[0]
                                                for i in range(array.shape[0])]))

    def _describe_size(self, shape: tuple[int, ...]) -> None:
        export, runs = self._exports[shape], self._runs[shape]
        entry: dict[str, Any] = {"runs": runs or "auto: both engines are timed on the first call"}
        if export.usable:
            entry.update(onnx=str(export.onnx_path), exporter=export.record.get("exporter"),
                         batch=export.record.get("batch"),
                         parity_max_abs_diff=export.record.get("parity", {}).get("max_abs_diff"))
        else:
            entry["refused"] = export.refusal()
        if isinstance(export.record.get("speed"), dict) and runs is not None and self.engine == "auto":
            entry["speed"] = {k: export.record["speed"].get(k) for k in ("batch", "torch_ms", "onnxruntime_ms", "faster")}
        key = "x".join(map(str, shape))
        self._inputs.setdefault(key, {}).clear()
        self._inputs[key].update(entry)

    def describe(self) -> dict[str, Any]:
        """The engine and, per input size prepared so far, what runs it, the export file, its parity and, under
        ``auto``, the speed measurement. ``"inputs"`` is this object's own record, updated in place as sizes are
        decided, so a run log holding it is current whenever it is saved."""
        return {"engine": self.engine, "inputs": self._inputs}


def _speed_conditions() -> dict[str, Any]:
    """What a speed measurement depends on besides the graph: machine, threads, library versions."""
    import onnxruntime

    from monai_lite.benchmark.measure import machine_info

    return {"cpu_model": machine_info()["cpu_model"], "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(), "onnxruntime": onnxruntime.__version__, "torch": torch.__version__}


def engine_network(
    network: nn.Module,
    engine: str,
    in_channels: int,
    checkpoint: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    shapes: Sequence[Sequence[int]] = (),
) -> nn.Module:
    """``network`` set up to run on ``engine``: itself for ``"torch"``, else an :class:`OnnxRuntimeNetwork`.

    Args:
        network: the PyTorch network, ready for inference (prepared, eval mode).
        engine: one of :data:`ENGINES`.
        in_channels: the network's input channels.
        checkpoint: the weights file ``network`` was loaded from (the export cache lives beside it); None for a
            network without one. Defaults to None.
        device: the device ``network`` is on; ONNX Runtime runs on the CPU only. Defaults to "cpu".
        shapes: spatial input sizes to export and decide now (the ones the model is known to see), so that a refusal
            comes at load time. Defaults to ().

    Returns:
        The network to hand to the inferers.

    Raises:
        SettingError: an unknown engine; ``"onnxruntime"`` without onnxruntime installed, on a non-CPU device, or
            with an export that fails its parity check.
    """
    engine = check_engine(engine)
    if engine == "torch":
        return network
    device = torch.device(device)
    if device.type != "cpu":
        if engine == "onnxruntime":
            raise SettingError(f"the onnxruntime engine runs on the CPU, but the model is on {device}; pass --device "
                               "cpu, or --engine torch to use the GPU.")
        logger.info("engine auto: the model is on %s, where PyTorch runs it.", device)
        return network
    if engine == "auto":
        try:
            import_onnxruntime()
        except SettingError:
            logger.warning("engine auto: onnxruntime is not installed (pip install 'monai-lite[export]'); PyTorch runs.")
            return network
    else:
        import_onnxruntime()
    wrapped = OnnxRuntimeNetwork(network, OnnxExportCache(network, in_channels, checkpoint), engine)
    for shape in shapes:
        wrapped.prepare(shape)
    return wrapped


def engine_record(network: nn.Module) -> dict[str, Any] | None:
    """:meth:`OnnxRuntimeNetwork.describe` of ``network``, or None for a plain PyTorch network (for the log)."""
    return network.describe() if isinstance(network, OnnxRuntimeNetwork) else None
