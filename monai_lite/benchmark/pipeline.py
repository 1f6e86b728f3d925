# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark pipeline``: whole-pipeline inference time per case, split by stage, with peak memory.

Where :mod:`~monai_lite.benchmark.efficiency` times the network alone on a random tensor, this benchmark times what a
user waits for: :meth:`monai_lite.inference.Predictor.write` (``monai-lite infer``) on real files, case by case,
split into the stages the predictor records (:mod:`monai_lite.inference.stage_times`): ``read`` (file or DICOM
series, and the finite-value check), ``preprocess`` (the bundle's preset), ``network`` (inferer, activation),
``invert`` (``Invertd`` back to the input grid) and ``write`` (label map and files); each in wall time and in the
process's CPU time, which on a machine shared with other jobs is the better estimate of what a case costs.

Inputs (``inputs``; each under the shared data folder, ``--data-dir``, default ``$MONAI_LITE_DATA`` or
``../shared/data``), each segmented by its bundle (:data:`INPUT_KINDS`):

- ``kvasir``: the first ``cases`` (default 20) Kvasir-SEG pictures (256 x 256 RGB JPEG), bundle ``medlitenet``;
- ``hippocampus``: the first ``cases`` (default 10) MSD Hippocampus MRI volumes, bundle ``medlitenet_hippocampus``;
- ``ct``: the 512 x 512 x 20 CT DICOM series of ``ct-totalseg`` (JPEG 2000 compressed), bundle ``medlitenet_ct``,
  segmented ``cases`` times (default 3: there is one series).

For each input, each model (``models``: zoo names, :mod:`monai_lite.benchmark.zoo`; default MedLiteNet, MONAI's
SegResNet and BasicUNet) and each engine (``engines``: ``torch``, ``onnxruntime``) the same bundle does the work:
the bundle's own network when the zoo model is that network at its defaults, else its ``network_def`` is replaced
by the zoo model built for the bundle's dimensions and channels (same preset, inferer, inversion and writers; only
the network differs). The weights are random (seeded) and written to ``OUTDIR/weights/``, which is fine for timing
and says nothing about accuracy; ``ckpts`` (``--ckpt KIND=PATH``) gives trained weights for a bundle's own network.
Every run loads the predictor, runs ``warmup`` untimed cases (one-off allocations and kernel selection), then the
cases. An engine or model that fails (e.g. ``load_bundle`` without an ``engine`` keyword, an export that fails) is
recorded as a row with its reason; the others go on.

Start-up (``startup_runs``, when ``ct`` is among the inputs): ``python -m monai_lite.cli infer`` (the code of the
``monai-lite`` command) on the CT series folder, in a fresh process, with ``OMP_NUM_THREADS=threads``; the wall time
from process start to exit (Python start-up, imports, model loading, DICOM to NIfTI), and the child's peak RSS.

Memory: the process's peak RSS (``VmHWM``, reset before each run's model is loaded; :mod:`.measure`), which includes
the resident Python, torch and MONAI.

Results: ``OUTDIR/pipeline.json`` (machine, settings, every case's stage times, the start-up runs) and
``OUTDIR/pipeline.md`` (a table per input kind and the start-up table), both written atomically after every run.
Predictions go to ``OUTDIR/predictions/<kind>/<model>-<engine>/``.

Example::

    monai-lite benchmark pipeline -o bench/pipeline --threads 2
    monai-lite benchmark pipeline -o /tmp/pipe --inputs kvasir --cases 5 --models medlitenet --engines torch
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from monai_lite.benchmark import measure
from monai_lite.benchmark.efficiency import load_warning
from monai_lite.benchmark.zoo import get_model
from monai_lite.engine.atomic import atomic_save, atomic_write_json, atomic_write_text
from monai_lite.inference.stage_times import STAGES

logger = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "CPU_COLUMNS",
    "DEFAULT_ENGINES",
    "DEFAULT_MODELS",
    "INPUT_KINDS",
    "InputKind",
    "STARTUP_TARGET_S",
    "add_parser",
    "default_data_dir",
    "find_inputs",
    "measure_startup",
    "render_markdown",
    "run_pipeline",
]


@dataclass(frozen=True)
class InputKind:
    """One kind of input of the benchmark.

    Args:
        name: the name used in ``--inputs`` and the tables.
        bundle: the shipped bundle that segments it.
        folder: where the inputs lie, relative to the data folder.
        default_cases: cases timed when ``cases`` is not given.
        description: one line for the report.
        single_series: the folder is one DICOM series, timed ``cases`` times (instead of the first ``cases`` files).
        pictures: the folder holds 2D pictures (else volume files), which decides which files are cases.
    """

    name: str
    bundle: str
    folder: str
    default_cases: int
    description: str
    single_series: bool = False
    pictures: bool = False


