# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Merge the finished units of one accuracy run into another run of the same comparison.

A folder takes one sitting at a time (``benchmark.lock``), and a unit trains on the threads it was given, so a
comparison spread over several cores or machines runs as several folders with the same settings, each on its own
models or seeds (``monai-lite benchmark accuracy -o A --models medlitenet:3,...`` on one core, ``-o B --models
basicunet,attentionunet`` on the other). :func:`merge_run` (``monai-lite benchmark accuracy -o A --merge B``) then
copies B's finished units into A, so that A is one complete run again: one table, one chart, one ``--resume``-able
folder, and ``--remeasure-latency`` times all its models together.

Refused, with the reason: settings that differ (the keys ``--resume`` compares, e.g. another budget or thread count:
the units would not be comparable), and a (model, seed) finished in both folders (which one counts would be a
choice). B is only read; each merged unit and sitting names the folder it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["merge_run"]


def merge_run(output_dir: str | Path, other_dir: str | Path, say: Any = print) -> dict[str, Any]:
    """Copy the finished units of the run in ``other_dir`` into the run in ``output_dir`` and rewrite its reports.

    Args:
        output_dir: the run that receives the units (written: ``accuracy.json``, ``accuracy.md``, the charts).
        other_dir: the run whose finished units are copied (only read).
        say: where progress lines go. Defaults to print.

    Returns:
        The merged results (the new content of ``output_dir``'s ``accuracy.json``).

    Raises:
        FileNotFoundError: a folder without ``accuracy.json``.
        ValueError: the same folder twice, a file that is not a format-2 accuracy result, settings that differ
            (each named), or a (model, seed) finished in both runs.
        monai_lite.engine.run_lock.RunFolderLockedError: a sitting is training in ``output_dir`` right now.
    """
    from monai_lite.benchmark.accuracy import LOCK_NAME
    from monai_lite.benchmark.accuracy_report import read_results, write_reports
    from monai_lite.benchmark.accuracy_units import FORMAT_VERSION, RESUME_KEYS
    from monai_lite.engine.run_lock import RunFolderLock

    output_dir, other_dir = Path(output_dir), Path(other_dir)
    if output_dir.resolve() == other_dir.resolve():
        raise ValueError(f"--merge {other_dir} is the output folder itself; give another run's folder.")
    other = read_results(other_dir, FORMAT_VERSION)
    with RunFolderLock(output_dir, name=LOCK_NAME):
        results = read_results(output_dir, FORMAT_VERSION)
        mine, theirs = results.get("settings") or {}, other.get("settings") or {}
        differ = [key for key in RESUME_KEYS if mine.get(key) != theirs.get(key)]
        if differ:
            detail = ", ".join(f"{key}: {mine.get(key)!r} in {output_dir}, {theirs.get(key)!r} in {other_dir}"
                               for key in differ)
            raise ValueError(f"cannot merge {other_dir} into {output_dir}: they were run with other settings "
                             f"({detail}).")
        units = results.setdefault("units", {})
        incoming = [(name, seed, unit) for name, by_seed in (other.get("units") or {}).items()
                    for seed, unit in by_seed.items() if unit.get("status") == "done"]
        both = [f"{name} seed {seed}" for name, seed, _ in incoming
                if (units.get(name) or {}).get(seed, {}).get("status") == "done"]
        if both:
            raise ValueError(f"cannot merge {other_dir} into {output_dir}: {', '.join(both)} finished in both; "
                             "keep one of them (move the other folder's unit away) and merge again.")
        seeds = (results.get("settings") or {}).setdefault("seeds", {})
        for name, seed, unit in incoming:
            units.setdefault(name, {})[seed] = {**unit, "merged_from": str(other_dir)}
            seeds[name] = sorted(set(seeds.get(name) or []) | {int(seed)})
        results.setdefault("sittings", []).extend({**sitting, "merged_from": str(other_dir)}
                                                  for sitting in other.get("sittings") or [])
        write_reports(results, output_dir)
    say(f"merged {len(incoming)} finished unit(s) of {other_dir} into {output_dir}: "
        + (", ".join(f"{name} seed {seed}" for name, seed, _ in incoming) or "none"))
    return results
