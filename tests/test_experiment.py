"""One run end to end: the folder contract, the classic results, reproducibility."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from actcli import config
from actcli.tasks import TASKS
from actcli.training import driver
from actcli.training.parts import build_parts

from helpers import CONFIGS


def run(tmp_path, path=CONFIGS / "rice_cooker.yaml", *overrides):
    return driver.run(config.load(path, list(overrides)), tmp_path)


def test_run_folder_contract(tmp_path):
    result = run(tmp_path, CONFIGS / "rice_cooker.yaml", "train.epochs=300")
    files = sorted(p.name for p in result.path.iterdir())
    assert files == [".lock", "config.yaml", "diagnostics.csv", "fit.png", "learning_curves.png",
                     "metrics.csv", "model.pt", "summary.json", "weights.png"]
    summary = json.loads((result.path / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["seed"] == 0
    assert summary["device"] == "cpu" and summary["torch"] == torch.__version__
    assert set(summary["metrics"]) == {"accuracy", "loss", "threshold"}
    with open(result.path / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "train_loss", "train_accuracy", "train_set_loss", "accuracy"]
    assert rows[-1]["epoch"] == "300"
    state = torch.load(result.path / "model.pt", weights_only=True)
    assert set(state) == {"layers.0.weight", "layers.0.bias"}
    for name in ("fit.png", "learning_curves.png"):
        assert (result.path / name).read_bytes()[:4] == b"\x89PNG"


def test_summary_threshold_is_minus_b_over_a_in_degrees(tmp_path):
    result = run(tmp_path, CONFIGS / "rice_cooker.yaml", "train.epochs=300")
    state = torch.load(result.path / "model.pt", weights_only=True)
    a, b = state["layers.0.weight"].item(), state["layers.0.bias"].item()
    scaling = json.loads((result.path / "summary.json").read_text())["data"]["input_scaling"]
    # sigmoid(a z + b) = 0.5 at z = -b/a, and z = (t - shift) / scale
    expected = scaling["shift"] + scaling["scale"] * (-b / a)
    assert result.metrics["threshold"] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("seed", range(3))  # three seeds show it is not one lucky seed
def test_rice_cooker_finds_130_for_every_seed(tmp_path, seed):
    result = run(tmp_path, CONFIGS / "rice_cooker.yaml", f"train.seed={seed}")
    assert abs(result.metrics["threshold"] - 130) <= 1.0
    assert result.metrics["accuracy"] >= 0.999  # at most the 130.0 °C sample itself


def test_beans_reaches_97_percent(tmp_path):
    result = run(tmp_path, CONFIGS / "beans.yaml")
    assert result.metrics["accuracy"] >= 0.97
    assert 0.40 < result.metrics["threshold"] < 0.46  # the boundary near 3/7


def test_same_config_and_seed_same_numbers(tmp_path):
    a = run(tmp_path, CONFIGS / "beans.yaml", "train.epochs=200", "train.batch_size=64")
    b = run(tmp_path, CONFIGS / "beans.yaml", "train.epochs=200", "train.batch_size=64")
    assert a.path != b.path
    assert (a.path / "metrics.csv").read_text() == (b.path / "metrics.csv").read_text()
    assert a.metrics == b.metrics


def test_resolved_config_trains_again_to_the_same_numbers(tmp_path):
    first = run(tmp_path, CONFIGS / "beans.yaml", "train.epochs=150", "model.hidden=[4]")
    again = run(tmp_path, first.path / "config.yaml")
    assert (first.path / "metrics.csv").read_text() == (again.path / "metrics.csv").read_text()


def test_hidden_layers_and_minibatches_train(tmp_path):
    result = run(tmp_path, CONFIGS / "beans.yaml", "model.hidden=[8]", "model.activation=tanh",
                 "train.batch_size=32", "train.epochs=100", "optimizer.lr=0.01")
    assert result.status == "completed" and result.metrics["accuracy"] >= 0.95


def test_diverged_run_keeps_metrics_and_plots(tmp_path):
    result = run(tmp_path, CONFIGS / "beans.yaml", "model.output=identity", "loss=mse",
                 "optimizer=sgd", "optimizer.lr=100", "train.epochs=50")
    assert result.status == "diverged"
    summary = json.loads((result.path / "summary.json").read_text())
    assert summary["status"] == "diverged" and "not finite" in summary["reason"]
    assert (result.path / "metrics.csv").exists() and (result.path / "learning_curves.png").exists()


def test_absent_device_fails_before_any_folder(tmp_path):
    from actcli.errors import DeviceError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="'cuda' is not available"):
        run(tmp_path / "runs", CONFIGS / "beans.yaml", "device=cuda")
    assert not (tmp_path / "runs").exists()


def test_zero_init_leaves_hidden_weights_where_they_started(tmp_path):
    """The symmetry lesson: with zeros and tanh no weight receives a gradient."""
    result = run(tmp_path, CONFIGS / "beans.yaml", "model.hidden=[4, 4]", "model.init=zeros",
                 "model.activation=tanh", "train.epochs=50")
    state = torch.load(result.path / "model.pt", weights_only=True)
    for name in ("layers.0.weight", "layers.2.weight", "layers.4.weight"):
        assert torch.equal(state[name], torch.zeros_like(state[name]))
    assert (result.path / "weights.png").read_bytes()[:4] == b"\x89PNG"


def test_animate_writes_a_gif_with_a_frame_every_n_epochs(tmp_path):
    from PIL import Image

    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=100"])
    result = driver.run(cfg, tmp_path, animate_every=25)
    with Image.open(result.path / "fit.gif") as gif:
        assert gif.n_frames == 5  # epochs 1, 25, 50, 75, 100


def test_without_animate_there_is_no_gif(tmp_path):
    result = run(tmp_path, CONFIGS / "rice_cooker.yaml", "train.epochs=20")
    assert not (result.path / "fit.gif").exists()


def test_animate_needs_a_curve_task(tmp_path, monkeypatch):
    from actcli.errors import ActcliError

    cfg = config.load(CONFIGS / "rice_cooker.yaml")
    from actcli.tasks.base import ClassesPicture

    monkeypatch.setattr(type(TASKS.get("rice_cooker").task), "picture_type",
                        ClassesPicture)
    with pytest.raises(ActcliError, match="--animate draws a fit curve"):
        driver.run(cfg, tmp_path / "runs", animate_every=5)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("output", "loss"), [("softmax", "cross_entropy"),
                                              ("identity", "cross_entropy"),
                                              ("sigmoid", "mse"), ("softmax", "nll")])
def test_correct_counts_agree_with_the_argmax_of_the_scores(output, loss):
    from actcli.tasks.base import Split, TaskData

    cfg = config.load(CONFIGS / "fashion_mnist.yaml", [f"model.output={output}", f"loss={loss}"])
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    data = TaskData(Split(x, y), Split(x, y), 10)
    parts = build_parts(cfg, data, torch.device("cpu"), (1, 28, 28))
    z = torch.randn(64, 10) * 5
    assert parts.correct(z, y).item() == (parts.score(z).argmax(dim=1) == y).sum().item()


def _crash_at(monkeypatch, epoch: int, message: str = "boom"):
    """Make training raise RuntimeError(message) at ``epoch`` (after it is logged)."""
    real = driver.run_fit

    def crashing(*args, on_epoch=None, **kwargs):
        def hook(i, e, loss, row):
            on_epoch(i, e, loss, row)
            if e == epoch:
                raise RuntimeError(message)

        return real(*args, on_epoch=hook, **kwargs)

    monkeypatch.setattr(driver, "run_fit", crashing)


def test_a_run_that_crashes_mid_training_is_failed_with_its_own_error(invoke, tmp_path,
                                                                       monkeypatch):
    _crash_at(monkeypatch, 20)
    result = invoke("train", CONFIGS / "beans.yaml", "--quiet", "--out", tmp_path,
                    "--set", "train.epochs=100", "--set", "train.log_every=10")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: run failed: RuntimeError: boom (set ACTCLI_DEBUG=1 for the traceback)"]
    (run,) = tmp_path.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["reason"] == "RuntimeError: boom"
    assert summary["metrics"]["last_logged_epoch"] == 20
    assert not (run / "model.pt").exists() and (run / "metrics.csv").exists()


def test_an_error_while_writing_the_folder_does_not_hide_the_crash(invoke, tmp_path,
                                                                   monkeypatch):
    from actcli.training import outputs

    _crash_at(monkeypatch, 10)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "write_data", broken)
    result = invoke("train", CONFIGS / "beans.yaml", "--quiet", "--out", tmp_path,
                    "--set", "train.epochs=50", "--set", "train.log_every=10")
    assert result.exit_code == 1 and "RuntimeError: boom" in result.stderr
    assert "disk full" not in result.stderr  # the first error is the one reported
    (run,) = tmp_path.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["reason"] == ("RuntimeError: boom (then, writing the run folder: OSError: "
                                 "disk full)")


def test_cosine_schedule_changes_the_learning_rate_every_epoch(monkeypatch, tmp_path):
    import math

    seen = []
    real = driver.run_fit

    def spy(engine, *args, on_epoch=None, **kwargs):
        def hook(i, e, loss, row):
            # the lr the next epoch's steps use: the configured one times the schedule's
            (_, base), = engine.optimizer.groups
            seen.append(base * engine.scale)
            on_epoch(i, e, loss, row)

        return real(engine, *args, on_epoch=hook, **kwargs)

    monkeypatch.setattr(driver, "run_fit", spy)
    cfg = config.load(CONFIGS / "beans.yaml", ["train.epochs=8", "train.lr_schedule=cosine",
                                               "optimizer.lr=0.4"])
    driver.run(cfg, tmp_path)
    # after epoch e the schedule has stepped e times: lr = 0.4 (1 + cos(pi e / 8)) / 2
    expected = [0.4 * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(1, 9)]
    assert seen == pytest.approx(expected, abs=1e-12)
    seen.clear()
    driver.run(config.load(CONFIGS / "beans.yaml", ["train.epochs=3", "optimizer.lr=0.4"]),
                   tmp_path)
    assert seen == [0.4] * 3  # constant: never changes


@pytest.mark.parametrize(("args", "message"), [
    (["NOWHERE"], "not a folder"),
    (["EMPTY"], "not a run folder (no summary.json)"),
    (["NOMODEL"], "no model.pt (run status: failed)"),
])
def test_eval_error_paths_are_one_line_exit_2(invoke, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    nomodel = tmp_path / "nomodel"
    nomodel.mkdir()
    (nomodel / "summary.json").write_text(json.dumps({"status": "failed", "metrics": {}}))
    where = {"NOWHERE": tmp_path / "nowhere", "EMPTY": tmp_path / "empty",
             "NOMODEL": nomodel}[args[0]]
    result = invoke("eval", where)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_weights_blown_to_infinity_read_as_diverged_not_as_a_crash(tmp_path):
    # lr 1e30: the first step's gradient is finite but the weights overflow, so the next
    # sigmoid output is NaN, which torch's BCE refuses with an error of its own
    cfg = config.load(CONFIGS / "beans.yaml", ["model.hidden=[4]", "optimizer.lr=1e30",
                                               "train.epochs=50"])
    result = driver.run(cfg, tmp_path)
    assert result.status == "diverged" and "not finite" in result.reason
