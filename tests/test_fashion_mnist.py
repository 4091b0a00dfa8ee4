"""Fashion-MNIST: the IDX reader, where files are found, the split, training on real data.

Tests use the real files when $ACTCLI_DATA_DIR (or the shared folder beside the repo) has
them, and otherwise small IDX files they write themselves, so the suite passes either way.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from actcli import config
from actcli.errors import DataError
from actcli.inspection.evaluate import evaluate_run
from actcli.tasks import fmnist_data, idx
from actcli.tasks.fashion_mnist import TASK
from actcli.training import driver
from actcli.training.parts import prepare

from helpers import CONFIGS, ROOT

SHARED = ROOT.parent / "shared" / "data" / "fashion-mnist"
REAL = next((Path(p) for p in (os.environ.get(fmnist_data.ENV), SHARED)
             if p and fmnist_data.files_in(Path(p))), None)


def fake_dataset(folder: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Path:
    """Four small IDX files: each class is a bright block in its own place (learnable)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[i, 4 + row * 12:12 + row * 12, 2 + col * 5:6 + col * 5] = 250
        idx.write(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        idx.write(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def fake(tmp_path, monkeypatch):
    folder = fake_dataset(tmp_path / "fmnist")
    monkeypatch.setenv(fmnist_data.ENV, str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def test_idx_round_trip_plain_and_gzip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        idx.write(tmp_path / name, array)
        assert np.array_equal(idx.read(tmp_path / name), array)
    header = (tmp_path / "a.idx").read_bytes()[:16]
    assert header == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda raw: raw[:-5], "truncated or corrupt: header says 2x3x4 = 24 bytes of data, file "
                           "has 19"),
    (lambda raw: b"\x01" + raw[1:], "not an IDX file (bad magic number)"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "IDX type 0x0d is not supported"),
    (lambda raw: raw[:10], "truncated IDX header"),
])
def test_idx_corrupt_files_are_clear_errors(tmp_path, mutate, message):
    path = tmp_path / "a.idx"
    idx.write(path, np.zeros((2, 3, 4), dtype=np.uint8))
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        idx.read(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "a.idx.gz"
    idx.write(path, np.zeros((50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="cannot read"):
        idx.read(path)


def test_search_order(tmp_path, monkeypatch):
    a, b = fake_dataset(tmp_path / "a", 20, 10), fake_dataset(tmp_path / "b", 20, 10)
    monkeypatch.setenv(fmnist_data.ENV, str(b))
    assert fmnist_data.locate(str(a), download=False)["t10k-labels-idx1-ubyte"].parent == a
    assert fmnist_data.locate(None, download=False)["t10k-labels-idx1-ubyte"].parent == b


def test_data_dir_without_the_files_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not hold the four Fashion-MNIST files"):
        fmnist_data.locate(str(tmp_path), download=False)


def test_offline_message_names_both_routes(tmp_path, monkeypatch):
    monkeypatch.delenv(fmnist_data.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(fmnist_data, "DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setattr(fmnist_data, "MIRROR", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(DataError) as info:
        fmnist_data.locate(None, download=True)
    text = str(info.value)
    assert "ACTCLI_DATA_DIR" in text and "apt-get install dataset-fashion-mnist" in text
    assert "downloading train-images-idx3-ubyte.gz failed" in text
    assert not list((tmp_path / "actcli" / "fashion-mnist").glob("*.part"))


def _serve(folder: Path):
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_download_with_a_wrong_md5_is_deleted(tmp_path, monkeypatch):
    server = _serve(fake_dataset(tmp_path / "served", 20, 10))
    try:
        seen = []
        with pytest.raises(DataError, match="md5 .* does not match the published"):
            fmnist_data.fetch(tmp_path / "cache", lambda *a: seen.append(a),
                              mirror=f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
    assert seen and seen[-1][1] == seen[-1][2] > 0  # progress reached the full size
    assert not list((tmp_path / "cache").iterdir())  # nothing bad kept


def test_a_verified_download_is_kept_and_trains(tmp_path, monkeypatch):
    import hashlib

    served = fake_dataset(tmp_path / "served", 60, 20)
    published = {name: hashlib.md5((served / f"{name}.gz").read_bytes()).hexdigest()
                 for name in fmnist_data.FILES}  # what a mirror would publish for these files
    monkeypatch.setattr(fmnist_data, "FILES", published)
    server = _serve(served)
    try:
        seen = []
        paths = fmnist_data.fetch(tmp_path / "cache", lambda *a: seen.append(a),
                                  mirror=f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
    assert set(paths) == set(published)
    for name, path in paths.items():
        assert path.read_bytes() == (served / f"{name}.gz").read_bytes()
        assert fmnist_data.md5(path) == published[name] == hashlib.md5(
            path.read_bytes()).hexdigest()
    assert not list((tmp_path / "cache").glob("*.part"))
    assert {a[0] for a in seen} == {f"{name}.gz" for name in published}
    cfg = config.load(CONFIGS / "fashion_mnist.yaml", [f"task.data_dir={tmp_path / 'cache'}",
                                                       "task.val_size=10"])
    assert len(TASK.load(cfg.task).train) == 50  # the downloaded files are the data


def test_split_sizes_and_normalisation(fake):
    cfg = config.load(CONFIGS / "fashion_mnist.yaml", ["task.val_size=50"])
    data = TASK.load(cfg.task)
    assert len(data.train) == 250 and len(data.val) == 50 and len(data.test) == 100
    assert data.train.x.shape == (250, 1, 28, 28) and data.train.y.dtype == torch.int64
    assert data.train.x.mean().item() == pytest.approx(0, abs=1e-5)
    assert data.train.x.std().item() == pytest.approx(1, abs=1e-3)
    # train and validation are disjoint images
    train = {tuple(x.flatten()[:40].tolist()) for x in data.train.x}
    assert not any(tuple(x.flatten()[:40].tolist()) in train for x in data.val.x)


def test_real_files_have_the_published_shape():
    if REAL is None:
        pytest.skip("real Fashion-MNIST files not present")
    cfg = config.load(CONFIGS / "fashion_mnist.yaml", [f"task.data_dir={REAL}"])
    data = TASK.load(cfg.task)
    assert len(data.train) == 55_000 and len(data.val) == 5_000 and len(data.test) == 10_000
    assert data.info["pixel_mean"] == pytest.approx(0.2860, abs=2e-3)
    assert data.info["pixel_std"] == pytest.approx(0.3530, abs=2e-3)
    assert torch.bincount(data.test.y).tolist() == [1000] * 10


@pytest.mark.parametrize("path", ["fashion_mnist.yaml", "fashion_mnist_cnn.yaml"])
def test_smoke_trains_and_writes_the_pictures(fake, tmp_path, path):
    cfg = config.smoke(config.load(CONFIGS / path, [f"task.data_dir={fake}"]))
    result = driver.run(cfg, tmp_path / "runs")
    assert result.status == "completed" and result.epochs == 1
    names = {p.name for p in result.path.iterdir()}
    assert {"confusion_matrix.png", "misclassified.png", "learning_curves.png",
            "model.pt", "metrics.csv", "summary.json", "config.yaml"} <= names
    summary = json.loads((result.path / "summary.json").read_text())
    assert {"test_accuracy", "test_loss", "best_epoch", "val_accuracy"} <= set(summary["metrics"])
    header = (result.path / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,train_accuracy,val_loss,val_accuracy"


def test_the_fake_data_is_learned_and_eval_reproduces_it(fake, tmp_path, invoke):
    result = driver.run(config.load(CONFIGS / "fashion_mnist.yaml", [
        f"task.data_dir={fake}", "task.val_size=50", "train.epochs=5"]), tmp_path)
    assert result.metrics["test_accuracy"] >= 0.9
    again = evaluate_run(result.path)
    assert again["measured"]["test_accuracy"] == result.metrics["test_accuracy"]
    assert again["measured"]["test_loss"] == pytest.approx(result.metrics["test_loss"], rel=1e-6)
    shown = invoke("eval", result.path)
    assert shown.exit_code == 0 and "test_accuracy" in shown.stdout


def test_best_model_is_the_one_saved(fake, tmp_path):
    # mutation tried: keep the last epoch's weights instead of the best: this fails, since
    # the saved weights then score the last epoch's validation accuracy, not the best one
    result = driver.run(config.load(CONFIGS / "fashion_mnist.yaml", [
        f"task.data_dir={fake}", "task.val_size=50", "train.epochs=8", "optimizer.lr=0.5",
        "model.hidden=[4]", "train.lr_schedule=constant"]), tmp_path)  # too fast to settle
    rows = [line.split(",") for line in (result.path / "metrics.csv").read_text().splitlines()[1:]]
    accuracy = {int(r[0]): float(r[4]) for r in rows}
    best = max(accuracy, key=lambda e: (accuracy[e], -e))
    assert result.metrics["best_epoch"] == best and best < max(accuracy)  # not the last epoch
    assert accuracy[max(accuracy)] < accuracy[best]
    prepared = prepare(config.load(result.path / "config.yaml"))
    prepared.parts.net.load_state_dict(torch.load(result.path / "model.pt", weights_only=True))
    _, measured = prepared.parts.measure(prepared.val)
    assert measured == pytest.approx(accuracy[best], abs=1e-12)


def test_cnn_on_a_one_input_task_is_a_config_error():
    from actcli.errors import ConfigError

    with pytest.raises(ConfigError, match="model.kind: cnn needs image input"):
        config.load(CONFIGS / "beans.yaml", ["model.kind=cnn"])


def test_gzip_header_does_not_matter(tmp_path):
    """Debian's files carry other gzip headers; the content is what counts."""
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    idx.write(tmp_path / "plain.idx", array)
    raw = (tmp_path / "plain.idx").read_bytes()
    (tmp_path / "other.gz").write_bytes(gzip.compress(raw, mtime=123456))
    assert np.array_equal(idx.read(tmp_path / "other.gz"), array)
