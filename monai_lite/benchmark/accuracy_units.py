# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The units of work of ``monai-lite benchmark accuracy`` and what is made of them: one model trained with one seed.

A comparison is a plan of units, ``(model, seed)``; ``accuracy.json`` keeps every unit's raw record under
``units[model][seed]`` (seeds as strings, JSON keys), and ``models[model]`` is derived from them after every unit
(:func:`aggregate_model`): the held-out Dice, IoU and HD95 of a model are the mean over its finished seeds of each
seed's mean over the validation cases, with the sample standard deviation over seeds (n - 1 in the denominator;
none for one seed) and the number of seeds, n. This module holds only pure functions over those dicts, so the
benchmark, its report and the results generator all read a result the same way:

- :func:`parse_model_seeds`: ``--models medlitenet:3,segresnet:3,lacnet`` with ``--seeds 1`` ->
  ``[("medlitenet", [0, 1, 2]), ("segresnet", [0, 1, 2]), ("lacnet", [0])]``;
- :func:`resume_mismatch`: the settings a resumed run changed (which must not change);
- :func:`aggregate_model` / :func:`aggregate_models`: the per-model entries;
- :func:`upgrade_results`: a result of format 1 (one seed, ``models`` only) in the format-2 layout, for reports.

Example::

    >>> parse_model_seeds(["medlitenet:3,lacnet"], seeds=1, base_seed=0)
    [('medlitenet', [0, 1, 2]), ('lacnet', [0])]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "RESUME_KEYS",
    "METRICS",
    "parse_model_seeds",
    "resume_mismatch",
    "seed_stats",
    "aggregate_model",
    "aggregate_models",
    "upgrade_results",
    "iter_units",
]

#: Version of the ``accuracy.json`` layout: 1 had one seed and ``models`` only; 2 has ``units`` and seeds.
FORMAT_VERSION = 2
#: Settings that must match for ``resume`` to keep finished units (the seeds and models may change: each unit is
#: identified by its model and seed).
RESUME_KEYS = ("bundle", "recipe", "datalist", "dataset_dir", "fold", "budget_minutes", "budget_cpu_minutes",
               "epochs", "max_epochs", "preset", "image_size", "batch_size", "device", "num_workers",
               "train_threads", "latency_threads", "overrides")
#: The held-out metrics aggregated over seeds.
METRICS = ("dice", "iou", "hd95")
#: Numbers of a unit record aggregated over seeds as well.
_RUN_NUMBERS = ("epochs_done", "train_seconds", "train_cpu_seconds", "best_val_dice")
#: Fields of a model's cost, measured once per model (any finished seed's).
_COST = ("params", "macs", "latency_ms", "latency", "latency_threads", "latency_input")
#: Descriptive fields copied from the latest unit.
_IDENTITY = ("name", "family", "network", "description", "bundle", "substituted_for", "substitution_reason",
             "config_files", "recipe_note")


def parse_model_seeds(models: Sequence[str], seeds: int = 1, base_seed: int = 0) -> list[tuple[str, list[int]]]:
    """The plan of a comparison: each model with the seeds it trains with.

    Args:
        models: model names, each possibly comma-separated and each name possibly followed by ``:N``, its own
            number of seeds (e.g. ``"medlitenet:3"``); names are zoo names, checked by the caller.
        seeds: the number of seeds of a model without ``:N``. Defaults to 1.
        base_seed: the first seed; a model with N seeds trains with ``base_seed, ..., base_seed + N - 1``.
            Defaults to 0.

    Returns:
        ``[(name, [seed, ...]), ...]`` in the order given, names lower-cased.

    Raises:
        ValueError: for a seed count that is not a positive integer, or a model named twice.

    Example::

        >>> parse_model_seeds(["unet", "segresnet:2"], seeds=1, base_seed=5)
        [('unet', [5]), ('segresnet', [5, 6])]
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"--seeds must be a positive whole number (seeds per model), got {seeds!r}.")
    plan: list[tuple[str, list[int]]] = []
    for item in models:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            name, colon, count_text = part.partition(":")
            name = name.strip().lower()
            count = seeds
            if colon:
                try:
                    count = int(count_text)
                except ValueError:
                    count = 0
                if count < 1:
                    raise ValueError(f"--models {part!r}: the number after ':' is the model's number of seeds and "
                                     "must be a positive whole number, e.g. medlitenet:3.")
            if not name:
                raise ValueError(f"--models {part!r}: a model name is missing before ':'.")
            if any(name == known for known, _ in plan):
                raise ValueError(f"--models names {name} twice; give each model once (with :N for its seeds).")
            plan.append((name, [int(base_seed) + k for k in range(count)]))
    return plan


def resume_mismatch(earlier: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """The settings of ``now`` that differ from ``earlier``'s, as one phrase, or "" when they all match.

    Example::

        >>> resume_mismatch({"fold": 0, "epochs": 2}, {"fold": 0, "epochs": 3})
        'epochs: 2 then, 3 now'
    """
    changed = [key for key in RESUME_KEYS if earlier.get(key) != now.get(key)]
    return ", ".join(f"{key}: {earlier.get(key)!r} then, {now.get(key)!r} now" for key in changed)


def seed_stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample standard deviation (n - 1; None for fewer than two), n and the values, over seeds.

    Missing or non-finite values (a seed whose metric is undefined) are left out of the statistics but kept in
    ``values``.

    Example::

        >>> seed_stats([0.7, 0.8])["n"], round(seed_stats([0.7, 0.8])["sd"], 4)
        (2, 0.0707)
    """
    kept = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    mean = sum(kept) / len(kept) if kept else None
    sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1)) if len(kept) > 1 else None
    return {"mean": mean, "sd": sd, "n": len(kept), "values": list(values)}


