"""The monai-lite MONAI Label app: every bundle named in ``--conf models`` served for segmentation and fine-tuning.

Start it with MONAI Label's own server (``make label`` installs it; see ``apps/monailabel/README.md``)::

    .venv-label/bin/monailabel start_server --app apps/monailabel --studies STUDIES \\
        --conf models medlitenet,medlitenet_hippocampus

Configuration (``--conf KEY VALUE``):

- ``models``: comma-separated bundle names; each must be a folder of ``bundles_dir`` (no paths: a name with a
  separator or ``..`` is refused). Defaults to ``medlitenet``.
- ``bundles_dir``: the folder holding the bundles. Defaults to this checkout's ``bundles/``.
- ``max_epochs``: default epochs of ``/train``. Defaults to 10.

Requests the server cannot serve answer 4xx with the reason (unknown model 404, unreadable image or one of the
wrong dimensionality 422) instead of MONAI Label's bare 500, and the server keeps serving.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from monailabel.interfaces.app import MONAILabelApp
from monailabel.tasks.activelearning.first import First
from monailabel.tasks.activelearning.random import Random

import monai_lite
from monai_lite.label.served import DEFAULT_BUNDLES_DIR, RequestError, bundle_folders, bundle_labels
from monai_lite.label.tasks import BundleFineTune, BundleSegmentation

logger = logging.getLogger(__name__)

class MonaiLiteLabelApp(MONAILabelApp):
    """MONAI Label app over monai-lite bundles (see the module docstring for ``--conf``)."""

    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]):
        self.bundles = bundle_folders(conf.get("models", "medlitenet"), conf.get("bundles_dir", DEFAULT_BUNDLES_DIR))
        self.max_epochs = int(conf.get("max_epochs", 10))
        # Result files are handed to MONAI Label, which moves saved ones into its datastore: never the app folder.
        self.results_dir = Path(tempfile.mkdtemp(prefix="monai-lite-label-results-"))
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="monai-lite",
            description="Lightweight attention networks (monai-lite bundles) for 2D and 3D segmentation",
            version=monai_lite.__version__,
        )

    def init_infers(self) -> dict[str, Any]:
        infers = {}
        for name, folder in self.bundles.items():
            labels, dimension, description = bundle_labels(folder)
            infers[name] = BundleSegmentation(folder, labels, dimension, description, self.results_dir)
            logger.info("+++ monai-lite bundle %s: labels %s, %dD", name, labels, dimension)
        return infers

    def init_trainers(self) -> dict[str, Any]:
        return {name: BundleFineTune(folder, f"Fine-tune {name} from the saved labels", self.max_epochs)
                for name, folder in self.bundles.items()}

    def init_strategies(self) -> dict[str, Any]:
        return {"random": Random(), "first": First()}

    def infer(self, request: dict, datastore: Any = None) -> dict:
        model = request.get("model")
        if model not in self._infers:
            raise HTTPException(status_code=404, detail=f"no model {model!r}; this server has: {', '.join(self._infers)}.")
        try:
            return super().infer(request, datastore)
        except RequestError as err:
            raise HTTPException(status_code=422, detail=str(err)) from err

    def train(self, request: dict) -> Any:
        model = request.get("model")
        if model not in self._trainers:
            raise HTTPException(status_code=404, detail=f"no model {model!r}; this server trains: {', '.join(self._trainers)}.")
        return super().train(request)
