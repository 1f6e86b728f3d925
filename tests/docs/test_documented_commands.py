# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves every command written in README.md and docs/*.md runs as written and exits 0.

The commands are found by tests/docs/doc_commands.py (its docstring has the rules, including how a block opts out
with ``<!-- doc-test: skip REASON -->``), so a new README section is tested without touching this file. They run:

- in document order, README first, in one sandbox: a temporary copy of the package, ``bundles/``, ``transforms/``
  and ``data_manifests/`` that the commands import and write (``PYTHONPATH`` points at it), so nothing is written
  into the checkout (checked when the sandbox is removed). ``../shared/data`` in the sandbox is the real-data
  folder; commands that use it are marked ``realdata``, skipped when it is absent, and run in a second sandbox
  of their own, so the synthetic walk-through reads the same with or without them (the README's ``--resume``
  continues the synthetic run, not a real-data one);
- shortened but otherwise verbatim: the sandbox's bundles train for 1 epoch at 64x64 (2D) with no loader workers,
  a written bundle ``--image_size`` becomes 64 (2D) or 32 (3D) per axis, and the values in :data:`FORCED` replace
  the ones written (or are added) so each run is small;
- with each placeholder (UPPER_CASE word) replaced by a fixture value from :func:`_placeholder`. Commands later in
  a document may use what earlier ones produced (the README trains ``medlitenet`` before it evaluates it), as a
  reader following the document would. ``A``/``B`` of the ensemble example are two stand-in runs (random weights,
  a recorded validation Dice). An unknown placeholder fails and names itself: add a value for it there.

``torchrun`` commands run when enough CUDA devices are present, else are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from doc_commands import PLACEHOLDER, DocCommand, documents, find_commands

_DATA_TESTS = str(Path(__file__).resolve().parents[1] / "data")
if _DATA_TESTS not in sys.path:  # tests/data has no __init__.py; its builders are imported by bare name
    sys.path.insert(0, _DATA_TESTS)

from data_builders import make_2d_set, real_data_dir, save_nifti, tree_digest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COPIED = ("monai_lite", "bundles", "transforms", "data_manifests")

#: (command prefix, {flag: value or None for a switch}): values that replace the written ones, or are added.
FORCED: tuple[tuple[tuple[str, ...], dict[str, str | None]], ...] = (
    (("monai-lite", "benchmark", "efficiency"), {"--models": "medlitenet", "--repeats": "1", "--warmup": "0",
                                                 "--size2d": "32", "--size3d": "16", "--no-progress": None}),
    (("monai-lite", "benchmark", "accuracy"), {"--models": "medlitenet", "--epochs": "1", "--budget-minutes": "2",
                                               "--image-size": "32x32", "--repeats": "1", "--max-epochs": "1"}),
    (("monai-lite", "benchmark", "pipeline"), {"--cases": "1", "--models": "medlitenet", "--engines": "torch",
                                               "--warmup": "0", "--startup-runs": "1", "--no-progress": None}),
    ((), {"--epochs": "1"}),
)

ALL = [command for path in documents(REPO) for command in find_commands(path)]


def _marks(command: DocCommand) -> list:
    marks = [pytest.mark.slow]
    if command.real_data:
        marks.append(pytest.mark.realdata)
    return marks


def _forced(argv: list[str]) -> list[str]:
    argv = list(argv)
    if "--image_size" in argv:  # a bundle override written for real data: same number of axes, small
        at = argv.index("--image_size") + 1
        axes = len(json.loads(argv[at]))
        argv[at] = json.dumps([64, 64] if axes == 2 else [32] * axes)
    for prefix, values in FORCED:
        if tuple(argv[: len(prefix)]) != prefix:
            continue
        for flag, value in values.items():
            if flag in argv:
                if value is not None:
                    argv[argv.index(flag) + 1] = value
            elif prefix or flag == "--epochs" and _takes_epochs(argv):
                argv += [flag] if value is None else [flag, value]
    return argv


def _takes_epochs(argv: list[str]) -> bool:
    # Commands that train: an --epochs written on them is shortened; training bundles are shortened by the sandbox.
    return argv[:2] == ["monai-lite", "train"]