#: The inputs, by name.
INPUT_KINDS: dict[str, InputKind] = {
    "kvasir": InputKind("kvasir", "medlitenet", "kvasir-seg/images", 20,
                        "Kvasir-SEG colonoscopy pictures, 256 x 256 RGB JPEG", pictures=True),
    "hippocampus": InputKind("hippocampus", "medlitenet_hippocampus", "hippocampus/imagesTr", 10,
                             "MSD Hippocampus MRI volumes, NIfTI, about 35 x 50 x 35 voxels"),
    "ct": InputKind("ct", "medlitenet_ct", "ct-totalseg/dicom", 3,
                    "CT DICOM series, 512 x 512 x 20 slices, JPEG 2000 lossless (the same series each case)",
                    single_series=True),
}
#: Models compared by default: ours, then MONAI's two reference networks.
DEFAULT_MODELS = ("medlitenet", "segresnet", "basicunet")
#: Engines compared by default.
DEFAULT_ENGINES = ("torch", "onnxruntime")
#: The start-up target: CT series DICOM folder to NIfTI, fresh process, 2 threads (reported, never asserted).
STARTUP_TARGET_S = 5.0
#: What the report says about generated weights.
RANDOM_WEIGHTS = "random weights (timing only)"


def default_data_dir() -> Path:
    """``$MONAI_LITE_DATA`` when set, else ``../shared/data`` (relative to the working folder)."""
    env = os.environ.get("MONAI_LITE_DATA")
    return Path(env) if env else Path("..") / "shared" / "data"


def find_inputs(kind: InputKind, data_dir: str | os.PathLike, cases: int) -> list[Path]:
    """The inputs of ``kind`` to time: the first ``cases`` files of its folder (sorted by name), or its series folder
    ``cases`` times.

    Args:
        kind: the input kind.
        data_dir: the shared data folder.
        cases: how many cases (>= 1).

    Raises:
        FileNotFoundError: the kind's folder does not exist (the message names it and how to point elsewhere).
        ValueError: the folder holds no input of that kind.
    """
    from monai_lite.data.io import is_2d_file, is_volume_file

    folder = Path(data_dir).expanduser() / kind.folder
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{kind.name} inputs: folder {folder} does not exist; pass --data-dir (the data folder that holds "
            f"{kind.folder}), set MONAI_LITE_DATA, or leave {kind.name} out of --inputs."
        )
    if kind.single_series:
        return [folder] * cases
    wanted = is_2d_file if kind.pictures else is_volume_file
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and wanted(p))
    if not files:
        what = "pictures (PNG, JPEG, ...)" if kind.pictures else "volume files (NIfTI, NRRD, MHA)"
        raise ValueError(f"{kind.name} inputs: folder {folder} holds no {what}.")
    return files[:cases]


# --- networks and weights ------------------------------------------------------------------------------------
def _bundle_parser(bundle: str) -> Any:
    from monai.bundle import ConfigParser

    from monai_lite.bundle.runner import resolve_bundle

    root = resolve_bundle(bundle)
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "inference.json"))
    parser["bundle_root"] = str(root)  # as load_bundle_model does: a plain parser cannot find the bundle itself
    return parser


def _bundle_facts(bundle: str) -> dict[str, Any]:
    """Dimensions, channels, image size, preset and network class of a bundle's ``inference.json``."""
    parser = _bundle_parser(bundle)
    return {
        "spatial_dims": int(parser.get_parsed_content("network_def#spatial_dims")),
        "in_channels": int(parser.get_parsed_content("network_def#in_channels")),
        "out_channels": int(parser.get_parsed_content("network_def#out_channels")),
        "image_size": [int(s) for s in parser.get_parsed_content("image_size")],
        "preset": str(parser.get_parsed_content("preset")),
        "target": str(parser.get("network_def")["_target_"]),
    }


def _is_bundle_network(facts: Mapping[str, Any], model: str) -> bool:
    """Whether zoo ``model`` is the bundle's own network class at its defaults."""
    entry = get_model(model)
    return entry.target == facts["target"] and not entry.kwargs


