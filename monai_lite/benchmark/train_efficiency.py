# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark efficiency --train``: training images per second of each network, in fp32, channels-last
and CPU bf16 autocast, all in one run.

A training step is what a bundle's ``SupervisedTrainer`` does per mini-batch: ``zero_grad``, the forward pass
through :class:`~monai_lite.engine.PrecisionInferer` (the bundles' training inferer, so the benchmark times exactly
the precision and memory-format code of training), the bundles' :class:`~monai_lite.engine.WeightedDiceCELoss` in
fp32, ``backward`` and an ``AdamW`` step. Each model is timed in up to four configurations:

- ``fp32``: contiguous tensors, fp32 (the baseline);
- ``channels-last``: weights and batch in ``torch.channels_last`` (2D) / ``channels_last_3d`` (3D);
- ``bf16`` and ``bf16+channels-last``: CPU bf16 autocast, measured by default only where the CPU computes bf16
  natively (:mod:`monai_lite.engine.cpu`; elsewhere bf16 is emulated and slower, name the configurations with
  ``--train-configs`` to time them anyway).

Every configuration of every model starts from the same random weights (seed 0) and the same batch (uniform
images, random labels: a binary mask in 2D, three classes in 3D), so the first-step losses of the configurations
can be compared as a sanity check of bf16. Steps are **interleaved round-robin** over all models and
configurations of a dimension (warm-up rounds first, then the timed rounds), so a change in machine load during the
run affects them all alike and the ratios stay fair on a shared machine. Reported per model and configuration:
median step time and images per second (batch / median), the ratio to the model's own fp32, and the ratio to
SegResNet (the training baseline, always measured) in the same configuration and best against best.

Defaults: 2D 256 x 256, batch 8 (3 channels in, 1 out; the 2D bundles' batch size, the inference table's size);
3D 64^3, batch 2 (1 in, 3 out). 3D is smaller than the inference table's 96^3 on purpose: the 3D bundles train on
32 x 48 x 32 patches, batch 4 (196k voxels a batch; 64^3 x 2 is 524k, 96^3 x 2 would be 1.8M), and one fp32
training step of BasicUNet at 96^3 x 2 took 20 s and 4.4 GiB peak memory on one thread (64^3 x 2: 6 s, 1.7 GiB);
MSAUNet and LACNet are heavier still, and every configuration of every model takes the warm-up and timed steps.
5 timed steps after 1 warm-up step in 2D, 3 after 1 in 3D. Models: the four monai-lite networks at their defaults
and MONAI's SegResNet, UNet and BasicUNet; ``--models`` picks others (ablations) from the zoo. CPU only.

Results go to ``OUTDIR/efficiency_train.json`` (every step time) and ``OUTDIR/efficiency_train.md``, beside (not
replacing) the inference report's ``efficiency.json`` / ``efficiency.md``.

Example::

    monai-lite benchmark efficiency --train -o bench/train-2d --dims 2 --threads 2
    monai-lite benchmark efficiency --train -o /tmp/t --models medlitenet --size2d 128 --train-configs fp32 bf16
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from monai_lite.benchmark import measure
from monai_lite.benchmark.efficiency import IO_CHANNELS, load_warning, markdown_table, matching_models
from monai_lite.benchmark.zoo import get_model, list_models
from monai_lite.engine.atomic import atomic_write_json, atomic_write_text
from monai_lite.engine.cpu import cpu_features
from monai_lite.engine.losses import WeightedDiceCELoss
from monai_lite.engine.precision import PrecisionInferer, TrainingPrecision

logger = logging.getLogger(__name__)

__all__ = [
    "CONFIGS",
    "DEFAULT_BATCH",
    "DEFAULT_TRAIN_MODELS",
    "TRAIN_BASELINE",
    "default_configs",
    "render_train_markdown",
    "run_train_efficiency",
    "select_train_models",
]

