# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The files ``monai-lite benchmark accuracy`` writes: ``accuracy.json``, ``accuracy.md`` and two charts (accuracy
versus CPU latency, accuracy versus training time), all from one results dict (see
:func:`monai_lite.benchmark.accuracy.benchmark_accuracy`), each atomically; and the pieces of Markdown that
``monai-lite benchmark report`` (:mod:`monai_lite.benchmark.results`) reuses for ``docs/results.md``.

Kept apart from the benchmark itself so that a report can be re-rendered from a saved ``accuracy.json`` (of either
format; see :func:`monai_lite.benchmark.accuracy_units.upgrade_results`)::

    results = json.loads(Path("bench/accuracy/accuracy.json").read_text())
    write_markdown(results, "bench/accuracy/accuracy.md")

Every held-out number in the tables is over seeds: the mean over a model's finished seeds of each seed's mean over
the validation cases, ± the sample standard deviation over seeds, with n the number of seeds (one seed shows no
±). The per-seed table beside it gives each seed's mean ± std over cases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monai_lite.benchmark.accuracy_units import aggregate_models, iter_units, upgrade_results

__all__ = [
    "JSON_NAME",
    "read_results",
    "MARKDOWN_NAME",
    "PLOT_NAME",
    "TRAIN_PLOT_NAME",
    "fmt_mean_std",
    "fmt_number",
    "fmt_seed_stats",
    "budget_phrase",
    "model_table",
    "seed_table",
    "machine_summary",
    "plot_points",
    "write_charts",
    "write_markdown",
    "write_reports",
]

JSON_NAME, MARKDOWN_NAME, PLOT_NAME = "accuracy.json", "accuracy.md", "accuracy_vs_latency.png"
TRAIN_PLOT_NAME = "accuracy_vs_training_time.png"


def read_results(run_dir: str | Path, format_version: int | None = None) -> dict[str, Any]:
    """The ``accuracy.json`` of a run folder, as written (no format upgrade).

    Args:
        run_dir: the output folder of ``monai-lite benchmark accuracy``.
        format_version: the only format accepted (a caller that writes the file back needs the current one); None
            accepts any. Defaults to None.

    Raises:
        FileNotFoundError: the folder holds no ``accuracy.json``.
        ValueError: the file is not valid JSON, not an accuracy benchmark result, or not of ``format_version``.
    """
    path = Path(run_dir) / JSON_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass output folders of `monai-lite benchmark accuracy`.")
    try:
        results = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}).") from err
    if not isinstance(results, dict) or results.get("benchmark") != "accuracy":
        raise ValueError(f"{path} is not an accuracy benchmark result (no \"benchmark\": \"accuracy\").")
    if format_version is not None and int(results.get("format_version", 1)) != format_version:
        raise ValueError(f"{path} is not an accuracy benchmark result of format {format_version}.")
    return results