def _network_choice(facts: Mapping[str, Any], model: str | None) -> tuple[dict | None, str]:
    """The ``network_def`` override for zoo ``model`` in a bundle (None: the bundle's own network, also for
    ``model=None``) and its description.

    Raises:
        ValueError: an unknown model, or one not built in the bundle's dimension.
    """
    if model is None or _is_bundle_network(facts, model):
        return None, f"bundle's own {facts['target'].rpartition('.')[2]}"
    entry = get_model(model)
    short = entry.target.rpartition(".")[2]
    network_def = entry.network_def(facts["spatial_dims"], facts["in_channels"], facts["out_channels"],
                                    facts["image_size"])
    return network_def, f"{short} swapped in ({entry.description})"


def _random_checkpoint(bundle: str, network_def: dict | None, path: Path, seed: int) -> Path:
    """Write the state dict of the bundle's network (or of ``network_def``), randomly initialised from ``seed``."""
    parser = _bundle_parser(bundle)
    if network_def is not None:
        parser["network_def"] = network_def
    torch.manual_seed(seed)
    network = parser.get_parsed_content("network_def")
    return atomic_save(network.state_dict(), path)


# --- one run -------------------------------------------------------------------------------------------------
def _reason(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:300]}"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _summarise(cases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Median ms per stage (wall and CPU), of the case total and of its CPU time; the network's shares."""
    summary: dict[str, Any] = {
        f"{stage}_ms": _ms(_median([c["stages_s"][stage] for c in cases if stage in c["stages_s"]])) for stage in STAGES
    }
    summary["total_ms"] = _ms(_median([c["total_s"] for c in cases]))
    summary["cpu_ms"] = _ms(_median([sum(c["cpu_s"].values()) for c in cases]))
    summary.update({f"{stage}_cpu_ms": _ms(_median([c["cpu_s"][stage] for c in cases if stage in c["cpu_s"]]))
                    for stage in STAGES})
    total = sum(c["total_s"] for c in cases)
    network = sum(c["stages_s"].get("network", 0.0) for c in cases)
    summary["network_share"] = network / total if total > 0 else None
    cpu = sum(sum(c["cpu_s"].values()) for c in cases)
    summary["network_cpu_share"] = sum(c["cpu_s"].get("network", 0.0) for c in cases) / cpu if cpu > 0 else None
    return summary


def _load_predictor(bundle: str, ckpt: Path, network_def: dict | None, engine: str, overlay: bool) -> Any:
    """``monai_lite.load_bundle`` as ``monai-lite infer`` calls it; the ``engine`` keyword only for non-torch
    engines, so the torch rows work with a ``load_bundle`` that has no such keyword."""
    import monai_lite

    extra = {} if engine == "torch" else {"engine": engine}
    overrides = {"network_def": network_def} if network_def is not None else None
    return monai_lite.load_bundle(bundle, ckpt_path=ckpt, device="cpu", overrides=overrides, dicom_seg="no",
                                  overlay=overlay, **extra)


def _run_one(row: dict[str, Any], inputs: Sequence[Path], network_def: dict | None, out: Path, warmup: int,
             overlay: bool, progress: bool) -> dict[str, Any]:
    """Load the predictor of ``row`` (bundle, weights, engine), run the warm-up and the timed cases; fill ``row``."""
    gc.collect()
    measure.release_free_memory()
    row["rss_before_bytes"] = measure.current_rss_bytes()
    row["peak_rss_reset"] = measure.reset_peak_rss()
    started = time.perf_counter()
    try:
        predictor = _load_predictor(row["bundle"], Path(row["checkpoint"]), network_def, row["engine"], overlay)
    except Exception as err:  # noqa: BLE001 - an engine or model that cannot load is a row with its reason
        row["error"] = f"load_bundle failed: {_reason(err)}"
        return row
    row["load_s"] = time.perf_counter() - started
    try:
        for _ in range(warmup):
            predictor.write([inputs[0]], out / "warmup", progress=False)
        predictor.stage_times.clear()
        record = predictor.write(list(inputs), out / "cases", progress=progress)
    except Exception as err:  # noqa: BLE001 - e.g. an engine that cannot run this network
        row["error"] = f"inference failed: {_reason(err)}"
        return row
    finally:
        row["peak_rss_bytes"] = measure.peak_rss_bytes()
    timed = list(predictor.stage_times.cases)
    if len(timed) != len(record["cases"]):
        row["error"] = f"stage times of {len(timed)} case(s) for {len(record['cases'])} written"
        return row
    row["cases"] = [
        {
            "case": stages["case"],
            "input": case["input"],
            "stages_s": {s: stages[s] for s in STAGES if s in stages},
            "stage_sum_s": sum(stages[s] for s in STAGES if s in stages),
            "cpu_s": {s: stages["cpu"][s] for s in STAGES if s in stages["cpu"]},
            # measured by Predictor.write around predict + write of the case (ms resolution)
            "total_s": case["seconds"],
            "outputs": case["outputs"],
        }
        for case, stages in zip(record["cases"], timed)
    ]
    row.update(_summarise(row["cases"]))
    del predictor
    return row