#: Configuration name -> (bf16 autocast, channels-last).
CONFIGS: dict[str, tuple[bool, bool]] = {
    "fp32": (False, False),
    "channels-last": (False, True),
    "bf16": (True, False),
    "bf16+channels-last": (True, True),
}
#: The model every training throughput is compared with (measured in the same run).
TRAIN_BASELINE = "segresnet"
#: Models timed when none are named: the monai-lite networks at their defaults, then MONAI's references.
DEFAULT_TRAIN_MODELS = ("medlitenet", "lightawnet", "lacnet", "msaunet", "segresnet", "unet", "basicunet")
#: Batch size, timed steps and warm-up steps per spatial dimension when not given.
DEFAULT_BATCH = {2: 8, 3: 2}
DEFAULT_TRAIN_REPEATS = {2: 5, 3: 3}
DEFAULT_TRAIN_WARMUP = {2: 1, 3: 1}
#: Optimiser settings of the bundles (train.json): AdamW, learning rate 1e-3, weight decay 1e-4.
OPTIMISER = {"lr": 1e-3, "weight_decay": 1e-4}


def default_configs(native_bf16: bool) -> list[str]:
    """The configurations timed when none are named: bf16 ones only where the CPU computes bf16 natively.

    Example::

        >>> default_configs(False)
        ['fp32', 'channels-last']
    """
    return [name for name, (bf16, _) in CONFIGS.items() if native_bf16 or not bf16]


def select_train_models(patterns: Sequence[str] | None, spatial_dims: int) -> list[str]:
    """Zoo names to time in ``spatial_dims``-D: :data:`DEFAULT_TRAIN_MODELS` when ``patterns`` is empty, else every
    zoo model matching a pattern, in zoo order; SegResNet (the baseline) always first.

    Raises:
        ValueError: when a pattern matches no zoo model (the message lists the valid names).

    Example::

        >>> select_train_models(["medlitenet"], 2)
        ['segresnet', 'medlitenet']
    """
    if patterns:
        names = matching_models(patterns, spatial_dims)
    else:
        available = list_models(spatial_dims=spatial_dims)
        names = [n for n in DEFAULT_TRAIN_MODELS if n in available]
    return [TRAIN_BASELINE] + [n for n in names if n != TRAIN_BASELINE]


def _reason(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {(lines[0] if lines else '')[:240]}"


@dataclass
class _Run:
    """One model in one configuration: its own copy of the weights, optimiser, and the shared batch."""

    model: str
    config: str
    network: torch.nn.Module
    optimizer: torch.optim.Optimizer
    inferer: PrecisionInferer
    loss: WeightedDiceCELoss
    image: torch.Tensor
    label: torch.Tensor

    def step(self) -> tuple[float, float]:
        """One training step; returns (seconds, loss value)."""
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.inferer(self.image, self.network), self.label)
        loss.backward()
        self.optimizer.step()
        seconds = time.perf_counter() - start
        return seconds, float(loss.detach())


