"""What the MONAI Label app serves, worked out without importing MONAI Label: which bundles (by name, never by
path), their labels as the masks store them, and the datalist a ``/train`` request fine-tunes on."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import monai_lite

logger = logging.getLogger(__name__)

#: The shipped bundles, the default ``--conf bundles_dir``.
DEFAULT_BUNDLES_DIR = Path(monai_lite.__file__).resolve().parent.parent / "bundles"

#: Below this many labelled cases, validation reuses the training cases (it then tracks fitting, not
#: generalisation); from it on, every fifth case is held out.
MIN_CASES_FOR_HOLDOUT = 5


class RequestError(ValueError):
    """A request the task cannot serve (unreadable image, wrong dimensionality, no labels): the client's to fix."""


def bundle_folders(names: str, bundles_dir: str | Path) -> dict[str, Path]:
    """``{name: folder}`` for a comma-separated list of bundle names inside ``bundles_dir``.

    Raises:
        ValueError: a name that is a path, or no bundle of that name (the message lists what is there).
    """
    root = Path(bundles_dir).resolve()
    if not root.is_dir():
        raise ValueError(f"--conf bundles_dir {root} is not a folder.")
    found = {}
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if Path(name).name != name or name in (".", ".."):
            raise ValueError(f"--conf models takes bundle names, not paths; got {name!r}.")
        folder = root / name
        if not (folder / "configs" / "inference.json").is_file():
            available = sorted(p.name for p in root.iterdir() if (p / "configs" / "inference.json").is_file())
            raise ValueError(f"no bundle {name!r} in {root}; there are: {', '.join(available) or 'none'}.")
        found[name] = folder
    if not found:
        raise ValueError("--conf models names no bundle.")
    return found


def bundle_labels(folder: Path) -> tuple[dict[str, int], int, str]:
    """``({label name: mask value}, dimension, description)`` of a bundle, read as data from its configs."""
    from monai_lite.inference.model import _label_names

    metadata = json.loads((folder / "configs" / "metadata.json").read_text())
    inference = json.loads((folder / "configs" / "inference.json").read_text())
    network = inference.get("network_def", {})
    out_channels = int(next(iter(metadata["network_data_format"]["outputs"].values()))["num_channels"])
    dimension = int(network.get("spatial_dims", 2))
    names = {name: value for value, name in _label_names(folder, out_channels).items()}
    return names, dimension, str(metadata.get("description", metadata.get("name", folder.name)))


def fine_tune_datalist(pairs: list[dict], path: Path) -> Path:
    """Write the datastore's labelled ``{"image", "label"}`` pairs as a datalist for the bundle's ``train.json``.

    From :data:`MIN_CASES_FOR_HOLDOUT` cases on, every fifth case is held out for validation; below that, every
    case trains and validation reuses them (said in the log), since a single label must still fine-tune.
    """
    if not pairs:
        raise RequestError("no saved labels in the datastore yet: save at least one final label before /train.")
    training = [{"image": p["image"], "label": p["label"]} for p in pairs]
    if len(training) >= MIN_CASES_FOR_HOLDOUT:
        validation = training[4::5]
        training = [case for index, case in enumerate(training) if index % 5 != 4]
    else:
        logger.warning("Only %d labelled case(s): validation reuses the training cases.", len(training))
        validation = list(training)
    path.write_text(json.dumps({"training": training, "validation": validation}, indent=1))
    return path
