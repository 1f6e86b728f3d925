# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The :class:`Predictor`: segment files, folders, DICOM series or arrays with one bundle or a weighted ensemble.

For each case and each model: the bundle's preset reads and preprocesses the image; the network predicts
(``SimpleInferer`` for 2D pictures, MONAI's ``SlidingWindowInferer`` for 3D networks on volumes with ``overlap`` and
``blend``, MONAI's ``SliceInferer`` along the last (axial, after RAS) axis for a 2D network on a volume), optionally
with six-fold test-time augmentation (:mod:`.tta`); the activation (sigmoid for one output channel, softmax
otherwise) gives probabilities, which MONAI's ``Invertd`` maps back through the preset to the input's own grid.
Ensemble members are averaged there, in the input geometry, with weights ``dice_i / sum dice`` (:mod:`.ensemble`),
then thresholded (binary) or arg-maxed (multi-class) into a uint8 label map. Post-processing stays in float32/uint8.

An input holding NaN or infinite values is refused (a network turns them into a confident, wrong mask), unless
``nan_policy="zero"`` (``--nan-policy zero``) is chosen: they are then replaced by 0 and the count is logged.

``monai-lite infer`` and :meth:`Predictor.write` are the same code path; :func:`load_bundle` is the Python entry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monai_lite.errors import InputFileError, user_error

from monai_lite.inference.ensemble import ensemble_weights, pair_members, read_validation_dice, sha256_of, weighted_mean
from monai_lite.inference.inputs import Case, PreloadedReader, array_case, check_output_dir, find_cases
from monai_lite.inference.model import BundleModel, load_bundle_model
from monai_lite.inference.onnx_engine import engine_record
from monai_lite.inference.stage_times import StageTimes
from monai_lite.inference.tta import predict_with_tta, tta_transforms

__all__ = ["Predictor", "CasePrediction", "load_bundle", "run_inference"]

logger = logging.getLogger(__name__)

BLEND_MODES = ("gaussian", "constant")
DICOM_SEG_MODES = ("auto", "yes", "no")
NAN_POLICIES = ("refuse", "zero")


@dataclass
class CasePrediction:
    """The probabilities of one case in its input geometry.

    Attributes:
        case: the case.
        proba: ``(K, *spatial)`` float32 probabilities on the input's grid (K = 1 for a binary head).
        affine: the input's 4x4 affine (identity for pictures).
        picture: the input as read, ``(H, W[, C])``, for overlays (pictures only).
        series_uid: the SeriesInstanceUID that was read (DICOM only).
        notes: what was done to the input on the way (e.g. non-finite values replaced), for the log.
    """

    case: Case
    proba: torch.Tensor
    affine: np.ndarray
    picture: np.ndarray | None = None
    series_uid: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The input's spatial shape (H, W) or (X, Y, Z)."""
        return tuple(int(s) for s in self.proba.shape[1:])

    @property
    def spacing(self) -> list[float] | None:
        """Voxel spacing in mm from the affine (volumes), or ``None`` (pictures)."""
        if self.picture is not None or len(self.spatial_shape) != 3:
            return None
        return [round(float(s), 6) for s in np.linalg.norm(self.affine[:3, :3], axis=0)]


class Predictor:
    """Segment images with one :class:`~monai_lite.inference.model.BundleModel` or a weighted ensemble of them.

    Args:
        models: the models (see :func:`load_bundle`, or build :class:`BundleModel` yourself around any network).
        weights: one weight per model; None weighs by each model's ``dice`` (``w_i = dice_i / sum dice``), which a
            single model does not need. Defaults to None.
        tta: six-fold test-time augmentation (see :mod:`monai_lite.inference.tta`). Defaults to False.
        threshold: probability threshold of binary heads; None takes the first model's (the bundle's, 0.5).
            Defaults to None.
        overlap: sliding-window overlap of 3D networks, in [0, 1). Defaults to 0.25.
        blend: sliding-window blending, ``"gaussian"`` or ``"constant"``. Defaults to "gaussian".
        sw_batch_size: windows (or slices) per network call. Defaults to 4.
        series_uid: the series to read from DICOM folders that hold several. Defaults to None.
        dicom_seg: DICOM SEG output for DICOM inputs in :meth:`write`: ``"auto"`` (when highdicom is installed,
            else a warning), ``"yes"`` (required), ``"no"``. Defaults to "auto".
        overlay: write colour overlays of 2D pictures in :meth:`write`. Defaults to True.
        nan_policy: what to do with NaN or infinite values in an input: ``"refuse"`` (a ``ValueError`` naming the
            input and the count) or ``"zero"`` (replace them by 0; the count goes into the case's notes and
            ``inference_log.json``). Defaults to "refuse".

    Attributes:
        stage_times: seconds spent per stage (read, preprocess, network, invert, write) of each case handled, see
            :mod:`monai_lite.inference.stage_times`.

    Raises:
        ValueError: no model, models with different output channels, bad weights, overlap, blend, dicom_seg or
            nan_policy.

    Example::

        predictor = monai_lite.load_bundle("bundles/medlitenet")
        mask = predictor("photo.png")                          # (H, W) uint8 label map
        proba = predictor.predict_proba("photo.png")           # (1, H, W) float32
        predictor.write(["scans/"], "predictions/")            # files + inference_log.json
    """

    def __init__(
        self,
        models: Sequence[BundleModel],
        weights: Sequence[float] | None = None,
        *,
        tta: bool = False,
        threshold: float | None = None,
        overlap: float = 0.25,
        blend: str = "gaussian",
        sw_batch_size: int = 4,
        series_uid: str | None = None,
        dicom_seg: str = "auto",
        overlay: bool = True,
        nan_policy: str = "refuse",
    ) -> None:
        self.models = list(models)
        if not self.models:
            raise ValueError("a Predictor needs at least one model.")
        channels = {m.out_channels for m in self.models}
        if len(channels) > 1:
            raise ValueError(f"ensemble members must have the same output channels, got {sorted(channels)}.")
        if weights is None:
            if len(self.models) == 1:
                weights = [1.0]
            else:
                missing = [m.ckpt_path or m.name for m in self.models if m.dice is None]
                if missing:
                    raise ValueError(
                        f"ensemble weights need each model's validation Dice; none is recorded for {missing} "
                        "(looked for 'evaluator_best' in models/last.pt). Pass dice=[...] (--dice) or weights."
                    )
                weights = ensemble_weights([m.dice for m in self.models])
        if len(weights) != len(self.models):
            raise ValueError(f"got {len(weights)} weights for {len(self.models)} models.")
        self.weights = ensemble_weights(weights)
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {overlap}.")
        if blend not in BLEND_MODES:
            raise ValueError(f"blend must be one of {BLEND_MODES}, got {blend!r}.")
        if dicom_seg not in DICOM_SEG_MODES:
            raise ValueError(f"dicom_seg must be one of {DICOM_SEG_MODES}, got {dicom_seg!r}.")
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}.")
        self.nan_policy = nan_policy
        self.tta = bool(tta)
        self.threshold = float(self.models[0].threshold if threshold is None else threshold)
        self.overlap = float(overlap)
        self.blend = blend
        self.sw_batch_size = int(sw_batch_size)
        self.series_uid = series_uid
        self.dicom_seg = dicom_seg
        self.overlay = bool(overlay)
        self._replaced: dict[str, int] = {}  # case name -> non-finite values replaced (nan_policy="zero")
        self._file_counts: dict[str, int] = {}  # case name -> non-finite values in the volume file as stored
        self.stage_times = StageTimes()  # seconds per stage of each case (monai_lite.inference.stage_times)

    @property
    def out_channels(self) -> int:
        """Output channels of the models (1 = binary)."""
        return self.models[0].out_channels

    # --- reading and preprocessing ---------------------------------------------------------------------------
    def _raw_input(self, case: Case, model: BundleModel, volume: Any) -> tuple[str, PreloadedReader | None]:
        """What to give the model's ``LoadImaged``: a file name, or a name plus a runtime reader with the data."""
        if case.kind in ("picture", "volume", "dicom") and (case.kind == "picture") != model.reads_pictures:
            raise ValueError(self._dimension_problem(case, model))
        if case.kind in ("picture", "volume"):
            return str(case.source), None
        if case.kind == "dicom":
            meta = {k: v for k, v in volume.meta.items() if not isinstance(v, torch.Tensor)}
            meta["affine"] = meta["original_affine"] = volume.affine.numpy()
            return str(case.source), PreloadedReader(volume.numpy(), meta)
        return case.name, PreloadedReader(*self._array_layout(case, model))

    @staticmethod
    def _array_layout(case: Case, model: BundleModel) -> tuple[np.ndarray, dict]:
        """An array in the layout the model's preset reader would give: ``(H, W[, C])`` pictures, ``(X, Y, Z)``."""
        array = case.array
        if Predictor._is_picture(case, model):
            if array.ndim == 3 and array.shape[-1] == 4 and model.in_channels == 3:
                array = array[..., :3]  # RGBA -> RGB, as the preset's converter does
            if array.ndim == 2 and model.in_channels > 1:
                array = np.repeat(array[..., None], model.in_channels, axis=-1)
            elif array.ndim == 3 and model.in_channels == 1 and array.shape[-1] == 3:
                weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601-2 luma, as PIL's "L"
                array = (array.astype(np.float32) @ weights).astype(array.dtype)
            expected = (2,) if model.in_channels == 1 else (3,)
            if array.ndim not in expected or (array.ndim == 3 and array.shape[-1] != model.in_channels):
                raise ValueError(
                    f"{case.name}: bundle {model.name} segments 2D pictures with {model.in_channels} channel(s) and "
                    f"expects an (H, W) or (H, W, {model.in_channels}) array (channels last), got {case.array.shape}."
                )
            return array, {"original_channel_dim": -1 if array.ndim == 3 else "no_channel"}
        if array.ndim != 3:
            raise ValueError(f"{case.name}: a volume must be an (X, Y, Z) array, got shape {array.shape}.")
        affine = np.eye(4) if case.affine is None else case.affine
        return array, {"affine": affine, "original_affine": affine, "spatial_shape": np.asarray(array.shape)}

    @staticmethod
    def _dimension_problem(case: Case, model: BundleModel) -> str:
        if model.reads_pictures:
            return (
                f"bundle {model.name} reads 2D pictures, but {case.describe()} is a volume; to run its 2D network "
                "slice by slice, give it a volume preset, e.g. --set preset=ct --set preset_params={} (input "
                "channels must match)."
            )
        return f"bundle {model.name} reads volumes (NIfTI/DICOM), but {case.describe()} is a 2D picture."

    @staticmethod
    def _is_picture(case: Case, model: BundleModel) -> bool:
        """Pictures have rows x columns and no affine: picture files, and arrays without affine for picture bundles."""
        return case.kind == "picture" or (case.kind == "array" and case.affine is None and model.reads_pictures)

    def _load(self, case: Case, model: BundleModel, volume: Any) -> dict:
        name, reader = self._raw_input(case, model, volume)
        data: dict = {"image": name}
        try:
            for loader in model.loaders:
                data = loader(data, reader) if reader is not None else loader(data)
        except Exception as err:  # noqa: BLE001 - MONAI chains one error per reader it tried; one line is enough
            if reader is not None or user_error(err) is not None and not isinstance(err, RuntimeError):
                raise
            kind = "picture (PNG, JPEG, BMP, TIFF)" if model.reads_pictures else "volume (NIfTI, NRRD, MHA)"
            raise InputFileError(
                f"{case.source}: cannot be read as a {kind}: no reader could open it, so it is damaged or not an "
                "image of that type (check the file, e.g. that its extension matches its content)."
            ) from err
        return data

    def _finite(self, case: Case, image: Any) -> Any:
        """``image`` unchanged when every value is finite; else refused, or zero-filled under ``nan_policy="zero"``."""
        values = torch.as_tensor(image)
        bad = int((~torch.isfinite(values)).sum()) if values.is_floating_point() else 0
        if case.kind == "volume":
            bad = max(bad, self._file_nonfinite(case))
        if bad == 0:
            return image
        if self.nan_policy != "zero":
            raise ValueError(
                f"inference input {case.describe()} holds {bad} NaN or infinite value(s) of {values.numel()}; its "
                "segmentation would be silently wrong. Repair the image, or pass --nan-policy zero "
                "(nan_policy='zero') to replace them by 0 (recorded in inference_log.json)."
            )
        if case.name not in self._replaced:
            logger.warning("%s: replaced %d NaN or infinite value(s) by 0 (nan_policy='zero').", case.describe(), bad)
        self._replaced[case.name] = bad
        return torch.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)

    def _file_nonfinite(self, case: Case) -> int:
        """Non-finite values of a volume file as stored: ITK's NIfTI reader (the presets' reader) turns NaN and
        infinities into 0 without a word, so the file is counted with nibabel (other formats with ITK), once."""
        if case.name not in self._file_counts:
            from monai_lite.data.io import read_volume

            array = read_volume(case.source).array
            floating = np.issubdtype(array.dtype, np.floating)
            self._file_counts[case.name] = int(np.count_nonzero(~np.isfinite(array))) if floating else 0
        return self._file_counts[case.name]

    # --- prediction ------------------------------------------------------------------------------------------
    def _inferer(self, model: BundleModel, x: torch.Tensor) -> Any:
        from monai.inferers import SimpleInferer, SliceInferer, SlidingWindowInferer

        data_dims = x.ndim - 2
        if model.spatial_dims == 3:
            if data_dims != 3:
                raise ValueError(f"bundle {model.name} is a 3D network and cannot segment a {data_dims}D image.")
            return SlidingWindowInferer(
                roi_size=model.roi_size, sw_batch_size=self.sw_batch_size, overlap=self.overlap, mode=self.blend
            )
        if data_dims == 3:
            # Whole axial slices (the last axis after RAS): a 2D network sees each slice as it saw 2D images.
            return SliceInferer(
                spatial_dim=2, roi_size=tuple(x.shape[2:4]), sw_batch_size=self.sw_batch_size, overlap=0.0,
                mode="constant", progress=False,
            )
        return SimpleInferer()

    def _network_proba(self, model: BundleModel, x: torch.Tensor) -> torch.Tensor:
        """Probabilities ``(1, K, *spatial)`` of the preprocessed batch ``x``, with TTA when asked."""

        def predict(batch: torch.Tensor) -> torch.Tensor:
            logits = self._inferer(model, batch)(batch, model.network).float()
            return torch.sigmoid(logits) if model.out_channels == 1 else torch.softmax(logits, dim=1)

        with torch.no_grad():
            return predict_with_tta(predict, x) if self.tta else predict(x)

    def _model_proba(self, case: Case, model: BundleModel, volume: Any = None) -> tuple[torch.Tensor, Any]:
        """One model's probabilities on the input grid, and the image as loaded (before preprocessing).

        ``volume`` is the DICOM series of a ``"dicom"`` case, read once for all models.
        """
        from monai.data import MetaTensor
        from monai.transforms import Invertd

        with self.stage_times.stage("read"):
            data = self._load(case, model, volume)
            data["image"] = self._finite(case, data["image"])
            # Keep the input as read: some transforms update the metadata (affine) of their input in place.
            loaded = data["image"].clone()
        with self.stage_times.stage("preprocess"):
            data = model.transform(data)
        image = data["image"]
        expected = 2 if self._is_picture(case, model) else 3
        if image.ndim - 1 != expected:
            raise ValueError(
                f"bundle {model.name}'s preset turned {case.describe()} into a {image.ndim - 1}D image, but it is "
                f"{expected}D; use a bundle or preset for this kind of image."
            )
        if image.shape[0] != model.in_channels:
            found = "a 4D volume (a time series or several channels)" if expected == 3 else "a picture"
            raise InputFileError(
                f"{case.describe()} gives {image.shape[0]} channel(s) and bundle {model.name} takes "
                f"{model.in_channels}: it is {found} with {tuple(loaded.shape)} values; give one 3D volume per "
                "file" + (" (split the channels, e.g. with nibabel, and segment each)." if expected == 3 else ".")
            )
        with self.stage_times.stage("network"):
            proba = self._network_proba(model, image.as_tensor()[None].to(model.device))[0].cpu()
        with self.stage_times.stage("invert"):
            inverted = Invertd(keys="pred", transform=model.transform, orig_keys="image", nearest_interp=False)(
                {"image": image, "pred": MetaTensor(proba)}
            )["pred"]
            proba = torch.as_tensor(inverted, dtype=torch.float32).contiguous()
        return proba, loaded

    def predict_case(self, case: Case) -> CasePrediction:
        """The (ensemble) probabilities of one case on the input's grid.

        Args:
            case: from :func:`~monai_lite.inference.inputs.find_cases` or
                :func:`~monai_lite.inference.inputs.array_case`.

        Returns:
            A :class:`CasePrediction`.

        Raises:
            ValueError: the case's dimensionality does not suit a model, or a model's preset cannot invert.
        """
        from monai_lite.data.dicom import load_dicom_series

        self._replaced, self._file_counts = {}, {}
        self.stage_times.start_case(case.name)
        with self.stage_times.stage("read"):
            volume = load_dicom_series(case.source, case.series_uid) if case.kind == "dicom" else None
        probas, loaded = [], None
        for model in self.models:
            proba, loaded = self._model_proba(case, model, volume)
            probas.append(proba)
        with self.stage_times.stage("invert"):
            proba = weighted_mean(probas, self.weights)
        picture = self._is_picture(case, self.models[0])
        array = loaded.numpy() if hasattr(loaded, "numpy") else np.asarray(loaded)
        shape = tuple(array.shape[:2] if picture else array.shape[:3])
        if tuple(proba.shape[1:]) != shape:
            raise RuntimeError(
                f"{case.describe()}: the prediction came back as {tuple(proba.shape[1:])} instead of the input's {shape}; "
                "the bundle's preprocessing is not fully invertible."
            )
        affine = np.eye(4) if picture else np.asarray(loaded.affine, dtype=np.float64)
        series = case.series_uid if case.kind == "dicom" else None
        notes = []
        if case.name in self._replaced:
            notes.append(f"replaced {self._replaced[case.name]} NaN or infinite input value(s) by 0 (nan_policy=zero)")
        return CasePrediction(case, proba, affine, picture=array if picture else None, series_uid=series, notes=notes)

    def labels(self, proba: torch.Tensor) -> np.ndarray:
        """The uint8 label map of ``(K, *spatial)`` probabilities: ``>= threshold`` for K = 1, arg-max otherwise."""
        if proba.shape[0] == 1:
            return (proba[0] >= self.threshold).to(torch.uint8).numpy()
        dtype = torch.uint8 if proba.shape[0] <= 256 else torch.int16
        return torch.argmax(proba, dim=0).to(dtype).numpy()

    # --- public calls ----------------------------------------------------------------------------------------
    def _as_cases(self, inputs: Any, affine: Any) -> tuple[list[Case], bool]:
        """Cases of the argument and whether it was a batch (a list or tuple)."""
        if isinstance(inputs, (list, tuple)):
            cases: list[Case] = []
            for index, item in enumerate(inputs):
                cases.extend(self._as_cases(item, affine)[0] if isinstance(item, (str, Path))
                             else [array_case(item, index, affine)])
            return cases, True
        if isinstance(inputs, (str, Path)):
            cases = find_cases([inputs], self.series_uid)
            return cases, len(cases) > 1
        return [array_case(inputs, 0, affine)], False

    def predict_proba(self, inputs: Any, affine: Any = None) -> np.ndarray | list[np.ndarray]:
        """Probabilities on the input's grid: ``(K, H, W)`` or ``(K, X, Y, Z)`` float32, K = 1 for a binary head.

        Args:
            inputs: see :meth:`__call__`.
            affine: see :meth:`__call__`.

        Returns:
            One array, or a list for a list input or a folder of several cases.
        """
        cases, batch = self._as_cases(inputs, affine)
        results = [self.predict_case(case).proba.numpy() for case in cases]
        return results if batch else results[0]

    def __call__(self, inputs: Any, affine: Any = None) -> np.ndarray | list[np.ndarray]:
        """Label maps (uint8) in the input's geometry.

        Args:
            inputs: a path (picture, volume file, DICOM series folder, or a folder of these), a numpy array or
                tensor, or a list of these. Arrays: for bundles whose preset reads pictures (the 2D bundles), an
                ``(H, W)`` or **channels-last** ``(H, W, C)`` array in the value range of the files (e.g. uint8
                RGB, as ``np.asarray(PIL.Image.open(path))`` gives); for volume bundles an ``(X, Y, Z)`` array in
                the file's units (HU for CT).
            affine: the 4x4 voxel-to-world matrix of volume arrays (RAS, as MONAI/nibabel report it); None is the
                identity. Given for a picture bundle, it marks the array as a volume. Defaults to None.

        Returns:
            ``(H, W)`` or ``(X, Y, Z)`` uint8 label maps (0/1 for binary heads, class indices otherwise): one array,
            or a list for a list input or a folder of several cases.

        Raises:
            FileNotFoundError, ValueError: for inputs that cannot be read or do not suit the bundle.
        """
        cases, batch = self._as_cases(inputs, affine)
        results = [self.labels(self.predict_case(case).proba) for case in cases]
        return results if batch else results[0]

    def describe_models(self) -> list[dict]:
        """Bundle, checkpoint (with sha256), Dice, weight, preset and image size of each model, for the log."""
        rows = []
        for model, weight in zip(self.models, self.weights):
            ckpt = model.ckpt_path
            rows.append({
                "bundle": str(model.bundle) if model.bundle else model.name,
                "checkpoint": str(ckpt) if ckpt else None,
                "sha256": sha256_of(ckpt) if ckpt else None,
                "dice": model.dice,
                "weight": weight,
                "spatial_dims": model.spatial_dims,
                "preset": model.preset,
                "image_size": list(model.roi_size),
                "engine": model.engine,
            })
            onnx = engine_record(model.network)
            if onnx is not None:  # per input size: what runs it, the export file, its parity, under auto its speed
                rows[-1]["engine_inputs"] = onnx["inputs"]
        return rows

    def options(self) -> dict:
        """The options of this predictor, for the log."""
        data_dims = 3 if any(not m.reads_pictures for m in self.models) else 2
        engines = sorted({m.engine for m in self.models})
        return {
            "tta": self.tta,
            "tta_transforms": [t.name for t in tta_transforms(data_dims)] if self.tta else [],
            "threshold": self.threshold,
            "overlap": self.overlap,
            "blend": self.blend,
            "sw_batch_size": self.sw_batch_size,
            "series_uid": self.series_uid,
            "dicom_seg": self.dicom_seg,
            "overlay": self.overlay,
            "nan_policy": self.nan_policy,
            "engine": engines[0] if len(engines) == 1 else engines,
        }

    def write(self, inputs: str | Path | Sequence[str | Path], output_dir: str | Path, progress: bool = True) -> dict:
        """Segment every case of ``inputs`` and write masks, overlays, SEGs and ``inference_log.json`` to ``output_dir``.

        Files per case (``NAME`` = file stem or series folder name): pictures ``NAME_seg.png`` (0/255 binary, label
        values multi-class) and ``NAME_overlay.png`` (RGB); volumes ``NAME_seg.nii.gz`` with the input's affine;
        DICOM series ``NAME_seg.nii.gz`` (affine of the series as MONAI/ITK read it) and ``NAME_seg.dcm`` (DICOM
        SEG, see ``dicom_seg``).

        Args:
            inputs: files and folders (see :func:`~monai_lite.inference.inputs.find_cases`).
            output_dir: where to write; must not be, or lie in, an input folder. Created if missing.
            progress: show a tqdm progress bar over cases. Defaults to True.

        Returns:
            The log record (as written to ``inference_log.json``).

        Raises:
            ValueError, FileNotFoundError: bad inputs or output folder, before anything is written.
            ImportError: ``dicom_seg="yes"`` without highdicom.
        """
        from tqdm.auto import tqdm

        from monai_lite.inference.runlog import InferenceLog
        from monai_lite.inference.writers import has_highdicom

        items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
        out = check_output_dir(output_dir, items)
        cases = find_cases(items, self.series_uid)
        seg_mode = self.dicom_seg
        if any(c.kind == "dicom" for c in cases) and seg_mode != "no" and not has_highdicom():
            if seg_mode == "yes":
                raise ImportError("DICOM SEG output needs highdicom: pip install -e '.[dicom-seg]' (or pip install highdicom).")
            logger.warning("highdicom is not installed: DICOM inputs get NIfTI masks only (pip install -e '.[dicom-seg]').")
            seg_mode = "no"
        out.mkdir(parents=True, exist_ok=True)
        log = InferenceLog(out / "inference_log.json", self.describe_models(), self.options(), str(self.models[0].device))
        log.record["inputs"] = [str(Path(item).expanduser().resolve()) for item in items]
        log.record["output_dir"] = str(out)
        for case in tqdm(cases, desc="monai-lite infer", unit="case", disable=not progress):
            started = time.perf_counter()
            result = self.predict_case(case)
            with self.stage_times.stage("write"):
                outputs, notes = self._write_case(result, out, seg_mode)
            notes = result.notes + notes
            log.add_case({
                "input": str(case.source),
                "kind": case.kind,
                "series_uid": result.series_uid,
                "shape": list(result.spatial_shape),
                "spacing": result.spacing,
                "outputs": [str(p) for p in outputs],
                "notes": notes,
                "seconds": round(time.perf_counter() - started, 3),
            })
            if case.kind == "dicom":
                logger.info("Read DICOM series %s from %s.", result.series_uid, case.source)
        return log.record

    def _write_case(self, result: CasePrediction, out: Path, seg_mode: str) -> tuple[list[Path], list[str]]:
        from monai_lite.inference.writers import write_dicom_seg, write_nifti, write_overlay, write_png_mask

        labels = self.labels(result.proba)
        name = result.case.name
        outputs, notes = [], []
        if result.picture is not None:
            outputs.append(write_png_mask(labels, out / f"{name}_seg.png", binary=self.out_channels == 1))
            if self.overlay:
                outputs.append(write_overlay(result.picture, labels, out / f"{name}_overlay.png"))
            return outputs, notes
        outputs.append(write_nifti(labels, result.affine, out / f"{name}_seg.nii.gz"))
        if result.case.kind == "dicom" and seg_mode != "no":
            try:
                outputs.append(write_dicom_seg(
                    labels, result.affine, result.case.series_files, out / f"{name}_seg.dcm",
                    self.models[0].label_names, model_name=self.models[0].name,
                ))
            except ValueError as err:  # e.g. a series with blank UIDs: the NIfTI is still useful
                logger.warning("%s", err)
                notes.append(str(err))
        return outputs, notes


