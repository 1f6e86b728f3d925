# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark efficiency``: size, MACs, latency and memory of every zoo model, in one run.

Every model of :mod:`monai_lite.benchmark.zoo` (the monai-lite networks, their ablations and MONAI's reference
networks) is built with random weights and measured with :mod:`monai_lite.benchmark.measure` at a 2D input
(3 channels in, 1 out, 256 x 256 by default) and a 3D input (1 in, 3 out, 96^3), batch 1, all in the same process
and with the same thread count, so the ratios between models are fair:

- parameters, MACs (``FlopCounterMode`` FLOPs / 2) and the size of the saved ``state_dict``;
- PyTorch CPU latency (eval, ``no_grad``; median and p90 over ``repeats`` after ``warmup`` calls) and its ratio
  to BasicUNet's median measured in the same run (BasicUNet is always measured), twice: as built, and after
  :func:`monai_lite.networks.inference_prep.prepare_for_inference` (BatchNorm folded into the convolutions,
  in-place block activations, channels-last convolution weights), which ``monai-lite infer`` applies. Every model,
  MONAI's included, gets the same preparation, with the largest output difference it causes recorded;
- the process's peak resident memory while the model runs (``VmHWM`` reset per model), and the rise above the
  resident memory just before (activations and workspace);
- ONNX Runtime CPU latency with the same thread count, and the largest absolute difference between its output
  and PyTorch's (each model is exported to a temporary folder that is deleted afterwards);
- CUDA latency when a GPU is present (``torch.cuda.synchronize`` around every call).

A step that fails (a model that needs a missing optional package, an export that fails) is recorded with its
reason in the table and the JSON; the other steps and models go on. Results go to ``OUTDIR/efficiency.json`` (every
raw number, including each timed call) and ``OUTDIR/efficiency.md`` (the tables, machine and settings); both are
written atomically.

Defaults: 10 timed calls after 2 warm-up calls in 2D; 3 after 1 in 3D, where the big MONAI networks take seconds
per call on two CPU threads. ``--repeats`` / ``--warmup`` override both dimensions.

``--train`` times training steps instead (images per second in fp32, channels-last and CPU bf16 autocast, ratio to
SegResNet) and writes ``efficiency_train.json`` / ``efficiency_train.md`` beside these files: see
:mod:`monai_lite.benchmark.train_efficiency`.

Example::

    monai-lite benchmark efficiency -o benchmarks/efficiency --dims 2 --threads 2
    monai-lite benchmark efficiency -o /tmp/eff --models basicunet "lacnet*" --size2d 128 --no-onnx
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import gc
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monai_lite.benchmark import measure
from monai_lite.benchmark.zoo import BASELINE, get_model, list_models
from monai_lite.engine.atomic import atomic_write_json, atomic_write_text
from monai_lite.networks.inference_prep import prepare_for_inference

logger = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "DEFAULT_REPEATS",
    "DEFAULT_WARMUP",
    "IO_CHANNELS",
    "add_parser",
    "load_warning",
    "markdown_table",
    "render_markdown",
    "run_efficiency",
    "select_models",
]

#: Timed calls and warm-up calls per spatial dimension when not given.
DEFAULT_REPEATS = {2: 10, 3: 3}
DEFAULT_WARMUP = {2: 2, 3: 1}
#: (in_channels, out_channels) per spatial dimension: RGB binary 2D, single-channel 3-class 3D (hippocampus).
IO_CHANNELS = {2: (3, 1), 3: (1, 3)}


def select_models(patterns: Sequence[str] | None, spatial_dims: int) -> list[str]:
    """Zoo names matching ``patterns`` (names or shell patterns) that are benchmarked in ``spatial_dims``-D,
    in zoo order, with the baseline (BasicUNet) always first.

    Args:
        patterns: names or patterns such as ``"lacnet*"``; None for the whole zoo.
        spatial_dims: 2 or 3.

    Raises:
        ValueError: when a pattern matches no zoo model (the message lists the valid names).

    Example::

        >>> select_models(["lacnet"], 2)
        ['basicunet', 'lacnet']
    """
    names = matching_models(patterns, spatial_dims) if patterns else list_models(spatial_dims=spatial_dims)
    return [BASELINE] + [n for n in names if n != BASELINE]


