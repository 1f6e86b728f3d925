# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark accuracy``: train several networks under one budget and compare held-out accuracy.

Every model of the comparison is trained by the same bundle machinery (a bundle's ``train.json`` run through MONAI's
``ConfigWorkflow``, with ``network_def`` replaced by the model from :mod:`monai_lite.benchmark.zoo` and
``bundle_root`` moved to the model's own folder under the output folder), on the same data (datalist, dataset
folder and fold; the embedded synthetic lesions when no datalist is given), with the same preprocessing (preset and
image size), seed and recipe, for the same wall-clock budget (``budget_minutes``, per model, enforced by
:class:`monai_lite.engine.budget.WallClockBudget`) and/or number of epochs. Each model is then

1. evaluated on the fold's validation cases with its best checkpoint (``models/model.pt``, the epoch of highest
   validation Dice): predictions are mapped back to each mask's own grid with MONAI's ``Invertd`` and scored with
   :mod:`monai_lite.evaluation` (Dice, IoU, HD95 and its empty-mask policy), against the mask files themselves;
2. measured on the CPU: parameters, MACs and latency at batch 1 and the training image size, with the thread
   count recorded (:mod:`monai_lite.benchmark.measure`); latency after
   :func:`~monai_lite.networks.inference_prep.prepare_for_inference`, as ``monai-lite infer`` runs a model.

Recipes (``recipe``):

- ``"common"`` (default, for fairness): one recipe for every model, :data:`COMMON_RECIPE`, on the ``medlitenet``
  bundle's machinery: AdamW (lr 1e-3, weight decay 1e-4), 0.5 x CE + 0.5 x Dice, cosine schedule without warm-up,
  gradient clipping at norm 0.5, no EMA, no gradient accumulation, no progressive resizing, validation every epoch.
- ``"paper"``: each monai-lite network (and its ablations) trains with its paper's recipe: its bundle's
  ``train.json`` with the bundle's ``configs/paper.json`` overlay layered on top, as
  ``--config_file "['.../train.json','.../paper.json']"`` does (``medlitenet``: AdamW, EMA, clipping, accumulation,
  progressive resizing, CLAHE; ``lacnet``: Adam + L2, median-frequency weighted CE + Dice, [0, 1] input;
  ``lightawnet``: Adam 1e-4, BCE alone; ``msaunet``: its augmentation). The comparison's own settings still win
  over the overlay: data, fold, preset, image size, batch size, epochs and seed are the same for every model, and
  ``val_interval`` is 1. The overlay's ``preset_params`` (e.g. CLAHE, [0, 1] normalisation) are kept when the
  chosen preset has those parameters, and dropped with a note otherwise; its ``in_channels`` is replaced by the
  benchmark's, which the network is built with. MONAI's networks, which have no paper recipe here, use the common
  one.

With a budget only, the schedule is laid out over ``max_epochs`` (default 1000) epochs, so the learning rate stays
near its initial value for the whole budget; pass ``epochs`` as well to lay the cosine over that many epochs (the
run stops at whichever comes first). Progressive resizing (``paper`` recipe of MedLiteNet) is scheduled in fractions
of the epochs, so it needs ``epochs`` to reach the full size.

Output folder::

    accuracy.json               settings, machine, and per model the raw numbers (rewritten after every model)
    accuracy.md                 table + settings + recipe + machine
    accuracy_vs_latency.png     x = CPU latency (ms), y = held-out Dice, bubble area ~ parameters
    runs/<model>/models/        model.pt (best), last.pt; runs/<model>/eval/ TensorBoard logs
    runs/<model>/heldout/       metrics.csv and summary.json of the held-out evaluation
    runs/<model>/train.log      the epoch lines of the bundle's training log

A crash or Ctrl-C loses at most the model being trained, and a model that fails (out of memory, say) is recorded
with its reason while the others go on: ``resume=True`` (``--resume``) keeps every model already finished in
``accuracy.json`` (same settings required) and trains the others, failed ones included, from scratch.

