"""monai-lite: lightweight attention networks for 2D and 3D medical image segmentation, shipped as MONAI Bundles."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_bundle"]


def __getattr__(name: str) -> Any:
    # ``load_bundle`` pulls in torch and MONAI; importing it lazily keeps ``import monai_lite`` light.
    if name == "load_bundle":
        from monai_lite.inference import load_bundle

        return load_bundle
    raise AttributeError(f"module 'monai_lite' has no attribute {name!r}")
