# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Dataset checksums, computed exactly as the shell recipe in ``shared/data/README.md``.

Run inside the dataset folder, the recipe is::

    find . -type f ! -name README.md | LC_ALL=C sort | sha256sum                            # file-list sha256
    find . -type f ! -name README.md | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum  # content sha256

This module reproduces both hashes in Python (byte-wise sort of ``./relative/path`` lines, ``sha256sum``'s
``"<hex>  <path>"`` line format), so a manifest can record them and a rebuild can verify the data did not change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["dataset_checksums"]

_CHUNK = 1 << 20


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_checksums(root: str | Path, exclude_names: Iterable[str] = ("README.md",)) -> dict[str, object]:
    """File-list and content sha256 of every file under ``root`` (any depth), skipping files named in ``exclude_names``.

    Returns:
        ``{"num_files": int, "file_list_sha256": str, "content_sha256": str}``.
    """
    root = Path(root)
    skip = set(exclude_names)
    lines: list[bytes] = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name in skip:
                continue
            rel = os.path.relpath(os.path.join(folder, name), root)
            lines.append(("./" + Path(rel).as_posix()).encode())
    lines.sort()
    listing = b"".join(line + b"\n" for line in lines)
    content = b"".join(_file_sha256(root / line[2:].decode()).encode() + b"  " + line + b"\n" for line in lines)
    return {
        "num_files": len(lines),
        "file_list_sha256": hashlib.sha256(listing).hexdigest(),
        "content_sha256": hashlib.sha256(content).hexdigest(),
    }