# --- start-up ------------------------------------------------------------------------------------------------
def _child_peak_kib(pid: int) -> int | None:
    """``VmHWM`` of a running process in KiB, or None (no ``/proc``, or it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _run_child(command: Sequence[str], env: Mapping[str, str], log: Path,
               poll_s: float = 0.02) -> tuple[float, int, int | None, float | None]:
    """Run ``command``; its wall time (s), exit code, peak RSS (bytes) and CPU time (user + system, s).

    The peak is the child's ``VmHWM``, read every ``poll_s`` while it runs: the ``ru_maxrss`` that ``wait4`` reports
    is no use here, because Linux carries the parent's resident high-water mark over into a child at ``exec``, so it
    would show this (large) benchmark process instead of the fresh one. The exit is noticed within ``poll_s``, which
    bounds the error of the wall time. Peak and CPU time are None where ``/proc`` or ``os.wait4`` is missing.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    peak_kib: int | None = None
    with open(log, "wb") as stream:
        started = time.perf_counter()
        child = subprocess.Popen(list(command), stdout=stream, stderr=subprocess.STDOUT, env=dict(env))
        if not hasattr(os, "wait4"):
            child.wait()
            return time.perf_counter() - started, int(child.returncode), None, None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            kib = _child_peak_kib(child.pid)
            peak_kib = kib if peak_kib is None or (kib or 0) > peak_kib else peak_kib
            time.sleep(poll_s)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    peak = None if peak_kib is None else peak_kib * 1024
    return wall, int(child.returncode), peak, usage.ru_utime + usage.ru_stime


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " / ".join(text[-lines:])[:300]


def measure_startup(series: Path, bundle: str, ckpt: Path, engine: str, out: Path, threads: int,
                    runs: int) -> dict[str, Any]:
    """Wall time of ``python -m monai_lite.cli infer`` on a DICOM series folder in fresh processes.

    Args:
        series: the DICOM series folder.
        bundle: the bundle that segments it.
        ckpt: its weights.
        engine: ``"torch"`` (no flag) or another engine (``--engine ENGINE``).
        out: folder for the children's outputs and logs (``run<i>/`` and ``run<i>.log``).
        threads: ``OMP_NUM_THREADS`` of the children (torch's intra-op threads).
        runs: how many fresh processes (>= 1).

    Returns:
        ``{"bundle", "engine", "command", "runs": [{"wall_s", "cpu_s", "returncode", "peak_rss_bytes", "nifti"}],
        "median_s", "median_cpu_s", "error"}``; ``error`` is the last line of the first failed child's output, or None.
    """
    row: dict[str, Any] = {"bundle": bundle, "engine": engine, "threads": threads, "runs": [], "error": None}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for index in range(runs):
        target = out / f"run{index}"
        command = [sys.executable, "-m", "monai_lite.cli", "infer", "--bundle", bundle, "--ckpt", str(ckpt),
                   "--device", "cpu", "--dicom-seg", "no", "-o", str(target), str(series)]
        if engine != "torch":
            command[4:4] = ["--engine", engine]
        row["command"] = " ".join(command[1:])
        wall, code, peak, cpu = _run_child(command, env, out / f"run{index}.log")
        nifti = target / f"{series.name}_seg.nii.gz"
        row["runs"].append({"wall_s": wall, "cpu_s": cpu, "returncode": code, "peak_rss_bytes": peak,
                            "nifti": str(nifti) if nifti.is_file() else None})
        if code != 0 or not nifti.is_file():
            row["error"] = f"exit status {code}: {_tail(out / f'run{index}.log')}"
            break
    good = [r["wall_s"] for r in row["runs"] if r["returncode"] == 0 and r["nifti"]]
    row["median_s"] = _median(good)
    row["median_cpu_s"] = _median([r["cpu_s"] for r in row["runs"] if r["returncode"] == 0 and r["nifti"] and r["cpu_s"]])
    peaks = [r["peak_rss_bytes"] for r in row["runs"] if r["peak_rss_bytes"]]
    row["peak_rss_bytes"] = max(peaks) if peaks else None
    return row


