# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""dataset_checksums reproduces the shell recipe of shared/data/README.md byte for byte (file-list and content
sha256), and MONAI's PILReader with ``reverse_indexing=False`` keeps a non-square PNG's height and width in PIL's
order (the default transposes them: MONAI#3976), which is how 2D bundles must read images and masks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from data_builders import make_mask, make_picture
from PIL import Image

from monai_lite.data.checksums import dataset_checksums


@pytest.mark.skipif(shutil.which("sha256sum") is None or shutil.which("find") is None, reason="needs GNU find and sha256sum")
def test_checksums_match_shell_recipe(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a b.txt").write_text("space in name")
    (tmp_path / ".hidden").write_text("dot file")
    (tmp_path / "README.md").write_text("excluded")
    (tmp_path / "sub" / "README.md").write_text("excluded too")
    (tmp_path / "sub" / "deeper" / "Z.bin").write_bytes(bytes(range(256)))
    (tmp_path / "sub" / "a.txt").write_text("lower")

    def shell(command: str) -> str:
        return subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()[0]

    listing = "find . -type f ! -name README.md | LC_ALL=C sort"
    found = dataset_checksums(tmp_path)
    assert found["file_list_sha256"] == shell(f"{listing} | sha256sum")
    assert found["content_sha256"] == shell(f"{listing} | xargs -d '\\n' sha256sum | sha256sum")
    assert found["num_files"] == 4  # both README.md files are excluded, the dot file is not


def test_png_height_width_not_swapped(tmp_path: Path) -> None:
    from monai.transforms import EnsureChannelFirst, LoadImage

    picture, mask = make_picture(20, 28), make_mask(20, 28)
    Image.fromarray(picture, mode="RGB").save(tmp_path / "x.png")
    Image.fromarray(mask, mode="L").save(tmp_path / "m.png")
    reader = LoadImage(reader="PILReader", reverse_indexing=False, image_only=True)
    image = EnsureChannelFirst(channel_dim=-1)(reader(tmp_path / "x.png"))
    label = EnsureChannelFirst(channel_dim="no_channel")(reader(tmp_path / "m.png"))
    assert tuple(image.shape) == (3, 20, 28) and tuple(label.shape) == (1, 20, 28)
    np.testing.assert_array_equal(np.moveaxis(image.numpy(), 0, -1), picture)
    np.testing.assert_array_equal(label.numpy()[0], np.asarray(Image.open(tmp_path / "m.png")))
    transposed = LoadImage(reader="PILReader", image_only=True)(tmp_path / "m.png")  # MONAI's default
    assert tuple(transposed.shape) == (28, 20)
