# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The random-number state of a training run, as a checkpointable object, so a resumed run draws the same numbers.

An uninterrupted run and one resumed from its last checkpoint only reach the same weights if, from the resumed
epoch on, they shuffle the same way and augment the same way. That depends on:

- the global generators of Python, NumPy, torch (CPU) and CUDA: the shuffling sampler and the data-loader workers
  draw their seeds from torch's, MONAI's ``DataLoader`` seeds the transforms of worker processes from it;
- the private ``numpy.random.RandomState`` of every random MONAI transform in the training pipeline: with
  ``num_workers=0`` the transforms run in the main process and keep drawing from their own generators across epochs.

:class:`RNGState` saves and restores all of them, for every rank of a multi-process (DDP) run. Its ``state_dict``
holds only tensors, numbers, strings and lists, so checkpoints load with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from monai.transforms import Randomizable, Transform

__all__ = ["RNGState", "random_transform_states"]


def _walk(obj: Any, seen: set[int]) -> Iterator[np.random.RandomState]:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _walk(item, seen)
        return
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            yield from _walk(obj[key], seen)
        return
    if not isinstance(obj, (Transform, Randomizable)):
        return
    state = getattr(obj, "R", None)
    if isinstance(obj, Randomizable) and isinstance(state, np.random.RandomState) and id(state) not in seen:
        seen.add(id(state))
        yield state
    for name in sorted(vars(obj)):
        value = vars(obj)[name]
        if isinstance(value, (Transform, Randomizable, list, tuple, dict)):
            yield from _walk(value, seen)


def random_transform_states(transform: Any) -> list[np.random.RandomState]:
    """The distinct generators of every random MONAI transform inside ``transform``, in a fixed order.

    Walks ``Compose`` chains, lists and the transforms that dictionary transforms wrap (``RandAffined`` holds a
    ``RandAffine`` that holds a ``RandAffineGrid``, each with its own generator).

    Args:
        transform: a transform, a ``Compose`` or a list of them.

    Returns:
        The ``numpy.random.RandomState`` objects, each once.
    """
    return list(_walk(transform, set()))


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _numpy_state(state: tuple) -> list:
    name, keys, pos, has_gauss, cached = state
    return [str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(cached)]


def _numpy_tuple(state: list) -> tuple:
    name, keys, pos, has_gauss, cached = state
    return (name, np.asarray(keys.numpy(), dtype=np.uint32), int(pos), int(has_gauss), float(cached))


class RNGState:
    """Checkpointable random state: Python, NumPy, torch, CUDA, and the generators of the training transforms.

    Args:
        transform: the training pipeline (e.g. the ``Compose`` of the train dataset) whose random transforms'
            generators are saved too; ``None`` saves only the global generators. Defaults to None.

    Examples::

        rng = RNGState(train_dataset.transform)
        Checkpoint({"rng": rng, ...}, AtomicDiskSaver("models", "last.pt"))
    """

    def __init__(self, transform: Any = None) -> None:
        self.transform = transform

    def state_dict(self) -> dict:
        """Snapshot every generator; in a multi-process run, those of every rank (a collective call).

        Returns:
            A dict of plain values and tensors; ``{"ranks": [one per rank]}`` with several processes.
        """
        if _world_size() > 1:
            gathered: list[Any] = [None] * _world_size()
            dist.all_gather_object(gathered, self._local_state())
            return {"ranks": gathered}
        return self._local_state()

    def _local_state(self) -> dict:
        version, internal, gauss = random.getstate()
        return {
            "python": [version, list(internal), gauss],
            "numpy": _numpy_state(np.random.get_state()),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "transforms": [_numpy_state(r.get_state()) for r in random_transform_states(self.transform)],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a snapshot of :meth:`state_dict`.

        Args:
            state: the snapshot.

        Raises:
            ValueError: if the training pipeline has a different number of random generators than when the
                snapshot was taken (the transforms changed between the runs).
        """
        if "ranks" in state:
            # Each rank continues its own generators. A run resumed on more processes than wrote the checkpoint
            # keeps, on the extra ranks, the fresh generators its seed gave them.
            rank = dist.get_rank() if _world_size() > 1 else 0
            if rank >= len(state["ranks"]):
                return
            state = state["ranks"][rank]
        generators = random_transform_states(self.transform)
        if len(generators) != len(state["transforms"]):
            raise ValueError(
                f"the checkpoint holds {len(state['transforms'])} transform generators but the training pipeline has "
                f"{len(generators)}: the augmentations changed since it was written, so the run cannot be resumed "
                "exactly. Resume with the same preset and settings, or start a new run."
            )
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state(_numpy_tuple(state["numpy"]))
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])
        for generator, saved in zip(generators, state["transforms"]):
            generator.set_state(_numpy_tuple(saved))
