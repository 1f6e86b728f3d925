# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Training images per second of a 2D bundle for several (torch threads, DataLoader workers) settings.

Behind the "Threads and workers" table of docs/benchmarks.md. Each setting trains the bundle through the same
``ConfigWorkflow`` machinery as ``python -m monai.bundle run training`` (CPU, no validation, no progressive
resizing), in a fresh process so no thread pool carries over, for ``--iterations`` iterations, and reports

- ``images_per_s``: training images per second over the iterations after the first ``--warmup`` ones;
- ``cache_s``: seconds spent building the training ``CacheDataset`` (decoding and resizing every picture);
- ``augment_ms_per_batch`` (settings without workers): the random transforms and collation of one batch alone;
- the bundle's own CPU plan line, which names the threads and workers it used.

A setting is ``THREADS,WORKERS``; either may be ``auto``, and ``default`` threads means torch's own default (what
the bundles used before the plan, one per core). Run it pinned, e.g.::

    taskset -c 0,1 python docs/measure_train_throughput.py --dataset-dir ../shared/data/kvasir-seg \\
        --datalist data_manifests/kvasir_seg.json --settings default,2 auto,auto 1,1 2,0 -o /tmp/throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _one(args: argparse.Namespace, threads: str, workers: str) -> dict:
    """Train one setting in this process (called in a child process) and return its numbers."""
    import logging

    import torch
    from ignite.engine import Events
    from monai.bundle import ConfigWorkflow

    lines: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logging.getLogger("monai_lite.train").addHandler(_Keep())
    logging.getLogger("monai_lite.train").setLevel(logging.INFO)
    default_threads = torch.get_num_threads()
    overrides = {
        "bundle_root": tempfile.mkdtemp(prefix="throughput-"),
        "dataset_dir": str(Path(args.dataset_dir).resolve()),
        "datalist": str(Path(args.datalist).resolve()),
        "fold": 0,
        "device": "$torch.device('cpu')",
        "epochs": 1,
        "val_interval": 1000,
        "progressive_sizes": [],
        "image_size": [args.size, args.size],
        "batch_size": args.batch_size,
        "num_threads": default_threads if threads == "default" else (threads if threads == "auto" else int(threads)),
        "num_workers": workers if workers == "auto" else int(workers),
        "train#trainer#epoch_length": args.iterations,
        "validate#dataset#data": "$@data[1][:4]",
    }
    configs = REPO / "bundles" / args.bundle / "configs"
    workflow = ConfigWorkflow(config_file=str(configs / "train.json"), meta_file=str(configs / "metadata.json"),
                              logging_file=False, workflow_type="train", **overrides)
    workflow.initialize()
    started = time.perf_counter()
    workflow.parser.get_parsed_content("train#dataset")
    cache_s = time.perf_counter() - started
    trainer = workflow.parser.get_parsed_content("train#trainer")
    augment_ms = None
    loader = workflow.parser.get_parsed_content("train#dataloader")
    if loader.num_workers == 0:  # the augmentation alone, as the main process runs it between steps
        batches = iter(loader)
        next(batches)
        started = time.perf_counter()
        count = sum(1 for _, _ in zip(range(20), batches))
        augment_ms = (time.perf_counter() - started) / count * 1000
    stamps: list[float] = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda _: stamps.append(time.perf_counter()))
    workflow.run()
    workflow.finalize()
    timed = stamps[args.warmup:]
    seconds = timed[-1] - timed[0]
    return {"threads": threads, "workers": workers, "torch_default_threads": default_threads,
            "images_per_s": args.batch_size * (len(timed) - 1) / seconds, "iterations_timed": len(timed) - 1,
            "cache_s": cache_s, "augment_ms_per_batch": augment_ms, "plan": next((line for line in lines if line.startswith("CPU plan")), "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default="medlitenet")
    parser.add_argument("--dataset-dir", required=True)
    parser.add_argument("--datalist", required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--settings", nargs="+", default=["default,2", "auto,auto"])
    parser.add_argument("-o", "--output", default="")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args, *args.child.split(","))))
        return
    results = []
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # torch's default must be its own
    for setting in args.settings:
        command = [sys.executable, __file__, *sys.argv[1:], "--child", setting]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        if done.returncode:
            print(f"{setting}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        augment = result["augment_ms_per_batch"]
        print(f"{setting:>12}: {result['images_per_s']:6.1f} images/s, cache {result['cache_s']:5.1f} s"
              f"{f', augmentation {augment:.0f} ms/batch' if augment else ''} | "
              f"{result['plan']}", flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps({"cpus": sorted(os.sched_getaffinity(0)), "results": results},
                                                indent=2))


if __name__ == "__main__":
    main()
