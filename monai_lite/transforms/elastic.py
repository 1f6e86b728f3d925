# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""MONAI's ``Rand2DElasticd`` without the work it does when it does not deform.

When its coin says "no" (probability ``1 - prob``: always at the endoscopy preset's ``prob_elastic`` 0, nine times
in ten at the dermoscopy preset's 0.1), MONAI 1.6's ``Rand2DElasticd`` still draws a random displacement for every
pixel and resamples every key through an identity grid, which returns the input unchanged at the cost of about
9 ms per 128 x 128 picture: a third of the dermoscopy augmentation's time. :class:`Rand2DElasticd` returns the input
itself then (0.1 ms). The coin is drawn exactly as MONAI draws it, so the same pictures deform in a seeded run, and
a run that never deforms (``prob`` 0) or always deforms (``prob`` 1) is identical to MONAI's; in between, the
deformed pictures get other displacement fields than MONAI's would (the skipped draws no longer advance the
field's generator), from the same distribution.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from monai.transforms import Rand2DElasticd as _MonaiRand2DElasticd

__all__ = ["Rand2DElasticd"]


class Rand2DElasticd(_MonaiRand2DElasticd):
    """``monai.transforms.Rand2DElasticd`` (same arguments) that skips the identity resampling when not applied.

    When it does not deform it returns the data as given (MONAI's returns resampled copies of the same values, as
    tensors); the presets give it float32 tensors, for which the two are equal.
    """

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        first_key = self.first_key(d)
        if first_key == ():
            return super().__call__(d)
        state = self.R.get_state()
        self.randomize(None)
        if self._do_transform:
            self.R.set_state(state)  # MONAI's own call draws the same coin again, then deforms
            return super().__call__(d)
        return d
