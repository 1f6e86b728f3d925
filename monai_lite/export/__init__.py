# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Bundle export to TorchScript and ONNX through MONAI's bundle exporters, and parity checks of the exports."""

from __future__ import annotations

from monai_lite.export.bundle_export import bundle_files, export_bundle_onnx, export_bundle_torchscript, version_record
from monai_lite.export.parity import ParityResult, check_export_parity, eager_network, run_export

__all__ = [
    "ParityResult",
    "bundle_files",
    "check_export_parity",
    "eager_network",
    "export_bundle_onnx",
    "export_bundle_torchscript",
    "run_export",
    "version_record",
]
