# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves the bundles train and evaluate on two processes with torchrun (DDP, gloo on CPU), as the README says.

Each run is the README's command, ``torchrun --standalone --nproc_per_node=2 -m monai.bundle run training
--config_file "['.../train.json','.../multi_gpu_train.json']"``, with small sizes on the command line and one test
overlay that (a) gives rank 1 its own ``ckpt_dir``/``output_dir`` (so anything rank 1 writes there is caught) and
(b) saves every rank's final weights, so the ranks can be compared. It proves, on the default data of a 2D and a 3D
bundle: both ranks trained to bit-identical weights (network, BatchNorm statistics, EMA); exactly one ``last.pt``
and ``model.pt`` exist and rank 1 wrote no file and printed no progress; the validation Dice of the run equals a
single-process evaluation of the saved weights; a ``kill -9`` of rank 1 leaves a loadable ``last.pt`` and a resumed
2-rank run continues from it to the end; ``multi_gpu_evaluate.json`` on 2 ranks writes the single-process report.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigWorkflow

from monai_lite.bundle.runner import BUNDLES_DIR

REPO = BUNDLES_DIR.parent
TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
TIMEOUT_S = 240

RANK_OVERLAY = {
    "ckpt_dir": "$@bundle_root + ('/models' if monai_lite.engine.distributed.this_rank() == 0 else '/rank1_models')",
    "output_dir": "$@bundle_root + ('/eval' if monai_lite.engine.distributed.this_rank() == 0 else '/rank1_eval')",
    "finalize": [
        "$torch.save({'network': monai_lite.engine.distributed.unwrap(@network).state_dict(), 'ema': @ema.state_dict()}"
        ", @bundle_root + '/weights_rank' + str(monai_lite.engine.distributed.this_rank()) + '.pt')",
        "$monai_lite.engine.distributed.cleanup()",
    ],
}
EVAL_OVERLAY = {
    "output_dir": "$@bundle_root + ('/eval' if monai_lite.engine.distributed.this_rank() == 0 else '/rank1_eval')"
}


def _sizes(bundle: str, epochs: int) -> list[str]:
    size = "[16, 16, 16]" if bundle.endswith("_hippocampus") else "[32, 32]"
    return ["--epochs", str(epochs), "--image_size", size, "--batch_size", "4", "--num_workers", "0",
            "--learning_rate", "0.01"]


def _torchrun(bundle: str, workflow: str, configs: list[str], root: Path, logs: Path, *args: str) -> subprocess.Popen:
    overlay = root.parent / f"{root.name}_{workflow}_overlay.json"
    overlay.write_text(json.dumps(RANK_OVERLAY if workflow == "training" else EVAL_OVERLAY))
    files = [f"bundles/{bundle}/configs/{name}" for name in configs] + [str(overlay)]
    command = [TORCHRUN, "--standalone", "--nproc_per_node=2", "--log-dir", str(logs), "--redirects", "3",
               "-m", "monai.bundle", "run", workflow, "--config_file", str(files), "--bundle_root", str(root), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen, logs: Path) -> None:
    output, _ = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, f"exit {process.returncode}\n{output[-3000:]}\n{_log(logs, 0)[-3000:]}" \
                                    f"\n{_log(logs, 1)[-3000:]}"


def _log(logs: Path, rank: int) -> str:
    """Everything rank ``rank`` printed (torchrun --redirects writes one folder per rank under --log-dir)."""
    return "".join(p.read_text(errors="replace") for p in sorted(logs.rglob(f"attempt_*/{rank}/std*.log")))


def _train(bundle: str, root: Path, logs: Path, epochs: int, *args: str) -> subprocess.Popen:
    return _torchrun(bundle, "training", ["train.json", "multi_gpu_train.json"], root, logs,
                     *_sizes(bundle, epochs), *args)


