# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""ONNX exports of a loaded network, made once per checkpoint and input size, verified, and cached beside the weights.

The ONNX Runtime engine (:mod:`.onnx_engine`) runs the graph that :class:`OnnxExportCache` hands it. The cache keeps,
for a checkpoint ``models/model.pt`` and an input of spatial size ``S`` (e.g. ``256x256``)::

    models/model.256x256.onnx        the graph, weights inside
    models/model.256x256.onnx.json   the sidecar: what the graph was made from and how it was checked

The sidecar records the sha256 of the checkpoint, a fingerprint of the network (its class, its ``repr``, which lists
every layer, and the sha256 of the source files of its layers, so a code change re-exports), the torch and
monai-lite versions, the input shape and whether the batch axis is dynamic, the exporter, the sha256 of the
``.onnx`` file, the export time and the parity check; the ``auto`` engine adds its speed measurement. A cached graph
is used only when all of these match the network just loaded (weights read with ``weights_only=True``) and the
``.onnx`` bytes hash to the recorded value; the bytes that were hashed are the ones handed to ONNX Runtime, so a
``model.onnx`` planted in a model folder is never run. Anything else is exported again.

Why one graph per input size: the networks pad their input up to their total stride, and the exporters resolve that
padding for the traced size. A graph exported with dynamic spatial axes runs at other sizes but silently wrong at
sizes that need other padding (MedLiteNet at 100x70 after tracing 128x128: relative error 9e-4, no error raised), so
spatial sizes stay fixed. The batch axis is dynamic where the network allows it (MedLiteNet, LACNet, MSA-UNet,
checked at export on a batch of 2); LightAWNet folds the batch into the channels of its dynamic convolutions, which
neither exporter can leave open, so its graph takes one sample at a time (see :mod:`.onnx_engine`). Exporters: the
TorchScript-based one first (seconds), then the ``torch.export``-based one (10-40 s, the only one that exports
LightAWNet).

Parity: the graph and the eager (prepared) network run one deterministic input (seeded standard normal, the scale of
preprocessed images); ``max |onnx - torch| <= rtol * max(1, max |torch|)``, ``rtol = 1e-4``, relative because
untrained LightAWNet logits reach 1e11. A graph failing it is not kept; the failure is recorded in the sidecar, so
the next load refuses at once instead of exporting again.

Where: beside the checkpoint when that folder can be written, else
``$XDG_CACHE_HOME/monai-lite/onnx/<checkpoint sha256>/`` (``~/.cache`` without ``XDG_CACHE_HOME``), else a temporary
folder for this process only; loading never fails for want of a writable folder. A network without checkpoint
(``load_pretrain=False``) exports into a temporary folder, removed with the cache object.

Example::

    cache = OnnxExportCache(network, in_channels=3, checkpoint="bundles/medlitenet/models/model.pt")
    export = cache.get((256, 256))      # exported, checked and written once; later loads read it back
    export.usable, export.record["parity"]["max_abs_diff"]
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from monai_lite.engine.atomic import atomic_path, atomic_write_json
from monai_lite.export.parity import ParityResult
from monai_lite.inference.ensemble import sha256_of

__all__ = ["OnnxExport", "OnnxExportCache", "PARITY_RTOL", "SIDECAR_FORMAT", "network_fingerprint", "ort_session",
           "user_cache_dir"]

logger = logging.getLogger(__name__)

#: Version of the sidecar layout; a sidecar of another version is ignored (the graph is exported again).
SIDECAR_FORMAT = 1
#: Largest accepted ``|onnx - torch|`` relative to ``max(1, max |torch|)``.
PARITY_RTOL = 1e-4
#: Sidecars larger than this are not read (a sidecar is a few kB; anything else is not ours).
_SIDECAR_MAX_BYTES = 1 << 20
#: The exporters tried, in order: (name, dynamic batch axis).
_EXPORTERS = (("torchscript", True), ("dynamo", False))


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/monai-lite/onnx`` (``~/.cache/monai-lite/onnx`` when the variable is unset or empty)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monai-lite" / "onnx"


