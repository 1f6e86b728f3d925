# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The real MONAI Label server (``make label``'s environment) serving a 2D and a 3D bundle through
``apps/monailabel``, on real pictures and a real MRI volume, over loopback:

- ``/info`` lists both models with the label values the masks store;
- ``/infer`` returns, for a non-square picture, a PNG of the same height and width with label values, and for a
  NIfTI volume (3D bundle, or a 2D bundle slice by slice) a mask with the input's affine, each identical to what
  ``monai_lite.load_bundle`` returns;
- bad requests (unknown model, unreadable image, a 3D model on a picture) answer 4xx with a reason, and the server
  keeps serving;
- a label saved through ``/datastore/label`` fine-tunes the 2D bundle through ``/train``, after which ``/infer``
  serves the new ``model.pt``.

Skipped, with the reason, when the MONAI Label environment or the shared data is missing.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = ("medlitenet", "medlitenet_hippocampus", "medlitenet_slices")
STARTUP_SECONDS = 240
TRAIN_SECONDS = 600

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

requests = pytest.importorskip("requests")


def _label_python() -> Path | None:
    path = Path(os.environ.get("MONAI_LITE_LABEL_PYTHON") or REPO_ROOT / ".venv-label" / "bin" / "python")
    return path if path.is_file() else None


def _data_dir() -> Path | None:
    for candidate in (os.environ.get("MONAI_LITE_DATA"), REPO_ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "ph2").is_dir() and (Path(candidate) / "hippocampus").is_dir():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bundle_with_initial_weights(name: str, target: Path, source: str | None = None, settings: dict | None = None) -> Path:
    """A copy of a shipped bundle (``source``, default ``name``) whose ``model.pt`` is a seeded, untrained network
    (no training needed to serve); ``settings`` replace ids of its inference.json first."""
    import json

    from monai_lite.inference.model import load_bundle_model

    folder = target / name
    shutil.copytree(REPO_ROOT / "bundles" / (source or name), folder, ignore=shutil.ignore_patterns("models", "eval"))
    if settings:
        config = folder / "configs" / "inference.json"
        config.write_text(json.dumps({**json.loads(config.read_text()), **settings}, indent=2))
    (folder / "models").mkdir()
    torch.manual_seed(0)
    model = load_bundle_model(folder, overrides={"load_pretrain": False}, device="cpu", prepare=False)
    torch.save(model.network.state_dict(), folder / "models" / "model.pt")
    return folder


