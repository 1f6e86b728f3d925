"""monai-lite: lightweight attention networks for 2D and 3D medical image segmentation, shipped as MONAI Bundles."""

from __future__ import annotations

__version__ = "0.1.0"