def network_fingerprint(network: nn.Module) -> str:
    """sha256 of what a graph exported from ``network`` depends on besides its weights: the class, the ``repr``
    (every layer and its settings, so a prepared network differs from an unprepared one), and the source files of
    the modules that define its layers and of ``monai_lite/networks`` (helper functions such as the padding)."""
    digest = hashlib.sha256(f"{type(network).__module__}.{type(network).__qualname__}\n{network!r}".encode())
    files = set()
    for module in network.modules():
        try:
            files.add(Path(inspect.getsourcefile(type(module)) or ""))
        except TypeError:  # a class defined in C or interactively has no file
            continue
    files.update((Path(__file__).resolve().parents[1] / "networks").rglob("*.py"))
    for path in sorted(p for p in files if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _state_sha256(network: nn.Module) -> str:
    """sha256 of a network's parameters and buffers, for a network that has no checkpoint file."""
    digest = hashlib.sha256()
    for name, tensor in network.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def ort_session(model: bytes | str | os.PathLike, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (default ``torch.get_num_threads()``, the
    count PyTorch uses, so the two engines compare on equal terms), one inter-op thread, sequential execution.

    Args:
        model: the serialized graph (bytes, as verified against its recorded sha256) or a file.
        threads: intra-op threads. Defaults to None (torch's count).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: ORT warns about unused initialisers on every session
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxExport:
    """One cached export: the sidecar record and, when it passed its parity check, the verified graph bytes.

    Attributes:
        spatial_shape: the input's spatial size the graph takes.
        record: the sidecar's content.
        sidecar: the sidecar's path (``.onnx.json``).
        model_bytes: the ``.onnx`` file's bytes whose sha256 matched the record; None when the export was refused.
    """

    spatial_shape: tuple[int, ...]
    record: dict
    sidecar: Path
    model_bytes: bytes | None = None

    @property
    def usable(self) -> bool:
        """The graph passed its parity check and its bytes are at hand."""
        return self.model_bytes is not None and bool(self.record.get("parity", {}).get("passed"))

    @property
    def dynamic_batch(self) -> bool:
        """The graph takes any batch size (else exactly 1)."""
        return self.record.get("batch") == "dynamic"

    @property
    def onnx_path(self) -> Path:
        """The ``.onnx`` file beside the sidecar."""
        return self.sidecar.with_suffix("")

    def refusal(self) -> str:
        """Why the graph is not used, in one sentence (for a refused export)."""
        parity = self.record.get("parity") or {}
        attempts = self.record.get("attempts")
        reasons = "; ".join(str(a) for a in attempts) if isinstance(attempts, list) else ""
        reasons = reasons or "no exporter succeeded"
        diff, tolerance = parity.get("max_abs_diff"), parity.get("tolerance")
        if isinstance(diff, (int, float)) and isinstance(tolerance, (int, float)):
            return (f"its outputs differ from PyTorch's by up to {diff:.3g}, more than the allowed {tolerance:.3g} "
                    f"({reasons})")
        return reasons


class OnnxExportCache:
    """Exports of one network (with the weights of one checkpoint), one per input size, verified and cached.

    Args:
        network: the network as it will run under PyTorch (prepared for inference, in eval mode, on the CPU). It is
            the parity reference and what is exported.
        in_channels: the input channels of the network.
        checkpoint: the weights file ``network`` was loaded from; None for a network without one (its exports
            live in a temporary folder). Defaults to None.
        rtol: the parity tolerance relative to the output scale. Defaults to :data:`PARITY_RTOL`.

    Raises:
        FileNotFoundError: when ``checkpoint`` is given and does not exist.
    """

    def __init__(self, network: nn.Module, in_channels: int, checkpoint: str | os.PathLike | None = None,
                 rtol: float = PARITY_RTOL) -> None:
        self.network = network
        self.in_channels = int(in_channels)
        self.rtol = float(rtol)
        self.checkpoint = Path(checkpoint).resolve() if checkpoint is not None else None
        weights_sha256 = sha256_of(self.checkpoint) if self.checkpoint else _state_sha256(network)
        self.key = {
            "checkpoint_sha256": weights_sha256,
            "network_sha256": network_fingerprint(network),
            "torch_version": torch.__version__,
            "monai_lite_version": _monai_lite_version(),
        }
        self._scratch: Path | None = None
        self.exports_made = 0  # graphs exported by this object (the rest were read back from the cache)

    # --- where ---------------------------------------------------------------------------------------------------
    def folders(self) -> list[Path]:
        """Where exports are looked for and written, in order: beside the checkpoint, then the user cache."""
        if self.checkpoint is None:
            return [self._scratch_folder()]
        return [self.checkpoint.parent, user_cache_dir() / self.key["checkpoint_sha256"]]

    def _scratch_folder(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="monai-lite-onnx-"))
            weakref.finalize(self, shutil.rmtree, str(self._scratch), True)
        return self._scratch

    def file_name(self, spatial_shape: Sequence[int]) -> str:
        """``<checkpoint stem>.<size>.onnx``, e.g. ``model.256x256.onnx``."""
        stem = self.checkpoint.stem if self.checkpoint else "network"
        return f"{stem}.{'x'.join(str(int(s)) for s in spatial_shape)}.onnx"

    # --- the one public call -------------------------------------------------------------------------------------
    def get(self, spatial_shape: Sequence[int]) -> OnnxExport:
        """The export for inputs of ``spatial_shape``: read back when a verified one is cached, else made now.

        Args:
            spatial_shape: the spatial size of the network's input, e.g. ``(256, 256)`` or ``(32, 48, 32)``.

        Returns:
            The :class:`OnnxExport`; check :attr:`OnnxExport.usable` (a failed parity check is returned, not raised).
        """
        shape = tuple(int(s) for s in spatial_shape)
        for folder in self.folders():
            found = self._read(folder / f"{self.file_name(shape)}.json", shape)
            if found is not None:
                return found
        return self._export(shape)

    def save_record(self, export: OnnxExport) -> bool:
        """Rewrite ``export``'s sidecar (e.g. with a speed measurement added); False when its folder is read-only."""
        try:
            atomic_write_json(export.sidecar, export.record)
        except OSError as err:
            logger.info("could not update %s (%s); the measurement is kept for this run only.", export.sidecar, err)
            return False
        return True

    # --- reading back --------------------------------------------------------------------------------------------
    def _read(self, sidecar: Path, shape: tuple[int, ...]) -> OnnxExport | None:
        """The cached export described by ``sidecar`` if everything it records matches, else None (logged)."""
        if not sidecar.is_file():
            return None
        try:
            if sidecar.stat().st_size > _SIDECAR_MAX_BYTES:
                raise ValueError("larger than any sidecar")
            record = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            logger.warning("ignoring ONNX sidecar %s: unreadable (%s); exporting again.", sidecar, err)
            return None
        problem = self._mismatch(record, shape)
        if problem:
            logger.info("ignoring cached ONNX export %s: %s; exporting again.", sidecar.with_suffix(""), problem)
            return None
        export = OnnxExport(shape, record, sidecar)
        if not record["parity"].get("passed"):
            return export  # a refusal recorded for these very weights: no need to export again to refuse again
        onnx_file = sidecar.with_suffix("")
        try:
            data = onnx_file.read_bytes()
        except OSError:
            logger.info("ignoring ONNX sidecar %s: its graph %s is missing; exporting again.", sidecar, onnx_file.name)
            return None
        if hashlib.sha256(data).hexdigest() != record.get("onnx_sha256"):
            logger.warning("ignoring %s: its sha256 is not the one recorded when it was exported and checked "
                           "(changed or planted); exporting again.", onnx_file)
            return None
        export.model_bytes = data
        return export

    def _mismatch(self, record: Any, shape: tuple[int, ...]) -> str | None:
        if not isinstance(record, dict) or record.get("format") != SIDECAR_FORMAT:
            return "not a sidecar of this monai-lite version"
        if record.get("key") != self.key:
            recorded = record.get("key") if isinstance(record.get("key"), dict) else {}
            changed = [k for k in self.key if recorded.get(k) != self.key[k]]
            return f"made from other {', '.join(changed) or 'inputs'}"
        if record.get("input_shape") != [1, self.in_channels, *shape]:
            return f"made for input {record.get('input_shape')}"
        if not isinstance(record.get("parity"), dict):
            return "no parity record"
        return None

    # --- exporting -----------------------------------------------------------------------------------------------
    def _export(self, shape: tuple[int, ...]) -> OnnxExport:
        started = time.perf_counter()
        attempts: list[str] = []
        best: tuple[bytes, ParityResult, str, bool] | None = None
        parity: ParityResult | None = None
        with tempfile.TemporaryDirectory(prefix="monai-lite-onnx-export-") as scratch:
            for exporter, dynamic_batch in _EXPORTERS:
                path = Path(scratch) / f"{exporter}.onnx"
                try:
                    _run_exporter(self.network, (1, self.in_channels, *shape), path, exporter, dynamic_batch)
                    data = path.read_bytes()
                    parity = self._parity(data, shape, batch=2 if dynamic_batch else 1)
                except Exception as err:  # noqa: BLE001 - the next exporter is tried; every reason is recorded
                    attempts.append(f"{exporter} exporter: {type(err).__name__}: {_first_line(err)}")
                    continue
                if parity.passed:
                    best = (data, parity, exporter, dynamic_batch)
                    break
                attempts.append(f"{exporter} exporter: parity {parity.max_abs_diff:.3g} > {parity.tolerance:.3g}")
        self.exports_made += 1
        record: dict[str, Any] = {
            "format": SIDECAR_FORMAT,
            "key": self.key,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "input_shape": [1, self.in_channels, *shape],
            "batch": "dynamic" if best and best[3] else 1,
            "dynamic_axes": {"image": {"0": "batch"}, "pred": {"0": "batch"}} if best and best[3] else {},
            "exporter": best[2] if best else None,
            "onnx_sha256": hashlib.sha256(best[0]).hexdigest() if best else None,
            "export_seconds": round(time.perf_counter() - started, 3),
            "parity": (best[1] if best else parity).to_dict() if (best or parity) else {"passed": False},
            "attempts": attempts,
            "versions": _versions(),
        }
        record["parity"]["rtol"] = self.rtol
        name = self.file_name(shape)
        if best:
            logger.info("exported %s (%s exporter, %.1f s; parity: max |difference| %.3g, allowed %.3g).", name,
                        best[2], record["export_seconds"], best[1].max_abs_diff, best[1].tolerance)
        sidecar = self._write(name, best[0] if best else None, record)
        return OnnxExport(shape, record, sidecar, best[0] if best else None)

    def _parity(self, data: bytes, shape: tuple[int, ...], batch: int) -> ParityResult:
        """Run the graph and the eager network on one seeded standard-normal batch and compare."""
        x = torch.randn((batch, self.in_channels, *shape), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            expected = self.network(x).float().numpy()
        session = ort_session(data)
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        scale = max(1.0, float(np.max(np.abs(expected))))
        same = got.shape == expected.shape
        diff = float(np.max(np.abs(got - expected))) if same else float("inf")
        return ParityResult("<in memory>", diff, scale, self.rtol * scale, same and diff <= self.rtol * scale,
                            list(x.shape))

    def _write(self, name: str, data: bytes | None, record: dict) -> Path:
        """Write the graph then its sidecar into the first folder that takes them; returns the sidecar's path."""
        folders = self.folders()
        if self.checkpoint is not None:
            folders.append(self._scratch_folder())  # last resort: this process only
        for folder in folders:
            try:
                _write_pair(folder, name, data, record)
            except OSError as err:
                logger.info("cannot cache the ONNX export in %s (%s); trying the next place.", folder, err)
                continue
            if folder == self._scratch and self.checkpoint is not None:
                logger.warning("no writable folder for the ONNX export of %s (beside it, or %s): it is kept for "
                               "this run only.", self.checkpoint, user_cache_dir())
            return folder / f"{name}.json"
        raise OSError(f"cannot write the ONNX export {name} anywhere")  # even a fresh temporary folder failed


def _write_pair(folder: Path, name: str, data: bytes | None, record: dict) -> None:
    """The graph (or, for a refused export, no graph), then the sidecar that vouches for it, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx_file = folder / name
    if data is not None:
        record["onnx_file"] = str(onnx_file)
        with atomic_path(onnx_file) as tmp:
            tmp.write_bytes(data)
    else:
        onnx_file.unlink(missing_ok=True)  # a graph nothing vouches for any more
    atomic_write_json(folder / f"{name}.json", record)


def _run_exporter(network: nn.Module, input_shape: Sequence[int], path: Path, exporter: str,
                  dynamic_batch: bool) -> None:
    example = torch.randn(tuple(input_shape), generator=torch.Generator().manual_seed(0))
    kwargs: dict[str, Any] = {"input_names": ["image"], "output_names": ["pred"]}
    if exporter == "torchscript":
        kwargs["dynamo"] = False
        if dynamic_batch:
            kwargs["dynamic_axes"] = {"image": {0: "batch"}, "pred": {0: "batch"}}
    else:
        # external_data=False: the weights stay inside the one file whose sha256 is recorded
        kwargs.update(dynamo=True, external_data=False, optimize=True, verbose=False)
    with torch.no_grad(), _quiet():
        torch.onnx.export(network, (example,), str(path), **kwargs)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters: the TorchScript one warns that it is deprecated and that traced shape arithmetic is
    constant (the graph is for this size only, and the parity check decides) and, when it fails, its C++ logger
    writes the whole traced graph to the process's stdout; the torch.export one prints progress lines and logs
    missing optional operator libraries. Why an export failed is recorded in the sidecar instead."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "onnx_ir")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _native_output_discarded():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@contextlib.contextmanager
def _native_output_discarded() -> Iterator[None]:
    """File descriptors 1 and 2 pointed at a scratch file (C++ writes there, past ``sys.stdout``/``sys.stderr``),
    then restored."""
    saved: dict[int, int] = {}
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd in (1, 2):
            saved[fd] = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no such descriptors (an embedded interpreter): leave them be
        for copy in saved.values():
            os.close(copy)
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            try:
                yield
            finally:
                for fd, copy in saved.items():
                    os.dup2(copy, fd)
    finally:
        for copy in saved.values():
            os.close(copy)


def _first_line(err: BaseException, limit: int = 200) -> str:
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _monai_lite_version() -> str:
    from monai_lite import __version__

    return __version__


def _versions() -> dict[str, str]:
    import onnxruntime

    versions = {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                "monai_lite": _monai_lite_version()}
    try:
        import onnx

        versions["onnx"] = onnx.__version__
    except ImportError:
        pass
    return versions
