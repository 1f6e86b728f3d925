# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Tell a NIfTI file cut short from a whole one, cheaply, before ITK reads it.

ITK's NIfTI reader (the reader of every volume preset) loads a ``.nii`` or ``.nii.gz`` file that was cut short
without a word, the missing voxels made up, so a training run would learn from a half-empty volume and end with
exit status 0. nibabel refuses such a file, but reading every volume twice would double the start of a training
run. This check costs two small reads per file: nibabel reads the header (shape, data type, where the voxels
start), and the file must be long enough to hold them. For an uncompressed ``.nii`` the file size says so. A
``.nii.gz`` records its uncompressed length (modulo 2**32) in its last four bytes (the gzip member's ``ISIZE``,
RFC 1952); when that matches the header, the file is whole. Otherwise (a cut file, whose last bytes are compressed
data, or a legal file of several gzip members or with bytes after the voxels) the stream is decompressed once and
counted, so a whole file is never refused on the trailer's word alone.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["nifti_cut_short"]

_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_CHUNK = 1 << 20


def _expected(path: Path) -> tuple[int, int, str] | None:
    """``(data offset, voxel bytes, "shape dtype")`` from the header, or None when nibabel cannot read it."""
    import nibabel as nib

    try:
        image = nib.load(str(path))
        offset = int(image.dataobj.offset)  # where the voxels start (the header's vox_offset, as nibabel reads it)
        shape = tuple(int(s) for s in image.header.get_data_shape())
        dtype = np.dtype(image.header.get_data_dtype())
    except Exception:  # noqa: BLE001 - an unreadable header is the loader's to report, with its own reason
        return None
    return offset, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, f"{'x'.join(map(str, shape))} {dtype.name}"


def _gzip_length(path: Path) -> int:
    """Bytes that decompress from ``path`` (every gzip member) before its end or the first damaged byte."""
    total = 0
    inflate = zlib.decompressobj(wbits=31)
    with open(path, "rb") as raw:
        data = raw.read(_CHUNK)
        while data:
            try:
                # bounded output: a mask of zeros inflates a thousandfold
                total += len(inflate.decompress(data, _CHUNK))
            except zlib.error:
                return total
            if inflate.eof:  # one member ends; another may follow
                data, inflate = inflate.unused_data, zlib.decompressobj(wbits=31)
            else:
                data = inflate.unconsumed_tail
            data = data or raw.read(_CHUNK)
    return total


def nifti_cut_short(path: str | os.PathLike) -> str | None:
    """Why the NIfTI file ``path`` cannot hold the voxels its header describes, or None.

    None also for a file that is not NIfTI (by its ending) or whose header nibabel cannot read: those are left to
    the loader, which names its own reason.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.

    Returns:
        A sentence (no file name) such as ``"the file is cut short: its header describes 24x28x20 float32 voxels
        (53760 bytes after a 352-byte header), only 26352 of those bytes are in it; ..."``, or None.
    """
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(_NIFTI_SUFFIXES) or not path.is_file():
        return None
    expected = _expected(path)
    if expected is None:
        return None
    offset, voxels, described = expected
    if name.endswith(".nii"):
        length = path.stat().st_size
    else:
        with open(path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)  # nibabel read a header from it, so it holds more than four bytes
            trailer = int.from_bytes(raw.read(4), "little")
        if trailer == (offset + voxels) % (1 << 32):
            return None
        length = _gzip_length(path)
    if length >= offset + voxels:
        return None
    held = max(0, length - offset)
    return (f"the file is cut short: its header describes {described} voxels ({voxels} bytes after a {offset}-byte "
            f"header), only {held} of those bytes are in it, so a reader would make up the rest. It was not written "
            "or copied completely: copy or export it again, or leave the case out")
