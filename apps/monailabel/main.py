"""The folder ``monailabel start_server --app apps/monailabel`` loads: MONAI Label looks here for a subclass of
``MONAILabelApp``. The app itself lives in :mod:`monai_lite.label.app`, where it is tested."""

from monai_lite.label.app import MonaiLiteLabelApp  # noqa: F401

__all__ = ["MonaiLiteLabelApp"]
