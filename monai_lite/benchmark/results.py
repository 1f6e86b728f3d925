# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""``monai-lite benchmark report``: one Markdown page (``docs/results.md``) from accuracy benchmark runs.

Each argument is the output folder of one ``monai-lite benchmark accuracy`` run (one dataset and fold, any number
of sittings); the page gets one section per run, in the order given, each with

- the table of models over seeds (parameters, GMACs, CPU latency, epochs, training time on both clocks, held-out
  Dice, IoU and HD95 as mean ± sd over seeds with n), exactly as the run's own ``accuracy.md``
  (:func:`monai_lite.benchmark.accuracy_report.model_table`);
- the accuracy-versus-latency and accuracy-versus-training-time charts, written as PNG files beside the page
  (``<page>_<dataset>_accuracy_vs_latency.png``, ...);
- the exact commands of its sittings and the folder they ran in, and each sitting's machine (CPU model, AVX512-BF16
  and AMX yes/no, cores visible and affinity, torch and MONAI versions, torch threads, load);
- the settings that define the comparison (data, fold, size, budget and its clock, recipe, seeds), and the
  per-seed table.

Nothing is re-measured: the page is a view of the runs' ``accuracy.json`` files (format 1 or 2), so it can be
regenerated at any time, e.g. after a run gains a sitting. Example::

    monai-lite benchmark report bench/results/kvasir bench/results/hippocampus -o docs/results.md
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monai_lite.benchmark.accuracy_report import (
    budget_phrase,
    latency_note,
    machine_summary,
    model_table,
    read_results,
    seed_table,
    write_charts,
)
from monai_lite.benchmark.accuracy_units import upgrade_results

__all__ = ["load_run", "write_results", "add_parser"]


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """The ``accuracy.json`` of a run folder, in the format-2 layout.

    Raises:
        FileNotFoundError: the folder holds no ``accuracy.json``.
        ValueError: the file is not valid JSON, or not an accuracy benchmark result.
    """
    return upgrade_results(read_results(run_dir))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "run"


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than ``-`` and ``_`` dropped, spaces as
    ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _title(settings: dict[str, Any]) -> str:
    size = "x".join(str(s) for s in settings.get("image_size") or [])
    return f"{settings.get('data_name', '?')}, fold {settings.get('fold')}, {size}, {budget_phrase(settings)}"


def _section(results: dict[str, Any], run_dir: Path, latency_png: str, training_png: str) -> list[str]:
    settings = results.get("settings") or {}
    budget = settings.get("budget") or {}
    seeds = settings.get("seeds") or {}
    seed_counts = ", ".join(f"{name} {len(s)}" for name, s in seeds.items())
    lines = [
        f"## {_title(settings)}",
        "",
        f"From `{run_dir}`: {len(results.get('models', {}))} models on {settings.get('n_train')} training / "
        f"{settings.get('n_val')} validation cases, {settings.get('spatial_dims', '?')}D, base bundle "
        f"`{settings.get('bundle')}`, preset `{settings.get('preset')}`, batch {settings.get('batch_size')}, recipe "
        f"`{settings.get('recipe')}`, {settings.get('train_threads', '?')} training thread(s), "
        f"{settings.get('num_workers')} data-loading worker(s); seeds per model from {settings.get('base_seed')}: "
        f"{seed_counts}. Held-out metrics: best checkpoint of each seed on the validation fold, each case on its "
        "mask's own grid; mean over seeds of each seed's mean over cases ± sample sd over seeds (n = seeds). "
        f"Latency: CPU, batch 1, the training size, median, {latency_note(results)}.",
        "",
    ]
    if budget.get("definition"):
        lines += [f"Budget clock: {budget['definition']}.", ""]
    lines += [
        *model_table(results),
        "",
        f"![accuracy versus latency]({latency_png})",
        "",
        f"![accuracy versus training time]({training_png})",
        "",
        "Commands (run from the folder shown; `--resume` continues a run in a later sitting):",
        "",
        # The recorded commands train for hours; the documentation tests run the same command shortened from
        # docs/benchmarks.md instead.
        "<!-- doc-test: skip the recorded commands of budget runs that take hours; docs/benchmarks.md has the same "
        "command, tested shortened -->",
    ]
    seen: list[tuple[str, str]] = []
    for sitting in results.get("sittings") or []:
        key = (str(sitting.get("cwd") or "."), str(sitting.get("command") or "(Python API call)"))
        if key not in seen:
            seen.append(key)
    lines += ["```bash"]
    folder = None
    for cwd, command in seen:
        if cwd != folder:
            lines.append(f"cd {cwd}")
            folder = cwd
        lines.append(command)
    lines += ["```", "", "Machines (one line per sitting):", ""]
    for number, sitting in enumerate(results.get("sittings") or [], start=1):
        lines.append(f"{number}. {sitting.get('started', '?')}: {machine_summary(sitting.get('machine') or {})}")
    lines += ["", "<details><summary>Per seed</summary>", "", *seed_table(results), "", "</details>", ""]
    return lines