# --- the whole benchmark -------------------------------------------------------------------------------------
def _parse_ckpts(ckpts: Mapping[str, str | os.PathLike] | None) -> dict[str, Path]:
    found = {}
    for kind, path in dict(ckpts or {}).items():
        if kind not in INPUT_KINDS:
            raise ValueError(f"--ckpt {kind}=...: unknown input kind {kind!r}; valid: {', '.join(INPUT_KINDS)}.")
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"--ckpt {kind}={path}: the weights file does not exist.")
        found[kind] = path
    return found


def run_pipeline(
    output_dir: str | os.PathLike,
    inputs: Sequence[str] = tuple(INPUT_KINDS),
    data_dir: str | os.PathLike | None = None,
    cases: int | Mapping[str, int] | None = None,
    threads: int = 2,
    models: Sequence[str] = DEFAULT_MODELS,
    engines: Sequence[str] = DEFAULT_ENGINES,
    ckpts: Mapping[str, str | os.PathLike] | None = None,
    warmup: int = 1,
    overlay: bool = True,
    startup_runs: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Time the whole inference pipeline per case and stage; write ``pipeline.json`` and ``pipeline.md``.

    Args:
        output_dir: folder for the results, the generated weights and the predictions (created if missing).
        inputs: input kinds, names of :data:`INPUT_KINDS`. Defaults to all.
        data_dir: the shared data folder; None for :func:`default_data_dir`.
        cases: cases per input kind, or ``{kind: cases}``; None (or a kind left out) for the kind's default (20
            pictures, 10 volumes, the series 3 times).
        threads: ``torch.set_num_threads`` for the runs, and ``OMP_NUM_THREADS`` of the start-up children.
            Defaults to 2.
        models: zoo names (:func:`monai_lite.benchmark.zoo.list_models`). Defaults to :data:`DEFAULT_MODELS`.
        engines: inference engines, passed as ``load_bundle(..., engine=E)`` except ``"torch"``. Defaults to
            :data:`DEFAULT_ENGINES`.
        ckpts: ``{input kind: weights}`` of the bundle's own network; other networks get random weights.
            Defaults to None (random weights everywhere).
        warmup: untimed cases before each run's timed ones (>= 0). Defaults to 1.
        overlay: write the colour overlays of pictures, as ``monai-lite infer`` does by default (``--no-overlay``
            times the mask alone). Defaults to True.
        startup_runs: fresh ``monai-lite infer`` processes on the CT series per engine (0 skips; needs ``ct`` in
            ``inputs``). Defaults to 3.
        seed: seed of the random weights. Defaults to 0.
        progress: progress bars over the runs and the cases. Defaults to True.

    Returns:
        The report written to ``pipeline.json``.

    Raises:
        ValueError: an unknown input kind or model, no engine, a count out of range, an output folder that is a file.
        FileNotFoundError: a missing input folder or ``--ckpt`` file (before anything runs).
    """
    from tqdm.auto import tqdm

    kinds = [str(k) for k in inputs]
    unknown = [k for k in kinds if k not in INPUT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"--inputs: unknown or no input kind {unknown}; valid: {', '.join(INPUT_KINDS)}.")
    counts = {k: INPUT_KINDS[k].default_cases for k in kinds}
    if isinstance(cases, Mapping):
        counts.update({k: int(n) for k, n in cases.items() if k in counts})
    elif cases is not None:
        counts = {k: int(cases) for k in kinds}
    if min(counts.values()) < 1:
        raise ValueError(f"--cases must be at least 1, got {cases}.")
    if threads < 1 or warmup < 0 or startup_runs < 0:
        raise ValueError(f"need --threads >= 1, --warmup >= 0, --startup-runs >= 0; got {threads}, {warmup}, {startup_runs}.")
    if not engines:
        raise ValueError("--engines: give at least one engine, e.g. torch.")
    if not models:
        raise ValueError("--models: give at least one model, e.g. medlitenet.")
    for name in models:
        get_model(name)  # ValueError naming the valid models
    weights_given = _parse_ckpts(ckpts)
    data = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    chosen = {k: find_inputs(INPUT_KINDS[k], data, int(counts[k])) for k in kinds}
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {out} is an existing file.")
    out.mkdir(parents=True, exist_ok=True)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()
    machine = measure.machine_info()
    busy = load_warning(machine.get("load_average"), threads)
    if busy:
        logger.warning("monai-lite benchmark pipeline: %s", busy)
    settings = {
        "data_dir": str(data.resolve()),
        "inputs": {k: {"bundle": INPUT_KINDS[k].bundle, "description": INPUT_KINDS[k].description,
                       "files": [str(p) for p in chosen[k]]} for k in kinds},
        "threads": threads,
        "models": list(models),
        "engines": list(engines),
        "warmup": warmup,
        "startup_runs": startup_runs if "ct" in kinds else 0,
        "seed": seed,
        "device": "cpu",
        "overlay": overlay,
        "predictor": f"load_bundle(bundle, ckpt_path, device='cpu', dicom_seg='no', overlay={overlay}); tta off, "
        "sliding-window overlap 0.25, gaussian blending, sw_batch_size 4 (the monai-lite infer defaults)",
        "total_s": "Predictor.write's seconds of the case (predict and write, ms resolution); stage times from "
        "Predictor.stage_times",
        "peak_rss": "VmHWM of /proc/self/status, reset before the run's model is loaded (load, warm-up and cases); "
        "includes the resident Python, torch and MONAI",
    }
    report: dict[str, Any] = {"machine": machine, "settings": settings, "runs": [], "startup": []}

    def save() -> None:
        report["duration_s"] = time.perf_counter() - started
        atomic_write_json(out / "pipeline.json", report)
        atomic_write_text(out / "pipeline.md", render_markdown(report))

    jobs = [(k, m, e) for k in kinds for m in models for e in engines]
    checkpoints: dict[tuple[str, str], tuple[Path, str, dict | None, str]] = {}

    def checkpoint(kind: str, model: str | None) -> tuple[Path, str, dict | None, str]:
        """Weights, their description, the network override and its description, made once per (kind, model);
        ``model=None`` is the bundle's own network."""
        if (kind, model) not in checkpoints:
            bundle = INPUT_KINDS[kind].bundle
            network_def, network = _network_choice(_bundle_facts(bundle), model)
            if network_def is None and kind in weights_given:
                path, what = weights_given[kind], f"checkpoint {weights_given[kind]}"
            else:
                name = f"{bundle}--{model or 'own'}.pt"
                path = _random_checkpoint(bundle, network_def, out / "weights" / name, seed)
                what = f"{RANDOM_WEIGHTS}, seed {seed}"
            checkpoints[(kind, model)] = (path, what, network_def, network)
        return checkpoints[(kind, model)]

    try:
        bar = tqdm(jobs, desc="pipeline", unit="run", disable=not progress)
        for kind, model, engine in bar:
            bar.set_postfix_str(f"{kind} {model} {engine}")
            bundle = INPUT_KINDS[kind].bundle
            row: dict[str, Any] = {"input": kind, "model": model, "engine": engine, "bundle": bundle, "error": None,
                                   "cases": []}
            try:
                path, what, network_def, row["network"] = checkpoint(kind, model)
            except Exception as err:  # noqa: BLE001 - a model that cannot be built here is a row with its reason
                row["error"] = f"network not built: {_reason(err)}"
            else:
                row.update(checkpoint=str(path), weights=what)
                _run_one(row, chosen[kind], network_def, out / "predictions" / kind / f"{model}-{engine}", warmup,
                         overlay, progress)
            report["runs"].append(row)
            save()
        if "ct" in kinds and startup_runs:
            bundle = INPUT_KINDS["ct"].bundle
            facts = _bundle_facts(bundle)
            # the bundle's own network, with the weights of its row when it had one
            own = next((m for m in models if _is_bundle_network(facts, m)), None)
            path, what, _, network = checkpoint("ct", own)
            for engine in tqdm(list(engines), desc="start-up", unit="engine", disable=not progress):
                row = measure_startup(chosen["ct"][0], bundle, path, engine, out / "startup" / engine, threads,
                                      startup_runs)
                row.update(model=own or network, weights=what)
                report["startup"].append(row)
                save()
    finally:
        torch.set_num_threads(previous_threads)
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    machine["load_warning"] = busy or load_warning(machine["load_average_end"], threads)
    save()
    return report