def matching_models(patterns: Sequence[str], spatial_dims: int) -> list[str]:
    """The zoo models of ``spatial_dims`` matching any of the shell-style ``patterns`` (case-insensitive), zoo order.

    Raises:
        ValueError: when a pattern matches no zoo model (the message lists the valid names).
    """
    every = list_models()
    for pattern in patterns:
        if not fnmatch.filter(every, pattern.lower()):
            get_model(pattern)  # raises the one-sentence "unknown model" error listing valid names
    return [n for n in list_models(spatial_dims=spatial_dims) if any(fnmatch.fnmatch(n, p.lower()) for p in patterns)]


def _reason(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:240]}"


def _measure_one(
    name: str, spatial_dims: int, size: int, repeats: int, warmup: int, threads: int, onnx_dir: Path | None, gpu: bool
) -> dict[str, Any]:
    """Every measurement of one model in one dimension; failures are recorded per step under ``errors``."""
    entry = get_model(name)
    in_channels, out_channels = IO_CHANNELS[spatial_dims]
    shape = (1, in_channels, *([size] * spatial_dims))
    row: dict[str, Any] = {
        "model": name, "family": entry.family, "network": entry.network, "variant": entry.description,
        "spatial_dims": spatial_dims, "input_shape": list(shape), "out_channels": out_channels, "errors": {},
    }
    errors = row["errors"]
    started = time.perf_counter()
    torch.manual_seed(0)
    try:
        net = entry.build(spatial_dims, in_channels, out_channels, shape[2:]).eval()
    except Exception as err:  # noqa: BLE001 - recorded in the table
        errors["build"] = _reason(err)
        return row
    row["params"] = measure.count_parameters(net)
    row["weight_bytes"] = measure.weight_file_bytes(net)
    example = torch.rand(shape, generator=torch.Generator().manual_seed(0))

    gc.collect()
    measure.release_free_memory()
    before = measure.current_rss_bytes()
    row["rss_reset"] = measure.reset_peak_rss()
    reference = None
    try:
        row["latency_cpu"] = measure.measure_latency(net, example, repeats=repeats, warmup=warmup).to_dict()
        peak = measure.peak_rss_bytes()
        row["peak_rss_bytes"] = peak
        row["rss_rise_bytes"] = None if before is None else max(peak - before, 0)
        with torch.no_grad():
            reference = net(example).numpy()  # the output the ONNX Runtime one is compared with
        row["macs"] = measure.count_macs(net, example)
    except Exception as err:  # noqa: BLE001
        errors["forward"] = _reason(err)

    if reference is not None:
        try:
            prepared = prepare_for_inference(copy.deepcopy(net))
            row["inference_prep"] = prepared.inference_prep.to_dict()
            row["latency_cpu_prepared"] = measure.measure_latency(prepared, example, repeats, warmup).to_dict()
            with torch.no_grad():
                row["prepared_max_abs_diff"] = float(np.max(np.abs(prepared(example).numpy() - reference)))
            del prepared
        except Exception as err:  # noqa: BLE001
            errors["prepared"] = _reason(err)

    if gpu and reference is not None:
        try:
            device = torch.device("cuda")
            row["latency_gpu"] = measure.measure_latency(net.to(device), example.to(device), repeats, warmup).to_dict()
        except Exception as err:  # noqa: BLE001
            errors["gpu"] = _reason(err)
        finally:
            net.cpu()
            torch.cuda.empty_cache()

    if onnx_dir is not None and reference is not None:
        path = onnx_dir / f"{name}_{spatial_dims}d.onnx"
        try:
            start = time.perf_counter()
            measure.export_onnx(net, example, path)
            row["onnx_export_s"] = time.perf_counter() - start
            row["onnx_bytes"] = path.stat().st_size
            stats, out = measure.onnxruntime_latency(path, example, threads=threads, repeats=repeats, warmup=warmup)
            row["latency_onnxruntime"] = stats.to_dict()
            row["onnx_max_abs_diff"] = float(np.max(np.abs(out - reference)))
            row["output_max_abs"] = float(np.max(np.abs(reference)))
        except Exception as err:  # noqa: BLE001
            errors["onnx"] = _reason(err)
        finally:
            path.unlink(missing_ok=True)
    row["wall_s"] = time.perf_counter() - started
    del net
    gc.collect()
    return row