def load_bundle(
    bundle: str | Path | Sequence[str | Path] = "medlitenet",
    *,
    ckpt_path: str | Path | Sequence[str | Path] | None = None,
    dice: Sequence[float] | None = None,
    device: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    engine: str = "torch",
    **options: Any,
) -> Predictor:
    """A :class:`Predictor` for a trained bundle, or an ensemble of bundles or checkpoints.

    Args:
        bundle: a shipped bundle name or a bundle folder, or a list of them for an ensemble. Defaults to
            "medlitenet".
        ckpt_path: the weights (default each bundle's ``models/model.pt``); a list gives an ensemble: one bundle
            with several checkpoints, or one checkpoint per bundle. Defaults to None.
        dice: validation Dice per ensemble member; None reads each from its run's ``models/last.pt``. Defaults to
            None.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"mps"``. Defaults to "auto".
        overrides: bundle config ids to replace (as ``--set``), applied to every bundle. Defaults to None.
        engine: ``"torch"``, ``"onnxruntime"`` (CPU, the ``export`` extra) or ``"auto"`` (ONNX Runtime where it
            is faster for the model): see :mod:`monai_lite.inference.onnx_engine`. Defaults to "torch".
        options: the keyword options of :class:`Predictor`: ``tta`` (False), ``threshold`` (the bundle's, 0.5),
            ``overlap`` (0.25), ``blend`` ("gaussian"), ``sw_batch_size`` (4), ``series_uid``, ``dicom_seg``
            ("auto"), ``overlay`` (True), ``nan_policy`` ("refuse").

    Returns:
        The predictor.

    Raises:
        FileNotFoundError: ``no trained weights at .../models/model.pt``.
        ValueError: unknown bundle, unpairable bundles/checkpoints, wrong number of Dice values, bad options, an
            ONNX export refused by its parity check (``engine="onnxruntime"``).

    Example::

        import monai_lite
        predictor = monai_lite.load_bundle("bundles/medlitenet", device="cpu", tta=True)
        mask = predictor("photo.png")
        ensemble = monai_lite.load_bundle(["bundles/a", "bundles/b"], dice=[0.81, 0.86])
        fast = monai_lite.load_bundle("bundles/medlitenet", device="cpu", engine="onnxruntime")
    """
    bundles = [bundle] if isinstance(bundle, (str, Path)) else list(bundle)
    ckpts = [ckpt_path] if isinstance(ckpt_path, (str, Path)) else list(ckpt_path or [])
    members = pair_members(bundles, ckpts)
    if dice is not None and len(dice) != len(members):
        raise ValueError(f"got {len(dice)} Dice values for {len(members)} ensemble members.")
    models = []
    for index, (name, ckpt) in enumerate(members):
        model = load_bundle_model(name, ckpt, device=device, overrides=overrides, engine=engine)
        if dice is not None:
            model.dice = float(dice[index])
        elif len(members) > 1 and model.ckpt_path is not None:
            model.dice = read_validation_dice(model.ckpt_path)
        models.append(model)
    return Predictor(models, **options)