# --- report --------------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f} %"


def _cell(text: str) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


#: Markdown columns of a run row: header -> function of the row giving the cell text.
COLUMNS = {
    "model": lambda r: f"`{r['model']}`",
    "network": lambda r: r.get("network", ""),
    "engine": lambda r: r["engine"],
    "cases": lambda r: str(len(r["cases"])),
    **{f"{s} (ms)": (lambda r, s=s: _fmt(r.get(f"{s}_ms"))) for s in STAGES},
    "total (ms)": lambda r: _fmt(r.get("total_ms")),
    "CPU (ms)": lambda r: _fmt(r.get("cpu_ms")),
    "network share": lambda r: _share(r.get("network_share")),
    "peak RSS (MiB)": lambda r: _fmt(measure.mib(r.get("peak_rss_bytes")), 0),
    "notes": lambda r: _cell(r["error"] or ""),
}


#: Columns of the second table of an input kind: the process CPU time of each stage.
CPU_COLUMNS = {
    "model": COLUMNS["model"],
    "engine": COLUMNS["engine"],
    **{f"{s} CPU (ms)": (lambda r, s=s: _fmt(r.get(f"{s}_cpu_ms"))) for s in STAGES},
    "CPU (ms)": COLUMNS["CPU (ms)"],
    "network share of CPU": lambda r: _share(r.get("network_cpu_share")),
}