def _rank_pid(parent: int, rank: int) -> int | None:
    """The pid of torchrun's worker with ``RANK=rank`` (its environment says which)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            if f"RANK={rank}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                return int(proc.name)
        except (OSError, ValueError, IndexError):
            continue
    return None


def _single_process_evaluation(bundle: str, root: Path, epochs: int) -> dict:
    """Evaluate ``root/models/model.pt`` in this process (train + evaluate configs), report in ``root/eval_single``."""
    configs = BUNDLES_DIR / bundle / "configs"
    sizes = _sizes(bundle, epochs)
    workflow = ConfigWorkflow(
        config_file=[str(configs / "train.json"), str(configs / "evaluate.json")],
        meta_file=str(configs / "metadata.json"), logging_file=str(configs / "logging.conf"), workflow_type="train",
        bundle_root=str(root), output_dir=str(root / "eval_single"), num_workers=0,
        image_size=json.loads(sizes[3]), batch_size=4,
    )
    workflow.initialize()
    workflow.run()
    metrics = dict(workflow.parser.get_parsed_content("validate#evaluator").state.metrics)
    workflow.finalize()
    return metrics


def _flat(state: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in state.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _assert_ranks_agree_and_rank0_alone_wrote(root: Path, logs: Path, runs: int = 1) -> None:
    weights = [_flat(torch.load(root / f"weights_rank{r}.pt", weights_only=True)) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys() and any(k.startswith("ema.ema_model.") for k in weights[0])
    differing = [key for key in weights[0] if not torch.equal(torch.as_tensor(weights[0][key]),
                                                               torch.as_tensor(weights[1][key]))]
    assert not differing, f"the ranks' weights differ: {differing[:5]}"
    assert sorted(p.name for p in root.rglob("last.pt")) == ["last.pt"]
    assert sorted(p.name for p in root.rglob("model.pt")) == ["model.pt"]
    assert not (root / "rank1_models").exists() and not (root / "rank1_eval").exists(), "rank 1 wrote files"
    # TensorBoard files are named events.out.tfevents.<time>.<host>.<pid>.<n>: one per engine of one process a run.
    events = [p.name.split(".")[-2] for p in (root / "eval" / "tensorboard").glob("events.out.tfevents.*")]
    assert sorted(events.count(pid) for pid in set(events)) == [2] * runs, f"rank 0 only, one per engine: {events}"
    summary = re.compile(r"Epoch \d+/\d+: loss .* val_mean_dice")  # EpochSummary's line
    assert summary.search(_log(logs, 0)), "rank 0 printed no progress"
    assert not summary.search(_log(logs, 1)) and "val_mean_dice" not in _log(logs, 1), "rank 1 printed progress"


def _assert_dice_equals_single_process(bundle: str, root: Path, epochs: int) -> float:
    best = torch.load(root / "models" / "last.pt", weights_only=True)["evaluator_best"]
    single = _single_process_evaluation(bundle, root, epochs)
    assert single["val_mean_dice"] == pytest.approx(best["best_metric"], abs=1e-6)
    return float(best["best_metric"])


@pytest.mark.slow
def test_2d_bundle_survives_kill_and_resumes_on_two_ranks(tmp_path: Path) -> None:
    bundle, epochs, root = "medlitenet", 3, tmp_path / "run"
    started = time.monotonic()
    run = _train(bundle, root, tmp_path / "logs_killed", epochs)
    last = root / "models" / "last.pt"
    while not last.exists() and run.poll() is None and time.monotonic() - started < TIMEOUT_S:
        time.sleep(0.1)
    assert run.poll() is None, f"the run ended before its first checkpoint: {run.communicate()[0][-3000:]}"
    pid = _rank_pid(run.pid, 1)
    assert pid is not None, "rank 1 not found among torchrun's workers"
    os.kill(pid, signal.SIGKILL)
    output, _ = run.communicate(timeout=TIMEOUT_S)
    assert run.returncode != 0, "torchrun reports the killed rank"
    killed_at = torch.load(last, weights_only=True)["trainer"]
    killed_epoch = killed_at["iteration"] // killed_at["epoch_length"]
    assert 1 <= killed_epoch < epochs and killed_at["iteration"] % killed_at["epoch_length"] == 0, killed_at

    resumed = _train(bundle, root, tmp_path / "logs_resumed", epochs, "--resume", str(last))
    _finish(resumed, tmp_path / "logs_resumed")
    assert f"after epoch {killed_epoch} of {epochs}" in _log(tmp_path / "logs_resumed", 0)
    final = torch.load(last, weights_only=True)["trainer"]
    assert final["iteration"] == epochs * final["epoch_length"] and final["world_size"] == 2
    _assert_ranks_agree_and_rank0_alone_wrote(root, tmp_path / "logs_resumed", runs=2)  # killed + resumed
    dice = _assert_dice_equals_single_process(bundle, root, epochs)
    assert dice > 0, "the test needs a network that segments something, or the comparison proves nothing"

    # multi_gpu_evaluate.json on 2 ranks writes the single-process report (per-case rows, in the same order).
    evaluation = _torchrun(bundle, "evaluating", ["train.json", "evaluate.json", "multi_gpu_evaluate.json"], root,
                           tmp_path / "logs_eval", *_sizes(bundle, epochs))
    _finish(evaluation, tmp_path / "logs_eval")
    assert not (root / "rank1_eval").exists(), "rank 1 wrote a report"
    rows = [list(csv.reader((root / folder / "metrics.csv").open())) for folder in ("eval", "eval_single")]
    assert len(rows[0]) > 2 and rows[0] == rows[1]


@pytest.mark.slow
def test_3d_bundle_trains_on_two_ranks(tmp_path: Path) -> None:
    bundle, epochs, root = "medlitenet_hippocampus", 1, tmp_path / "run"
    _finish(_train(bundle, root, tmp_path / "logs", epochs), tmp_path / "logs")
    _assert_ranks_agree_and_rank0_alone_wrote(root, tmp_path / "logs")
    _assert_dice_equals_single_process(bundle, root, epochs)


def test_readme_and_slurm_script_show_the_commands_these_tests_run() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Training on several GPUs or machines", 1)[1].split("\n## ", 1)[0]
    configs = "['bundles/medlitenet/configs/train.json','bundles/medlitenet/configs/multi_gpu_train.json']"
    assert "torchrun --standalone --nproc_per_node=4 -m monai.bundle run training" in section
    assert f'--config_file "{configs}"' in section
    assert "multi_gpu_evaluate.json']\"" in section and "run evaluating" in section
    assert "--rdzv-backend c10d" in section and "--nnodes" in section and "docs/slurm_train.sh" in section
    script = REPO / "docs" / "slurm_train.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "-m monai.bundle run training" in text and "configs/multi_gpu_train.json']" in text
