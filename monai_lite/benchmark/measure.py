# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Measurements of one model: parameters, MACs, weight-file size, latency (PyTorch and ONNX Runtime), peak memory.

Each function does one measurement and returns plain numbers, so other benchmark code can reuse them:

- :func:`count_parameters`: number of parameters (all, trainable or not).
- :func:`count_macs`: multiply-accumulates of one forward pass, from ``torch.utils.flop_counter.FlopCounterMode``,
  which counts 2 FLOPs per multiply-add of convolutions, matrix products and attention; ``MACs = FLOPs / 2``.
  Element-wise work (norms, activations, interpolation, pooling) is not counted, as in most papers' tables.
- :func:`weight_file_bytes`: size of ``torch.save(model.state_dict())``, i.e. of the ``model.pt`` a bundle ships.
- :func:`measure_latency`: wall-clock time of ``model(x)`` in eval mode under ``torch.no_grad``, after warm-up;
  on CUDA each call is closed by ``torch.cuda.synchronize``.
- :func:`export_onnx` and :func:`onnxruntime_latency`: ONNX export and ONNX Runtime CPU latency with a given
  thread count.
- :func:`reset_peak_rss` / :func:`peak_rss_bytes` / :func:`current_rss_bytes`: the process's resident-memory
  high-water mark (``VmHWM`` in ``/proc/self/status``), which Linux lets a process reset (``clear_refs``), so a
  peak can be attributed to one model; elsewhere ``resource.ru_maxrss`` (never reset) is the fallback.
  :func:`release_free_memory` returns freed heap memory to the OS first, so earlier models weigh less on it.
- :func:`machine_info`: CPU model, core count and library versions, for the report header.

Example::

    >>> import torch
    >>> from monai_lite.benchmark.measure import count_macs, count_parameters, measure_latency
    >>> conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    >>> x = torch.randn(1, 3, 32, 32)
    >>> count_parameters(conv), count_macs(conv, x)      # 8*3*3*3 weights; each used once per output pixel
    (216, 221184)
    >>> measure_latency(conv, x, repeats=5, warmup=1).median_ms > 0
    True
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from monai_lite.engine.atomic import atomic_path

__all__ = [
    "LatencyStats",
    "count_macs",
    "count_parameters",
    "current_rss_bytes",
    "export_onnx",
    "machine_info",
    "measure_latency",
    "mib",
    "onnxruntime_latency",
    "peak_rss_bytes",
    "release_free_memory",
    "reset_peak_rss",
    "weight_file_bytes",
]

_MIB = 2**20