def _spread_predictions(folder: Path, image: Path) -> None:
    """Move the untrained network's decision to the middle of its outputs on ``image``, so that its mask holds
    every label: an all-background answer would hide a transposed or shifted mask. Binary head: the bundle's
    threshold becomes the median probability; softmax head: the output bias is shifted by each class's median
    log-odds against background."""
    import json

    import monai_lite

    proba = monai_lite.load_bundle(folder, device="cpu").predict_proba(str(image))
    if proba.shape[0] == 1:
        config = folder / "configs" / "inference.json"
        content = json.loads(config.read_text())
        content["threshold"] = float(np.median(proba))
        config.write_text(json.dumps(content, indent=2))
        return
    log_odds = np.log(np.clip(proba, 1e-12, None))
    shift = -np.median((log_odds - log_odds[:1]).reshape(proba.shape[0], -1), axis=1)
    weights = folder / "models" / "model.pt"
    state = torch.load(weights, weights_only=True)
    head_bias = [k for k, v in state.items() if k.endswith("bias") and tuple(v.shape) == (proba.shape[0],)][-1]
    state[head_bias] += torch.as_tensor(shift, dtype=state[head_bias].dtype)
    torch.save(state, weights)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    python, data = _label_python(), _data_dir()
    if python is None:
        pytest.skip("MONAI Label environment not found: run `make label` (or set MONAI_LITE_LABEL_PYTHON)")
    if data is None:
        pytest.skip("real datasets not found: set MONAI_LITE_DATA to the shared/data folder, or place it at ../shared/data")
    root = tmp_path_factory.mktemp("label")
    bundles = root / "bundles"
    _bundle_with_initial_weights("medlitenet", bundles)
    _bundle_with_initial_weights("medlitenet_hippocampus", bundles)
    # A 2D network whose preset reads volumes: served slice by slice on a NIfTI volume.
    _bundle_with_initial_weights("medlitenet_slices", bundles, source="medlitenet",
                                 settings={"preset": "mri", "preset_params": {}, "in_channels": 1})
    studies = root / "studies"
    studies.mkdir()
    shutil.copy(data / "ph2" / "images" / "IMD002.jpg", studies)  # 765 x 572: not square
    shutil.copy(data / "hippocampus" / "imagesTr" / "hippocampus_001.nii.gz", studies)
    _spread_predictions(bundles / "medlitenet", studies / "IMD002.jpg")
    _spread_predictions(bundles / "medlitenet_hippocampus", studies / "hippocampus_001.nii.gz")
    _spread_predictions(bundles / "medlitenet_slices", studies / "hippocampus_001.nii.gz")
    port = _free_port()
    log = root / "server.log"
    env = dict(os.environ, PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [str(python), "-m", "monailabel.main", "start_server", "--app", str(REPO_ROOT / "apps" / "monailabel"),
               "--studies", str(studies), "--conf", "models", ",".join(MODELS), "--conf", "bundles_dir", str(bundles),
               "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if requests.get(f"{url}/info/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"MONAI Label did not start (exit {process.poll()}); log:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield {"url": url, "bundles": bundles, "studies": studies, "log": log}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _infer(server, model: str, image: str) -> requests.Response:
    return requests.post(f"{server['url']}/infer/{model}", params={"image": image, "output": "image"}, timeout=300)


#: Two processes with different thread counts may round a probability differently in its last bits; a voxel whose
#: decision flips must have been this close to the decision boundary.
ROUNDING = 1e-4


def _assert_as_load_bundle(server, model: str, image: str, served: np.ndarray) -> np.ndarray:
    """``served`` equals ``load_bundle``'s label map, but where the probabilities sit at the decision boundary."""
    import monai_lite

    predictor = monai_lite.load_bundle(server["bundles"] / model, device="cpu")
    path = str(next(server["studies"].glob(f"{image}.*")))
    proba = predictor.predict_proba(path)
    expected = predictor.labels(torch.from_numpy(proba))
    assert served.shape == expected.shape
    if proba.shape[0] == 1:
        margin = np.abs(proba[0] - predictor.threshold)
    else:
        top2 = np.sort(proba, axis=0)[-2:]
        margin = top2[1] - top2[0]
    differ = served != expected
    assert np.all(margin[differ] < ROUNDING), f"{int(differ.sum())} labels differ away from the boundary"
    assert differ.mean() < 1e-3
    return expected


def test_info_lists_both_models_with_their_mask_values(server):
    info = requests.get(f"{server['url']}/info/", timeout=30).json()
    assert info["models"]["medlitenet"]["labels"] == {"lesion": 1}
    assert info["models"]["medlitenet"]["dimension"] == 2
    assert info["models"]["medlitenet_hippocampus"]["labels"] == {"anterior": 1, "posterior": 2}
    assert info["models"]["medlitenet_hippocampus"]["dimension"] == 3
    assert info["models"]["medlitenet_slices"]["dimension"] == 2
    assert set(info["trainers"]) == set(MODELS)


def test_picture_mask_is_on_the_input_grid_and_equals_load_bundle(server):
    reply = _infer(server, "medlitenet", "IMD002")
    assert reply.status_code == 200, reply.text
    mask = np.asarray(Image.open(io.BytesIO(reply.content)))
    width, height = Image.open(server["studies"] / "IMD002.jpg").size
    assert mask.shape == (height, width) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1}
    _assert_as_load_bundle(server, "medlitenet", "IMD002", mask)


def _served_volume_mask(server, model: str, tmp_path: Path) -> np.ndarray:
    """``model``'s mask of the Hippocampus volume through ``/infer``: on the input's grid with its affine, and equal
    to ``load_bundle``'s; returns the expected label map."""
    reply = _infer(server, model, "hippocampus_001")
    assert reply.status_code == 200, reply.text
    (tmp_path / "mask.nii.gz").write_bytes(reply.content)
    mask = nib.load(tmp_path / "mask.nii.gz")
    source = nib.load(server["studies"] / "hippocampus_001.nii.gz")
    assert mask.shape == source.shape
    np.testing.assert_allclose(mask.affine, source.affine, atol=1e-5)
    return _assert_as_load_bundle(server, model, "hippocampus_001", np.asarray(mask.dataobj).astype(np.uint8))


def test_volume_mask_keeps_the_affine_and_equals_load_bundle(server, tmp_path):
    assert set(np.unique(_served_volume_mask(server, "medlitenet_hippocampus", tmp_path))) == {0, 1, 2}


def test_a_2d_bundle_segments_a_volume_slice_by_slice(server, tmp_path):
    assert set(np.unique(_served_volume_mask(server, "medlitenet_slices", tmp_path))) == {0, 1}


def test_bad_requests_answer_4xx_and_the_server_keeps_serving(server):
    unknown = _infer(server, "nosuch", "IMD002")
    assert unknown.status_code == 404 and "medlitenet" in unknown.json()["detail"]
    wrong_dims = _infer(server, "medlitenet_hippocampus", "IMD002")
    assert wrong_dims.status_code == 422 and "IMD002" in wrong_dims.json()["detail"]
    garbage = requests.post(f"{server['url']}/infer/medlitenet", params={"output": "image"},
                            files={"file": ("notes.png", b"this is not a picture")}, timeout=120)
    assert garbage.status_code == 422, garbage.text
    assert requests.get(f"{server['url']}/info/", timeout=30).status_code == 200


def test_a_saved_label_fine_tunes_and_the_next_infer_uses_the_new_weights(server):
    weights = server["bundles"] / "medlitenet" / "models" / "model.pt"
    before = weights.read_bytes()
    width, height = Image.open(server["studies"] / "IMD002.jpg").size
    label = np.zeros((height, width), np.uint8)
    label[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = 1
    buffer = io.BytesIO()
    Image.fromarray(label).save(buffer, format="PNG")
    saved = requests.put(f"{server['url']}/datastore/label", params={"image": "IMD002", "tag": "final"},
                         files={"label": ("IMD002.png", buffer.getvalue())}, timeout=60)
    assert saved.status_code == 200, saved.text
    started = requests.post(f"{server['url']}/train/medlitenet", json={"max_epochs": 1}, timeout=60)
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + TRAIN_SECONDS
    while True:
        status = requests.get(f"{server['url']}/train/", timeout=30).json()
        if status.get("status") not in ("SUBMITTED", "QUEUED", "RUNNING", None):
            break
        assert time.monotonic() < deadline, f"training still running after {TRAIN_SECONDS} s"
        time.sleep(2)
    assert status["status"] == "DONE", f"{status}\n{server['log'].read_text()[-4000:]}"
    assert weights.read_bytes() != before
    reply = _infer(server, "medlitenet", "IMD002")
    assert reply.status_code == 200, reply.text
    _assert_as_load_bundle(server, "medlitenet", "IMD002", np.asarray(Image.open(io.BytesIO(reply.content))))