def run_efficiency(
    output_dir: str | os.PathLike,
    dims: Sequence[int] = (2, 3),
    threads: int = 2,
    models: Sequence[str] | None = None,
    repeats: int | None = None,
    warmup: int | None = None,
    onnx: bool = True,
    size2d: int = 256,
    size3d: int = 96,
    gpu: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure the zoo models and write ``efficiency.json`` and ``efficiency.md`` into ``output_dir``.

    Args:
        output_dir: folder to write into (created if missing).
        dims: spatial dimensions to benchmark, 2 and/or 3. Defaults to (2, 3).
        threads: ``torch.set_num_threads`` during the run and ONNX Runtime's intra-op threads. Defaults to 2.
        models: zoo names or shell patterns (see :func:`~monai_lite.benchmark.zoo.list_models`); None for all.
            BasicUNet, the latency baseline, is always added.
        repeats: timed calls per model; None for :data:`DEFAULT_REPEATS` (10 in 2D, 3 in 3D).
        warmup: untimed calls before them; None for :data:`DEFAULT_WARMUP` (2 in 2D, 1 in 3D).
        onnx: also export to ONNX and time ONNX Runtime. Defaults to True.
        size2d: side of the square 2D input. Defaults to 256.
        size3d: side of the cubic 3D input. Defaults to 96.
        gpu: also time on CUDA when available. Defaults to True.
        progress: show a tqdm bar over the models. Defaults to True.

    Returns:
        The report written to ``efficiency.json``: ``{"machine", "settings", "results", "duration_s"}``.

    Raises:
        ValueError: for a dimension other than 2/3, threads < 1, repeats < 1, warmup < 0, a size < 8, an unknown
            model name, or an ``output_dir`` that is an existing file.

    Example::

        >>> report = run_efficiency("/tmp/eff", dims=[2], models=["lacnet"], size2d=64, repeats=2, onnx=False)
        >>> [r["model"] for r in report["results"]]
        ['basicunet', 'lacnet']
    """
    dims = sorted({int(d) for d in dims})
    if not dims or any(d not in (2, 3) for d in dims):
        raise ValueError(f"--dims must be 2 and/or 3, got {list(dims)}.")
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}.")
    if repeats is not None and repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {repeats}.")
    if warmup is not None and warmup < 0:
        raise ValueError(f"--warmup must be 0 or more, got {warmup}.")
    sizes = {2: int(size2d), 3: int(size3d)}
    if min(sizes[d] for d in dims) < 8:
        raise ValueError(f"input sizes must be at least 8, got --size2d {size2d} --size3d {size3d}.")
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} is an existing file.")
    if onnx:
        try:
            import onnx as _onnx  # noqa: F401
            import onnxruntime as _ort  # noqa: F401
        except ImportError as err:
            raise ValueError(
                f"ONNX benchmarking needs onnx and onnxruntime (pip install 'monai-lite[export]') or --no-onnx: {err}."
            ) from err
    jobs = [(d, name) for d in dims for name in select_models(models, d)]
    use_gpu = bool(gpu and torch.cuda.is_available())
    settings = {
        "dims": dims,
        "threads": threads,
        "input_size": {f"{d}d": sizes[d] for d in dims},
        "io_channels": {f"{d}d": list(IO_CHANNELS[d]) for d in dims},
        "repeats": {f"{d}d": repeats or DEFAULT_REPEATS[d] for d in dims},
        "warmup": {f"{d}d": DEFAULT_WARMUP[d] if warmup is None else warmup for d in dims},
        "batch_size": 1,
        "onnx": onnx,
        "gpu": use_gpu,
        "baseline": BASELINE,
        "macs": "torch.utils.flop_counter.FlopCounterMode total FLOPs / 2 (convolutions, matrix products, attention)",
        "weights": "bytes of torch.save(model.state_dict())",
        "peak_rss": "VmHWM of /proc/self/status, reset per model via /proc/self/clear_refs, over the model's timed "
        "PyTorch calls; rise = that peak minus VmRSS just before them (after gc and malloc_trim). Memory the "
        "allocator kept from earlier models can be reused, so the rise is a lower bound of the model's working memory",
    }

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()
    machine = measure.machine_info()
    busy = load_warning(machine.get("load_average"), threads)
    if busy:
        logger.warning("monai-lite benchmark efficiency: %s", busy)
    results = []
    try:
        from tqdm.auto import tqdm

        with tempfile.TemporaryDirectory(prefix="monai-lite-onnx-") as tmp:
            bar = tqdm(jobs, desc="efficiency", unit="model", disable=not progress)
            for d, name in bar:
                bar.set_postfix_str(f"{name} {d}D")
                results.append(
                    _measure_one(
                        name, d, sizes[d], settings["repeats"][f"{d}d"], settings["warmup"][f"{d}d"], threads,
                        Path(tmp) if onnx else None, use_gpu,
                    )
                )
    finally:
        torch.set_num_threads(previous_threads)

    for d in dims:
        base = next((r for r in results if r["spatial_dims"] == d and r["model"] == BASELINE), None)
        for key, ratio_key in (("latency_cpu", "latency_ratio_to_baseline"),
                               ("latency_cpu_prepared", "prepared_ratio_to_baseline")):
            base_ms = (base or {}).get(key, {}).get("median_ms")
            for r in results:
                if r["spatial_dims"] == d and key in r and base_ms:
                    r[ratio_key] = r[key]["median_ms"] / base_ms
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    busy = busy or load_warning(machine["load_average_end"], threads)
    machine["load_warning"] = busy
    report = {"machine": machine, "settings": settings, "results": results, "duration_s": time.perf_counter() - started}

    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output_dir / "efficiency.json", report)
    atomic_write_text(output_dir / "efficiency.md", render_markdown(report))
    return report


def load_warning(load_average: Sequence[float] | None, threads: int) -> str | None:
    """A warning when the machine is busier than the benchmark's thread count, else None.

    A 1-minute load average above ``threads`` means other processes compete for the cores the timed calls use,
    so latencies come out inflated and noisy (MedLiteNet measured 4.8 s at 2 threads on a loaded 2-core machine).

    Args:
        load_average: ``os.getloadavg()`` (1, 5, 15 min), or None where the platform has none.
        threads: the benchmark's ``--threads``.
    """
    if not load_average or load_average[0] <= threads:
        return None
    hint = " or with --threads 1" if threads > 1 else ""
    return (f"the 1-minute load average is {load_average[0]:.1f}, above the {threads} benchmark thread(s): other "
            f"processes share the cores and the latencies will be inflated. Rerun on an idle machine{hint}.")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _sci(value: float | None) -> str:
    return "" if value is None else f"{value:.1e}"


def _lat(row: dict, key: str, stat: str) -> float | None:
    return (row.get(key) or {}).get(stat)


def markdown_table(columns: dict[str, Any], names: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    """A Markdown table as lines: header, separator, one line per row.

    Args:
        columns: header -> function of a result row giving the cell text (as :data:`COLUMNS`).
        names: the headers to show, in order.
        rows: the result rows.

    Example::

        >>> markdown_table({"model": lambda r: r["model"]}, ["model"], [{"model": "a"}])
        ['| model |', '|---|', '| a |']
    """
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    return lines + ["| " + " | ".join(columns[c](r) for c in names) + " |" for r in rows]


#: Markdown columns: header -> function of a result row giving the cell text.
COLUMNS = {
    "model": lambda r: f"`{r['model']}`",
    "family": lambda r: r["family"],
    "variant": lambda r: r["variant"],
    "params (M)": lambda r: _fmt(r.get("params") and r["params"] / 1e6, 2),
    "GMACs": lambda r: _fmt(r.get("macs") and r["macs"] / 1e9, 2),
    "weights (MiB)": lambda r: _fmt(measure.mib(r.get("weight_bytes")), 2),
    "CPU median (ms)": lambda r: _fmt(_lat(r, "latency_cpu", "median_ms")),
    "CPU p90 (ms)": lambda r: _fmt(_lat(r, "latency_cpu", "p90_ms")),
    "x BasicUNet": lambda r: _fmt(r.get("latency_ratio_to_baseline"), 2),
    "prepared median (ms)": lambda r: _fmt(_lat(r, "latency_cpu_prepared", "median_ms")),
    "prepared p90 (ms)": lambda r: _fmt(_lat(r, "latency_cpu_prepared", "p90_ms")),
    "prepared x BasicUNet": lambda r: _fmt(r.get("prepared_ratio_to_baseline"), 2),
    "prepared max abs diff": lambda r: _sci(r.get("prepared_max_abs_diff")),
    "peak RSS (MiB)": lambda r: _fmt(measure.mib(r.get("peak_rss_bytes")), 0),
    "RSS rise (MiB)": lambda r: _fmt(measure.mib(r.get("rss_rise_bytes")), 0),
    "ORT median (ms)": lambda r: _fmt(_lat(r, "latency_onnxruntime", "median_ms")),
    "ORT p90 (ms)": lambda r: _fmt(_lat(r, "latency_onnxruntime", "p90_ms")),
    "ORT max abs diff": lambda r: _sci(r.get("onnx_max_abs_diff")),
    "GPU median (ms)": lambda r: _fmt(_lat(r, "latency_gpu", "median_ms"), 2),
    "notes": lambda r: "; ".join(f"{step} failed: {why}".replace("|", "/") for step, why in r["errors"].items()),
}


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown report: machine and settings, then one table per spatial dimension.

    Args:
        report: the dict :func:`run_efficiency` returns (or ``efficiency.json`` loaded).

    Example::

        >>> text = render_markdown(json.loads(Path("/tmp/eff/efficiency.json").read_text()))
    """
    m, s = report["machine"], report["settings"]
    columns = [c for c in COLUMNS if c != "GPU median (ms)" or s.get("gpu")]
    if not s.get("onnx"):
        columns = [c for c in columns if not c.startswith("ORT")]
    lines = [
        "# monai-lite efficiency benchmark",
        "",
        "Written by `monai-lite benchmark efficiency`; every number below comes from `efficiency.json` beside it.",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpu_count']} logical cores visible; {m['platform']}",
        f"- load average (1/5/15 min) at start {m.get('load_average')}, at end {m.get('load_average_end')}"
        " (other processes share the machine when these exceed the thread count)",
        *([f"- **warning**: {m['load_warning']}"] if m.get("load_warning") else []),
        f"- python {m['python']}, torch {m['torch']}, monai {m['monai']}, onnxruntime {m.get('onnxruntime')}, "
        f"onnx {m.get('onnx')}; CUDA: {m.get('cuda_device') or 'none'}",
        f"- threads: torch.set_num_threads({s['threads']}) (inter-op {m['torch_num_interop_threads']}); "
        f"ONNX Runtime intra-op {s['threads']}, inter-op 1; OpenMP environment {m.get('omp_env')}",
        f"- batch {s['batch_size']}; eval mode, torch.no_grad; random weights, input uniform in [0, 1)",
        f"- latency: median and p90 over the timed calls after warm-up; repeats {s['repeats']}, warm-up {s['warmup']}; "
        f"`x {s['baseline']}` = CPU median / {s['baseline']}'s CPU median in this run",
        f"- MACs: {s['macs']}",
        f"- weights: {s['weights']}",
        f"- peak RSS: {s['peak_rss']}; the peak includes the resident Python, torch and MONAI baseline",
        "- prepared: the same model after `monai_lite.networks.inference_prep.prepare_for_inference` (BatchNorm "
        "folded into the preceding convolution, in-place activations inside MONAI Convolution blocks, "
        "channels-last convolution weights), as `monai-lite infer` runs it; max abs diff = largest |prepared "
        "output - as-built output|; `prepared x BasicUNet` divides by BasicUNet's prepared median",
        "- ORT max abs diff: largest |ONNX Runtime output - PyTorch output| on the same input",
        f"- total time {report['duration_s']:.0f} s",
    ]
    for d in s["dims"]:
        rows = [r for r in report["results"] if r["spatial_dims"] == d]
        cin, cout = s["io_channels"][f"{d}d"]
        side = s["input_size"][f"{d}d"]
        lines += ["", f"## {d}D, input {' x '.join([str(side)] * d)}, {cin} channel(s) in, {cout} out", ""]
        lines += markdown_table(COLUMNS, columns, rows)
    return "\n".join(lines) + "\n"


def _cmd_efficiency(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if args.train:
        from monai_lite.benchmark.train_efficiency import run_train_efficiency

        run_train_efficiency(
            args.output, dims=args.dims, threads=args.threads, models=args.models, repeats=args.repeats,
            warmup=args.warmup, size2d=args.size2d, size3d=args.size3d or 64, batch2d=args.batch2d,
            batch3d=args.batch3d,
            configs=args.train_configs, progress=not args.no_progress,
        )
        print(f"wrote {out / 'efficiency_train.md'} and {out / 'efficiency_train.json'}")
        return 0
    run_efficiency(
        args.output,
        dims=args.dims,
        threads=args.threads,
        models=args.models,
        repeats=args.repeats,
        warmup=args.warmup,
        onnx=not args.no_onnx,
        size2d=args.size2d,
        size3d=args.size3d or 96,
        gpu=not args.no_gpu,
        progress=not args.no_progress,
    )
    print(f"wrote {out / 'efficiency.md'} and {out / 'efficiency.json'}")
    return 0


def add_parser(kinds) -> argparse.ArgumentParser:
    """Add the ``efficiency`` sub-verb to ``monai-lite benchmark``.

    Args:
        kinds: the ``add_subparsers`` object of the ``benchmark`` verb.

    Returns:
        The sub-verb's parser.
    """
    sub = kinds.add_parser(
        "efficiency", help="parameters, MACs, weight size, CPU/ONNX Runtime/GPU latency and peak memory of every model"
    )
    sub.add_argument("-o", "--output", required=True, help="[REQUIRED] folder for efficiency.md and efficiency.json")
    sub.add_argument(
        "--dims", type=int, nargs="+", default=[2, 3], choices=[2, 3], help="[OPTIONAL] spatial dimensions. Default: 2 3"
    )
    sub.add_argument("--threads", type=int, default=2, help="[OPTIONAL] torch and ONNX Runtime CPU threads. Default: 2")
    sub.add_argument("--repeats", type=int, default=None, help="[OPTIONAL] timed calls. Default: 10 in 2D, 3 in 3D")
    sub.add_argument("--warmup", type=int, default=None, help="[OPTIONAL] untimed calls. Default: 2 in 2D, 1 in 3D")
    sub.add_argument("--models", nargs="+", default=None, metavar="NAME",
                     help=f"[OPTIONAL] zoo names or patterns, e.g. 'lacnet*'; {BASELINE} is always added. "
                     f"Default: all ({', '.join(list_models())})")
    sub.add_argument("--no-onnx", action="store_true", help="[OPTIONAL] skip the ONNX export and ONNX Runtime latency")
    sub.add_argument("--no-gpu", action="store_true", help="[OPTIONAL] skip CUDA latency even when a GPU is present")
    sub.add_argument("--no-progress", action="store_true", help="[OPTIONAL] no progress bar")
    sub.add_argument("--size2d", type=int, default=256, help="[OPTIONAL] side of the square 2D input. Default: 256")
    sub.add_argument("--size3d", type=int, default=None,
                     help="[OPTIONAL] side of the cubic 3D input. Default: 96; with --train 64")
    train = sub.add_argument_group("training throughput (--train; see monai_lite.benchmark.train_efficiency)")
    train.add_argument("--train", action="store_true",
                       help="[OPTIONAL] time training steps (images/s in fp32, channels-last, bf16 autocast) instead "
                       "of inference; writes efficiency_train.md/.json. --models default: the monai-lite networks, "
                       "segresnet (the baseline), unet, basicunet; --repeats default 5 in 2D, 3 in 3D; --warmup 1")
    train.add_argument("--batch2d", type=int, default=None, help="[OPTIONAL] 2D training batch. Default: 8")
    train.add_argument("--batch3d", type=int, default=None, help="[OPTIONAL] 3D training batch. Default: 2")
    train.add_argument("--train-configs", nargs="+", default=None, metavar="CONFIG",
                       choices=["fp32", "channels-last", "bf16", "bf16+channels-last"],
                       help="[OPTIONAL] configurations to time. Default: fp32 channels-last, plus bf16 and "
                       "bf16+channels-last when the CPU has AVX512-BF16 or AMX-BF16")
    sub.set_defaults(func=_cmd_efficiency)
    return sub