def render_markdown(report: Mapping[str, Any]) -> str:
    """The Markdown report: machine and settings, a table per input kind, and the start-up table.

    Args:
        report: the dict :func:`run_pipeline` returns (or ``pipeline.json`` loaded).
    """
    m, s = report["machine"], report["settings"]
    weights = sorted({r.get("weights", "") for r in report["runs"] if r.get("weights")})
    lines = [
        "# monai-lite pipeline benchmark",
        "",
        "Written by `monai-lite benchmark pipeline`; every number below comes from `pipeline.json` beside it.",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpu_count']} logical cores visible; {m['platform']}",
        f"- load average (1/5/15 min) at start {m.get('load_average')}, at end {m.get('load_average_end')}"
        " (other processes share the machine when these exceed the thread count)",
        *([f"- **warning**: {m['load_warning']}"] if m.get("load_warning") else []),
        f"- python {m['python']}, torch {m['torch']}, monai {m['monai']}, onnxruntime {m.get('onnxruntime')}",
        f"- threads: torch.set_num_threads({s['threads']}); start-up children OMP_NUM_THREADS={s['threads']}; "
        f"OpenMP environment {m.get('omp_env')}",
        f"- weights: {'; '.join(weights) or 'none'}",
        f"- each run: `{s['predictor']}`; {s['warmup']} untimed warm-up case(s), then the cases",
        "- stages (`Predictor.stage_times`): read = file or DICOM series and the finite-value check; preprocess = "
        "the bundle's preset; network = inferer and activation; invert = `Invertd` to the input grid; write = "
        "label map and files (mask, and the overlay of a picture when on)",
        "- per-stage and total columns are medians over the cases (medians need not add up); total = "
        f"{s['total_s']}; CPU = the process's CPU time over the stages (all threads, user + system; on a shared "
        "machine closer to what the case costs than its wall time); network share = summed network time / summed "
        "totals",
        f"- peak RSS: {s['peak_rss']}",
        f"- total time {report.get('duration_s', 0.0):.0f} s",
    ]
    for kind, info in s["inputs"].items():
        rows = [r for r in report["runs"] if r["input"] == kind]
        lines += ["", f"## {kind}: {info['description']}; bundle `{info['bundle']}`, "
                  f"{len(info['files'])} case(s)", ""]
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "|".join("---" for _ in COLUMNS) + "|")
        lines += ["| " + " | ".join(COLUMNS[c](r) for c in COLUMNS) + " |" for r in rows]
        timed = [r for r in rows if r["cases"]]
        if timed:
            lines += ["", "Process CPU time per stage (medians over the cases):", ""]
            lines.append("| " + " | ".join(CPU_COLUMNS) + " |")
            lines.append("|" + "|".join("---" for _ in CPU_COLUMNS) + "|")
            lines += ["| " + " | ".join(CPU_COLUMNS[c](r) for c in CPU_COLUMNS) + " |" for r in timed]
    if report.get("startup"):
        lines += ["", f"## Start-up: CT DICOM series to NIfTI in a fresh process (target < {STARTUP_TARGET_S:g} s)",
                  "", f"`python {report['startup'][0].get('command', '')}` with OMP_NUM_THREADS={s['threads']}; "
                  "wall time from process start to exit (Python start-up, imports, model loading, reading, "
                  "segmenting, writing); CPU = the child's user + system time.", "",
                  "| bundle | model | engine | runs | median wall (s) | each run (s) | median CPU (s) | "
                  "child peak RSS (MiB) | under target | notes |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in report["startup"]:
            each = ", ".join(f"{run['wall_s']:.2f}" for run in r["runs"])
            met = "" if r.get("median_s") is None else ("yes" if r["median_s"] < STARTUP_TARGET_S else "no")
            lines.append(f"| `{r['bundle']}` | `{r.get('model', '')}` | {r['engine']} | {len(r['runs'])} | "
                         f"{_fmt(r.get('median_s'), 2)} | {each} | {_fmt(r.get('median_cpu_s'), 2)} | "
                         f"{_fmt(measure.mib(r.get('peak_rss_bytes')), 0)} | "
                         f"{met} | {_cell(r.get('error') or '')} |")
    return "\n".join(lines) + "\n"


# --- command line --------------------------------------------------------------------------------------------
def _ckpt_item(text: str) -> tuple[str, str]:
    kind, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"--ckpt takes KIND=PATH (KIND one of {', '.join(INPUT_KINDS)}), got {text!r}")
    return kind.strip(), path


