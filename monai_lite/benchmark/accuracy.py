# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark accuracy``: train several networks under one budget and compare held-out accuracy.

Every model of the comparison is trained by the same bundle machinery (a bundle's ``train.json`` run through MONAI's
``ConfigWorkflow``, with ``network_def`` replaced by the model from :mod:`monai_lite.benchmark.zoo` and
``bundle_root`` moved to the unit's own folder under the output folder), on the same data (datalist, dataset folder
and fold; the bundle's embedded synthetic data when no datalist is given), with the same preprocessing (preset and
image size), seeds and recipe, for the same budget and/or number of epochs.

The base bundle (``bundle``, ``--bundle``) decides the dimension and the data: ``medlitenet`` (default) is 2D,
3-channel input, one foreground class (the synthetic lesions, Kvasir-SEG, PH2); ``medlitenet_hippocampus`` is 3D,
one channel, three classes (the synthetic volumes, MSD Hippocampus), trained on random patches of ``image_size``
and validated by sliding window. Every network, MONAI's included, is built with the base bundle's dimension and
channels (:meth:`~monai_lite.benchmark.zoo.ZooModel.network_def`).

The unit of work is one model trained with one seed (:mod:`monai_lite.benchmark.accuracy_units`). ``--seeds N``
trains every model with seeds ``seed .. seed + N - 1``; a model written ``name:N`` in ``--models`` gets its own N
(``--models medlitenet:3,segresnet:3,lacnet`` trains MedLiteNet and SegResNet with three seeds, LACNet with one).
Each unit is then

1. evaluated on the fold's validation cases with its best checkpoint (``models/model.pt``, the epoch of highest
   validation Dice): predictions are mapped back to each mask's own grid with MONAI's ``Invertd`` and scored with
   :mod:`monai_lite.evaluation` (Dice, IoU, HD95 and its empty-mask policy), against the mask files themselves;
2. measured on the CPU, once per model (cost does not depend on the seed): parameters, MACs and latency at batch 1
   and the training image size, with the thread count recorded (:mod:`monai_lite.benchmark.measure`); latency after
   :func:`~monai_lite.networks.inference_prep.prepare_for_inference`, as ``monai-lite infer`` runs a model.

A model's held-out numbers are the mean over its seeds of each seed's mean over cases, ± the sample standard
deviation over seeds, n seeds (:func:`~monai_lite.benchmark.accuracy_units.aggregate_model`); every seed's raw
record stays in ``accuracy.json`` under ``units``.

Budgets (per unit; the same stop rule for every model, :mod:`monai_lite.engine.budget`):

- ``budget_cpu_minutes`` (``--budget-cpu-minutes``): CPU time of the training process tree (its threads and its
  DataLoader workers), :class:`~monai_lite.engine.budget.CpuTimeBudget`. Other programs on the machine do not
  count, so runs on a shared machine, or on machines with other core counts, get the same amount of computation;
  the clock's method and definition are recorded in ``accuracy.json`` (``settings.budget``) and the report;
- ``budget_minutes`` (``--budget-minutes``): wall-clock minutes, :class:`~monai_lite.engine.budget.WallClockBudget`;
  fair only on an otherwise idle machine;
- ``epochs``: alone, or with a budget (whichever ends first).

Every unit records both its wall-clock and its CPU training time, whichever budget stopped it. Training uses
``train_threads`` torch threads (``--train-threads``; default: the current count), recorded with the CPU affinity.

Recipes (``recipe``):

- ``"common"`` (default, for fairness): one recipe for every model, :data:`COMMON_RECIPE`, on the base bundle's
  machinery: AdamW (lr 1e-3, weight decay 1e-4), 0.5 x CE + 0.5 x Dice, cosine schedule without warm-up,
  gradient clipping at norm 0.5, no EMA, no gradient accumulation, no progressive resizing, validation every epoch.
- ``"paper"``: each monai-lite network (and its ablations) trains with its paper's recipe: its own bundle of the
  base bundle's kind (``lacnet`` beside ``medlitenet``, ``lacnet_hippocampus`` beside ``medlitenet_hippocampus``),
  its ``train.json`` with the bundle's ``configs/paper.json`` overlay layered on top, as
  ``--config_file "['.../train.json','.../paper.json']"`` does (``medlitenet``: AdamW, EMA, clipping, accumulation,
  progressive resizing, CLAHE; ``lacnet``: Adam + L2, median-frequency weighted CE + Dice, [0, 1] input;
  ``lightawnet``: Adam 1e-4, BCE alone; ``msaunet``: its augmentation). The comparison's own settings still win
  over the overlay: data, fold, preset, image size, batch size, epochs and seed are the same for every model, and
  ``val_interval`` is 1. The overlay's ``preset_params`` (e.g. CLAHE, [0, 1] normalisation) are kept when the
  chosen preset has those parameters, and replaced by the bundle's plain ones with a note otherwise; its
  ``in_channels`` is replaced by the benchmark's, which the network is built with. MONAI's networks, which have no
  paper recipe here, use the common one.

With a budget only, the schedule is laid out over ``max_epochs`` (default 1000) epochs, so the learning rate stays
near its initial value for the whole budget; pass ``epochs`` as well to lay the cosine over that many epochs (the
run stops at whichever comes first). Progressive resizing (``paper`` recipe of MedLiteNet) is scheduled in fractions
of the epochs, so it needs ``epochs`` to reach the full size.