def _batch(spatial_dims: int, size: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed training batch: uniform images and random labels (binary in 2D, 3 classes in 3D)."""
    in_channels, out_channels = IO_CHANNELS[spatial_dims]
    spatial = [size] * spatial_dims
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(batch, in_channels, *spatial, generator=generator)
    classes = 2 if out_channels == 1 else out_channels
    label = torch.randint(0, classes, (batch, 1, *spatial), generator=generator).float()
    return image, label


def _build_runs(
    name: str, spatial_dims: int, size: int, image: torch.Tensor, label: torch.Tensor, configs: Sequence[str],
    row: dict[str, Any],
) -> list[_Run]:
    """The model's runs, one per configuration, from one set of random weights; a failed build is recorded."""
    in_channels, out_channels = IO_CHANNELS[spatial_dims]
    torch.manual_seed(0)
    try:
        base = get_model(name).build(spatial_dims, in_channels, out_channels, [size] * spatial_dims).train()
    except Exception as err:  # noqa: BLE001 - recorded in the table
        row["errors"]["build"] = _reason(err)
        return []
    row["params"] = measure.count_parameters(base)
    runs = []
    for config in configs:
        bf16, channels_last = CONFIGS[config]
        precision = TrainingPrecision("cpu", bf16, channels_last, f"benchmark configuration {config}",
                                      f"benchmark configuration {config}")
        network = precision.prepare_network(copy.deepcopy(base))
        optimizer = torch.optim.AdamW(network.parameters(), **OPTIMISER)
        runs.append(_Run(name, config, network, optimizer, PrecisionInferer(precision), WeightedDiceCELoss(),
                         precision.prepare_inputs(image), label))
    return runs


def _time_dimension(
    names: Sequence[str], spatial_dims: int, size: int, batch: int, configs: Sequence[str], repeats: int,
    warmup: int, progress: bool,
) -> list[dict[str, Any]]:
    """Time every model and configuration of one dimension, steps interleaved round-robin."""
    from tqdm.auto import tqdm

    in_channels, out_channels = IO_CHANNELS[spatial_dims]
    image, label = _batch(spatial_dims, size, batch)
    rows, runs = {}, []
    for name in names:
        entry = get_model(name)
        rows[name] = {
            "model": name, "family": entry.family, "network": entry.network, "variant": entry.description,
            "spatial_dims": spatial_dims, "input_shape": list(image.shape), "out_channels": out_channels,
            "configs": {}, "errors": {},
        }
        runs += _build_runs(name, spatial_dims, size, image, label, configs, rows[name])
    samples: dict[tuple[str, str], list[float]] = {(r.model, r.config): [] for r in runs}
    first_loss: dict[tuple[str, str], float] = {}
    total = (warmup + repeats) * len(runs)
    with tqdm(total=total, desc=f"train {spatial_dims}D", unit="step", disable=not progress) as bar:
        for round_index in range(warmup + repeats):
            for run in list(runs):
                key = (run.model, run.config)
                bar.set_postfix_str(f"{run.model} {run.config}")
                try:
                    seconds, loss = run.step()
                except Exception as err:  # noqa: BLE001 - one failing configuration must not end the run
                    rows[run.model]["errors"][run.config] = _reason(err)
                    runs.remove(run)
                    bar.update(warmup + repeats - round_index)
                    continue
                first_loss.setdefault(key, loss)
                if round_index >= warmup:
                    samples[key].append(seconds)
                bar.update(1)
    for (name, config), times in samples.items():
        if not times:
            continue
        median = statistics.median(times)
        rows[name]["configs"][config] = {
            "median_s": median, "images_per_s": batch / median, "min_s": min(times), "samples_s": times,
            "first_loss": first_loss.get((name, config)),
        }
    del runs
    gc.collect()
    return list(rows.values())


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    """Ratios within each row (to its fp32) and to the baseline (same configuration; best against best)."""
    base = next((r for r in rows if r["model"] == TRAIN_BASELINE), None)
    base_configs = (base or {}).get("configs", {})
    base_best = max((c["images_per_s"] for c in base_configs.values()), default=None)
    for row in rows:
        configs = row["configs"]
        fp32 = configs.get("fp32", {}).get("images_per_s")
        for name, result in configs.items():
            result["x_fp32"] = result["images_per_s"] / fp32 if fp32 else None
            other = base_configs.get(name, {}).get("images_per_s")
            result["x_baseline"] = result["images_per_s"] / other if other else None
        if configs:
            best = max(configs, key=lambda c: configs[c]["images_per_s"])
            row["best_config"] = best
            row["best_x_baseline_best"] = configs[best]["images_per_s"] / base_best if base_best else None


def run_train_efficiency(
    output_dir: str | os.PathLike,
    dims: Sequence[int] = (2, 3),
    threads: int = 2,
    models: Sequence[str] | None = None,
    repeats: int | None = None,
    warmup: int | None = None,
    size2d: int = 256,
    size3d: int = 64,
    batch2d: int | None = None,
    batch3d: int | None = None,
    configs: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Time training steps of the models and write ``efficiency_train.json`` and ``efficiency_train.md``.

    Args:
        output_dir: folder to write into (created if missing).
        dims: spatial dimensions, 2 and/or 3. Defaults to (2, 3).
        threads: ``torch.set_num_threads`` during the run. Defaults to 2.
        models: zoo names or shell patterns; None for :data:`DEFAULT_TRAIN_MODELS`. SegResNet is always added.
        repeats: timed steps per model and configuration; None for 5 in 2D, 3 in 3D.
        warmup: untimed steps before them; None for 1.
        size2d: side of the square 2D input. Defaults to 256.
        size3d: side of the cubic 3D input. Defaults to 64.
        batch2d: 2D batch size; None for 8.
        batch3d: 3D batch size; None for 2.
        configs: names from :data:`CONFIGS`; None for :func:`default_configs` of this CPU.
        progress: show a tqdm bar over the steps. Defaults to True.

    Returns:
        The report written to ``efficiency_train.json``: ``{"machine", "cpu_features", "settings", "results",
        "duration_s"}``.

    Raises:
        ValueError: for a dimension other than 2/3, threads/repeats/batch < 1, warmup < 0, a size < 8, an unknown
            model or configuration, or an ``output_dir`` that is an existing file.

    Example::

        >>> report = run_train_efficiency("/tmp/t", dims=[2], models=["lacnet"], size2d=32, repeats=2)
        >>> [r["model"] for r in report["results"]]
        ['segresnet', 'lacnet']
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
    batches = {2: DEFAULT_BATCH[2] if batch2d is None else int(batch2d),
               3: DEFAULT_BATCH[3] if batch3d is None else int(batch3d)}
    if min(batches[d] for d in dims) < 1:
        raise ValueError(f"batch sizes must be at least 1, got --batch2d {batch2d} --batch3d {batch3d}.")
    features = cpu_features()
    chosen = list(configs) if configs else default_configs(features.native_bf16)
    unknown = [c for c in chosen if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown training configuration(s) {unknown}; valid: {', '.join(CONFIGS)}.")
    chosen = [c for c in CONFIGS if c in chosen]  # table order, no duplicates
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} is an existing file.")
    names = {d: select_train_models(models, d) for d in dims}
    settings = {
        "dims": dims,
        "threads": threads,
        "input_size": {f"{d}d": sizes[d] for d in dims},
        "batch_size": {f"{d}d": batches[d] for d in dims},
        "io_channels": {f"{d}d": list(IO_CHANNELS[d]) for d in dims},
        "repeats": {f"{d}d": repeats or DEFAULT_TRAIN_REPEATS[d] for d in dims},
        "warmup": {f"{d}d": DEFAULT_TRAIN_WARMUP[d] if warmup is None else warmup for d in dims},
        "configs": chosen,
        "baseline": TRAIN_BASELINE,
        "step": "zero_grad(set_to_none) + PrecisionInferer forward + WeightedDiceCELoss (fp32) + backward + "
        f"AdamW step (lr {OPTIMISER['lr']}, weight decay {OPTIMISER['weight_decay']}); train mode",
        "order": "steps interleaved round-robin over every model and configuration of a dimension; warm-up rounds "
        "first",
    }

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()
    machine = measure.machine_info()
    busy = load_warning(machine.get("load_average"), threads)
    if busy:
        logger.warning("monai-lite benchmark efficiency --train: %s", busy)
    results = []
    try:
        for d in dims:
            rows = _time_dimension(names[d], d, sizes[d], batches[d], chosen, settings["repeats"][f"{d}d"],
                                   settings["warmup"][f"{d}d"], progress)
            _add_ratios(rows)
            results += rows
    finally:
        torch.set_num_threads(previous_threads)
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    machine["load_warning"] = busy or load_warning(machine["load_average_end"], threads)
    report = {"machine": machine, "cpu_features": features.to_dict(), "settings": settings, "results": results,
              "duration_s": time.perf_counter() - started}
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output_dir / "efficiency_train.json", report)
    atomic_write_text(output_dir / "efficiency_train.md", render_train_markdown(report))
    return report


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _columns(configs: Sequence[str]) -> dict[str, Any]:
    """Markdown columns for the measured configurations: header -> function of a result row."""
    def cell(config: str, key: str):
        return lambda r: _fmt((r["configs"].get(config) or {}).get(key))

    columns: dict[str, Any] = {
        "model": lambda r: f"`{r['model']}`",
        "family": lambda r: r["family"],
        "params (M)": lambda r: _fmt(r.get("params") and r["params"] / 1e6),
    }
    for config in configs:
        columns[f"{config} img/s"] = cell(config, "images_per_s")
    for config in configs:
        if config != "fp32":
            columns[f"{config} x fp32"] = cell(config, "x_fp32")
    if "fp32" in configs:
        columns[f"fp32 x {TRAIN_BASELINE}"] = cell("fp32", "x_baseline")
    columns["best"] = lambda r: r.get("best_config", "")
    columns[f"best x {TRAIN_BASELINE} best"] = lambda r: _fmt(r.get("best_x_baseline_best"))
    columns["first loss fp32 / bf16"] = lambda r: " / ".join(
        _fmt((r["configs"].get(c) or {}).get("first_loss"), 4) for c in ("fp32", "bf16") if c in r["configs"])
    columns["notes"] = lambda r: "; ".join(f"{step} failed: {why}".replace("|", "/") for step, why in r["errors"].items())
    return columns


def render_train_markdown(report: dict[str, Any]) -> str:
    """The Markdown report of :func:`run_train_efficiency`: machine, CPU features, settings, one table per dimension.

    Args:
        report: the dict :func:`run_train_efficiency` returns (or ``efficiency_train.json`` loaded).
    """
    m, s, f = report["machine"], report["settings"], report["cpu_features"]
    lines = [
        "# monai-lite training efficiency benchmark",
        "",
        "Written by `monai-lite benchmark efficiency --train`; every number below comes from `efficiency_train.json` "
        "beside it.",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpu_count']} logical cores visible; {m['platform']}",
        f"- native bf16: {f['native_bf16']} ({f['reason']}; detected by {f['source']})",
        f"- load average (1/5/15 min) at start {m.get('load_average')}, at end {m.get('load_average_end')}"
        " (other processes share the machine when these exceed the thread count)",
        *([f"- **warning**: {m['load_warning']}"] if m.get("load_warning") else []),
        f"- python {m['python']}, torch {m['torch']}, monai {m['monai']}",
        f"- threads: torch.set_num_threads({s['threads']}) (inter-op {m['torch_num_interop_threads']}); "
        f"OpenMP environment {m.get('omp_env')}",
        f"- step: {s['step']}",
        f"- {s['order']}; timed steps {s['repeats']} after warm-up {s['warmup']}; img/s = batch / median step time",
        f"- configurations: {', '.join(s['configs'])}; `x fp32` = img/s / the model's fp32 img/s; "
        f"`fp32 x {s['baseline']}` = fp32 img/s / {s['baseline']}'s fp32 img/s (every configuration's ratio is in "
        f"the JSON, `x_baseline`); `best x {s['baseline']} best` = the model's fastest configuration / "
        f"{s['baseline']}'s fastest",
        "- first loss: the loss of each configuration's first step (same weights, same batch): bf16 autocast should "
        "change it only in the 3rd or 4th digit",
        f"- total time {report['duration_s']:.0f} s",
    ]
    columns = _columns(s["configs"])
    for d in s["dims"]:
        rows = [r for r in report["results"] if r["spatial_dims"] == d]
        cin, cout = s["io_channels"][f"{d}d"]
        side = s["input_size"][f"{d}d"]
        lines += ["", f"## {d}D, input {' x '.join([str(side)] * d)}, batch {s['batch_size'][f'{d}d']}, {cin} "
                  f"channel(s) in, {cout} out", ""]
        lines += markdown_table(columns, list(columns), rows)
    return "\n".join(lines) + "\n"