def _command(args: argparse.Namespace) -> int:
    report = run_pipeline(
        args.output,
        inputs=args.inputs,
        data_dir=args.data_dir,
        cases=args.cases,
        threads=args.threads,
        models=args.models,
        engines=args.engines,
        ckpts=dict(args.ckpt or []),
        warmup=args.warmup,
        overlay=args.overlay,
        startup_runs=args.startup_runs,
        seed=args.seed,
        progress=not args.no_progress,
    )
    out = Path(args.output)
    failed = sum(1 for r in report["runs"] if r["error"]) + sum(1 for r in report["startup"] if r["error"])
    print(f"wrote {out / 'pipeline.md'} and {out / 'pipeline.json'}" + (f" ({failed} row(s) with a reason)" if failed else ""))
    return 0


def add_parser(kinds: Any) -> argparse.ArgumentParser:
    """Add the ``pipeline`` sub-verb to ``monai-lite benchmark``.

    Args:
        kinds: the ``benchmark`` verb's sub-parsers (``add_subparsers`` result).

    Returns:
        The sub-parser.
    """
    sub = kinds.add_parser(
        "pipeline",
        help="time read, preprocess, network, invert and write per case on real files, and CT start-up",
        description="Time monai-lite infer's whole pipeline per case, split by stage, with peak memory, on Kvasir-SEG "
        "pictures, Hippocampus volumes and a CT DICOM series, for MedLiteNet and MONAI's networks in the same "
        "bundle, per engine; plus the CT series to NIfTI in a fresh process. Writes pipeline.json and pipeline.md.",
    )
    sub.add_argument("-o", "--output", required=True, help="[REQUIRED] folder for pipeline.md, pipeline.json, weights and predictions")
    sub.add_argument("--inputs", nargs="+", choices=list(INPUT_KINDS), default=list(INPUT_KINDS),
                     help=f"[OPTIONAL] input kinds. Default: {' '.join(INPUT_KINDS)}")
    sub.add_argument("--data-dir", dest="data_dir", default=None,
                     help="[OPTIONAL] shared data folder (holds kvasir-seg/, hippocampus/, ct-totalseg/). "
                     "Default: $MONAI_LITE_DATA, else ../shared/data")
    sub.add_argument("--cases", type=int, default=None,
                     help="[OPTIONAL] cases per input kind (the CT series is one case, timed N times). "
                     + "Default: " + ", ".join(f"{k} {v.default_cases}" for k, v in INPUT_KINDS.items()))
    sub.add_argument("--threads", type=int, default=2, help="[OPTIONAL] torch CPU threads (and the start-up children's OMP_NUM_THREADS). Default: 2")
    sub.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="NAME",
                     help=f"[OPTIONAL] zoo names; the bundle's own network is used where it is that network. Default: {' '.join(DEFAULT_MODELS)}")
    sub.add_argument("--engines", nargs="+", default=list(DEFAULT_ENGINES), metavar="ENGINE",
                     help=f"[OPTIONAL] inference engines (load_bundle's engine=). Default: {' '.join(DEFAULT_ENGINES)}")
    sub.add_argument("--ckpt", action="append", type=_ckpt_item, default=None, metavar="KIND=PATH",
                     help="[OPTIONAL] trained weights of the bundle's own network for one input kind, repeatable. "
                     "Default: random weights (timing only)")
    sub.add_argument("--warmup", type=int, default=1, help="[OPTIONAL] untimed cases before each run. Default: 1")
    sub.add_argument("--no-overlay", dest="overlay", action="store_false",
                     help="[OPTIONAL] skip the pictures' colour overlays (monai-lite infer writes them by default)")
    sub.add_argument("--startup-runs", dest="startup_runs", type=int, default=3,
                     help="[OPTIONAL] fresh `monai-lite infer` processes on the CT series per engine; 0 skips. Default: 3")
    sub.add_argument("--seed", type=int, default=0, help="[OPTIONAL] seed of the random weights. Default: 0")
    sub.add_argument("--no-progress", action="store_true", help="[OPTIONAL] no progress bars")
    sub.set_defaults(func=_command)
    return sub
