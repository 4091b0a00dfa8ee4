"""Interruption and resume: a stopped run continues to the same numbers, to the last digit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from actcli import config
from actcli.components import optimizers
from actcli.engine import model
from actcli.engine.loop import Cursor
from actcli.training import driver

from helpers import CONFIGS, fit_alone, stop_requested_at

# beans with a hidden layer, dropout (global RNG), mini-batches (batch order) and a cosine
# schedule: everything a resume has to restore
BEANS = ["model.hidden=[8]", "model.dropout=0.2", "train.batch_size=64",
         "train.lr_schedule=cosine", "train.epochs=40"]


def test_fit_stopped_mid_epoch_resumes_to_the_same_weights():
    def make():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.3), nn.ReLU(), nn.Linear(8, 1))
        return net, torch.optim.Adam(net.parameters(), lr=0.01)

    gen_x = torch.Generator().manual_seed(1)
    x = torch.randn(100, 2, generator=gen_x)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    loss = nn.BCEWithLogitsLoss()
    kwargs = dict(epochs=5, batch_size=16, evaluate=lambda: {})

    net, opt = make()
    torch.manual_seed(5)
    straight = fit_alone(net, loss, opt, x, y,
                   generator=torch.Generator().manual_seed(3), **kwargs)

    net2, opt2 = make()
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(3)
    calls = iter(range(10_000))
    first = fit_alone(net2, loss, opt2, x, y, generator=gen,
                stop=lambda: next(calls) == 10, **kwargs)
    assert first.status == "interrupted" and isinstance(first.cursor, Cursor)
    assert first.cursor.epoch == 2 and 0 < first.cursor.position < 100  # inside epoch 2
    rest = fit_alone(net2, loss, opt2, x, y, generator=gen, start_epoch=first.epochs,
               cursor=first.cursor, **kwargs)
    assert rest.status == "completed"
    assert first.history + rest.history == straight.history
    for a, b in zip(net.parameters(), net2.parameters(), strict=True):
        assert torch.equal(a, b)


class SignalAt:
    """A reporter that sends this process a real signal at one epoch."""

    def __init__(self, epoch: int, signum: int = signal.SIGINT) -> None:
        self.at, self.signum = epoch, signum

    def start(self, run, epochs):
        pass

    def epoch(self, epoch, train_loss):
        if epoch == self.at:
            signal.raise_signal(self.signum)

    def finish(self):
        pass

    def download(self, name, done, total):
        pass

    def drawing(self, name, done, total):
        pass


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_checkpoints_and_resume_matches(tmp_path, signum):
    cfg = config.load(CONFIGS / "beans.yaml", BEANS)
    straight = driver.run(cfg, tmp_path / "a")
    stopped = driver.run(cfg, tmp_path / "b", reporter=SignalAt(13, signum))
    assert stopped.status == "interrupted" and stopped.epochs == 13
    summary = json.loads((stopped.path / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "actcli train --resume" in summary["reason"]
    assert (stopped.path / "checkpoint.pt").exists() and (stopped.path / "metrics.csv").exists()
    resumed = driver.resume(stopped.path)
    assert resumed.status == "completed" and resumed.path == stopped.path
    assert (resumed.path / "metrics.csv").read_text() == (straight.path / "metrics.csv").read_text()
    assert resumed.metrics == straight.metrics
    assert not (resumed.path / "checkpoint.pt").exists()


def actcli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "actcli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def wait_for(path_glob, root: Path, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"{path_glob} did not appear under {root}")


def real_beans(root: Path) -> list[str]:
    return ["train", str(CONFIGS / "beans.yaml"), "--quiet", "--out", str(root),
            "--set", "train.epochs=6000", "--set", "train.checkpoint_every=500"]


@pytest.mark.slow
def test_ctrl_c_through_the_cli_then_resume_gives_the_same_metrics(tmp_path, invoke):
    straight = invoke(*real_beans(tmp_path / "a"))
    assert straight.exit_code == 0
    (done,) = (tmp_path / "a").iterdir()

    process = actcli(*real_beans(tmp_path / "b"))
    wait_for("*/checkpoint.pt", tmp_path / "b")  # training is under way
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "resume with: actcli train --resume" in err
    (run,) = (tmp_path / "b").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"

    resumed = invoke("train", "--resume", run, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert (run / "metrics.csv").read_text() == (done / "metrics.csv").read_text()
    a = json.loads((done / "summary.json").read_text())["metrics"]
    b = json.loads((run / "summary.json").read_text())["metrics"]
    assert a == b


@pytest.mark.slow
def test_killed_process_resumes_from_the_periodic_checkpoint(tmp_path, invoke):
    process = actcli(*real_beans(tmp_path))
    checkpoint = wait_for("*/checkpoint.pt", tmp_path)
    process.send_signal(signal.SIGKILL)  # no handler runs: only the periodic checkpoint
    process.communicate(timeout=60)
    run = checkpoint.parent
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    resumed = invoke("train", "--resume", run, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_resume_refuses_what_it_cannot_do(tmp_path, invoke):
    done = invoke("train", CONFIGS / "rice_cooker.yaml", "--smoke", "--quiet", "--out", tmp_path)
    run = Path(done.stdout.strip())
    result = invoke("train", "--resume", run)
    assert result.exit_code == 2 and "has completed; nothing to resume" in result.stderr
    result = invoke("train", "--resume", tmp_path / "nope")
    assert result.exit_code == 2 and "is not a run folder" in result.stderr
    result = invoke("train", CONFIGS / "beans.yaml", "--resume", run)
    assert result.exit_code == 2 and "give no CONFIG" in result.stderr
    (run / "summary.json").write_text(json.dumps({"status": "interrupted"}))
    result = invoke("train", "--resume", run)
    assert result.exit_code == 2 and "no checkpoint.pt to resume from" in result.stderr


def test_a_checkpoint_that_does_not_fit_is_refused_in_one_line(tmp_path, invoke):
    cfg = config.load(CONFIGS / "beans.yaml", BEANS)
    stopped = driver.run(cfg, tmp_path, reporter=SignalAt(5))
    path = stopped.path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    # the optimizer state of another network (a wider hidden layer)
    net = model.build(config.load(CONFIGS / "beans.yaml", [*BEANS, "model.hidden=[9]"]).model,
                      (1,), 1)
    other = optimizers.build(cfg.optimizer, net.parameters())
    net(torch.ones(4, 1)).sum().backward()
    other.step()  # its moments: the other network's shapes
    state["engine"]["optimizer"] = [other.state_dict()]
    torch.save(state, path)
    result = invoke("train", "--resume", stopped.path)
    assert result.exit_code == 2 and "does not fit the network" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


class SignalsAtTheEnd(SignalAt):
    """A reporter that sends this process ``count`` real SIGINTs when the last epoch is
    done and the run's wrap-up starts (the moment a user's Ctrl-C lost a run before)."""

    def __init__(self, count: int) -> None:
        super().__init__(0)
        self.count = count

    def finish(self):
        for _ in range(self.count):
            signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("count", [1, 2])
def test_ctrl_c_after_the_last_epoch_keeps_the_completed_run(tmp_path, count):
    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=30"])
    done = driver.run(cfg, tmp_path, reporter=SignalsAtTheEnd(count))
    summary = json.loads((done.path / "summary.json").read_text())
    assert done.status == summary["status"] == "completed" and done.stopped
    assert summary["epochs"] == 30 and summary["metrics"]["accuracy"] > 0.5
    state = torch.load(done.path / "model.pt", weights_only=True)
    assert sum(t.numel() for t in state.values()) == 2  # one neuron: a and b
    assert len((done.path / "metrics.csv").read_text().splitlines()) > 1
    # the stop came before any picture: every one is left out, and said so
    assert done.figures_skipped == summary["figures_skipped"]
    assert "fit.png" in done.figures_skipped and not list(done.path.glob("*.png"))


def test_ctrl_c_while_a_figure_is_drawn_leaves_out_only_the_later_ones(tmp_path, monkeypatch):
    from actcli import plots

    drawn = plots.learning_curves

    def interrupted_curves(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return drawn(*args, **kwargs)

    monkeypatch.setattr(plots, "learning_curves", interrupted_curves)
    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=30"])
    done = driver.run(cfg, tmp_path)
    assert done.status == "completed" and done.stopped
    assert (done.path / "learning_curves.png").exists()  # the figure under way is finished
    assert done.figures_skipped == ["fit.png", "weights.png"]
    assert not (done.path / "fit.png").exists() and (done.path / "model.pt").exists()


def test_ctrl_c_after_the_last_epoch_through_the_cli_exits_130_with_the_run_whole(
        tmp_path, invoke, monkeypatch):
    from actcli import console

    finish = console.ProgressReporter.finish

    def finish_then_ctrl_c(self):
        finish(self)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(console.ProgressReporter, "finish", finish_then_ctrl_c)
    result = invoke("train", str(CONFIGS / "rice_cooker.yaml"), "--out", str(tmp_path),
                    "--set", "train.epochs=30")
    assert result.exit_code == 130
    assert "the run is completed" in result.stderr and "not drawn: " in result.stderr
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    assert not (run / "checkpoint.pt").exists()


class Recorder(SignalAt):
    """A reporter that keeps the drawing progress it is given."""

    def __init__(self) -> None:
        super().__init__(0)
        self.drawn: list[tuple[str, int, int]] = []

    def drawing(self, name, done, total):
        self.drawn.append((name, done, total))


def test_the_animation_reports_its_progress_after_training(tmp_path):
    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=60"])
    reporter = Recorder()
    done = driver.run(cfg, tmp_path, reporter=reporter, animate_every=5)
    assert done.status == "completed" and (done.path / "fit.gif").exists()
    names = {name for name, _, _ in reporter.drawn}
    totals = {total for _, _, total in reporter.drawn}
    assert names == {"fit.gif"} and len(totals) == 1
    (total,) = totals
    assert total == 13  # epoch 1 and every 5th of 60
    assert [d for _, d, _ in reporter.drawn] == sorted(d for _, d, _ in reporter.drawn)
    assert reporter.drawn[-1][1] == total


def test_an_animated_run_resumes_to_the_animation_of_one_never_stopped(tmp_path,
                                                                        monkeypatch):
    from PIL import Image

    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=60"])
    straight = driver.run(cfg, tmp_path / "a", animate_every=5)
    real = stop_requested_at(monkeypatch, 23)  # as if Ctrl-C came in epoch 23 (full batch)
    stopped = driver.run(cfg, tmp_path / "b", animate_every=5)
    assert stopped.status == "interrupted" and not (stopped.path / "fit.gif").exists()
    before = json.loads((stopped.path / "summary.json").read_text())
    assert before["animate_every"] == 5 and "fit.gif" in before["figures_skipped"]
    monkeypatch.setattr(driver.checkpoints, "StopRequests", real)
    resumed = driver.resume(stopped.path)  # --resume takes no --animate: the run's own
    assert resumed.status == "completed"
    after = json.loads((resumed.path / "summary.json").read_text())
    assert "figures_skipped" not in after and "reason" not in after  # all drawn now
    with Image.open(resumed.path / "fit.gif") as gif:
        assert gif.n_frames == 13  # epoch 1 and every 5th of 60, the first 5 from before
    assert (resumed.path / "fit.gif").read_bytes() == (straight.path / "fit.gif").read_bytes()


def test_a_long_animated_run_keeps_only_the_frames_its_gif_shows():
    from actcli.plots import MAX_FRAMES
    from actcli.training.tracker import frame_epochs

    assert frame_epochs(60, 5) == {1, *range(5, 61, 5)}  # few: every one
    assert frame_epochs(60, None) == set()
    many = frame_epochs(100_000, 1)  # 100,000 candidates: the GIF's 240, evenly spaced
    assert len(many) == MAX_FRAMES and {1, 100_000} <= many
    gaps = {b - a for a, b in zip(sorted(many), sorted(many)[1:], strict=False)}
    assert max(gaps) - min(gaps) <= 1


def test_checkpoints_by_time_change_no_number(tmp_path, monkeypatch):
    """A checkpoint due after every step (the loop stops, saves, goes on from its cursor)
    trains to the same numbers, bit for bit, as no checkpoint at all."""
    never = driver.run(config.load(CONFIGS / "beans.yaml",
                                       [*BEANS, "train.checkpoint_seconds=null"]),
                           tmp_path / "a", figures=False)
    saved: list[Path] = []
    write = driver.folders.save_state

    def counting(state, path):
        saved.append(path)
        write(state, path)

    monkeypatch.setattr(driver.folders, "save_state", counting)
    always = driver.run(config.load(CONFIGS / "beans.yaml",
                                        [*BEANS, "train.checkpoint_seconds=1e-9"]),
                            tmp_path / "b", figures=False)
    assert sum(p.name == "checkpoint.pt" for p in saved) > 40 * 12  # every step of 40 epochs
    assert always.status == "completed" and not (always.path / "checkpoint.pt").exists()
    for name in ("metrics.csv", "diagnostics.csv"):
        assert (always.path / name).read_text() == (never.path / name).read_text()
    a = torch.load(never.path / "model.pt", weights_only=True)
    b = torch.load(always.path / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_default_config_checkpoints_every_30_seconds():
    assert config.load(CONFIGS / "beans.yaml").train.checkpoint_seconds == 30.0


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_time_checkpoint(tmp_path, invoke):
    argv = ["train", str(CONFIGS / "beans.yaml"), "--quiet", "--set", "train.epochs=8000",
            "--set", "train.checkpoint_seconds=0.2"]
    straight = invoke(*argv, "--out", tmp_path / "a")
    assert straight.exit_code == 0
    (done,) = (tmp_path / "a").iterdir()
    process = actcli(*argv, "--out", str(tmp_path / "b"))
    wait_for("*/checkpoint.pt", tmp_path / "b")
    process.kill()  # SIGKILL: nothing of the process's own runs after this
    process.communicate(timeout=60)
    (killed,) = (tmp_path / "b").iterdir()
    assert json.loads((killed / "summary.json").read_text())["status"] == "running"
    resumed = invoke("train", "--resume", killed, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert (killed / "metrics.csv").read_text() == (done / "metrics.csv").read_text()


def test_a_compare_cell_alone_resumes_from_its_own_checkpoint(tmp_path, monkeypatch):
    """A cell that trains alone (here: --no-fuse) and was interrupted continues from its
    checkpoint.pt on compare --resume, to the numbers of the cell never interrupted."""
    from actcli.engine import checkpoints
    from actcli.sweep import executing, planning

    overrides = ["model.hidden=[8]", "model.dropout=0.2", "train.batch_size=100",
                 "train.epochs=12"]
    grid = {"model.activation": ["relu", "tanh"]}
    alone = planning.Execution(fuse=False)
    made = planning.create(CONFIGS / "beans.yaml", overrides, grid, 1, tmp_path / "a")
    straight, cells = made.folder, made.cells
    assert {r.status for r in executing.execute(straight, cells, alone)} == {"completed"}
    made = planning.create(CONFIGS / "beans.yaml", overrides, grid, 1, tmp_path / "b")
    folder, cells = made.folder, made.cells
    real = stop_requested_at(monkeypatch, 30)  # as if Ctrl-C came during the 30th step (epoch 4)
    stopped = executing.execute(folder, cells, alone)
    assert stopped[0].status == "interrupted"
    assert (folder / "cells" / cells[0].id / "checkpoint.pt").exists()
    monkeypatch.setattr(checkpoints, "StopRequests", real)
    resumed = []
    resume = driver.resume

    def spy(run_dir, **kwargs):
        resumed.append(run_dir.name)
        return resume(run_dir, **kwargs)

    monkeypatch.setattr(driver, "resume", spy)
    again = executing.execute(folder, cells, alone)
    assert [r.status for r in again] == ["completed"] * 2
    assert resumed == [cells[0].id]  # the other cell, not started, trained from zero
    for cell in cells:
        a, b = straight / "cells" / cell.id, folder / "cells" / cell.id
        assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
        assert json.loads((a / "summary.json").read_text())["metrics"] == \
            json.loads((b / "summary.json").read_text())["metrics"]


def test_a_resumed_run_draws_the_same_pictures_as_one_never_stopped(tmp_path):
    cfg = config.load(CONFIGS / "beans.yaml", BEANS)
    straight = driver.run(cfg, tmp_path / "a")
    stopped = driver.run(cfg, tmp_path / "b", reporter=SignalAt(13))
    resumed = driver.resume(stopped.path)
    for name in ("fit.png", "weights.png", "learning_curves.png"):
        assert (resumed.path / name).read_bytes() == (straight.path / name).read_bytes(), name


LEGACY = Path(__file__).parent / "data" / "legacy_run"


def test_a_run_interrupted_by_an_earlier_version_resumes_to_its_numbers(tmp_path, invoke):
    # tests/data/legacy_run: a beans run (dropout, adam, cosine schedule, batches of 32)
    # that actcli 0.1.0 as of commit 83792b5 trained alone with its written-out dense step
    # and interrupted after epoch 7 of 20; that version, trained without interruption,
    # ended at test loss 0.02500375546514988, accuracy 0.99 (same machine and threads)
    run = tmp_path / "legacy_run"
    shutil.copytree(LEGACY, run)
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    assert "format" not in saved and "model" in saved  # the layout before layout 2
    result = invoke("train", "--resume", run)
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 20
    # the same arithmetic in another engine: equal within float rounding over 13 epochs
    assert summary["metrics"]["loss"] == pytest.approx(0.02500375546514988, rel=1e-4)
    assert summary["metrics"]["accuracy"] == 0.99
    assert not (run / "checkpoint.pt").exists()