@dataclass
class LatencyStats:
    """Latency of repeated calls, in milliseconds.

    Args:
        median_ms: median over the timed calls.
        p90_ms: 90th percentile (linear interpolation between samples, as ``numpy.percentile``).
        mean_ms: mean over the timed calls.
        min_ms: fastest timed call.
        repeats: number of timed calls.
        warmup: number of untimed calls before them.
        samples_ms: every timed call, in order.
    """

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    repeats: int
    warmup: int
    samples_ms: list[float] = field(default_factory=list)

    @classmethod
    def from_samples(cls, samples_ms: list[float], warmup: int) -> LatencyStats:
        """Summarise ``samples_ms`` (at least one value)."""
        return cls(
            median_ms=float(statistics.median(samples_ms)),
            p90_ms=float(np.percentile(samples_ms, 90)),
            mean_ms=float(statistics.fmean(samples_ms)),
            min_ms=float(min(samples_ms)),
            repeats=len(samples_ms),
            warmup=warmup,
            samples_ms=[float(s) for s in samples_ms],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``, trainable or not (buffers such as batch-norm statistics excluded).

    Example::

        >>> count_parameters(torch.nn.Linear(4, 2))
        10
    """
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of ``model`` (in eval mode, no grad) on ``example``.

    ``FlopCounterMode`` counts 2 FLOPs per multiply-add of convolutions (incl. transposed), matrix products and
    scaled-dot-product attention; this returns half of its total. Other operations are not counted.

    Args:
        model: the network; put in eval mode (and left there).
        example: one input batch on the model's device.

    Example::

        >>> count_macs(torch.nn.Conv2d(1, 1, 3, padding=1, bias=False), torch.randn(1, 1, 4, 4))  # 9 per pixel
        144
    """
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(example)
    return int(counter.get_total_flops()) // 2


def weight_file_bytes(model: nn.Module) -> int:
    """Size in bytes of ``model.pt`` written by ``torch.save(model.state_dict(), ...)``, as a bundle ships it.

    The file goes to a temporary folder that is removed (the archive's inner names depend on the file name, so an
    in-memory buffer would differ by a few bytes).

    Example::

        >>> weight_file_bytes(torch.nn.Linear(256, 256)) > 256 * 257 * 4
        True
    """
    with tempfile.TemporaryDirectory(prefix="monai-lite-weights-") as folder:
        path = Path(folder) / "model.pt"
        torch.save(model.state_dict(), path)
        return path.stat().st_size


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, example: torch.Tensor, repeats: int = 10, warmup: int = 2) -> LatencyStats:
    """Latency of ``model(example)`` in eval mode under ``torch.no_grad``, on ``example``'s device.

    The thread count is whatever ``torch.get_num_threads()`` is; set it before calling.

    Args:
        model: the network, on the same device as ``example``; put in eval mode (and left there).
        example: the input batch.
        repeats: timed calls (>= 1). Defaults to 10.
        warmup: untimed calls first (>= 0), so one-off allocations and kernel selection are not timed.
            Defaults to 2.

    Raises:
        ValueError: when ``repeats`` < 1 or ``warmup`` < 0.

    Example::

        >>> measure_latency(torch.nn.Identity(), torch.zeros(1), repeats=3, warmup=0).repeats
        3
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"latency needs repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}.")
    model.eval()
    device = example.device
    samples = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            _sync(device)
            start = time.perf_counter()
            model(example)
            _sync(device)
            if i >= warmup:
                samples.append((time.perf_counter() - start) * 1000.0)
    return LatencyStats.from_samples(samples, warmup)


def export_onnx(
    model: nn.Module, example: torch.Tensor, path: str | os.PathLike, opset_version: int | None = None
) -> Path:
    """Export ``model`` (eval mode) to ONNX at ``path`` with input ``"image"`` and output ``"pred"``, fixed shapes.

    Uses PyTorch's TorchScript-based exporter (``dynamo=False``), which handles every zoo model that runs in
    PyTorch and is 5-10x faster than the ``torch.export`` one on these nets; if it fails, the ``torch.export``
    based exporter (``dynamo=True``, needs ``onnxscript``) is tried. The file is written next to ``path`` under a
    temporary name and renamed, so no half-written model is left behind.

    Args:
        model: the network (CPU).
        example: an input batch of the shape the model will be run on.
        path: the ``.onnx`` file to write.
        opset_version: ONNX opset; None for the exporter's default.

    Returns:
        ``Path(path)``.

    Raises:
        RuntimeError: when both exporters fail; the message holds both reasons.

    Example::

        >>> export_onnx(torch.nn.Conv2d(1, 2, 3), torch.randn(1, 1, 8, 8), "/tmp/conv.onnx").name
        'conv.onnx'
    """
    import warnings

    path = Path(path)
    model.eval()
    reasons = []
    for dynamo in (False, True):
        try:
            with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
                # the TorchScript exporter warns that it is deprecated and about traced shape arithmetic;
                # the parity check, not the warning, decides whether an export is usable.
                warnings.simplefilter("ignore")
                # weights inside the .onnx (under 2 GB here), so renaming the file moves the whole model
                kwargs = {"optimize": True, "external_data": False} if dynamo else {}
                torch.onnx.export(
                    model, (example,), str(tmp), input_names=["image"], output_names=["pred"],
                    opset_version=opset_version, dynamo=dynamo, **kwargs,
                )
            return path
        except Exception as err:  # noqa: BLE001 - collected and re-raised with both reasons below
            exporter = "dynamo" if dynamo else "torchscript"
            reasons.append(f"{exporter} exporter: {type(err).__name__}: {_first_line(err)}")
        finally:  # files an exporter may write beside its output (external weights)
            for extra in path.parent.glob(f".{path.name}.*.tmp.onnx?*"):
                extra.unlink(missing_ok=True)
    raise RuntimeError("ONNX export failed; " + "; ".join(reasons))


def _first_line(err: BaseException, limit: int = 200) -> str:
    text = str(err).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def onnxruntime_latency(
    path: str | os.PathLike, example: torch.Tensor | np.ndarray, threads: int, repeats: int = 10, warmup: int = 2
) -> tuple[LatencyStats, np.ndarray]:
    """Latency of an ONNX model in ONNX Runtime's CPU provider with ``threads`` intra-op threads.

    Args:
        path: the ``.onnx`` file.
        example: the input batch (its values are fed as float32 to the model's first input).
        threads: intra-op threads (inter-op: 1, sequential execution), to match ``torch.set_num_threads``.
        repeats: timed runs (>= 1). Defaults to 10.
        warmup: untimed runs first (>= 0). Defaults to 2.

    Returns:
        The latency and the first output of the last run (for parity checks).

    Raises:
        ValueError: when ``repeats`` < 1, ``warmup`` < 0 or ``threads`` < 1.
        FileNotFoundError: when ``path`` does not exist.

    Example::

        >>> stats, out = onnxruntime_latency("/tmp/conv.onnx", torch.randn(1, 1, 8, 8), threads=1, repeats=2)
    """
    import onnxruntime as ort

    if repeats < 1 or warmup < 0 or threads < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0, threads >= 1; got {repeats}, {warmup}, {threads}.")
    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX model {path} does not exist.")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: ORT warns about unused initialisers on every session
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    array = example.detach().cpu().numpy() if isinstance(example, torch.Tensor) else np.asarray(example)
    feed = {session.get_inputs()[0].name: array.astype(np.float32, copy=False)}
    samples, out = [], None
    for i in range(warmup + repeats):
        start = time.perf_counter()
        out = session.run(None, feed)[0]
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000.0)
    return LatencyStats.from_samples(samples, warmup), out


def _status_kib(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def release_free_memory() -> bool:
    """Hand memory that freed tensors left in the C heap back to the OS (glibc ``malloc_trim``), so that the
    resident memory before the next model does not include the previous model's freed activations.

    Returns:
        True when ``malloc_trim`` was called, False where there is no glibc (nothing done).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def reset_peak_rss() -> bool:
    """Reset the process's resident-memory high-water mark (Linux ``/proc/self/clear_refs``, value 5).

    Returns:
        True when reset, False where the kernel does not allow it (then :func:`peak_rss_bytes` is the peak
        since the process started).
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Resident-memory high-water mark of this process in bytes: ``VmHWM`` (since the last :func:`reset_peak_rss`),
    else ``resource.ru_maxrss`` (since the process started; KiB on Linux, bytes on macOS)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int | None:
    """Resident memory of this process now (``VmRSS``), or None where ``/proc`` is unavailable."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: CPU features that decide which kernels torch can use (bf16 and AMX matmuls on recent Intel Xeons).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def _cpu_flags() -> dict[str, bool] | None:
    """Which of :data:`CPU_FLAGS` ``/proc/cpuinfo`` lists (detected, never assumed); None where it cannot tell."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return {flag: flag in present for flag in CPU_FLAGS}
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """CPU model (``/proc/cpuinfo``), its bf16/AMX features, logical cores visible to this process (and which),
    OS, Python, torch, MONAI, ONNX Runtime and ONNX versions, torch's thread counts and CPU capability, and the
    CUDA device when present.

    Example::

        >>> sorted(machine_info())[:3]
        ['cpu_count', 'cpu_model', 'cuda_device']
    """
    import monai

    def version(module: str) -> str | None:
        try:
            return __import__(module).__version__
        except ImportError:
            return None

    try:
        affinity: list[int] | None = sorted(os.sched_getaffinity(0))
        cores = len(affinity)
    except AttributeError:
        affinity, cores = None, os.cpu_count()
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        capability = None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": cores,
        "cpu_affinity": affinity,
        "cpu_flags": _cpu_flags(),
        "torch_cpu_capability": capability,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "monai": monai.__version__,
        "onnxruntime": version("onnxruntime"),
        "onnx": version("onnx"),
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        # OpenMP's wait policy decides how torch's threads behave when other processes load the cores
        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ}
        or None,
    }


def mib(n_bytes: float | None) -> float | None:
    """Bytes to MiB (None stays None)."""
    return None if n_bytes is None else n_bytes / _MIB