def write_results(run_dirs: Sequence[str | Path], output: str | Path, title: str = "Results") -> Path:
    """Write the results page of ``run_dirs`` to ``output`` and its charts beside it, each atomically.

    Args:
        run_dirs: output folders of ``monai-lite benchmark accuracy``, one section each, in this order.
        output: the Markdown file, e.g. ``docs/results.md``; its folder is created.
        title: the page's heading. Defaults to "Results".

    Returns:
        The page's path.

    Raises:
        ValueError: no run folder, a run folder given twice, or an unreadable ``accuracy.json``.
        FileNotFoundError: a folder without ``accuracy.json``.

    Example::

        write_results(["bench/results/kvasir", "bench/results/hippocampus"], "docs/results.md")
    """
    from monai_lite.engine.atomic import atomic_write_text

    if not run_dirs:
        raise ValueError("give at least one run folder of `monai-lite benchmark accuracy`.")
    folders = [Path(d) for d in run_dirs]
    if len({f.resolve() for f in folders}) != len(folders):
        raise ValueError("a run folder is given twice; give each once.")
    output = Path(output)
    runs = [load_run(folder) for folder in folders]  # every file is read before anything is written
    output.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {title}",
        "",
        f"Generated on {datetime.now(timezone.utc).isoformat(timespec='seconds')} by `monai-lite benchmark report "
        f"{' '.join(str(f) for f in folders)} -o {output}` from each run's `accuracy.json`; regenerate rather than "
        "edit. Each section is one dataset: every model trained with the same data, preprocessing, recipe and "
        "budget per (model, seed), by `monai-lite benchmark accuracy` (docs/benchmarks.md explains the method).",
        "",
        "Contents: " + ", ".join(f"[{_title(r['settings'])}](#{_anchor(_title(r['settings']))})" for r in runs),
        "",
    ]
    used: set[str] = set()
    for folder, results in zip(folders, runs):
        settings = results["settings"]
        slug = _slug(f"{settings.get('data_name', 'run')}_fold{settings.get('fold')}")
        base, number = slug, 2
        while slug in used:
            slug, number = f"{base}_{number}", number + 1
        used.add(slug)
        latency_png = f"{output.stem}_{slug}_accuracy_vs_latency.png"
        training_png = f"{output.stem}_{slug}_accuracy_vs_training_time.png"
        write_charts(results, output.parent / latency_png, output.parent / training_png, title=_title(settings))
        lines += _section(results, folder, latency_png, training_png)
    atomic_write_text(output, "\n".join(lines))
    return output


def _command(args: argparse.Namespace) -> int:
    path = write_results(args.run_dirs, args.output, title=args.title)
    print(f"wrote {path} and its charts")
    return 0


def add_parser(kinds: Any) -> argparse.ArgumentParser:
    """Add the ``report`` sub-verb to ``monai-lite benchmark``.

    Args:
        kinds: the ``benchmark`` verb's sub-parsers (``add_subparsers`` result).

    Returns:
        The sub-parser.
    """
    sub = kinds.add_parser(
        "report",
        help="write a results page (tables, charts, commands, machines) from accuracy benchmark runs",
        description="Write one Markdown page with a section per `monai-lite benchmark accuracy` output folder: the "
        "table over seeds, the accuracy-versus-latency and accuracy-versus-training-time charts (PNG beside the "
        "page), the exact commands and each sitting's machine.",
    )
    sub.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="[REQUIRED] output folders of `monai-lite benchmark accuracy`")
    sub.add_argument("-o", "--output", required=True, help="[REQUIRED] the Markdown page, e.g. docs/results.md")
    sub.add_argument("--title", default="Results", help="[OPTIONAL] the page's heading. Default: Results")
    sub.set_defaults(func=_command)
    return sub
