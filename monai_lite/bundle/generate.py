# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Write every shipped bundle from one template, so the bundles share their configs instead of copying them.

Each bundle must stay a self-contained model-zoo bundle (MONAI Label loads one config file, MONAILabel#1549), yet
the four networks differ only in a few ids: network, loss, preset, sizes, metadata. ``bundles/_template/`` holds
the shared configs and ``bundles/_template/bundles.json`` the differences (a spec may ``extend`` a base spec whose
name starts with ``_``, e.g. the 3D hippocampus settings that every network's 3D bundle shares); this module
merges them into ``bundles/<name>/``. A spec's ``paper`` section becomes ``configs/paper.json``, the paper's own
training recipe as an overlay layered after ``train.json`` (only the ids it changes). ``--check`` rebuilds in memory and fails when a committed bundle has drifted from its
template, which a test runs, so hand edits to generated files cannot go unnoticed.

Usage::

    python -m monai_lite.bundle.generate           # (re)write every bundle
    python -m monai_lite.bundle.generate --check   # exit 1 and list the files that differ
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from monai_lite.bundle.runner import BUNDLES_DIR

__all__ = ["OVERLAY_SECTION", "PLACEHOLDER", "TEMPLATE_DIR", "bundle_specs", "render_bundle", "write_bundles", "main"]

TEMPLATE_DIR = BUNDLES_DIR / "_template"
PLACEHOLDER = "<set by the bundle spec>"
#: Files copied as they are, and links at the bundle root that let `--config_file bundles/<name>/train.json` find
#: its metadata and logging config (MONAI looks beside the config file).
COPIED = ("LICENSE", "configs/logging.conf", "docs/data_license.txt")
ROOT_LINKS = ("train.json", "metadata.json", "logging.conf")
#: The spec section written as ``configs/paper.json``, the paper's training recipe as an overlay of train.json:
#: ``--config_file "['bundles/X/configs/train.json','bundles/X/configs/paper.json']"``.
OVERLAY_SECTION = "paper"


def _set(config: dict, path: str, value: Any, source: str) -> None:
    keys = path.split("#")
    node: Any = config
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise KeyError(f"{source}: id {path!r} does not exist in the template")
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _placeholders(node: Any, prefix: str = "") -> list[str]:
    if node == PLACEHOLDER:
        return [prefix or "<root>"]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _placeholders(v, f"{prefix}#{k}" if prefix else str(k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _placeholders(v, f"{prefix}#{i}")]
    return []


def _dump(content: Any) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def render_bundle(name: str, spec: dict) -> dict[str, str]:
    """The text of every generated file of bundle ``name``, keyed by path relative to the bundle folder.

    Raises:
        KeyError: an id of the spec is not in the template.
        ValueError: a template placeholder was left unset.
    """
    files: dict[str, str] = {}
    shared = spec.get("shared", {})
    for template in sorted((TEMPLATE_DIR / "configs").glob("*.json")):
        config = json.loads(template.read_text())
        for path, value in shared.items():
            if path.split("#")[0] in config:
                _set(config, path, copy.deepcopy(value), f"bundles.json:{name}.shared")
        for path, value in spec.get(template.stem, {}).items():
            _set(config, path, copy.deepcopy(value), f"bundles.json:{name}.{template.stem}")
        missing = _placeholders(config)
        if missing:
            raise ValueError(f"bundle {name}: configs/{template.name} leaves template ids unset: {missing}")
        files[f"configs/{template.name}"] = _dump(config)
    if spec.get(OVERLAY_SECTION):
        overlay = _overlay(name, spec[OVERLAY_SECTION], files["configs/train.json"])
        files[f"configs/{OVERLAY_SECTION}.json"] = _dump(overlay)
    for relative in COPIED:
        files[relative] = (TEMPLATE_DIR / relative).read_text()
    return files


def _overlay(name: str, ids: dict, train_text: str) -> dict:
    """The paper-recipe overlay of bundle ``name``: ``ids`` as a config file layered after ``train.json``.

    MONAI applies a later config file id by id (``a#b`` replaces only that entry), so the overlay lists only what
    the paper changes. Every id must already exist in the bundle's train.json, so a typo cannot add an unused id.
    """
    train = json.loads(train_text)
    for path in ids:
        if path.startswith("_"):
            continue  # documentation keys (``_doc``) stay in the file and are never referenced
        try:
            probe = copy.deepcopy(train)
            _set(probe, path, None, f"bundles.json:{name}.{OVERLAY_SECTION}")
        except (KeyError, IndexError, ValueError) as err:
            raise KeyError(f"bundles.json:{name}.{OVERLAY_SECTION}: id {path!r} is not in its train.json") from err
        if "#" not in path and path not in train:
            raise KeyError(f"bundles.json:{name}.{OVERLAY_SECTION}: id {path!r} is not in its train.json")
    return dict(ids)


def _merged(name: str, specs: dict, chain: tuple[str, ...] = ()) -> dict:
    """Spec ``name`` with the specs it ``extends`` underneath, section by section (the child's ids win).

    ``extends`` names one base or a list of bases, merged in order (a later base's ids win over an earlier one's),
    so that a bundle can take its data settings from one base and its paper's recipe from another.
    """
    if name not in specs:
        raise KeyError(f"bundles.json: spec {chain[-1] if chain else name!r} extends unknown spec {name!r}")
    if name in chain:
        raise ValueError(f"bundles.json: specs extend each other in a cycle: {' -> '.join([*chain, name])}")
    spec = specs[name]
    bases = spec.get("extends", [])
    merged: dict = {}
    for base_name in [bases] if isinstance(bases, str) else bases:
        base = _merged(base_name, specs, (*chain, name))
        merged = {s: {**merged.get(s, {}), **base.get(s, {})} for s in set(merged) | set(base)}
    return {s: {**merged.get(s, {}), **spec.get(s, {})} for s in (set(merged) | set(spec)) - {"extends"}}


def bundle_specs() -> dict[str, dict]:
    """Every concrete bundle spec, merged with what it extends; names starting with ``_`` are only bases."""
    specs = json.loads((TEMPLATE_DIR / "bundles.json").read_text())
    return {name: _merged(name, specs) for name in specs if not name.startswith("_")}


def write_bundles(check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every bundle of ``bundles.json``.

    Returns:
        The paths that differed from the generated content (with ``check``) or were written.
    """
    changed = []
    for name, spec in bundle_specs().items():
        root = BUNDLES_DIR / name
        for relative, text in render_bundle(name, spec).items():
            path = root / relative
            if path.is_file() and path.read_text() == text:
                continue
            changed.append(str(path.relative_to(BUNDLES_DIR.parent)))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                staging = path.with_name(path.name + ".tmp")
                staging.write_text(text)
                os.replace(staging, path)
        for link in ROOT_LINKS:
            target = Path("configs") / link
            path = root / link
            if path.is_symlink() and Path(os.readlink(path)) == target:
                continue
            changed.append(str(path.relative_to(BUNDLES_DIR.parent)))
            if not check:
                path.unlink(missing_ok=True)
                path.symlink_to(target)
        if not check:
            (root / "models").mkdir(exist_ok=True)
            (root / "models" / ".gitkeep").touch()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monai_lite.bundle.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when a bundle differs")
    args = parser.parse_args(argv)
    changed = write_bundles(check=args.check)
    verb = "differ from bundles/_template (run python -m monai_lite.bundle.generate)" if args.check else "written"
    for path in changed:
        print(f"{path}: {verb}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