class Sandbox:
    """The temporary copy the commands run in, and the fixture data their placeholders stand for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.outputs = 0
        for name in COPIED:
            shutil.copytree(REPO / name, self.repo / name, symlinks=True,
                            ignore=shutil.ignore_patterns("*.pt", "*.ts", "eval", "__pycache__", "*.onnx"))
        self._shorten_bundles()
        real = real_data_dir()
        if real is not None:
            (root / "shared").mkdir()
            (root / "shared" / "data").symlink_to(real)
        self.env = {**os.environ, "PYTHONPATH": str(self.repo), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._make_data()

    def _shorten_bundles(self) -> None:
        for config in (self.repo / "bundles").glob("*/configs/train.json"):
            data = json.loads(config.read_text())
            data.update({"epochs": 1, "num_workers": 0})
            if len(data.get("image_size", [])) == 2:
                data["image_size"] = [64, 64]
            config.write_text(json.dumps(data, indent=2))

    def _make_data(self) -> None:
        import torch

        from monai_lite.data.prepare import prepare_datalist
        from monai_lite.engine import EvaluatorBest
        from monai_lite.evaluation import evaluate_folder
        from monai_lite.inference import load_bundle_model

        self.images, self.masks = make_2d_set(self.root / "pictures", size=(40, 48))
        self.datalist = prepare_datalist(self.images, self.masks, self.root / "pictures.json", folds=2,
                                         progress=False)["output"]
        shutil.copytree(self.images, self.repo / "my_images")  # the README's example folder name
        self.predictions = shutil.copytree(self.masks, self.root / "predictions")
        self.fold_reports = [self.root / f"report_fold{i}" for i in (0, 1)]
        for report in self.fold_reports:
            evaluate_folder(self.predictions, self.masks, report, plot=False, progress=False)
        volumes = self.root / "volumes"
        rng = np.random.default_rng(0)
        for name in ("image_1", "image_10"):
            save_nifti(volumes / f"{name}.nii.gz", rng.random((24, 28, 20), dtype=np.float32))
        self.volumes = volumes
        # The hippocampus bundle is not trained by any documented command: its commands use random initial weights.
        torch.manual_seed(0)
        model = load_bundle_model(str(self.repo / "bundles" / "medlitenet_hippocampus"), device="cpu",
                                  overrides={"load_pretrain": False}, prepare=False)
        self.run_3d = self.root / "runs" / "hippocampus"
        for folder in (self.run_3d / "models", self.repo / "bundles" / "medlitenet_hippocampus" / "models"):
            folder.mkdir(parents=True, exist_ok=True)
            torch.save(model.network.state_dict(), folder / "model.pt")
        # Two finished runs for the ensemble example: random weights, and the validation Dice a finished run records
        # in last.pt (EvaluatorBest's format). A one-epoch run validates at Dice 0, which an ensemble rightly refuses
        # to weigh, so the README's short training cannot stand in for them.
        self.members = {}
        for member, dice in (("A", 0.8), ("B", 0.6)):
            folder = self.root / "runs" / f"member_{member.lower()}"
            folder.mkdir(parents=True)
            weights = load_bundle_model(str(self.repo / "bundles" / "medlitenet"), device="cpu",
                                        overrides={"load_pretrain": False}, prepare=False)
            torch.save(weights.network.state_dict(), folder / "model.pt")
            finished = SimpleNamespace(state=SimpleNamespace(best_metric=dice, best_metric_epoch=3))
            torch.save({"evaluator_best": EvaluatorBest(finished).state_dict()}, folder / "last.pt")
            self.members[member] = str(folder)

    def fresh_output(self) -> str:
        self.outputs += 1
        return str(self.root / "outputs" / str(self.outputs))

    def placeholder(self, name: str, argv: list[str]) -> str:
        verb = argv[1] if argv[0] == "monai-lite" else ""
        values = {
            "OUTDIR": self.fresh_output, "OUT": self.fresh_output, "OUT_DIR": self.fresh_output,
            "INPUT": lambda: str(self.images.parent if verb == "prepare" else self.images),
            "IMAGES": lambda: str(self.images), "VOLUMES": lambda: str(self.volumes),
            "NAME": lambda: "doc_example", "PRED_DIR": lambda: str(self.predictions), "GT_DIR": lambda: str(self.masks),
            "DATALIST": lambda: str(self.datalist), "F": lambda: str(self.datalist), "D": lambda: str(self.images.parent),
            "N": lambda: "1", "A": lambda: self.members["A"], "B": lambda: self.members["B"], "RUN": lambda: str(self.run_3d),
            "OUT_FOLD0": lambda: str(self.fold_reports[0]), "OUT_FOLD1": lambda: str(self.fold_reports[1]),
        }
        match = re.fullmatch(r"IMAGE_(\d+)", name)
        if match:
            return str(self.volumes / f"image_{match.group(1)}.nii.gz")
        if name not in values:
            raise KeyError(name)
        return values[name]()

    def command_line(self, command: DocCommand) -> list[str]:
        argv = _forced(command.argv)
        try:
            argv = [PLACEHOLDER.sub(lambda m: self.placeholder(m.group(0), argv), token) for token in argv]
        except KeyError as unknown:
            pytest.fail(f"{command.source}: placeholder {unknown} has no fixture value; add one to "
                        f"Sandbox.placeholder in {Path(__file__).name} (or give a concrete value in the document).")
        if argv[0] == "monai-lite":
            return [sys.executable, "-m", "monai_lite.cli", *argv[1:]]
        if argv[0] in ("python", "python3"):
            return [sys.executable, *argv[1:]]
        return [sys.executable, "-m", "torch.distributed.run", *argv[1:]]


def _sandbox(tmp_path_factory: pytest.TempPathFactory, name: str):
    before = {folder: tree_digest(REPO / folder) for folder in COPIED[1:]}
    box = Sandbox(tmp_path_factory.mktemp(name))
    where = subprocess.run([sys.executable, "-c", "import monai_lite; print(monai_lite.__file__)"],
                           env=box.env, cwd=box.repo, capture_output=True, text=True, timeout=120)
    assert where.stdout.strip().startswith(str(box.repo)), f"the sandbox does not import its own copy: {where}"
    yield box
    after = {folder: tree_digest(REPO / folder) for folder in COPIED[1:]}
    assert after == before, "a documented command wrote into the checkout"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    yield from _sandbox(tmp_path_factory, "doc-commands")


@pytest.fixture(scope="module")
def real_data_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    yield from _sandbox(tmp_path_factory, "doc-commands-realdata")


@pytest.mark.parametrize("command", [pytest.param(c, id=c.source, marks=_marks(c)) for c in ALL])
def test_documented_command_runs(command: DocCommand, request: pytest.FixtureRequest) -> None:
    if command.skip:
        pytest.skip(f"{command.source}: {command.skip}")
    needs_data = command.real_data
    if needs_data and real_data_dir() is None:
        pytest.skip("real datasets not found: set MONAI_LITE_DATA or place them at ../shared/data")
    sandbox = request.getfixturevalue("real_data_sandbox" if needs_data else "sandbox")
    if command.argv[0] == "torchrun":
        import torch

        nproc = next((int(t.split("=")[1]) for t in command.argv if t.startswith("--nproc_per_node=")), 1)
        if torch.cuda.device_count() < nproc:
            pytest.skip(f"{command.source} needs {nproc} CUDA devices")
    argv = sandbox.command_line(command)
    result = subprocess.run(argv, cwd=sandbox.repo, env={**sandbox.env, **command.env}, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, (
        f"{command.source}: `{command.text}` exited {result.returncode}\nran: {' '.join(argv)}\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )


def test_every_document_has_commands() -> None:
    """The parser is not silently finding nothing: the README documents several commands of each kind."""
    readme = [c for c in ALL if c.source.startswith("README.md")]
    assert sum(c.argv[0] == "monai-lite" for c in readme) >= 5
    assert sum(c.argv[0] == "python" for c in readme) >= 5
