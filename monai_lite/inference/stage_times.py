# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Where a :class:`~monai_lite.inference.predictor.Predictor` spends its time: wall-clock seconds per stage, per case.

Stages, in pipeline order (:data:`STAGES`):

- ``read``: the DICOM series or the image file as the preset's ``LoadImaged`` reads it, and the finite-value check
  (which, for a volume file, counts non-finite values in the file as stored: a second read with nibabel);
- ``preprocess``: the preset's deterministic transforms after ``LoadImaged``;
- ``network``: the inferer (whole image, sliding window or slice by slice), test-time augmentation when asked, and
  the activation (sigmoid/softmax), back on the CPU;
- ``invert``: MONAI's ``Invertd`` back to the input's grid, and the ensemble's weighted mean;
- ``write``: the label map (threshold or arg-max) and the files of :meth:`Predictor.write`.

Each stage's process CPU time (``time.process_time``: every thread of the process, user and system) is recorded
beside its wall time, under ``"cpu"``: on a machine shared with other jobs, wall time includes waiting for a core,
CPU time does not. With several ensemble members, a member's ``read`` .. ``invert`` times add up into the case's.
The recorder costs two clock reads and a dict update per stage, so it is always on; benchmarks read it after each run
(``monai-lite benchmark pipeline``).

Example::

    predictor = monai_lite.load_bundle("medlitenet", ckpt_path="model.pt")
    predictor.write(["photos/"], "out/")
    for record in predictor.stage_times.cases:      # one dict per case, in order
        print(record["case"], record["network"], sum(record[s] for s in STAGES if s in record))
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STAGES", "StageTimes"]

#: The stages a case goes through, in order.
STAGES = ("read", "preprocess", "network", "invert", "write")


class StageTimes:
    """Seconds per stage of the most recent cases.

    Args:
        keep: how many cases to remember (the oldest are dropped first), so a long-running server does not grow.
            Defaults to 10000.

    Attributes:
        cases: ``{"case": name, STAGE: wall seconds, ..., "cpu": {STAGE: process CPU seconds, ...}}`` per case,
            oldest first; only stages that ran are present (``write`` only under :meth:`Predictor.write`).
    """

    def __init__(self, keep: int = 10000) -> None:
        self.cases: deque[dict] = deque(maxlen=int(keep))

    def start_case(self, name: str) -> None:
        """Open the record of a new case; later :meth:`stage` blocks add to it."""
        self.cases.append({"case": str(name), "cpu": {}})

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to stage ``name`` of the current case (a case is opened if none is).

        Args:
            name: one of :data:`STAGES`.
        """
        if not self.cases:
            self.start_case("")
        record = self.cases[-1]
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            record[name] = record.get(name, 0.0) + time.perf_counter() - started
            record["cpu"][name] = record["cpu"].get(name, 0.0) + time.process_time() - cpu_started

    @property
    def last(self) -> dict | None:
        """The record of the most recent case, or None before the first."""
        return self.cases[-1] if self.cases else None

    def clear(self) -> None:
        """Forget every recorded case."""
        self.cases.clear()