Example::

    from monai_lite.benchmark.accuracy import benchmark_accuracy
    results = benchmark_accuracy("bench/kvasir", models=["medlitenet", "basicunet"],
                                 datalist="data_manifests/kvasir_seg.json", dataset_dir="../shared/data/kvasir-seg",
                                 fold=0, budget_minutes=15, preset="endoscopy", image_size=(256, 256))
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import shutil
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monai_lite.benchmark.accuracy_report import (
    JSON_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    fmt_mean_std as _mean_std,
    fmt_number as _fmt,
    write_markdown,
    write_reports as _write_all,
)
from monai_lite.engine.atomic import json_ready as _clean

__all__ = [
    "DEFAULT_MODELS",
    "COMMON_RECIPE",
    "RECIPES",
    "SUBSTITUTES",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "PLOT_NAME",
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

#: The one recipe of ``recipe="common"``, as bundle config ids (applied on top of the ``medlitenet`` bundle).
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
#: :data:`MIN_EPOCHS_IN_BUDGET` epochs of it would fit in the wall-clock budget. Never applied to models chosen
#: explicitly with ``models``.
SUBSTITUTES: dict[str, str] = {"msaunet": "msaunet-w0.5"}
MIN_EPOCHS_IN_BUDGET = 3

#: Epochs the schedule is laid over when only a wall-clock budget is given.
BUDGET_MAX_EPOCHS = 1000
#: The bundle whose machinery trains every model under the common recipe.
BASE_BUNDLE = "medlitenet"
#: The overlay of a bundle that holds its paper's recipe (``configs/<name>.json``), used by ``recipe="paper"``.
PAPER_OVERLAY = "paper.json"

_FORMAT_VERSION = 1
#: Settings that must match for ``resume`` to reuse finished models.
_RESUME_KEYS = ("bundle", "recipe", "datalist", "dataset_dir", "fold", "budget_minutes", "epochs", "max_epochs",
                "preset", "image_size", "batch_size", "seed", "overrides")


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
    """The data-related defaults of a bundle's ``train.json`` (preset, image size, channels, batch size)."""
    from monai_lite.bundle.runner import resolve_bundle

    raw = json.loads((resolve_bundle(bundle) / "configs" / "train.json").read_text())
    keys = ("preset", "image_size", "in_channels", "out_channels", "batch_size", "synthetic_default", "num_workers")
    return {key: raw.get(key) for key in keys}


def _uses_paper_recipe(zoo_model: Any, recipe: str) -> bool:
    """Whether ``zoo_model`` trains with its paper's overlay: a monai-lite network with a bundle, under ``paper``."""
    from monai_lite.bundle.runner import list_bundles

    return recipe == "paper" and zoo_model.family == "monai-lite" and zoo_model.network in list_bundles()


def _bundle_of(zoo_model: Any, recipe: str) -> str:
    """The bundle that trains ``zoo_model``: its own network's bundle under the paper recipe, else the base one."""
    return zoo_model.network if _uses_paper_recipe(zoo_model, recipe) else BASE_BUNDLE


def _recipe_overrides(zoo_model: Any, recipe: str) -> dict[str, Any]:
    """Config ids of the recipe: under ``paper`` only validation every epoch (the rest is the overlay's), else the
    common one."""
    return {"val_interval": 1} if _uses_paper_recipe(zoo_model, recipe) else dict(COMMON_RECIPE)


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
    """The overlay's ``preset_params`` if ``preset`` has every one of those parameters, else the plain size
    parameter and a note saying what was dropped; None when the overlay sets none."""
    from monai_lite.transforms.presets import read_preset

    overlay = json.loads((_config_files(bundle, True)[-1]).read_text())
    params = overlay.get("preset_params")
    if not isinstance(params, dict):
        return None, ""
    unknown = sorted(set(params) - set(read_preset(preset)))
    if unknown:
        return {"spatial_size": "@image_size"}, (f"preset {preset} has no parameter(s) {', '.join(unknown)} of the "
                                                 f"{bundle} paper overlay; its preset_params are not applied")
    return params, ""


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


# --- one model: train, evaluate, measure --------------------------------------------------------------------------
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
    bundle: str, overrides: Mapping[str, Any], budget_seconds: float | None, log_path: Path, paper: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Train one model through the bundle (layered with its paper overlay when ``paper``); returns the (still
    initialised) workflow and the training record."""
    from monai_lite.engine.budget import WallClockBudget

    with _TrainLog(log_path):
        workflow = _workflow(bundle, overrides, paper)
        started = time.perf_counter()
        workflow.initialize()
        trainer = workflow.parser.get_parsed_content("train#trainer")
        evaluator = workflow.parser.get_parsed_content("validate#evaluator")
        budget = None
        if budget_seconds is not None:
            budget = WallClockBudget(budget_seconds, evaluator=evaluator)
            budget.attach(trainer)  # after the bundle's handlers, so ValidationHandler runs first
        setup = time.perf_counter() - started
        started = time.perf_counter()
        workflow.run()
        train_seconds = time.perf_counter() - started
    exhausted = bool(budget is not None and budget.exhausted)
    best = getattr(evaluator.state, "best_metric", -1)
    record = {
        "epochs_done": int(trainer.state.epoch),
        "iterations": int(trainer.state.iteration),
        "max_epochs": int(trainer.state.max_epochs),
        "stopped_by": "budget" if exhausted else "epochs",
        "stopped_mid_epoch": bool(budget is not None and budget.stopped_mid_epoch),
        "setup_seconds": setup,
        "train_seconds": train_seconds,
        "best_val_dice": float(best) if best is not None and best >= 0 else None,
        "best_val_epoch": int(evaluator.state.best_metric_epoch) if best is not None and best >= 0 else None,
        "device": str(workflow.parser.get_parsed_content("device")),
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
                         image_size: Sequence[int], batch_size: int, n_train: int, device: Any) -> float:
    """Rough seconds per training epoch: one timed forward + backward of a full batch, times the batches."""
    import torch

    network = zoo_model.build(spatial_dims, in_channels, out_channels, spatial_size=image_size).to(device).train()
    batch = torch.randn(batch_size, in_channels, *image_size, device=device)
    timings = []
    for _ in range(2):  # the first call pays one-off allocations
        start = time.perf_counter()
        network(batch).float().mean().backward()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
    return timings[-1] * math.ceil(n_train / batch_size)


def _recipe_text(recipe: str) -> str:
    common = ", ".join(f"`{k}`={json.dumps(v)}" for k, v in COMMON_RECIPE.items())
    if recipe == "common":
        return (f"One common recipe for every model (`recipe=common`), on the `{BASE_BUNDLE}` bundle's training "
                f"machinery: {common}.")
    return ("Each monai-lite network and its ablations train with their paper's recipe (`recipe=paper`): the bundle's "
            "train.json layered with its configs/paper.json overlay (optimiser, learning rate, loss, schedule, EMA, "
            "clipping, accumulation, augmentation parameters), under this benchmark's data, preset, image size, batch "
            "size, epochs and seed, with `val_interval`=1; MONAI's networks have no paper recipe here and use the "
            f"common one: {common}.")


# --- the benchmark -----------------------------------------------------------------------------------------------
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
) -> dict[str, Any]:
    """Train each model under the same budget, data, preprocessing, seed and recipe; evaluate and measure it.

    Results are written to ``output_dir`` after every model (see the module docstring for the files).

    Args:
        output_dir: folder of the results and of every model's run; must not lie inside ``dataset_dir``.
        models: zoo names (:func:`monai_lite.benchmark.zoo.list_models`); None means :data:`DEFAULT_MODELS`, where
            a model in :data:`SUBSTITUTES` that does not fit is replaced by its lighter variant. Defaults to None.
        datalist: datalist JSON with folds (``monai-lite prepare``); "" trains on the embedded synthetic lesions.
            Defaults to "".
        dataset_dir: folder the datalist's paths start from; needed with ``datalist``. Defaults to "".
        fold: the validation fold; the others train. Defaults to 0.
        budget_minutes: wall-clock training budget per model in minutes. Defaults to None.
        epochs: epochs per model; with ``budget_minutes`` too, whichever ends first. At least one of the two is
            required. Defaults to None.
        max_epochs: the epochs a budget-only run is scheduled over (its cosine length and cap). Defaults to 1000.
        recipe: ``"common"`` (:data:`COMMON_RECIPE` for every model) or ``"paper"`` (each monai-lite network its
            own bundle's recipe). Defaults to "common".
        preset: transform preset of every model; None keeps the base bundle's (``dermoscopy``). Defaults to None.
        image_size: training and latency input size, e.g. ``(256, 256)``; None keeps the bundle's. Defaults to None.
        batch_size: training batch size; None keeps the bundle's. Defaults to None.
        seed: the seed of every run (``set_determinism``). Defaults to 0.
        device: training device, e.g. ``"cpu"`` or ``"cuda:0"``; None keeps the bundle's (CUDA when available).
            Latency is always measured on the CPU. Defaults to None.
        num_workers: data-loading workers; None keeps the bundle's. Defaults to None.
        latency_threads: torch threads for the latency measurement; None uses the current count. Defaults to None.
        latency_repeats: timed forward passes per model. Defaults to 20.
        resume: keep the finished models of an earlier run in ``output_dir`` (same settings) and train the rest.
            Defaults to False.
        overrides: more bundle config ids for every run (as ``--set``), e.g. ``{"num_workers": 0}``. Defaults to None.
        log: receives one progress line per step of each model; None is silent. Defaults to ``print``.

    Returns:
        The content of ``accuracy.json``: ``settings``, ``machine``, ``empty_mask_policy`` and ``models`` (name ->
        entry with ``status``, ``epochs_done``, ``train_seconds``, ``best_val_dice``, ``held_out`` (``dice``,
        ``iou``, ``hd95`` as mean/std/median/n/excluded), ``latency_ms``, ``params``, ``macs``, ...).

    Raises:
        ValueError: before any training, for no budget, an unknown model or recipe, a fold without validation
            cases, an existing result without ``resume`` or with other settings, or an output folder inside the
            dataset. A model that fails later (out of memory, a bad ``--set``) is recorded with ``status``
            ``"failed"`` and its reason, and the others go on.
        FileNotFoundError: for a missing dataset folder, datalist or case.
    """
    from monai_lite.benchmark.measure import machine_info
    from monai_lite.benchmark.zoo import get_model
    from monai_lite.bundle.data import training_data
    from monai_lite.data.synthetic import ensure_synthetic
    from monai_lite.evaluation.report import POLICY_TEXT

    say = log or (lambda text: None)
    output_dir = Path(output_dir)
    if budget_minutes is None and epochs is None:
        raise ValueError("give a training budget: --budget-minutes N (wall clock per model), --epochs N, or both.")
    if budget_minutes is not None and not (isinstance(budget_minutes, (int, float)) and budget_minutes > 0):
        raise ValueError(f"--budget-minutes must be a positive number, got {budget_minutes!r}.")
    if epochs is not None and int(epochs) < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}.")
    if recipe not in RECIPES:
        raise ValueError(f"--recipe must be one of {', '.join(RECIPES)}, got {recipe!r}.")
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"the output folder {output_dir} is a file; pass a folder with -o.")
    if dataset_dir and _is_inside(output_dir, Path(dataset_dir)):
        raise ValueError(f"the output folder {output_dir} lies inside the dataset folder {dataset_dir}; inputs are "
                         "never written to, choose another -o.")
    chosen = list(models) if models else list(DEFAULT_MODELS)
    explicit = bool(models)
    zoo = {name: get_model(name) for name in chosen}  # ValueError for an unknown name, listing the valid ones

    defaults = _bundle_defaults(BASE_BUNDLE)
    size = [int(s) for s in (image_size or defaults["image_size"])]
    spatial_dims = len(size)
    if spatial_dims != 2:
        raise ValueError(f"the accuracy benchmark trains the 2D bundle {BASE_BUNDLE}; --image-size needs two values, "
                         f"got {size}.")
    for zoo_model in zoo.values():
        zoo_model.network_def(spatial_dims, 1, 1, size)  # ValueError when the model has no such dimension
    in_channels, out_channels = int(defaults["in_channels"]), int(defaults["out_channels"])
    datalist = str(Path(datalist).resolve()) if datalist else ""
    dataset_dir = str(Path(dataset_dir).resolve()) if dataset_dir else ""
    train_files, val_files = training_data(dataset_dir, datalist, fold, defaults["synthetic_default"])
    if not val_files:
        raise ValueError(f"fold {fold} of {datalist or 'the synthetic dataset'} has no validation case to evaluate on.")
    data_datalist = datalist or str(ensure_synthetic(defaults["synthetic_default"]) / "datalist.json")
    settings: dict[str, Any] = {
        "bundle": BASE_BUNDLE,
        "recipe": recipe,
        "datalist": datalist,
        "dataset_dir": dataset_dir,
        "data_name": Path(datalist).stem if datalist else "synthetic lesions (embedded default)",
        "fold": int(fold),
        "n_train": len(train_files),
        "n_val": len(val_files),
        "budget_minutes": float(budget_minutes) if budget_minutes is not None else None,
        "epochs": int(epochs) if epochs is not None else None,
        "max_epochs": int(epochs) if epochs is not None else int(max_epochs),
        "preset": preset or defaults["preset"],
        "image_size": size,
        "batch_size": int(batch_size or defaults["batch_size"]),
        "seed": int(seed),
        "device": device,
        "num_workers": num_workers if num_workers is not None else defaults["num_workers"],
        "overrides": _clean(dict(overrides or {})),
        "latency_threads": latency_threads,
        "latency_repeats": int(latency_repeats),
        "recipe_text": _recipe_text(recipe),
    }

    results: dict[str, Any] = {"benchmark": "accuracy", "format_version": _FORMAT_VERSION, "created": _now(),
                               "settings": settings, "machine": machine_info(), "empty_mask_policy": POLICY_TEXT,
                               "models": {}}
    json_path = output_dir / JSON_NAME
    earlier: dict[str, Any] = {}
    if json_path.is_file():
        try:
            earlier = json.loads(json_path.read_text())
        except ValueError as err:
            raise ValueError(f"{json_path} is not valid JSON ({err}); move it away to start afresh.") from err
    finished = [name for name, entry in earlier.get("models", {}).items() if entry.get("status") == "done"]
    if finished and not resume:
        raise ValueError(f"{json_path} already holds the results of an earlier run ({len(finished)} finished "
                         "model(s)); pass --resume to continue it, or choose another output folder.")
    if earlier and resume:
        ours = _clean({key: settings[key] for key in _RESUME_KEYS})
        theirs = {key: earlier.get("settings", {}).get(key) for key in _RESUME_KEYS}
        changed = [key for key in _RESUME_KEYS if ours[key] != theirs[key]]
        if changed:
            detail = ", ".join(f"{k}: {theirs[k]!r} then, {ours[k]!r} now" for k in changed)
            raise ValueError(f"cannot resume {json_path}: it was run with other settings ({detail}).")
        results["models"] = {name: entry for name, entry in earlier.get("models", {}).items()
                             if entry.get("status") == "done"}
        results["created"] = earlier.get("created", results["created"])
    output_dir.mkdir(parents=True, exist_ok=True)
    if recipe == "paper" and epochs is None:
        say("note: with --recipe paper and no --epochs, schedules and progressive resizing are laid over "
            f"{max_epochs} epochs, so MedLiteNet's progressive resizing stays at its first size; pass --epochs too.")

    budget_seconds = float(budget_minutes) * 60.0 if budget_minutes is not None else None
    total = len(chosen)
    for index, name in enumerate(chosen, start=1):
        tag = f"[{index}/{total}] {name}"
        done = [key for key, entry in results["models"].items()
                if entry.get("status") == "done" and (key == name or entry.get("substituted_for") == name)]
        if done:
            say(f"{tag}: already finished in {json_path}, skipped (--resume)")
            continue
        zoo_model = zoo[name]
        entry: dict[str, Any] = {"name": name, "family": zoo_model.family, "network": zoo_model.network,
                                 "description": zoo_model.description, "status": "running", "started": _now()}
        workflow = None
        try:
            if not explicit and name in SUBSTITUTES:
                say(f"{tag}: checking that it fits (one timed training step)")
                reason = _does_not_fit(zoo_model, spatial_dims, in_channels, out_channels, size,
                                       settings["batch_size"], len(train_files), device, budget_seconds)
                if reason:
                    substitute = SUBSTITUTES[name]
                    say(f"{tag}: {reason}; using {substitute} instead")
                    zoo_model = get_model(substitute)
                    entry.update(name=substitute, description=zoo_model.description, substituted_for=name,
                                 substitution_reason=reason)
                    name = substitute
            entry["bundle"] = _bundle_of(zoo_model, recipe)
            paper = _uses_paper_recipe(zoo_model, recipe)
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
            run_dir = output_dir / "runs" / name
            if run_dir.exists():
                shutil.rmtree(run_dir)  # an unfinished run of an earlier attempt: start it afresh
            run_overrides = {
                **_recipe_overrides(zoo_model, recipe),
                **paper_ids,
                "bundle_root": str(run_dir),
                "network_def": zoo_model.network_def(spatial_dims, in_channels, out_channels, size),
                "dataset_dir": dataset_dir,
                "datalist": datalist,
                "fold": int(fold),
                "preset": settings["preset"],
                "image_size": size,
                "batch_size": settings["batch_size"],
                "seed": int(seed),
                "epochs": settings["max_epochs"],
                "num_workers": settings["num_workers"],
                **({"device": device} if device else {}),
                **dict(overrides or {}),
            }
            limit = " and ".join(x for x in (f"{budget_minutes:g} min" if budget_minutes else "",
                                             f"{epochs} epoch(s)" if epochs else "") if x)
            say(f"{tag}: training ({limit}, {recipe} recipe, bundle {entry['bundle']}) -> {run_dir}")
            workflow, record = _train(entry["bundle"], run_overrides, budget_seconds, run_dir / "train.log",
                                      **({"paper": True} if paper else {}))
            entry.update(record)
            say(f"{tag}: trained {record['epochs_done']} epoch(s) in {record['train_seconds']:.0f} s "
                f"(stopped by {record['stopped_by']}), best val Dice {_fmt(record['best_val_dice'])} "
                f"at epoch {record['best_val_epoch']}")
            say(f"{tag}: held-out evaluation of the best checkpoint on {len(val_files)} validation cases")
            entry["held_out"] = _held_out(workflow, val_files, data_datalist, run_dir / "heldout")
            workflow.finalize()
            entry["checkpoint"] = str(run_dir / "models" / "model.pt")
            say(f"{tag}: measuring parameters, MACs and CPU latency (batch 1, {'x'.join(map(str, size))})")
            entry.update(_measure(zoo_model, spatial_dims, in_channels, out_channels, size, latency_threads,
                                  int(latency_repeats), warmup=3))
            entry["status"] = "done"
            say(f"{tag}: done: held-out Dice {_mean_std(entry['held_out']['dice'])}, "
                f"{entry['latency_ms']:.1f} ms on {entry['latency_threads']} thread(s), "
                f"{entry['params'] / 1e6:.2f} M parameters")
        except Exception as err:  # noqa: BLE001 - one model failing (memory, optional package) must not end the rest
            entry.update(status="failed", error=_reason(err))
            run_dir = output_dir / "runs" / entry["name"]
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
            say(f"{tag}: FAILED ({entry['error']}); traceback in {run_dir / 'error.txt'}")
        # Free this model's cached datasets and network before the next one builds its own.
        workflow = None
        gc.collect()
        entry["finished"] = _now()
        results["models"].pop(entry["name"], None)
        results["models"][entry["name"]] = entry
        _write_all(results, output_dir)
    if not results["models"]:
        _write_all(results, output_dir)
    say(f"wrote {json_path}, {output_dir / MARKDOWN_NAME} and {output_dir / PLOT_NAME}")
    return _clean(results)


def _does_not_fit(zoo_model: Any, spatial_dims: int, in_channels: int, out_channels: int, size: Sequence[int],
                  batch_size: int, n_train: int, device: str | None, budget_seconds: float | None) -> str:
    """Why ``zoo_model`` does not fit (out of memory, or too few epochs in the budget), or "" when it fits."""
    import torch

    target = torch.device(device) if device else torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        seconds = _probe_epoch_seconds(zoo_model, spatial_dims, in_channels, out_channels, size, batch_size,
                                       n_train, target)
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


# --- command line ------------------------------------------------------------------------------------------------
def _image_size(text: str) -> list[int]:
    parts = [p for p in text.replace("x", ",").replace("[", "").replace("]", "").split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values, default=0) < 1:
        raise argparse.ArgumentTypeError(f"--image-size takes a 2D size like 256, 256x256 or 256,256; got {text!r}.")
    return values * 2 if len(values) == 1 else values


def _command(args: argparse.Namespace) -> int:
    from monai_lite.bundle.runner import parse_override

    overrides = dict(parse_override(item) for item in args.set or [])
    models = [m for item in args.models or [] for m in item.split(",") if m.strip()] or None
    results = benchmark_accuracy(
        args.output,
        models=models,
        datalist=args.datalist or "",
        dataset_dir=args.dataset_dir or "",
        fold=args.fold,
        budget_minutes=args.budget_minutes,
        epochs=args.epochs,
        max_epochs=args.max_epochs,
        recipe=args.recipe,
        preset=args.preset,
        image_size=args.image_size,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        num_workers=args.num_workers,
        latency_threads=args.threads,
        latency_repeats=args.repeats,
        resume=args.resume,
        overrides=overrides,
    )
    failed = [name for name, entry in results["models"].items() if entry.get("status") != "done"]
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
        description="Train each model through the bundle machinery with the same data, preprocessing, seed, recipe "
        "and budget; evaluate its best checkpoint on the validation fold; measure CPU latency and parameters. "
        "Writes accuracy.json, accuracy.md and accuracy_vs_latency.png.",
    )
    sub.add_argument("-o", "--output", required=True, help="[REQUIRED] output folder (results and one run folder per model)")
    sub.add_argument("--models", action="append", metavar="NAMES",
                     help="[OPTIONAL] comma-separated zoo names (see monai_lite.benchmark.zoo), repeatable. Default: "
                     + ",".join(DEFAULT_MODELS) + f" (msaunet becomes {SUBSTITUTES['msaunet']} there if it does not fit)")
    sub.add_argument("--datalist", default=None, help="[OPTIONAL] datalist JSON with folds. Default: the embedded synthetic data")
    sub.add_argument("--dataset-dir", dest="dataset_dir", default=None, help="[OPTIONAL] folder the datalist's paths start from")
    sub.add_argument("--fold", type=int, default=0, help="[OPTIONAL] validation fold. Default: 0")
    sub.add_argument("--budget-minutes", dest="budget_minutes", type=float, default=None,
                     help="[OPTIONAL] wall-clock training budget per model, in minutes (this or --epochs is required)")
    sub.add_argument("--epochs", type=int, default=None, help="[OPTIONAL] epochs per model; with a budget, whichever ends first")
    sub.add_argument("--max-epochs", dest="max_epochs", type=int, default=BUDGET_MAX_EPOCHS,
                     help=f"[OPTIONAL] epochs a budget-only run's schedule is laid over. Default: {BUDGET_MAX_EPOCHS}")
    sub.add_argument("--recipe", choices=RECIPES, default="common",
                     help="[OPTIONAL] 'common': one recipe for all (AdamW, Dice+CE, no EMA); 'paper': each network's "
                     "paper's recipe, its bundle's configs/paper.json overlay. Default: common")
    sub.add_argument("--preset", default=None, help="[OPTIONAL] transform preset, e.g. endoscopy. Default: the bundle's (dermoscopy)")
    sub.add_argument("--image-size", dest="image_size", type=_image_size, default=None,
                     help="[OPTIONAL] training and latency size, e.g. 256x256. Default: the bundle's (128x128)")
    sub.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="[OPTIONAL] batch size. Default: the bundle's (8)")
    sub.add_argument("--seed", type=int, default=0, help="[OPTIONAL] seed of every run. Default: 0")
    sub.add_argument("--device", default=None, help="[OPTIONAL] training device, e.g. cpu or cuda:0. Default: cuda if available")
    sub.add_argument("--num-workers", dest="num_workers", type=int, default=None, help="[OPTIONAL] data-loading workers. Default: the bundle's (2)")
    sub.add_argument("--threads", type=int, default=None, help="[OPTIONAL] torch threads for the latency measurement. Default: torch's current count")
    sub.add_argument("--repeats", type=int, default=20, help="[OPTIONAL] timed forward passes per latency. Default: 20")
    sub.add_argument("--resume", action="store_true", help="[OPTIONAL] keep the finished models of an earlier run in OUTDIR, train the rest")
    sub.add_argument("--set", action="append", metavar="ID=VALUE", help="[OPTIONAL] override any bundle config id for every run, repeatable")
    sub.set_defaults(func=_command)
    return sub
