# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Inference with trained bundles: ``monai-lite infer`` and ``monai_lite.load_bundle``.

================================  =====================================================================
module                            job
================================  =====================================================================
:mod:`.inputs`                    find cases (pictures, volumes, DICOM series folders, folders of these)
:mod:`.model`                     one bundle's network, weights and preset preprocessing
:mod:`.predictor`                 :class:`Predictor`, :func:`load_bundle`, :func:`run_inference`
:mod:`.tta`                       the six-fold test-time augmentation
:mod:`.ensemble`                  Dice-weighted ensembles (weights from ``models/last.pt``)
:mod:`.onnx_engine`               ``--engine torch|onnxruntime|auto``: the network run by ONNX Runtime
:mod:`.onnx_cache`                verified ONNX exports, one per checkpoint and input size, cached
:mod:`.writers`                   NIfTI, PNG mask, overlay and DICOM SEG output, atomically
:mod:`.runlog`                    ``inference_log.json``
================================  =====================================================================
"""

from __future__ import annotations

from .ensemble import ensemble_weights, read_validation_dice
from .inputs import Case, check_output_dir, find_cases
from .model import BundleModel, load_bundle_model, resolve_device
from .predictor import CasePrediction, Predictor, load_bundle, run_inference
from .tta import TTATransform, predict_with_tta, tta_transforms

__all__ = [
    "BundleModel",
    "Case",
    "CasePrediction",
    "Predictor",
    "TTATransform",
    "check_output_dir",
    "ensemble_weights",
    "find_cases",
    "load_bundle",
    "load_bundle_model",
    "predict_with_tta",
    "read_validation_dice",
    "resolve_device",
    "run_inference",
    "tta_transforms",
]
