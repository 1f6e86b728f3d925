# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The files ``monai-lite benchmark accuracy`` writes: ``accuracy.json``, ``accuracy.md`` and the
accuracy-versus-latency chart, all from one results dict (see
:func:`monai_lite.benchmark.accuracy.benchmark_accuracy`), each atomically.

Kept apart from the benchmark itself so that a report can be re-rendered from a saved ``accuracy.json``::

    results = json.loads(Path("bench/accuracy/accuracy.json").read_text())
    write_markdown(results, "bench/accuracy/accuracy.md")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["JSON_NAME", "MARKDOWN_NAME", "PLOT_NAME", "fmt_mean_std", "fmt_number", "write_markdown", "write_reports"]

JSON_NAME, MARKDOWN_NAME, PLOT_NAME = "accuracy.json", "accuracy.md", "accuracy_vs_latency.png"


def fmt_number(value: Any, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or an en dash when it is missing."""
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_mean_std(stats: Mapping[str, Any] | None, digits: int = 4) -> str:
    """``"mean ± std"`` of a summary dict, or an en dash when it has no mean."""
    if not stats or stats.get("mean") is None:
        return "–"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def write_markdown(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``accuracy.md`` (table, settings, recipe, machine) from the content of ``accuracy.json``.

    Args:
        results: the dict :func:`~monai_lite.benchmark.accuracy.benchmark_accuracy` returns (and writes as JSON).
        path: the Markdown file; written atomically.

    Returns:
        The path written.

    Example::

        write_markdown(json.loads(Path("bench/accuracy.json").read_text()), "bench/accuracy.md")
    """
    settings, machine = results.get("settings", {}), results.get("machine", {})
    models = results.get("models", {})
    unit = next((m["held_out"].get("distance_unit") for m in models.values() if m.get("held_out")), "pixel")
    limit = []
    if settings.get("budget_minutes") is not None:
        limit.append(f"{settings['budget_minutes']:g} min wall-clock per model")
    if settings.get("epochs") is not None:
        limit.append(f"{settings['epochs']} epoch(s)")
    lines = [
        "# Accuracy benchmark",
        "",
        f"{len(models)} models, each trained on {settings.get('data_name', '?')} fold {settings.get('fold')} "
        f"({settings.get('n_train')} training / {settings.get('n_val')} validation cases) for "
        f"{' or '.join(limit) or '?'}, recipe `{settings.get('recipe')}`, seed {settings.get('seed')}. "
        "Held-out metrics: the best checkpoint (highest validation Dice) on the validation fold, each case on its "
        "mask's own grid, mean ± std over cases. Latency: CPU, batch 1, median.",
        "",
        f"| model | params (M) | GMACs | CPU latency (ms) | epochs | train time (s) | best val Dice | held-out Dice "
        f"| held-out IoU | HD95 ({unit}) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, entry in models.items():
        held = entry.get("held_out") or {}
        notes = []
        if entry.get("status") != "done":
            notes.append(f"**{entry.get('status')}**: {entry.get('error', '')}")
        if entry.get("substituted_for"):
            notes.append(f"replaces {entry['substituted_for']} ({entry.get('substitution_reason', '')})")
        if entry.get("stopped_by") == "budget":
            notes.append("budget stop" + (" mid-epoch" if entry.get("stopped_mid_epoch") else ""))
        if entry.get("description") and entry.get("description") != "defaults":
            notes.append(entry["description"])
        params, macs = entry.get("params"), entry.get("macs")
        cells = [
            name, fmt_number(params / 1e6 if params else None, 3), fmt_number(macs / 1e9 if macs else None, 2),
            fmt_number(entry.get("latency_ms"), 1), str(entry.get("epochs_done", "–")),
            fmt_number(entry.get("train_seconds"), 0), fmt_number(entry.get("best_val_dice")),
            fmt_mean_std(held.get("dice")), fmt_mean_std(held.get("iou")), fmt_mean_std(held.get("hd95"), 2),
            "; ".join(notes),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![accuracy versus latency]({PLOT_NAME})", "", "## Settings", ""]
    for key in ("data_name", "datalist", "dataset_dir", "fold", "n_train", "n_val", "preset", "image_size",
                "batch_size", "budget_minutes", "epochs", "max_epochs", "seed", "recipe", "bundle", "device",
                "num_workers", "overrides", "latency_threads", "latency_repeats"):
        if key in settings:
            lines.append(f"- `{key}`: {json.dumps(settings[key])}")
    lines += ["", "## Recipe", "", settings.get("recipe_text", ""), "", "## Machine", ""]
    lines += [f"- `{key}`: {json.dumps(value)}" for key, value in machine.items()]
    lines += [
        "",
        "## Notes",
        "",
        "- Empty masks: " + str(results.get("empty_mask_policy", "")),
        "- The wall-clock budget starts when the trainer starts (dataset caching excluded) and covers training and "
        "the per-epoch validation; a budget spent mid-epoch ends that epoch early, validates it and stops.",
        "- HD95 is in pixels for 2D image files (spacing 1) and in mm for volumes; a missed or false-positive case "
        "scores the image diagonal.",
        "- Latency is measured on a freshly built network (weights do not change the cost) after "
        "`prepare_for_inference` (BatchNorm folding, in-place activations, channels-last weights; the same for "
        "every model, as `monai-lite infer` runs it) with the thread count shown, right after the model's "
        "training; numbers from other machines or thread counts do not compare.",
        "",
    ]
    path = Path(path)
    from monai_lite.engine.atomic import atomic_write_text

    atomic_write_text(path, "\n".join(lines))
    return path


def write_reports(results: dict[str, Any], output_dir: Path) -> None:
    """Write the JSON, the Markdown and the chart (each atomically) from the current results."""
    from monai_lite.benchmark.plot import plot_accuracy_vs_latency
    from monai_lite.engine.atomic import atomic_write_json, json_ready

    results = json_ready(results)
    atomic_write_json(output_dir / JSON_NAME, results)
    write_markdown(results, output_dir / MARKDOWN_NAME)
    points = [
        {"name": name, "latency_ms": entry.get("latency_ms"), "params": entry.get("params"),
         "dice": ((entry.get("held_out") or {}).get("dice") or {}).get("mean"), "family": entry.get("family")}
        for name, entry in results.get("models", {}).items()
        if entry.get("status") == "done"
    ]
    plot_accuracy_vs_latency(points, output_dir / PLOT_NAME,
                             title=f"Accuracy versus CPU latency ({results['settings'].get('data_name', '')})")
