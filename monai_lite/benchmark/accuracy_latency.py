# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Measure the latency of an accuracy run's models again, all in one sitting, without retraining anything.

A unit of ``monai-lite benchmark accuracy`` measures its model's CPU latency right after training it, so each model
is timed under whatever else the machine did at that moment: on a shared 2-core machine one model's latency can come
from a quiet minute and the next one's from a busy one, and the accuracy-versus-latency chart then compares
machines, not models. :func:`remeasure_latency` (``monai-lite benchmark accuracy -o RUN --remeasure-latency``) times
every model of a finished run again, one after the other in one process with the same threads, replaces each unit's
cost fields (parameters, MACs, latency) and rewrites ``accuracy.json``, ``accuracy.md`` and the charts. The sitting
(when, threads, machine and its load) is recorded under ``latency_remeasured`` and shown by both reports.

Parameters and MACs do not depend on the machine; they are measured again only because they come with the latency.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["remeasure_latency"]


def remeasure_latency(output_dir: str | Path, threads: int | None = None, repeats: int | None = None,
                      command: str = "", say: Callable[[str], None] = print) -> dict[str, Any]:
    """Time every model of the accuracy run in ``output_dir`` again and rewrite its files.

    Args:
        output_dir: the output folder of ``monai-lite benchmark accuracy``.
        threads: torch threads for the measurement; None keeps the run's ``latency_threads``. Defaults to None.
        repeats: timed forward passes per model; None keeps the run's ``latency_repeats``. Defaults to None.
        command: the command line, recorded with the sitting. Defaults to "".
        say: where progress lines go. Defaults to print.

    Returns:
        The updated results (the content of ``accuracy.json``).

    Raises:
        FileNotFoundError: the folder holds no ``accuracy.json``.
        ValueError: the file is not an accuracy benchmark result of format 2, or no model has a finished unit.
        monai_lite.engine.run_lock.RunFolderLockedError: a sitting is training in ``output_dir`` right now.
    """
    from monai_lite.benchmark.accuracy import JSON_NAME, LOCK_NAME, _measure, _now
    from monai_lite.benchmark.accuracy_report import read_results, write_reports
    from monai_lite.benchmark.accuracy_units import FORMAT_VERSION
    from monai_lite.benchmark.measure import machine_info
    from monai_lite.benchmark.zoo import get_model
    from monai_lite.engine.run_lock import RunFolderLock

    output_dir = Path(output_dir)
    json_path = output_dir / JSON_NAME
    results = read_results(output_dir, FORMAT_VERSION)
    settings = results.get("settings") or {}
    threads = int(threads or settings.get("latency_threads") or 1)
    repeats = int(repeats or settings.get("latency_repeats") or 20)
    finished = {name: by_seed for name, by_seed in (results.get("units") or {}).items()
                if any(u.get("status") == "done" for u in by_seed.values())}
    if not finished:
        raise ValueError(f"{json_path} has no finished unit to measure.")
    with RunFolderLock(output_dir, name=LOCK_NAME):
        machine = machine_info()
        for number, (name, by_seed) in enumerate(finished.items(), start=1):
            say(f"[{number}/{len(finished)}] {name}: parameters, MACs and CPU latency (batch 1, "
                f"{'x'.join(map(str, settings['image_size']))}, {threads} thread(s), {repeats} repeats)")
            cost = _measure(get_model(name), settings["spatial_dims"], settings["in_channels"],
                            settings["out_channels"], settings["image_size"], threads, repeats, warmup=3)
            for unit in by_seed.values():
                if unit.get("status") == "done":
                    unit.update(cost)
            say(f"[{number}/{len(finished)}] {name}: {cost['latency_ms']:.1f} ms")
        results["latency_remeasured"] = {"when": _now(), "threads": threads, "repeats": repeats,
                                         "models": list(finished), "command": command, "machine": machine}
        write_reports(results, output_dir)
    return results
