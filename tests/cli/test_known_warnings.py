# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the known third-party notices (warnings and log records) are silenced by exact message while every other
warning and record stays visible."""

from __future__ import annotations

import logging
import warnings

import pytest

from monai_lite.known_warnings import silence_known_noise

NVIMGCODEC = ("NvImgCodecPydicomReader: nvImageCodec decoder plugin did not register successfully. "
              "Falling back to default pydicom decoders.")
MONAI_NOTICE = ('parsing config_file a.json: any `"_target_"` value in it is resolved to an importable callable and '
                "invoked with no allow list")


@pytest.fixture()
def shown():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_known_noise()
        silence_known_noise()  # idempotent
        yield caught


@pytest.mark.parametrize("message", [NVIMGCODEC, MONAI_NOTICE])
def test_known_notice_is_silenced(shown, message: str) -> None:
    warnings.warn(message, UserWarning)
    assert shown == []


@pytest.mark.parametrize("message, category", [
    ("NvImgCodecPydicomReader: could not decode frame 3", UserWarning),  # same reader, a real problem
    ("spacing is missing", UserWarning),
    (NVIMGCODEC, DeprecationWarning),  # only the category MONAI uses is silenced
])
def test_other_warnings_stay_visible(shown, message: str, category: type) -> None:
    warnings.warn(message, category)
    assert [str(w.message) for w in shown] == [message]


def test_filters_do_not_pile_up() -> None:
    with warnings.catch_warnings():
        silence_known_noise()
        count = len(warnings.filters)
        silence_known_noise()
        assert len(warnings.filters) == count


def test_known_log_record_is_dropped_and_others_kept(caplog: pytest.LogCaptureFixture) -> None:
    silence_known_noise()
    silence_known_noise()
    logger = logging.getLogger("monai.data.nvimgcodec_pydicom_plugin")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("nvImageCodec is not available; skipping pydicom decoder plugin registration.")
        logger.warning("nvImageCodec failed to decode a frame")
    assert [r.getMessage() for r in caplog.records] == ["nvImageCodec failed to decode a frame"]
