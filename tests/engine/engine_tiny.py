# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""A tiny but complete training run (MONAI trainer + evaluator + every recipe piece) for the engine tests.

Small enough to run a few epochs in seconds on a CPU: 12 random 2D cases of 16x16, a two-layer conv net with
BatchNorm, random flips and noise, so every source of randomness that a real run has is exercised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from monai.data import DataLoader, Dataset
from monai.engines import SupervisedEvaluator, SupervisedTrainer
from monai.handlers import MeanDice, ValidationHandler, from_engine
from monai.transforms import Activationsd, AsDiscreted, Compose, RandFlipd, RandGaussianNoised
from monai.utils import set_determinism

from monai_lite.engine import (
    BestCheckpoint,
    EpochSummary,
    GradientClipping,
    ModelEMA,
    ProgressiveResize,
    RNGState,
    StepLrScheduleHandler,
    TrainingCheckpoint,
    WeightedDiceCELoss,
    cosine_with_warmup,
    optimizer_steps_per_epoch,
)

__all__ = ["TinyNet", "cases", "build_run", "weights_of"]


class TinyNet(nn.Module):
    """Conv-BN-ReLU-Conv, 2D, one output channel."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, 8, 3, padding=1)]
        if norm:
            layers.append(nn.BatchNorm2d(8))
        layers += [nn.ReLU(), nn.Conv2d(8, out_channels, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def cases(n: int, size: int = 16, seed: int = 123) -> list[dict]:
    """``n`` random image/label pairs: a bright square on noise, the label is the square."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        image = torch.randn(1, size, size, generator=g) * 0.3
        label = torch.zeros(1, size, size)
        y, x = torch.randint(0, size // 2, (2,), generator=g).tolist()
        label[:, y : y + size // 2, x : x + size // 2] = 1
        out.append({"image": image + label, "label": label})
    return out


def build_run(
    folder: Path,
    epochs: int = 4,
    resume: bool = False,
    accumulation_steps: int = 2,
    seed: int = 0,
    extra_handlers: list | None = None,
    num_workers: int = 0,
    init_weights: str = "",
    device: str = "cpu",
    amp: bool = False,
) -> dict[str, Any]:
    """Build (not run) the whole training run, seeded as a bundle's ``initialize`` does.

    Returns:
        the trainer, evaluator, network, EMA, optimizer and scheduler, keyed by name.
    """
    set_determinism(seed=seed)
    device = torch.device(device)
    network = TinyNet().to(device)
    transform = Compose(
        [
            RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0),
            RandGaussianNoised(keys="image", prob=0.5, std=0.1),
        ]
    )
    loader = DataLoader(Dataset(cases(12), transform=transform), batch_size=4, shuffle=True, num_workers=num_workers)
    val_loader = DataLoader(Dataset(cases(4, seed=7)), batch_size=2, shuffle=False, num_workers=0)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-2)
    scheduler = cosine_with_warmup(
        optimizer, epochs, optimizer_steps_per_epoch(len(loader), accumulation_steps), warmup_epochs=1
    )
    ema = ModelEMA(network, decay=0.9)
    post = Compose([Activationsd(keys="pred", sigmoid=True), AsDiscreted(keys="pred", threshold=0.5)])
    evaluator = SupervisedEvaluator(
        device=device,
        val_data_loader=val_loader,
        network=ema.validation_network,
        postprocessing=post,
        key_val_metric={"val_mean_dice": MeanDice(output_transform=from_engine(["pred", "label"]))},
        val_handlers=[BestCheckpoint(folder, {"model.pt": ema.validation_network, "model_raw.pt": network})],
    )
    progressive = ProgressiveResize([[0, 8], [0.5, 1.0]], size_multiple=8)
    checkpoint = TrainingCheckpoint(
        folder,
        {"model": network, "optimizer": optimizer, "lr_scheduler": scheduler, "ema": ema, "rng": RNGState(transform)},
        evaluator=evaluator,
        resume=resume,
        init_weights=init_weights,
    )
    handlers = [
        StepLrScheduleHandler(scheduler, print_lr=False),
        GradientClipping(0.5),
        ema,
        progressive,
        ValidationHandler(validator=evaluator, interval=1, epoch_level=True),
        checkpoint,
        EpochSummary(evaluator),
        *(extra_handlers or []),
    ]
    trainer = SupervisedTrainer(
        device=device,
        max_epochs=epochs,
        train_data_loader=loader,
        network=network,
        optimizer=optimizer,
        loss_function=WeightedDiceCELoss(),
        postprocessing=post,
        train_handlers=handlers,
        accumulation_steps=accumulation_steps,
        amp=amp,
    )
    return {"trainer": trainer, "evaluator": evaluator, "network": network, "ema": ema, "optimizer": optimizer,
            "scheduler": scheduler}


def weights_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a module's state dict."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
