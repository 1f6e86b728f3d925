"""MONAI Label tasks that wrap a monai-lite bundle: segmentation through :func:`monai_lite.load_bundle`, fine-tuning
through the bundle's own ``train.json``.

Why not MONAI Label's ``BundleInferTask``/``BundleTrainTask``: they rebuild the bundle's transform chain inside
MONAI Label's own loader and writer, which (MONAI Label 0.8.5, MONAI 1.6) drops ``allow_missing_keys`` on the
label key, hands string ``image_*`` metadata to ``Spacingd``, writes 2D masks column-major (transposed) with the
channel axis kept, and serves the shortest ``models/*.pt`` name (``last.pt``, raw weights) instead of
``model.pt`` (EMA weights). Going through :func:`monai_lite.load_bundle` makes the server's answer the very array
``monai-lite infer`` and the Python API return: same preprocessing record, same inversion, same writers.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.infer_v2 import InferTask, InferType
from monailabel.interfaces.tasks.train import TrainTask

from monai_lite.label.served import RequestError, fine_tune_datalist

logger = logging.getLogger(__name__)

def _weights_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class BundleSegmentation(InferTask):
    """Automatic segmentation with a bundle's trained weights (``models/model.pt``, the EMA weights).

    The predictor is built on first use and rebuilt whenever ``model.pt`` changes on disk, so the next request
    after a ``/train`` uses the fine-tuned weights.

    Args:
        bundle: the bundle folder.
        labels: ``{name: label value}`` as the masks store them (from the bundle's metadata).
        dimension: 2 or 3, the network's dimensionality (a 2D bundle also segments volumes, slice by slice).
        description: shown by ``/info``.
        output_dir: where result files go (MONAI Label moves saved labels into its datastore).
    """

    def __init__(self, bundle: Path, labels: dict[str, int], dimension: int, description: str, output_dir: Path):
        super().__init__(InferType.SEGMENTATION, labels, dimension, description, config={"device": "auto"})
        self.bundle = Path(bundle)
        self.weights = self.bundle / "models" / "model.pt"
        self.output_dir = Path(output_dir)
        self._lock = threading.Lock()
        self._predictor: Any = None
        self._stamp: tuple[int, int] | None = None

    def is_valid(self) -> bool:
        return (self.bundle / "configs" / "inference.json").is_file()

    def get_path(self, validate: bool = True) -> str | None:
        return str(self.weights) if self.weights.is_file() or not validate else None

    def predictor(self, device: str = "auto") -> Any:
        """The bundle's predictor, (re)loaded when ``model.pt`` is new or has changed."""
        from monai_lite.inference import load_bundle

        with self._lock:
            stamp = _weights_stamp(self.weights)
            if stamp is None:
                raise RequestError(f"{self.bundle.name} has no trained weights yet ({self.weights}); run /train first.")
            if self._predictor is None or stamp != self._stamp:
                logger.info("Loading %s", self.weights)
                self._predictor = load_bundle(self.bundle, device=device, overlay=False)
                self._stamp = stamp
            return self._predictor

    def __call__(self, request: dict) -> tuple[str | None, dict]:
        from monai_lite.inference.inputs import find_cases
        from monai_lite.inference.writers import write_nifti, write_png_mask

        image = str(request.get("image") or "")
        if not image or not os.path.exists(image):
            raise RequestError(f"image {image!r} does not exist (give a datastore image id or upload a file).")
        started = time.perf_counter()
        predictor = self.predictor(str(request.get("device") or "auto"))
        try:
            cases = find_cases([image])
            if len(cases) != 1:
                raise ValueError(f"{image} holds {len(cases)} cases; send one image.")
            result = predictor.predict_case(cases[0])
        except (ValueError, FileNotFoundError, OSError, RuntimeError) as err:
            raise RequestError(f"{self.bundle.name} cannot segment {Path(image).name}: {err}") from err
        labels = predictor.labels(result.proba)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        handle, target = tempfile.mkstemp(
            prefix=f"{cases[0].name}_{self.bundle.name}_", dir=self.output_dir,
            suffix=".png" if result.picture is not None else ".nii.gz",
        )
        os.close(handle)
        if result.picture is not None:
            write_png_mask(labels, target, binary=False)  # label values, as /info advertises them
        else:
            write_nifti(labels, result.affine, target)
        seconds = time.perf_counter() - started
        return target, {
            "label_names": self.labels,
            "shape": list(result.spatial_shape),
            "weights": str(self.weights),
            "latencies": {"total": round(seconds, 4)},
        }


class BundleFineTune(TrainTask):
    """Fine-tune a bundle from the labels saved in MONAI Label's datastore, with the bundle's own training config.

    Runs ``train.json`` in-process as ``python -m monai.bundle run training`` would, from the current ``model.pt``
    (``--init_weights``) with the preprocessing recorded beside it, writing back into the bundle's ``models/``
    (``model.pt`` atomically, so a concurrent ``/infer`` sees the old or the new weights, never half of either).

    Args:
        bundle: the bundle folder.
        description: shown by ``/info``.
        max_epochs: epochs when the request does not say.
    """

    def __init__(self, bundle: Path, description: str, max_epochs: int = 10):
        super().__init__(description)
        self.bundle = Path(bundle)
        self.max_epochs = max_epochs

    def config(self) -> dict:
        return {"max_epochs": self.max_epochs, "device": "auto"}

    def overrides(self, request: dict, datalist: Path) -> dict[str, Any]:
        """The bundle ids this request sets: data, epochs, starting weights, and the recorded preprocessing."""
        from monai_lite.engine.preprocessing_record import read_preprocessing_record

        epochs = int(request.get("max_epochs", self.max_epochs))
        if epochs < 1:
            raise RequestError(f"max_epochs must be a positive integer; got {request.get('max_epochs')!r}.")
        overrides: dict[str, Any] = {
            "bundle_root": str(self.bundle),
            "dataset_dir": str(datalist.parent),
            "datalist": str(datalist),
            "fold": -1,
            "epochs": epochs,
        }
        weights = self.bundle / "models" / "model.pt"
        if weights.is_file():
            overrides["init_weights"] = str(weights)
            overrides.update(read_preprocessing_record(weights) or {})
        return overrides

    def __call__(self, request: dict, datastore: Datastore) -> dict:
        from monai.bundle import run

        with tempfile.TemporaryDirectory(prefix="monai-lite-label-") as tmp:
            datalist = fine_tune_datalist(datastore.datalist(), Path(tmp) / "datalist.json")
            overrides = self.overrides(request, datalist)
            logger.info("Fine-tuning %s: %s", self.bundle.name, overrides)
            started = time.perf_counter()
            run("training", config_file=str(self.bundle / "configs" / "train.json"), **overrides)
        return {"bundle": self.bundle.name, "epochs": overrides["epochs"],
                "seconds": round(time.perf_counter() - started, 1)}
