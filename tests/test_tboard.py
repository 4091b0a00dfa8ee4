"""--tensorboard: event files read back with TensorBoard's own reader, and a real server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from actcli import folders

from helpers import CONFIGS

pytest.importorskip("tensorboard", reason='TensorBoard is not installed (pip install '
                    '"actcli[tensorboard]")')


def accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0,
                                                         "tensors": 0})
    found.Reload()
    return found


def hparams_of(found) -> dict:
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = found.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: (v.string_value or v.number_value or v.bool_value)
            for k, v in info.hparams.items()}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from actcli.cli.main import app

    out = tmp_path_factory.mktemp("tb")
    result = CliRunner().invoke(app, ["train", str(CONFIGS / "beans.yaml"), "--smoke",
                                      "--quiet", "--tensorboard", "--out", str(out),
                                      "--set", "optimizer.lr=0.1"])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip())


def test_every_logged_metric_at_the_epochs_of_metrics_csv(run):
    found = accumulator(run)
    rows = folders.read_rows(run / "metrics.csv")
    for key in ("train_loss", "test_loss", "accuracy"):
        events = found.Scalars(key)
        assert [e.step for e in events] == [int(r["epoch"]) for r in rows]
        assert [e.value for e in events] == pytest.approx([r[key] for r in rows], rel=1e-6)


def test_hyperparameters_with_the_final_metrics_in_the_same_event_file(run):
    assert len(list(run.glob("events.out.tfevents.*"))) == 1  # no sub-run for the hparams
    found = accumulator(run)
    params = hparams_of(found)
    assert params["optimizer.lr"] == pytest.approx(0.1) and params["task"] == "beans"
    summary = json.loads((run / "summary.json").read_text())
    (final,) = found.Scalars("final/accuracy")
    assert final.value == pytest.approx(summary["metrics"]["accuracy"])
    assert final.step == summary["epochs"]
    from tensorboard.plugins.hparams import plugin_data_pb2

    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        found.PluginTagToContent("hparams")["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} >= {"final/accuracy", "final/loss"}


def test_the_runs_pictures_as_images(run):
    found = accumulator(run)
    assert set(found.Tags()["images"]) == {p.stem for p in run.glob("*.png")}
    (image,) = found.Images("fit")
    assert image.encoded_image_string[:4] == b"\x89PNG" and image.width > 100


def test_without_the_package_it_is_exit_2_naming_pip(invoke, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    for command in ("train", "compare"):
        args = ["--set", "model.hidden=[2]", "--activations", "relu,tanh"] \
            if command == "compare" else []
        result = invoke(command, CONFIGS / "beans.yaml", "--tensorboard", *args,
                        "--out", tmp_path / "runs")
        assert result.exit_code == 2
        assert result.stderr.strip() == ('error: --tensorboard needs TensorBoard: pip install '
                                         '"actcli[tensorboard]"')
        assert not (tmp_path / "runs").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_tensorboard_server_lists_a_compares_cells(tmp_path):
    tensorboard = Path(sys.executable).parent / "tensorboard"
    if not tensorboard.exists():
        pytest.skip("the tensorboard command is not installed beside this Python")
    from typer.testing import CliRunner

    from actcli.cli.main import app

    result = CliRunner().invoke(app, [
        "compare", str(CONFIGS / "beans.yaml"), "--set", "model.hidden=[2]", "--set",
        "train.epochs=20", "--activations", "relu,tanh", "--workers", "1", "--tensorboard",
        "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    port = _free_port()
    server = subprocess.Popen([str(tensorboard), "--logdir", str(folder), "--host",
                               "127.0.0.1", "--port", str(port), "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, listed = time.monotonic() + 90, []
        while time.monotonic() < deadline and len(listed) < 2:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs",
                                            timeout=5) as answer:
                    listed = json.loads(answer.read())
            except OSError:
                continue
        assert sorted(listed) == sorted(f"cells/{p.name}" for p in (folder / "cells").iterdir())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags",
                                    timeout=10) as answer:
            tags = json.loads(answer.read())
        for run_tags in tags.values():
            assert {"accuracy", "train_loss", "final/accuracy"} <= set(run_tags)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_hyperparameters_are_keyed_like_actcli_runs():
    from actcli.training.tboard import hparams_of

    found = hparams_of({"model": {"activation": {"name": "softplus", "beta": 1.0},
                                  "hidden": [8, 8]}, "loss": "bce", "log": {"x": 1},
                        "compare": {"seeds": 3}})
    assert found == {"model.activation": "softplus", "model.activation.beta": 1.0,
                     "model.hidden": "[8, 8]", "loss": "bce"}