def fmt_number(value: Any, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or an en dash when it is missing."""
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_mean_std(stats: Mapping[str, Any] | None, digits: int = 4) -> str:
    """``"mean ± std"`` of a summary dict (over cases), or an en dash when it has no mean."""
    if not stats or stats.get("mean") is None:
        return "–"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def fmt_seed_stats(stats: Mapping[str, Any] | None, digits: int = 4) -> str:
    """``"mean ± sd (n=3)"`` of a :func:`~monai_lite.benchmark.accuracy_units.seed_stats` dict; ``"mean (n=1)"``
    for one seed; an en dash when no seed has the value."""
    if not stats or stats.get("mean") is None:
        return "–"
    spread = f" ± {stats['sd']:.{digits}f}" if stats.get("sd") is not None else ""
    return f"{stats['mean']:.{digits}f}{spread} (n={stats['n']})"


def budget_phrase(settings: Mapping[str, Any]) -> str:
    """How long each model trained, e.g. ``"10 CPU-minutes or 50 epoch(s) per model"``."""
    limit = []
    if settings.get("budget_cpu_minutes") is not None:
        limit.append(f"{settings['budget_cpu_minutes']:g} CPU-minutes")
    if settings.get("budget_minutes") is not None:
        limit.append(f"{settings['budget_minutes']:g} wall-clock minutes")
    if settings.get("epochs") is not None:
        limit.append(f"{settings['epochs']} epoch(s)")
    if not limit:
        return "?"
    if len(limit) == 1:
        return f"{limit[0]} per model"
    return f"{' or '.join(limit)} per model, whichever ended first"


def _minutes(stats: Mapping[str, Any] | None) -> str:
    return "–" if not stats or stats.get("mean") is None else f"{stats['mean'] / 60:.1f}"


def _epochs(stats: Mapping[str, Any] | None) -> str:
    values = [v for v in (stats or {}).get("values", []) if v is not None]
    return ", ".join(str(v) for v in values) if values else "–"


def _notes(entry: Mapping[str, Any]) -> str:
    notes = []
    done, seeds = entry.get("seeds_done") or [], entry.get("seeds") or []
    if entry.get("status") != "done":
        notes.append(f"**{entry.get('status')}**: {len(done)} of {len(seeds)} seed(s) done")
    for seed, error in (entry.get("errors") or {}).items():
        notes.append(f"seed {seed}: {error}")
    if entry.get("substituted_for"):
        notes.append(f"replaces {entry['substituted_for']} ({entry.get('substitution_reason', '')})")
    stops = entry.get("stopped_by") or []
    budget_stops = sum(1 for s in stops if s == "budget")
    if budget_stops:
        notes.append("budget stop" + (f" ({budget_stops} of {len(stops)} seeds)" if budget_stops < len(stops) else ""))
    if entry.get("description") and entry.get("description") != "defaults":
        notes.append(str(entry["description"]))
    return "; ".join(notes)


def latency_note(results: Mapping[str, Any]) -> str:
    """Where the latency column comes from: each model's first finished unit, or one later sitting that timed every
    model again (:mod:`monai_lite.benchmark.accuracy_latency`)."""
    again = results.get("latency_remeasured")
    if not again:
        return "measured by each model's first finished unit, right after its training"
    return (f"measured again for every model in one sitting after training ({again.get('when', '?')}, "
            f"{again.get('threads')} thread(s), {again.get('repeats')} repeats; "
            f"{machine_summary(again.get('machine') or {})})")


def model_table(results: Mapping[str, Any]) -> list[str]:
    """The Markdown table of the models: cost, training, and held-out metrics over seeds (one row per model)."""
    results = upgrade_results(results)
    models = results.get("models", {})
    unit = next((m.get("distance_unit") for m in models.values() if m.get("distance_unit")), "pixel")
    lines = [
        "| model | params (M) | GMACs | CPU latency (ms) | epochs (per seed) | train time, CPU / wall (min) "
        f"| held-out Dice | held-out IoU | HD95 ({unit}) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, entry in models.items():
        held = entry.get("held_out") or {}
        params, macs = entry.get("params"), entry.get("macs")
        cells = [
            name, fmt_number(params / 1e6 if params else None, 3), fmt_number(macs / 1e9 if macs else None, 2),
            fmt_number(entry.get("latency_ms"), 1), _epochs(entry.get("epochs_done")),
            f"{_minutes(entry.get('train_cpu_seconds'))} / {_minutes(entry.get('train_seconds'))}",
            fmt_seed_stats(held.get("dice")), fmt_seed_stats(held.get("iou")), fmt_seed_stats(held.get("hd95"), 2),
            _notes(entry),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def seed_table(results: Mapping[str, Any]) -> list[str]:
    """The Markdown table of every unit (model, seed): its raw numbers, metrics as mean ± std over cases."""
    results = upgrade_results(results)
    lines = [
        "| model | seed | status | epochs | stopped by | train CPU (s) | train wall (s) | best val Dice "
        "| held-out Dice | held-out IoU | HD95 |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, seed, unit in iter_units(results):
        held = unit.get("held_out") or {}
        status = unit.get("status", "?") + (f": {unit['error']}" if unit.get("error") else "")
        stop = unit.get("stopped_by") or "–"
        if unit.get("stopped_mid_epoch"):
            stop += " (mid-epoch)"
        cells = [name, seed, status, str(unit.get("epochs_done", "–")), stop,
                 fmt_number(unit.get("train_cpu_seconds"), 0), fmt_number(unit.get("train_seconds"), 0),
                 fmt_number(unit.get("best_val_dice")), fmt_mean_std(held.get("dice")), fmt_mean_std(held.get("iou")),
                 fmt_mean_std(held.get("hd95"), 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _yes_no(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


def machine_summary(machine: Mapping[str, Any]) -> str:
    """One line: CPU model, its bf16/AMX support, cores visible, torch and MONAI versions, threads."""
    flags = machine.get("cpu_flags") or {}
    bf16 = flags.get("avx512_bf16")
    amx = flags.get("amx_bf16") if flags else None
    parts = [
        str(machine.get("cpu_model", "?")),
        f"AVX512-BF16 {_yes_no(bf16)}, AMX {_yes_no(amx)}",
        f"{machine.get('cpu_count', '?')} core(s) visible"
        + (f" (affinity {machine['cpu_affinity']})" if machine.get("cpu_affinity") else ""),
        f"torch {machine.get('torch', '?')} ({machine.get('torch_num_threads', '?')} threads)",
        f"MONAI {machine.get('monai', '?')}",
        f"Python {machine.get('python', '?')}",
    ]
    if machine.get("cuda_device"):
        parts.append(f"CUDA {machine['cuda_device']}")
    if machine.get("load_average"):
        parts.append("load " + "/".join(f"{x:.1f}" for x in machine["load_average"]))
    return "; ".join(parts)


def plot_points(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One chart point per model with a finished seed: mean Dice over seeds (and its sd), latency, parameters and
    training time in minutes (CPU minutes under a CPU budget, else wall-clock)."""
    results = upgrade_results(results)
    cpu = (results.get("settings") or {}).get("budget_cpu_minutes") is not None
    points = []
    for name, entry in results.get("models", {}).items():
        dice = (entry.get("held_out") or {}).get("dice") or {}
        train = entry.get("train_cpu_seconds" if cpu else "train_seconds") or {}
        if dice.get("mean") is None:
            continue
        points.append({
            "name": name, "family": entry.get("family"), "params": entry.get("params"),
            "latency_ms": entry.get("latency_ms"), "dice": dice["mean"], "dice_sd": dice.get("sd"),
            "n_seeds": dice.get("n"),
            "train_minutes": train["mean"] / 60 if train.get("mean") is not None else None,
        })
    return points


def write_charts(results: Mapping[str, Any], latency_png: Path, training_png: Path, title: str = "") -> None:
    """Draw the accuracy-versus-latency and accuracy-versus-training-time charts of ``results``."""
    from monai_lite.benchmark.plot import plot_accuracy_vs_latency, plot_accuracy_vs_training_time

    settings = results.get("settings") or {}
    points = plot_points(results)
    title = title or str(settings.get("data_name", ""))
    cpu = settings.get("budget_cpu_minutes") is not None
    plot_accuracy_vs_latency(points, latency_png, title=f"Accuracy versus CPU latency ({title})")
    plot_accuracy_vs_training_time(
        points, training_png, title=f"Accuracy versus training time ({title})",
        xlabel="training time, mean over seeds (CPU minutes)" if cpu else "training time, mean over seeds "
        "(wall-clock minutes)")


def write_markdown(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``accuracy.md`` (tables, settings, recipe, machine) from the content of ``accuracy.json``.

    Args:
        results: the dict :func:`~monai_lite.benchmark.accuracy.benchmark_accuracy` returns (and writes as JSON),
            of format 1 or 2.
        path: the Markdown file; written atomically.

    Returns:
        The path written.

    Example::

        write_markdown(json.loads(Path("bench/accuracy.json").read_text()), "bench/accuracy.md")
    """
    from monai_lite.engine.atomic import atomic_write_text

    results = upgrade_results(results)
    settings, machine = results.get("settings", {}), results.get("machine", {})
    models = results.get("models", {})
    budget = settings.get("budget") or {}
    lines = [
        "# Accuracy benchmark",
        "",
        f"{len(models)} models, each trained on {settings.get('data_name', '?')} fold {settings.get('fold')} "
        f"({settings.get('n_train')} training / {settings.get('n_val')} validation cases) for "
        f"{budget_phrase(settings)}, recipe `{settings.get('recipe')}`, seeds from {settings.get('base_seed')}. "
        "Held-out metrics: the best checkpoint (highest validation Dice) of each seed on the validation fold, each "
        "case on its mask's own grid; the table gives the mean over seeds of each seed's mean over cases ± the "
        f"sample standard deviation over seeds, n = seeds. Latency: CPU, batch 1, median, {latency_note(results)}.",
        "",
        *model_table(results),
        "",
        f"![accuracy versus latency]({PLOT_NAME})",
        "",
        f"![accuracy versus training time]({TRAIN_PLOT_NAME})",
        "",
        "## Per seed",
        "",
        "Each (model, seed) as trained: held-out metrics as mean ± std over the validation cases.",
        "",
        *seed_table(results),
        "",
        "## Settings",
        "",
    ]
    for key in ("data_name", "datalist", "dataset_dir", "fold", "n_train", "n_val", "bundle", "spatial_dims",
                "preset", "image_size", "batch_size", "budget_cpu_minutes", "budget_minutes", "epochs", "max_epochs",
                "base_seed", "seeds", "recipe", "device", "num_workers", "train_threads", "overrides",
                "latency_threads", "latency_repeats"):
        if key in settings:
            lines.append(f"- `{key}`: {json.dumps(settings[key])}")
    if budget.get("definition"):
        lines.append(f"- budget clock: {budget['definition']}")
    lines += ["", "## Recipe", "", settings.get("recipe_text", ""), "", "## Commands and machines", ""]
    for number, sitting in enumerate(results.get("sittings") or [], start=1):
        lines.append(f"{number}. {sitting.get('started', '?')}: "
                     + (f"`{sitting['command']}`" if sitting.get("command") else "(Python API)")
                     + f" — {machine_summary(sitting.get('machine') or {})}")
    lines += ["", "## Machine (latest sitting)", ""]
    lines += [f"- `{key}`: {json.dumps(value)}" for key, value in machine.items()]
    lines += [
        "",
        "## Notes",
        "",
        "- Empty masks: " + str(results.get("empty_mask_policy", "")),
        "- The budget starts when the trainer starts (dataset caching excluded) and covers training and the per-epoch "
        "validation; a budget spent mid-epoch ends that epoch early, validates it and stops. The stop rule is the "
        "same for every model.",
        "- HD95 is in pixels for 2D image files (spacing 1) and in mm for volumes; a missed or false-positive case "
        "scores the image diagonal.",
        "- Latency is measured on a freshly built network (weights do not change the cost) after "
        "`prepare_for_inference` (BatchNorm folding, in-place activations, channels-last weights; the same for "
        "every model, as `monai-lite infer` runs it) with the thread count shown, once per model; numbers from "
        "other machines or thread counts do not compare.",
        "",
    ]
    path = Path(path)
    atomic_write_text(path, "\n".join(lines))
    return path


def write_reports(results: dict[str, Any], output_dir: Path, charts: bool = True) -> None:
    """Write the JSON, the Markdown and (``charts``) the two charts, each atomically, from the current results;
    ``models`` is derived from ``units`` first, so the file never holds a stale aggregate."""
    from monai_lite.engine.atomic import atomic_write_json, json_ready

    results = json_ready({**results, "models": aggregate_models(results)})
    atomic_write_json(output_dir / JSON_NAME, results)
    write_markdown(results, output_dir / MARKDOWN_NAME)
    if charts:
        write_charts(results, output_dir / PLOT_NAME, output_dir / TRAIN_PLOT_NAME)