def _seed_key(seed: str) -> int:
    try:
        return int(seed)
    except ValueError:
        return 0


def aggregate_model(units: Mapping[str, Mapping[str, Any]], planned: Sequence[int] | None = None) -> dict[str, Any]:
    """One model's entry of ``models``: its units' results over seeds.

    Args:
        units: seed (string) -> unit record, as in ``accuracy.json``'s ``units[model]``.
        planned: the seeds the latest plan gives the model; None means the seeds of ``units``.

    Returns:
        ``name``, ``family``, ... (from the latest unit), ``status`` (``"done"``: every planned seed finished;
        ``"failed"``: one failed; ``"running"``: one is being trained; ``"interrupted"``: one was stopped before it
        finished (a resume retrains it); ``"pending"``: seeds are still to do), ``seeds`` (planned), ``seeds_done``, ``errors`` (seed -> reason), ``held_out``
        (metric -> :func:`seed_stats` of the per-seed means, plus ``per_seed_std``: each seed's std over cases),
        ``n_cases``, ``distance_unit``, the cost (``params``, ``macs``, ``latency_ms``, ... of a finished seed), and
        :func:`seed_stats` of ``epochs_done``, ``train_seconds``, ``train_cpu_seconds`` and ``best_val_dice``.
    """
    order = sorted(units, key=_seed_key)
    seeds = [int(s) for s in planned] if planned is not None else [_seed_key(s) for s in order]
    done = [s for s in order if units[s].get("status") == "done"]
    entry: dict[str, Any] = {}
    for seed in order:  # the latest unit's identity wins (a model's description does not change between seeds)
        entry.update({k: units[seed][k] for k in _IDENTITY if units[seed].get(k) is not None})
    statuses = {str(s): (units.get(str(s)) or {}).get("status", "pending") for s in seeds}
    if all(v == "done" for v in statuses.values()):
        status = "done"
    elif any(v == "failed" for v in statuses.values()):
        status = "failed"
    elif any(v == "running" for v in statuses.values()):
        status = "running"
    elif any(v == "interrupted" for v in statuses.values()):
        status = "interrupted"
    else:
        status = "pending"
    entry.update(status=status, seeds=seeds, seeds_done=[_seed_key(s) for s in done],
                 errors={s: units[s]["error"] for s in order if units[s].get("status") != "done" and units[s].get("error")})
    for seed in done:
        if units[seed].get("latency_ms") is not None:
            entry.update({k: units[seed].get(k) for k in _COST})
            break
    held = [units[s].get("held_out") or {} for s in done]
    entry["held_out"] = {
        metric: {**seed_stats([(h.get(metric) or {}).get("mean") for h in held]),
                 "per_seed_std": [(h.get(metric) or {}).get("std") for h in held]}
        for metric in METRICS
    }
    entry["n_cases"] = next((h.get("n_cases") for h in held if h.get("n_cases") is not None), None)
    entry["distance_unit"] = next((h.get("distance_unit") for h in held if h.get("distance_unit")), None)
    for key in _RUN_NUMBERS:
        entry[key] = seed_stats([units[s].get(key) for s in done])
    entry["stopped_by"] = [units[s].get("stopped_by") for s in done]
    entry["stopped_mid_epoch"] = [bool(units[s].get("stopped_mid_epoch")) for s in done]
    return entry


def aggregate_models(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``models`` of a format-2 result: :func:`aggregate_model` of each model in ``units``, in plan order (the
    seeds planned in ``settings["seeds"]``)."""
    planned = (results.get("settings") or {}).get("seeds") or {}
    units = results.get("units") or {}
    names = [n for n in planned if n in units] + [n for n in units if n not in planned]
    return {name: aggregate_model(units[name], planned.get(name)) for name in names}


def iter_units(results: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every unit of a format-2 result as ``(model, seed, record)``, in model then seed order."""
    return [(name, seed, record) for name, by_seed in (results.get("units") or {}).items()
            for seed, record in sorted(by_seed.items(), key=lambda item: _seed_key(item[0]))]


def upgrade_results(results: Mapping[str, Any]) -> dict[str, Any]:
    """A result in the format-2 layout: a format-1 one (one seed, ``models`` holding the raw records) is turned
    into units of its one seed, with a wall-clock budget; a format-2 one is returned with ``models`` re-derived.

    Raises:
        ValueError: for a format newer than :data:`FORMAT_VERSION` (written by a newer monai-lite).
    """
    version = int(results.get("format_version", 1))
    if version > FORMAT_VERSION:
        raise ValueError(f"accuracy.json format {version} is newer than this monai-lite reads ({FORMAT_VERSION}); "
                         "update monai-lite.")
    upgraded = dict(results)
    if version < 2:
        settings = dict(results.get("settings") or {})
        seed = int(settings.get("seed") or 0)
        units = {name: {str(seed): {**entry, "seed": seed}} for name, entry in (results.get("models") or {}).items()}
        settings.setdefault("base_seed", seed)
        settings["seeds"] = {name: [seed] for name in units}
        settings.setdefault("budget_cpu_minutes", None)
        settings.setdefault("spatial_dims", len(settings.get("image_size") or [0, 0]))
        upgraded.update(settings=settings, units=units, format_version=FORMAT_VERSION,
                        sittings=results.get("sittings") or [{"started": results.get("created"),
                                                              "machine": results.get("machine", {}),
                                                              "command": None}])
    upgraded["models"] = aggregate_models(upgraded)
    return upgraded