Output folder::

    accuracy.json                   settings, sittings (command + machine of each), per unit the raw numbers,
                                    per model the numbers over seeds (rewritten atomically after every unit)
    accuracy.md                     tables (over seeds, per seed) + settings + recipe + commands + machines
                                    (rewritten after every unit)
    accuracy_vs_latency.png         x = CPU latency (ms), y = held-out Dice (± sd over seeds), area ~ parameters
    accuracy_vs_training_time.png   x = training time (the budget's clock), y = held-out Dice
                                    (both charts drawn at the end of each sitting)
    benchmark.lock                  while a sitting runs: a second one on the same folder stops at once
    runs/<model>/seed<k>/models/    model.pt (best), last.pt; .../eval/ TensorBoard logs
    runs/<model>/seed<k>/heldout/   metrics.csv and summary.json of the held-out evaluation
    runs/<model>/seed<k>/train.log  the epoch lines of the bundle's training log

Sittings: a long comparison may span several runs of the command. ``resume=True`` (``--resume``) keeps every
finished unit of ``accuracy.json`` (the settings of :data:`~monai_lite.benchmark.accuracy_units.RESUME_KEYS` must
match, else a ValueError names each differing setting) and trains the others; the seeds and the models may change
between sittings (``medlitenet:2`` then ``medlitenet:3`` trains only seed 2). A unit interrupted (crash, Ctrl-C,
power) or failed is retrained from scratch, not continued from its ``last.pt``: the budget's clock is not part of
``last.pt``, so a continued unit could not be charged what it had already spent, and the stop rule must be the same
for every unit; at most one unit (one budget) of work is lost. A unit that fails (out of memory, say) is recorded
with its reason while the others go on. ``--remeasure-latency`` times every finished model of a run again in one
sitting, training nothing (:mod:`monai_lite.benchmark.accuracy_latency`); ``--merge OTHER`` copies the finished units
of a run of the same comparison made in another folder (another core or machine) into this one
(:mod:`monai_lite.benchmark.accuracy_merge`).

Example::

    from monai_lite.benchmark.accuracy import benchmark_accuracy
    results = benchmark_accuracy("bench/kvasir", models=["medlitenet:3", "segresnet:3", "basicunet"],
                                 datalist="data_manifests/kvasir_seg.json", dataset_dir="../shared/data/kvasir-seg",
                                 fold=0, budget_cpu_minutes=10, preset="endoscopy", image_size=(256, 256))
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import shlex
import shutil
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monai_lite.benchmark.accuracy_report import (
    JSON_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    TRAIN_PLOT_NAME,
    fmt_mean_std as _mean_std,
    fmt_number as _fmt,
    write_markdown,
    write_reports as _write_all,
)
from monai_lite.benchmark.accuracy_units import FORMAT_VERSION, parse_model_seeds, resume_mismatch
from monai_lite.engine.atomic import json_ready as _clean

__all__ = [
    "DEFAULT_MODELS",
    "COMMON_RECIPE",
    "RECIPES",
    "SUBSTITUTES",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "PLOT_NAME",
    "TRAIN_PLOT_NAME",
    "Budget",
    "benchmark_accuracy",
    "write_markdown",
    "add_parser",
]

#: The models compared when none are chosen: the four monai-lite networks, the ablations their papers report, and
#: MONAI's reference networks.
DEFAULT_MODELS: tuple[str, ...] = (
    "medlitenet",
    "medlitenet-no-transformer",
    "medlitenet-no-boundary-attention",
    "lightawnet",
    "lacnet",
    "lacnet-no-attention",
    "lacnet-no-lightweight-conv",
    "msaunet",
    "basicunet",
    "unet",
    "attentionunet",
    "segresnet",
)

#: The one recipe of ``recipe="common"``, as bundle config ids (applied on top of the base bundle).
COMMON_RECIPE: dict[str, Any] = {
    "optimizer#_target_": "torch.optim.AdamW",
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "lambda_ce": 0.5,
    "lambda_dice": 0.5,
    "class_weights": None,
    "warmup_epochs": 0,
    "grad_clip_norm": 0.5,
    "amp": True,
    "ema_decay": 0,
    "accumulation_steps": 1,
    "progressive_sizes": [],
    "val_interval": 1,
}
RECIPES: tuple[str, ...] = ("common", "paper")

#: A default model that is replaced by a lighter variant when it does not fit: out of memory, or fewer than
#: :data:`MIN_EPOCHS_IN_BUDGET` epochs of it would fit in the budget (on the budget's clock). Never applied to
#: models chosen explicitly with ``models``.
SUBSTITUTES: dict[str, str] = {"msaunet": "msaunet-w0.5"}
MIN_EPOCHS_IN_BUDGET = 3

#: Epochs the schedule is laid over when only a time budget is given.
BUDGET_MAX_EPOCHS = 1000
#: The bundle whose machinery trains every model under the common recipe, unless ``bundle`` says otherwise.
BASE_BUNDLE = "medlitenet"
#: The overlay of a bundle that holds its paper's recipe (``configs/<name>.json``), used by ``recipe="paper"``.
PAPER_OVERLAY = "paper.json"
#: The lock file of a sitting, in the output folder.
LOCK_NAME = "benchmark.lock"


@dataclass(frozen=True)
class Budget:
    """The time budget of every unit: which clock, and how many seconds on it.

    Args:
        clock: ``"cpu"`` (:class:`~monai_lite.engine.budget.CpuTimeBudget`) or ``"wall"``
            (:class:`~monai_lite.engine.budget.WallClockBudget`).
        seconds: seconds on that clock.
    """

    clock: str
    seconds: float

    def handler(self, evaluator: Any) -> Any:
        """A new budget handler for one training run (validating with ``evaluator`` when it stops)."""
        from monai_lite.engine.budget import CpuTimeBudget, WallClockBudget

        kind = CpuTimeBudget if self.clock == "cpu" else WallClockBudget
        return kind(self.seconds, evaluator=evaluator)

    def read(self) -> Callable[[], float]:
        """A clock of the budget's kind, to time a probe with (seconds)."""
        from monai_lite.engine.budget import ProcessTreeCpuClock

        return ProcessTreeCpuClock() if self.clock == "cpu" else time.monotonic

    def phrase(self) -> str:
        return f"{self.seconds / 60:g} {'CPU-' if self.clock == 'cpu' else 'wall-clock '}min"


# --- small helpers ----------------------------------------------------------------------------------------------
def _reason(err: BaseException) -> str:
    """One line saying why a model failed: our own ValueError/FileNotFoundError behind MONAI's config wrapping
    (``RuntimeError("Failed to evaluate ...")``) when there is one, else the exception itself."""
    found, seen = err, 0
    while found is not None and seen < 20 and not isinstance(found, (ValueError, FileNotFoundError)):
        found, seen = found.__cause__ or found.__context__, seen + 1
    chosen = found if isinstance(found, (ValueError, FileNotFoundError)) else err
    lines = str(chosen).strip().splitlines()
    return f"{type(chosen).__name__}: {lines[0] if lines else ''}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _bundle_defaults(bundle: str) -> dict[str, Any]:
    """The data-related defaults of a bundle's ``train.json`` (preset and its parameters, image size, channels,
    batch size, synthetic data, workers)."""
    from monai_lite.bundle.runner import resolve_bundle

    raw = json.loads((resolve_bundle(bundle) / "configs" / "train.json").read_text())
    keys = ("preset", "preset_params", "image_size", "in_channels", "out_channels", "batch_size",
            "synthetic_default", "num_workers")
    return {key: raw.get(key) for key in keys}


def _paper_bundle(network: str, base: str) -> str:
    """The bundle of ``network`` of the same kind as ``base``: ``lacnet`` for ``medlitenet``, ``lacnet_hippocampus``
    for ``medlitenet_hippocampus`` (the part after the base's first ``_`` names the kind)."""
    _, _, kind = base.partition("_")
    return f"{network}_{kind}" if kind else network


def _uses_paper_recipe(zoo_model: Any, recipe: str, base: str = BASE_BUNDLE) -> bool:
    """Whether ``zoo_model`` trains with its paper's overlay: a monai-lite network with a bundle of the base's kind,
    under ``paper``."""
    from monai_lite.bundle.runner import list_bundles

    return (recipe == "paper" and zoo_model.family == "monai-lite"
            and _paper_bundle(zoo_model.network, base) in list_bundles())


def _bundle_of(zoo_model: Any, recipe: str, base: str = BASE_BUNDLE) -> str:
    """The bundle that trains ``zoo_model``: its own network's bundle under the paper recipe, else the base one."""
    return _paper_bundle(zoo_model.network, base) if _uses_paper_recipe(zoo_model, recipe, base) else base


def _recipe_overrides(zoo_model: Any, recipe: str, base: str = BASE_BUNDLE) -> dict[str, Any]:
    """Config ids of the recipe: under ``paper`` only validation every epoch (the rest is the overlay's), else the
    common one."""
    return {"val_interval": 1} if _uses_paper_recipe(zoo_model, recipe, base) else dict(COMMON_RECIPE)


def _config_files(bundle: str, overlay: bool) -> list[Path]:
    """The config files a run of ``bundle`` layers: train.json, then (``overlay``) the paper recipe's overlay.

    Raises:
        FileNotFoundError: a bundle without the overlay (regenerate the bundles).
    """
    from monai_lite.bundle.runner import resolve_bundle

    configs = resolve_bundle(bundle) / "configs"
    files = [configs / "train.json"]
    if overlay:
        path = configs / PAPER_OVERLAY
        if not path.is_file():
            raise FileNotFoundError(f"bundle {bundle} has no paper recipe overlay {path}; run "
                                    "`python -m monai_lite.bundle.generate`.")
        files.append(path)
    return files


def _overlay_preset_params(bundle: str, preset: str) -> tuple[dict[str, Any] | None, str]:
    """The overlay's ``preset_params`` if ``preset`` has every one of those parameters, else the bundle's own
    ``train.json`` ones (its plain size parameter) and a note saying what was dropped; None when the overlay sets
    none."""
    from monai_lite.transforms.presets import read_preset

    overlay = json.loads((_config_files(bundle, True)[-1]).read_text())
    params = overlay.get("preset_params")
    if not isinstance(params, dict):
        return None, ""
    unknown = sorted(set(params) - set(read_preset(preset)))
    if unknown:
        plain = _bundle_defaults(bundle).get("preset_params") or {"spatial_size": "@image_size"}
        return dict(plain), (f"preset {preset} has no parameter(s) {', '.join(unknown)} of the {bundle} paper "
                             "overlay; its preset_params are not applied")
    return params, ""


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


# --- one unit: train, evaluate, measure ---------------------------------------------------------------------------
class _TrainLog:
    """Copy the ``monai_lite.train`` log (epoch lines, budget stop) of one model into its ``train.log``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.logger = logging.getLogger("monai_lite.train")
        self.handler: logging.Handler | None = None
        self.level = self.logger.level

    def __enter__(self) -> _TrainLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self.logger.addHandler(self.handler)
        if self.logger.getEffectiveLevel() > logging.INFO:
            self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            self.handler.close()
        self.logger.setLevel(self.level)


def _workflow(bundle: str, overrides: Mapping[str, Any], paper: bool = False) -> Any:
    """A train ``ConfigWorkflow`` of ``bundle`` (with its paper overlay when ``paper``) and ``overrides``, without
    touching the logging configuration."""
    from monai.bundle import ConfigWorkflow

    files = _config_files(bundle, paper)
    configs = files[0].parent
    quiet = logging.getLogger("monai.bundle.workflows")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns "Logging file is set to False" for every model
    try:
        return ConfigWorkflow(
            config_file=[str(f) for f in files],
            meta_file=str(configs / "metadata.json"),
            logging_file=False,
            workflow_type="train",
            **overrides,
        )
    finally:
        quiet.setLevel(level)


def _train(
    bundle: str, overrides: Mapping[str, Any], budget: Budget | None, log_path: Path, paper: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Train one unit through the bundle (layered with its paper overlay when ``paper``) under ``budget``; returns
    the (still initialised) workflow and the training record, with both the wall-clock and the CPU seconds of the
    training (the trainer's run: iterations and per-epoch validations)."""
    import torch

    from monai_lite.engine.budget import ProcessTreeCpuClock

    cpu_clock = ProcessTreeCpuClock()
    with _TrainLog(log_path):
        workflow = _workflow(bundle, overrides, paper)
        started = time.perf_counter()
        workflow.initialize()
        trainer = workflow.parser.get_parsed_content("train#trainer")
        evaluator = workflow.parser.get_parsed_content("validate#evaluator")
        handler = None
        if budget is not None:
            handler = budget.handler(evaluator)
            handler.attach(trainer)  # after the bundle's handlers, so ValidationHandler runs first
        setup = time.perf_counter() - started
        started, cpu_started = time.perf_counter(), cpu_clock()
        workflow.run()
        train_seconds, train_cpu_seconds = time.perf_counter() - started, cpu_clock() - cpu_started
    exhausted = bool(handler is not None and handler.exhausted)
    best = getattr(evaluator.state, "best_metric", -1)
    record = {
        "epochs_done": int(trainer.state.epoch),
        "iterations": int(trainer.state.iteration),
        "max_epochs": int(trainer.state.max_epochs),
        "stopped_by": "budget" if exhausted else "epochs",
        "stopped_mid_epoch": bool(handler is not None and handler.stopped_mid_epoch),
        "budget_spent_seconds": float(handler.elapsed) if handler is not None else None,
        "setup_seconds": setup,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "cpu_clock_method": cpu_clock.method,
        "train_threads": torch.get_num_threads(),
        "best_val_dice": float(best) if best is not None and best >= 0 else None,
        "best_val_epoch": int(evaluator.state.best_metric_epoch) if best is not None and best >= 0 else None,
        "device": str(workflow.parser.get_parsed_content("device")),
        # The torch threads and DataLoader workers the bundle chose for this machine (its train.log has the line).
        "cpu_plan": workflow.parser.get_parsed_content("cpu_plan").line(),
        # CPU bf16 autocast / channels-last and why (monai_lite.engine.TrainingPrecision), None for older bundles
        "precision": getattr(trainer.state, "training_precision", None),
    }
    return workflow, record


def _label_names(datalist: str, out_channels: int) -> dict[int, str]:
    """Class value -> name of the scored classes, from the datalist's ``labels`` when it has them."""
    values = [1] if out_channels == 1 else list(range(1, out_channels))
    names: dict[int, str] = {}
    try:
        labels = json.loads(Path(datalist).read_text()).get("labels", {}) if datalist else {}
        names = {int(v): str(k) for k, v in labels.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        names = {}
    return {v: names.get(v, "foreground" if out_channels == 1 else f"class_{v}") for v in values}


def _held_out(workflow: Any, val_files: Sequence[Mapping[str, str]], datalist: str, report_dir: Path) -> dict[str, Any]:
    """Score the best checkpoint on the validation cases, on each mask's own grid; writes a report folder."""
    import torch
    from monai.data import MetaTensor
    from monai.transforms import Invertd

    from monai_lite.evaluation.metrics import compute_case_metrics
    from monai_lite.evaluation.reader import read_mask
    from monai_lite.evaluation.report import metric_stats, write_report

    parser = workflow.parser
    device = torch.device(parser.get_parsed_content("device"))
    network = parser.get_parsed_content("network")
    ckpt = Path(parser.get_parsed_content("ckpt_dir")) / "model.pt"
    if not ckpt.is_file():
        raise RuntimeError(f"training left no best checkpoint at {ckpt}; no validation ran.")
    network.load_state_dict(torch.load(ckpt, map_location=device, weights_only=True))
    network.eval()
    preprocessing = parser.get_parsed_content("validate#preprocessing")
    inferer = parser.get_parsed_content("validate#inferer")
    out_channels = int(parser.get_parsed_content("out_channels"))
    names = _label_names(datalist, out_channels)
    invert = Invertd(keys="pred", transform=preprocessing, orig_keys="image", nearest_interp=False, to_tensor=True)

    rows: list[dict[str, Any]] = []
    per_case: dict[str, list[float]] = {"dice": [], "iou": [], "hd95": []}
    for case in val_files:
        data = preprocessing(dict(case))
        with torch.no_grad():
            logits = inferer(data["image"][None].to(device), network)[0].float().cpu()
        probabilities = torch.sigmoid(logits) if out_channels == 1 else torch.softmax(logits, dim=0)
        # Back through the preprocessing (resize, crop, ...) onto the grid of the mask file, as inference does.
        data["pred"] = MetaTensor(probabilities)
        probabilities = invert(data)["pred"]
        if out_channels == 1:
            labels = (probabilities[0] > 0.5).long()
        else:
            labels = torch.argmax(probabilities, dim=0)
        truth = read_mask(case["label"], named=names)
        prediction = labels.numpy()
        if prediction.shape != truth.array.shape:
            raise ValueError(
                f"the prediction for {case['image']} has shape {prediction.shape} after inverting the preprocessing "
                f"but its mask {case['label']} has shape {truth.array.shape}; the preset's transforms must be "
                "invertible (Resized, spatial crops/pads) for the held-out evaluation."
            )
        case_rows = compute_case_metrics(prediction, truth.array, list(names), spacing=truth.spacing)
        case_id = Path(case["image"]).name
        for row in case_rows:
            rows.append({"case": case_id, "name": names[row["label"]], **row, "spacing": list(truth.spacing),
                         "gt_file": str(case["label"])})
        for metric in per_case:
            per_case[metric].append(sum(r[metric] for r in case_rows) / len(case_rows))
    summary = write_report(rows, report_dir, extra={"checkpoint": str(ckpt)}, plot=False)
    result = {metric: metric_stats(values) for metric, values in per_case.items()}
    result["n_cases"] = len(val_files)
    result["policy_counts"] = summary.get("policy_counts", {})
    result["distance_unit"] = "pixel" if all(len(r["spacing"]) == 2 for r in rows) else "mm"
    result["report"] = str(report_dir)
    return result


def _measure(zoo_model: Any, spatial_dims: int, in_channels: int, out_channels: int, image_size: Sequence[int],
             threads: int | None, repeats: int, warmup: int) -> dict[str, Any]:
    """Parameters, MACs and CPU latency at batch 1 of a freshly built model (weights do not change the cost)."""
    import torch

    from monai_lite.benchmark.measure import count_macs, count_parameters, measure_latency
    from monai_lite.networks.inference_prep import prepare_for_inference

    network = zoo_model.build(spatial_dims, in_channels, out_channels, spatial_size=image_size).cpu().eval()
    example = torch.randn(1, in_channels, *image_size)
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        used = torch.get_num_threads()
        macs = count_macs(network, example)
        # timed as `monai-lite infer` runs a model, the same preparation for every model of the comparison
        latency = measure_latency(prepare_for_inference(network), example, repeats=repeats, warmup=warmup)
    finally:
        torch.set_num_threads(previous)
    stats = latency.to_dict()
    stats.pop("samples_ms", None)
    return {"params": count_parameters(network), "macs": macs, "latency_ms": latency.median_ms,
            "latency": stats, "latency_threads": used, "latency_input": [1, in_channels, *image_size]}


def _probe_epoch_seconds(zoo_model: Any, spatial_dims: int, in_channels: int, out_channels: int,
                         image_size: Sequence[int], batch_size: int, n_train: int, device: Any,
                         clock: Callable[[], float] = time.perf_counter) -> float:
    """Rough seconds per training epoch on ``clock``: one timed forward + backward of a full batch, times the
    batches."""
    import torch

    network = zoo_model.build(spatial_dims, in_channels, out_channels, spatial_size=image_size).to(device).train()
    batch = torch.randn(batch_size, in_channels, *image_size, device=device)
    timings = []
    for _ in range(2):  # the first call pays one-off allocations
        start = clock()
        network(batch).float().mean().backward()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        timings.append(clock() - start)
    return timings[-1] * math.ceil(n_train / batch_size)


def _does_not_fit(zoo_model: Any, spatial_dims: int, in_channels: int, out_channels: int, size: Sequence[int],
                  batch_size: int, n_train: int, device: str | None, budget_seconds: float | None,
                  clock: Callable[[], float] = time.perf_counter) -> str:
    """Why ``zoo_model`` does not fit (out of memory, or too few epochs in the budget on ``clock``), or "" when it
    fits."""
    import torch

    target = torch.device(device) if device else torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        seconds = _probe_epoch_seconds(zoo_model, spatial_dims, in_channels, out_channels, size, batch_size,
                                       n_train, target, clock)
    except (torch.cuda.OutOfMemoryError, MemoryError) as err:
        return f"out of memory at batch {batch_size} ({type(err).__name__})"
    except RuntimeError as err:
        if "out of memory" in str(err).lower():
            return f"out of memory at batch {batch_size}"
        raise
    if budget_seconds is not None and seconds * MIN_EPOCHS_IN_BUDGET > budget_seconds:
        return (f"about {seconds:.0f} s per epoch, fewer than {MIN_EPOCHS_IN_BUDGET} epochs in the "
                f"{budget_seconds / 60:g} min budget")
    return ""


def _recipe_text(recipe: str, base: str = BASE_BUNDLE) -> str:
    common = ", ".join(f"`{k}`={json.dumps(v)}" for k, v in COMMON_RECIPE.items())
    if recipe == "common":
        return (f"One common recipe for every model (`recipe=common`), on the `{base}` bundle's training "
                f"machinery: {common}.")
    return ("Each monai-lite network and its ablations train with their paper's recipe (`recipe=paper`): their own "
            f"bundle of the `{base}` kind, its train.json layered with its configs/paper.json overlay (optimiser, "
            "learning rate, loss, schedule, EMA, clipping, accumulation, augmentation parameters), under this "
            "benchmark's data, preset, image size, batch size, epochs and seed, with `val_interval`=1; MONAI's "
            f"networks have no paper recipe here and use the common one: {common}.")


# --- the benchmark -----------------------------------------------------------------------------------------------
class _Threads:
    """Run a block with ``n`` torch threads (None keeps the current count), then restore the count."""

    def __init__(self, n: int | None) -> None:
        self.n, self.previous = n, None

    def __enter__(self) -> None:
        import torch

        self.previous = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc: Any) -> None:
        import torch

        torch.set_num_threads(self.previous)


def _positive(name: str, value: Any, kind: type = float) -> None:
    if value is None:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok or (kind is int and int(value) != value):
        what = "whole number" if kind is int else "number"
        raise ValueError(f"{name} must be a positive {what}, got {value!r}.")


def _budget_record(budget: Budget | None) -> dict[str, Any]:
    """``settings.budget``: the clock, the minutes and what the clock counts."""
    from monai_lite.engine.budget import ProcessTreeCpuClock

    if budget is None:
        return {"clock": None, "minutes": None, "definition": "no time budget: each model trains its epochs"}
    if budget.clock == "cpu":
        clock = ProcessTreeCpuClock()
        return {"clock": "cpu", "minutes": budget.seconds / 60, "method": clock.method,
                "definition": f"CPU-minutes: {clock.description()}, from the trainer's start (after dataset "
                "caching) to the stop check after each iteration and epoch; checked the same way for every model"}
    return {"clock": "wall", "minutes": budget.seconds / 60, "method": "monotonic",
            "definition": "wall-clock minutes (time.monotonic) from the trainer's start (after dataset caching), "
            "checked after each iteration and epoch; fair only on an otherwise idle machine"}


def benchmark_accuracy(
    output_dir: str | Path,
    models: Sequence[str] | None = None,
    datalist: str | Path = "",
    dataset_dir: str | Path = "",
    fold: int = 0,
    budget_minutes: float | None = None,
    epochs: int | None = None,
    max_epochs: int = BUDGET_MAX_EPOCHS,
    recipe: str = "common",
    preset: str | None = None,
    image_size: Sequence[int] | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | None = None,
    num_workers: int | None = None,
    latency_threads: int | None = None,
    latency_repeats: int = 20,
    resume: bool = False,
    overrides: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = print,
    seeds: int = 1,
    budget_cpu_minutes: float | None = None,
    bundle: str = BASE_BUNDLE,
    train_threads: int | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Train each (model, seed) under the same budget, data, preprocessing and recipe; evaluate and measure it.

    Results are written to ``output_dir`` after every unit (see the module docstring for the files).

    Args:
        output_dir: folder of the results and of every unit's run; must not lie inside ``dataset_dir``.
        models: zoo names (:func:`monai_lite.benchmark.zoo.list_models`), each optionally ``name:N`` for its own
            number of seeds (comma-separated lists allowed); None means :data:`DEFAULT_MODELS`, where a model in
            :data:`SUBSTITUTES` that does not fit is replaced by its lighter variant. Defaults to None.
        datalist: datalist JSON with folds (``monai-lite prepare``); "" trains on the base bundle's embedded
            synthetic data. Defaults to "".
        dataset_dir: folder the datalist's paths start from; needed with ``datalist``. Defaults to "".
        fold: the validation fold; the others train. Defaults to 0.
        budget_minutes: wall-clock training budget per unit, in minutes. Defaults to None.
        epochs: epochs per unit; with a budget too, whichever ends first. A budget or ``epochs`` is required.
            Defaults to None.
        max_epochs: the epochs a budget-only run is scheduled over (its cosine length and cap). Defaults to 1000.
        recipe: ``"common"`` (:data:`COMMON_RECIPE` for every model) or ``"paper"`` (each monai-lite network its
            own bundle's recipe). Defaults to "common".
        preset: transform preset of every model; None keeps the base bundle's. Defaults to None.
        image_size: training and latency input size, e.g. ``(256, 256)`` or ``(32, 48, 32)``, as many values as the
            base bundle has dimensions (one value is repeated); None keeps the bundle's. Defaults to None.
        batch_size: training batch size; None keeps the bundle's. Defaults to None.
        seed: the first seed; a model with N seeds trains with ``seed, ..., seed + N - 1`` (``set_determinism``).
            Defaults to 0.
        device: training device, e.g. ``"cpu"`` or ``"cuda:0"``; None keeps the bundle's (CUDA when available).
            Latency is always measured on the CPU. Defaults to None.
        num_workers: data-loading workers; None keeps the bundle's. Defaults to None.
        latency_threads: torch threads for the latency measurement; None uses the current count. Defaults to None.
        latency_repeats: timed forward passes per model. Defaults to 20.
        resume: keep the finished units of an earlier run in ``output_dir`` (same settings) and train the rest.
            Defaults to False.
        overrides: more bundle config ids for every run (as ``--set``), e.g. ``{"num_workers": 0}``. Defaults to None.
        log: receives one progress line per step of each unit; None is silent. Defaults to ``print``.
        seeds: seeds per model without its own ``:N``. Defaults to 1.
        budget_cpu_minutes: CPU-time training budget per unit, in CPU-minutes (the training process tree's user +
            system time, :class:`~monai_lite.engine.budget.CpuTimeBudget`); not together with ``budget_minutes``.
            Defaults to None.
        bundle: the base bundle whose machinery, dimension, channels, preset and synthetic data every model uses,
            e.g. ``"medlitenet_hippocampus"`` for 3D. Defaults to "medlitenet".
        train_threads: torch threads for training; None keeps the current count (recorded either way). Defaults to
            None.
        command: the command line that started this sitting, recorded in ``sittings``; None records a Python call.
            Defaults to None.

    Returns:
        The content of ``accuracy.json``: ``settings`` (``budget`` says which clock and how it counts),
        ``sittings`` (start, command, folder and machine of each invocation), ``machine`` (the latest),
        ``empty_mask_policy``, ``units`` (model -> seed -> raw record: ``status``, ``epochs_done``,
        ``train_seconds``, ``train_cpu_seconds``, ``best_val_dice``, ``held_out`` (``dice``, ``iou``, ``hd95`` as
        mean/std/median/n/excluded over cases), ...) and ``models`` (model -> numbers over seeds, see
        :func:`~monai_lite.benchmark.accuracy_units.aggregate_model`, with ``latency_ms``, ``params``, ``macs``).

    Raises:
        ValueError: before any training, for no budget or two, an unknown model, recipe or bundle, a bad seed
            count, a fold without validation cases, an image size of the wrong dimension, an existing result without
            ``resume`` or with other settings (each differing setting named), or an output folder inside the
            dataset. A unit that fails later (out of memory, a bad ``--set``) is recorded with ``status``
            ``"failed"`` and its reason, and the others go on.
        FileNotFoundError: for a missing dataset folder, datalist or case.
        monai_lite.engine.run_lock.RunFolderLockedError: another sitting is running on ``output_dir``.
    """
    import torch

    from monai_lite.benchmark.accuracy_units import aggregate_models
    from monai_lite.benchmark.measure import machine_info
    from monai_lite.benchmark.zoo import get_model
    from monai_lite.bundle.data import training_data
    from monai_lite.data.synthetic import ensure_synthetic
    from monai_lite.engine.run_lock import RunFolderLock
    from monai_lite.evaluation.report import POLICY_TEXT

    say = log or (lambda text: None)
    output_dir = Path(output_dir)
    if budget_minutes is None and budget_cpu_minutes is None and epochs is None:
        raise ValueError("give a training budget: --budget-cpu-minutes N (CPU time per model), --budget-minutes N "
                         "(wall clock per model), --epochs N, or a budget and --epochs.")
    if budget_minutes is not None and budget_cpu_minutes is not None:
        raise ValueError("give one time budget, --budget-cpu-minutes or --budget-minutes, not both: every model must "
                         "stop by the same rule.")
    _positive("--budget-minutes", budget_minutes)
    _positive("--budget-cpu-minutes", budget_cpu_minutes)
    _positive("--epochs", epochs, int)
    _positive("--train-threads", train_threads, int)
    if recipe not in RECIPES:
        raise ValueError(f"--recipe must be one of {', '.join(RECIPES)}, got {recipe!r}.")
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"the output folder {output_dir} is a file; pass a folder with -o.")
    if dataset_dir and _is_inside(output_dir, Path(dataset_dir)):
        raise ValueError(f"the output folder {output_dir} lies inside the dataset folder {dataset_dir}; inputs are "
                         "never written to, choose another -o.")
    plan = parse_model_seeds(list(models) if models else list(DEFAULT_MODELS), seeds=seeds, base_seed=int(seed))
    explicit = bool(models)
    zoo = {name: get_model(name) for name, _ in plan}  # ValueError for an unknown name, listing the valid ones

    try:
        defaults = _bundle_defaults(bundle)
    except FileNotFoundError as err:
        raise ValueError(f"--bundle {bundle}: {err}") from err
    spatial_dims = len(defaults["image_size"])
    size = [int(s) for s in (image_size or defaults["image_size"])]
    if len(size) == 1:
        size = size * spatial_dims
    if len(size) != spatial_dims:
        raise ValueError(f"the base bundle {bundle} is {spatial_dims}D: --image-size needs {spatial_dims} values "
                         f"(or one), got {size}.")
    for zoo_model in zoo.values():
        zoo_model.network_def(spatial_dims, 1, 1, size)  # ValueError when the model has no such dimension
    in_channels, out_channels = int(defaults["in_channels"]), int(defaults["out_channels"])
    datalist = str(Path(datalist).resolve()) if datalist else ""
    dataset_dir = str(Path(dataset_dir).resolve()) if dataset_dir else ""
    train_files, val_files = training_data(dataset_dir, datalist, fold, defaults["synthetic_default"])
    if not val_files:
        raise ValueError(f"fold {fold} of {datalist or 'the synthetic dataset'} has no validation case to evaluate on.")
    data_datalist = datalist or str(ensure_synthetic(defaults["synthetic_default"]) / "datalist.json")
    budget = (Budget("cpu", float(budget_cpu_minutes) * 60.0) if budget_cpu_minutes is not None
              else Budget("wall", float(budget_minutes) * 60.0) if budget_minutes is not None else None)
    settings: dict[str, Any] = {
        "bundle": bundle,
        "spatial_dims": spatial_dims,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "recipe": recipe,
        "datalist": datalist,
        "dataset_dir": dataset_dir,
        "data_name": Path(datalist).stem if datalist else f"synthetic {defaults['synthetic_default']} (embedded default)",
        "fold": int(fold),
        "n_train": len(train_files),
        "n_val": len(val_files),
        "budget_minutes": float(budget_minutes) if budget_minutes is not None else None,
        "budget_cpu_minutes": float(budget_cpu_minutes) if budget_cpu_minutes is not None else None,
        "budget": _budget_record(budget),
        "epochs": int(epochs) if epochs is not None else None,
        "max_epochs": int(epochs) if epochs is not None else int(max_epochs),
        "preset": preset or defaults["preset"],
        "image_size": size,
        "batch_size": int(batch_size or defaults["batch_size"]),
        "base_seed": int(seed),
        "seeds": {name: list(s) for name, s in plan},
        "device": device,
        "num_workers": num_workers if num_workers is not None else defaults["num_workers"],
        "train_threads": int(train_threads) if train_threads else torch.get_num_threads(),
        "overrides": _clean(dict(overrides or {})),
        "latency_threads": int(latency_threads) if latency_threads else torch.get_num_threads(),
        "latency_repeats": int(latency_repeats),
        "recipe_text": _recipe_text(recipe, bundle),
    }

    results: dict[str, Any] = {"benchmark": "accuracy", "format_version": FORMAT_VERSION, "created": _now(),
                               "settings": settings, "machine": {}, "sittings": [],
                               "empty_mask_policy": POLICY_TEXT, "units": {}, "models": {}}
    json_path = output_dir / JSON_NAME
    earlier: dict[str, Any] = {}
    if json_path.is_file():
        try:
            earlier = json.loads(json_path.read_text())
        except ValueError as err:
            raise ValueError(f"{json_path} is not valid JSON ({err}); move it away to start afresh.") from err
    if earlier and int(earlier.get("format_version", 1)) < FORMAT_VERSION:
        raise ValueError(f"{json_path} was written by an older monai-lite (format {earlier.get('format_version', 1)},"
                         " one seed per model) and cannot be resumed or overwritten; re-render it with `monai-lite "
                         "benchmark report`, and choose another output folder for the new run.")
    finished = [(m, s) for m, by_seed in (earlier.get("units") or {}).items() for s, u in by_seed.items()
                if u.get("status") == "done"]
    if finished and not resume:
        raise ValueError(f"{json_path} already holds the results of an earlier run ({len(finished)} finished "
                         "unit(s)); pass --resume to continue it, or choose another output folder.")
    if earlier and resume:
        detail = resume_mismatch(earlier.get("settings") or {}, _clean(settings))
        if detail:
            raise ValueError(f"cannot resume {json_path}: it was run with other settings ({detail}); use the earlier "
                             "settings, or another output folder.")
        for by_seed in (earlier.get("units") or {}).values():
            for unit in by_seed.values():
                if unit.get("status") == "running":  # its sitting ended without finishing it
                    unit["status"] = "interrupted"
        results.update(units=earlier.get("units") or {}, sittings=earlier.get("sittings") or [],
                       created=earlier.get("created", results["created"]))
        settings["seeds"] = {**(earlier.get("settings") or {}).get("seeds", {}), **settings["seeds"]}
    if recipe == "paper" and epochs is None:
        say("note: with --recipe paper and no --epochs, schedules and progressive resizing are laid over "
            f"{max_epochs} epochs, so MedLiteNet's progressive resizing stays at its first size; pass --epochs too.")

    with RunFolderLock(output_dir, name=LOCK_NAME):
        machine = machine_info()
        results["machine"] = machine
        results["sittings"].append({"started": _now(), "command": command, "cwd": os.getcwd(), "machine": machine})
        sitting = len(results["sittings"])

        def save(charts: bool = True) -> None:
            results["models"] = aggregate_models(results)
            _write_all(results, output_dir, charts=charts)

        units = results["units"]
        total, index = sum(len(s) for _, s in plan), 0
        for requested, seeds_of in plan:
            name, zoo_model, swap = _substitute(requested, zoo[requested], units, explicit, budget, say,
                                                settings, len(train_files))
            if name != requested:  # the plan names the substitute, where the model (or an earlier plan) had it
                plan_seeds = settings["seeds"]
                if name in plan_seeds:
                    plan_seeds.pop(requested, None)
                    plan_seeds[name] = list(seeds_of)
                else:
                    settings["seeds"] = {(name if k == requested else k): v for k, v in plan_seeds.items()}
            for unit_seed in seeds_of:
                index += 1
                tag = f"[{index}/{total}] {name} seed {unit_seed}"
                previous = units.get(name, {}).get(str(unit_seed))
                if previous and previous.get("status") == "done":
                    say(f"{tag}: already finished in {json_path}, skipped (--resume)")
                    continue
                entry: dict[str, Any] = {"name": name, "seed": int(unit_seed), "family": zoo_model.family,
                                         "network": zoo_model.network, "description": zoo_model.description,
                                         **swap, "status": "running", "started": _now(), "sitting": sitting}
                units.setdefault(name, {})[str(unit_seed)] = entry
                save(charts=False)  # an interruption from here on leaves the unit marked "running"
                run_dir = output_dir / "runs" / name / f"seed{unit_seed}"
                measured = any(u.get("latency_ms") is not None for u in units[name].values())
                try:
                    _run_unit(entry, zoo_model, run_dir, tag, say, settings, budget, dict(overrides or {}),
                              val_files, data_datalist, measured)
                except Exception as err:  # noqa: BLE001 - one unit failing (memory, optional package) must not end the rest
                    entry.update(status="failed", error=_reason(err))
                    run_dir.mkdir(parents=True, exist_ok=True)
                    (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
                    say(f"{tag}: FAILED ({entry['error']}); traceback in {run_dir / 'error.txt'}")
                except BaseException:  # Ctrl-C, SystemExit: record it, then stop the whole sitting
                    entry.update(status="interrupted", finished=_now())
                    save(charts=False)
                    raise
                # Free this unit's cached datasets and network before the next one builds its own.
                gc.collect()
                entry["finished"] = _now()
                save(charts=False)  # the JSON and the tables after every unit; the charts once, below
        save()
    say(f"wrote {json_path}, {output_dir / MARKDOWN_NAME}, {output_dir / PLOT_NAME} and "
        f"{output_dir / TRAIN_PLOT_NAME}")
    return _clean(results)


def _substitute(requested: str, zoo_model: Any, units: Mapping[str, Any], explicit: bool, budget: Budget | None,
                say: Callable[[str], None], settings: Mapping[str, Any], n_train: int) -> tuple[str, Any, dict]:
    """The model that trains for ``requested``: the lighter variant an earlier sitting chose for it, or (a default
    model of :data:`SUBSTITUTES` with no unit yet) the variant when one timed step shows it does not fit, else
    itself. Returns its name, zoo entry and the ``substituted_for``/``substitution_reason`` fields of its units."""
    from monai_lite.benchmark.zoo import get_model

    chosen = next((m for m, by_seed in units.items() for u in by_seed.values()
                   if u.get("substituted_for") == requested), None)
    if chosen:  # decided in an earlier sitting: keep it, whatever a probe would say today
        first = next(iter(units[chosen].values()))
        return chosen, get_model(chosen), {k: first[k] for k in ("substituted_for", "substitution_reason") if k in first}
    if explicit or requested not in SUBSTITUTES or units.get(requested):
        return requested, zoo_model, {}
    say(f"{requested}: checking that it fits (one timed training step)")
    with _Threads(settings["train_threads"]):
        reason = _does_not_fit(zoo_model, settings["spatial_dims"], settings["in_channels"], settings["out_channels"],
                               settings["image_size"], settings["batch_size"], n_train, settings["device"],
                               budget.seconds if budget else None, budget.read() if budget else time.perf_counter)
    if not reason:
        return requested, zoo_model, {}
    name = SUBSTITUTES[requested]
    say(f"{requested}: {reason}; using {name} instead")
    return name, get_model(name), {"substituted_for": requested, "substitution_reason": reason}


def _run_unit(entry: dict[str, Any], zoo_model: Any, run_dir: Path, tag: str, say: Callable[[str], None],
              settings: Mapping[str, Any], budget: Budget | None, overrides: Mapping[str, Any],
              val_files: Sequence[Mapping[str, str]], data_datalist: str, measured: bool) -> None:
    """Train, evaluate and (unless ``measured`` already) measure one (model, seed) unit, filling ``entry``. Raises
    whatever the unit raises."""
    base, recipe, seed = settings["bundle"], settings["recipe"], entry["seed"]
    spatial_dims, in_channels = settings["spatial_dims"], settings["in_channels"]
    out_channels = settings["out_channels"]
    entry["bundle"] = _bundle_of(zoo_model, recipe, base)
    paper = _uses_paper_recipe(zoo_model, recipe, base)
    paper_ids: dict[str, Any] = {}
    if paper:
        entry["config_files"] = [str(f) for f in _config_files(entry["bundle"], True)]
        params, note = _overlay_preset_params(entry["bundle"], settings["preset"])
        if params is not None:
            paper_ids["preset_params"] = params
        if note:
            entry["recipe_note"] = note
            say(f"{tag}: note: {note}")
        paper_ids["in_channels"] = in_channels  # the network_def below is built with the benchmark's
    if run_dir.exists():
        shutil.rmtree(run_dir)  # an unfinished unit of an earlier attempt: start it afresh (see the module docstring)
    size = settings["image_size"]
    run_overrides = {
        **_recipe_overrides(zoo_model, recipe, base),
        **paper_ids,
        "bundle_root": str(run_dir),
        "network_def": zoo_model.network_def(spatial_dims, in_channels, out_channels, size),
        "dataset_dir": settings["dataset_dir"],
        "datalist": settings["datalist"],
        "fold": settings["fold"],
        "preset": settings["preset"],
        "image_size": size,
        "batch_size": settings["batch_size"],
        "seed": int(seed),
        "epochs": settings["max_epochs"],
        "num_workers": settings["num_workers"],
        # The benchmark's thread count, not the bundle's "auto" plan: that plan looks at the load when each unit
        # starts, so units would otherwise train on different thread counts on a machine doing other work.
        "num_threads": settings["train_threads"],
        **({"device": settings["device"]} if settings["device"] else {}),
        **dict(overrides),
    }
    limit = " and ".join(x for x in (budget.phrase() if budget else "",
                                     f"{settings['epochs']} epoch(s)" if settings["epochs"] else "") if x)
    say(f"{tag}: training ({limit}, {recipe} recipe, bundle {entry['bundle']}, {settings['train_threads']} "
        f"thread(s)) -> {run_dir}")
    with _Threads(settings["train_threads"]):
        workflow, record = _train(entry["bundle"], run_overrides, budget, run_dir / "train.log",
                                  **({"paper": True} if paper else {}))
    entry.update(record)
    say(f"{tag}: trained {record['epochs_done']} epoch(s) in {record['train_seconds']:.0f} s wall, "
        f"{record.get('train_cpu_seconds', 0.0):.0f} s CPU (stopped by {record['stopped_by']}), best val Dice "
        f"{_fmt(record['best_val_dice'])} at epoch {record['best_val_epoch']}")
    say(f"{tag}: held-out evaluation of the best checkpoint on {len(val_files)} validation cases")
    entry["held_out"] = _held_out(workflow, val_files, data_datalist, run_dir / "heldout")
    workflow.finalize()
    entry["checkpoint"] = str(run_dir / "models" / "model.pt")
    if not measured:
        say(f"{tag}: measuring parameters, MACs and CPU latency (batch 1, {'x'.join(map(str, size))})")
        entry.update(_measure(zoo_model, spatial_dims, in_channels, out_channels, size, settings["latency_threads"],
                              int(settings["latency_repeats"]), warmup=3))
    entry["status"] = "done"
    cost = (f", {entry['latency_ms']:.1f} ms on {entry['latency_threads']} thread(s), "
            f"{entry['params'] / 1e6:.2f} M parameters") if "latency_ms" in entry else ""
    say(f"{tag}: done: held-out Dice {_mean_std(entry['held_out']['dice'])}{cost}")


# --- command line ------------------------------------------------------------------------------------------------
def _image_size(text: str) -> list[int]:
    parts = [p for p in text.replace("x", ",").replace("[", "").replace("]", "").split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2, 3) or min(values, default=0) < 1:
        raise argparse.ArgumentTypeError(f"--image-size takes a size like 256, 256x256 or 32x48x32; got {text!r}.")
    return values


#: Options that may be given several times (their values are replayed one by one in the recorded command).
_REPEATED = ("models", "set")


def _command_line(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The command of this sitting as it would be typed again: every option that differs from its default, in the
    parser's order, shell-quoted (paths as given, relative to the folder the sitting ran in)."""
    words = ["monai-lite", "benchmark", "accuracy"]
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of a parser's options
        if not action.option_strings or action.dest in ("help", "debug"):
            continue
        value = getattr(args, action.dest, None)
        if value is None or value is False or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if value is True:
            words.append(flag)
        elif action.dest in _REPEATED:
            for item in value:
                words += [flag, str(item)]
        elif isinstance(value, list):
            words += [flag, "x".join(str(v) for v in value)]
        else:
            words += [flag, str(value)]
    return " ".join(shlex.quote(w) for w in words)


def _command(args: argparse.Namespace) -> int:
    from monai_lite.bundle.runner import parse_override

    if args.merge:
        from monai_lite.benchmark.accuracy_merge import merge_run

        merge_run(args.output, args.merge)
        return 0
    if args.remeasure_latency:
        from monai_lite.benchmark.accuracy_latency import remeasure_latency

        remeasure_latency(args.output, threads=args.threads, repeats=args.repeats,
                          command=_command_line(args, args.accuracy_parser))
        return 0

    overrides = dict(parse_override(item) for item in args.set or [])
    models = [m for item in args.models or [] for m in item.split(",") if m.strip()] or None
    results = benchmark_accuracy(
        args.output,
        models=models,
        datalist=args.datalist or "",
        dataset_dir=args.dataset_dir or "",
        fold=args.fold,
        budget_minutes=args.budget_minutes,
        budget_cpu_minutes=args.budget_cpu_minutes,
        epochs=args.epochs,
        max_epochs=args.max_epochs,
        recipe=args.recipe,
        bundle=args.bundle,
        preset=args.preset,
        image_size=args.image_size,
        batch_size=args.batch_size,
        seed=args.seed,
        seeds=args.seeds,
        device=args.device,
        num_workers=args.num_workers,
        train_threads=args.train_threads,
        latency_threads=args.threads,
        latency_repeats=args.repeats,
        resume=args.resume,
        overrides=overrides,
        command=_command_line(args, args.accuracy_parser),
    )
    planned = results["settings"]["seeds"]
    failed = [name for name, entry in results["models"].items() if name in planned and entry.get("status") != "done"]
    return 1 if failed else 0


def add_parser(kinds: Any) -> argparse.ArgumentParser:
    """Add the ``accuracy`` sub-verb to ``monai-lite benchmark``.

    Args:
        kinds: the ``benchmark`` verb's sub-parsers (``add_subparsers`` result).

    Returns:
        The sub-parser.
    """
    sub = kinds.add_parser(
        "accuracy",
        help="train models under one budget on the same data and compare held-out Dice/IoU/HD95 with CPU latency",
        description="Train each model (once per seed) through the bundle machinery with the same data, "
        "preprocessing, recipe and budget; evaluate each best checkpoint on the validation fold; measure CPU "
        "latency and parameters. Writes accuracy.json, accuracy.md and two charts; --resume continues a run "
        "unit by unit (model, seed).",
    )
    sub.add_argument("-o", "--output", required=True, help="[REQUIRED] output folder (results and one run folder per model and seed)")
    sub.add_argument("--models", action="append", metavar="NAMES",
                     help="[OPTIONAL] comma-separated zoo names (see monai_lite.benchmark.zoo), repeatable; NAME:N gives "
                     "that model N seeds (e.g. medlitenet:3,segresnet:3,lacnet). Default: " + ",".join(DEFAULT_MODELS)
                     + f" (msaunet becomes {SUBSTITUTES['msaunet']} there if it does not fit)")
    sub.add_argument("--seeds", type=int, default=1,
                     help="[OPTIONAL] seeds per model without its own :N; a model with N seeds trains with seeds "
                     "--seed .. --seed+N-1. Default: 1")
    sub.add_argument("--bundle", default=BASE_BUNDLE,
                     help="[OPTIONAL] base bundle: its training machinery, dimension, channels, preset and synthetic "
                     f"data, e.g. medlitenet_hippocampus for 3D. Default: {BASE_BUNDLE} (2D)")
    sub.add_argument("--datalist", default=None, help="[OPTIONAL] datalist JSON with folds. Default: the bundle's embedded synthetic data")
    sub.add_argument("--dataset-dir", dest="dataset_dir", default=None, help="[OPTIONAL] folder the datalist's paths start from")
    sub.add_argument("--fold", type=int, default=0, help="[OPTIONAL] validation fold. Default: 0")
    sub.add_argument("--budget-cpu-minutes", dest="budget_cpu_minutes", type=float, default=None,
                     help="[OPTIONAL] CPU-time training budget per model and seed, in CPU-minutes (training process "
                     "and its data-loading workers, user + system)")
    sub.add_argument("--budget-minutes", dest="budget_minutes", type=float, default=None,
                     help="[OPTIONAL] wall-clock training budget per model and seed, in minutes (one budget, or "
                     "--epochs, is required)")
    sub.add_argument("--epochs", type=int, default=None, help="[OPTIONAL] epochs per model; with a budget, whichever ends first")
    sub.add_argument("--max-epochs", dest="max_epochs", type=int, default=BUDGET_MAX_EPOCHS,
                     help=f"[OPTIONAL] epochs a budget-only run's schedule is laid over. Default: {BUDGET_MAX_EPOCHS}")
    sub.add_argument("--recipe", choices=RECIPES, default="common",
                     help="[OPTIONAL] 'common': one recipe for all (AdamW, Dice+CE, no EMA); 'paper': each network's "
                     "paper's recipe, its bundle's configs/paper.json overlay. Default: common")
    sub.add_argument("--preset", default=None, help="[OPTIONAL] transform preset, e.g. endoscopy. Default: the bundle's")
    sub.add_argument("--image-size", dest="image_size", type=_image_size, default=None,
                     help="[OPTIONAL] training and latency size, e.g. 256x256 or 32x48x32. Default: the bundle's")
    sub.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="[OPTIONAL] batch size. Default: the bundle's")
    sub.add_argument("--seed", type=int, default=0, help="[OPTIONAL] first seed. Default: 0")
    sub.add_argument("--device", default=None, help="[OPTIONAL] training device, e.g. cpu or cuda:0. Default: cuda if available")
    sub.add_argument("--num-workers", dest="num_workers", type=int, default=None, help="[OPTIONAL] data-loading workers. Default: the bundle's (2)")
    sub.add_argument("--train-threads", dest="train_threads", type=int, default=None,
                     help="[OPTIONAL] torch threads for training. Default: torch's current count (recorded)")
    sub.add_argument("--threads", type=int, default=None, help="[OPTIONAL] torch threads for the latency measurement. Default: torch's current count")
    sub.add_argument("--repeats", type=int, default=20, help="[OPTIONAL] timed forward passes per latency. Default: 20")
    sub.add_argument("--resume", action="store_true",
                     help="[OPTIONAL] keep the finished (model, seed) units of an earlier run in OUTDIR (same settings), train the rest")
    sub.add_argument("--set", action="append", metavar="ID=VALUE", help="[OPTIONAL] override any bundle config id for every run, repeatable")
    sub.add_argument("--remeasure-latency", dest="remeasure_latency", action="store_true",
                     help="[OPTIONAL] train nothing: time every finished model of the run in -o again, one after "
                     "the other (--threads, --repeats), and rewrite its reports. For a run whose units were timed "
                     "under different loads")
    sub.add_argument("--merge", default=None, metavar="OTHER_DIR",
                     help="[OPTIONAL] train nothing: copy the finished units of the run in OTHER_DIR (same settings, "
                     "other models or seeds, e.g. run on another core) into the run in -o, and rewrite its reports")
    sub.set_defaults(func=_command, accuracy_parser=sub)
    return sub