def run_inference(
    inputs: Sequence[str | Path],
    output_dir: str | Path | None = None,
    *,
    bundles: Sequence[str | Path] = ("medlitenet",),
    progress: bool = True,
    **options: Any,
) -> dict:
    """What ``monai-lite infer`` does: :func:`load_bundle` then :meth:`Predictor.write`.

    The output folder and inputs are checked before any network is built, the weights before any image is read.

    Args:
        inputs: files and folders to segment.
        output_dir: where to write; None is the first bundle's ``eval/predictions``. Defaults to None.
        bundles: one bundle, or several for an ensemble. Defaults to ("medlitenet",).
        progress: show a progress bar. Defaults to True.
        options: keyword arguments of :func:`load_bundle` (``ckpt_path``, ``dice``, ``device``, ``tta``, ...).

    Returns:
        The log record written to ``OUTDIR/inference_log.json``.

    Raises:
        FileNotFoundError, ValueError, ImportError: see :func:`load_bundle` and :meth:`Predictor.write`.
    """
    from monai_lite.bundle.runner import resolve_bundle

    bundles = list(bundles) or ["medlitenet"]
    if output_dir is None:
        output_dir = resolve_bundle(bundles[0]) / "eval" / "predictions"
    items = list(inputs)
    check_output_dir(output_dir, items)
    predictor = load_bundle(bundles, **options)
    return predictor.write(items, output_dir, progress=progress)

