"""A stack that checkpoints and resumes: stopped anywhere (Ctrl-C, a checkpoint by time or
by epochs, a kill), it continues from its checkpoint to the numbers of the stack never
stopped, bit for bit (same machine, same threads)."""

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

from actcli import config
from actcli.engine import checkpoints
from actcli.engine.dense import DenseEngine
from actcli.sweep import executing, planning
from actcli.training import driver

from helpers import CONFIGS

# every optimizer a stack takes, each with options of its own (one torch optimizer each)
OPTIMIZERS = ["{name: sgd, lr: 0.1, momentum: 0.9, nesterov: true}",
              "{name: sgd, lr: 0.05, momentum: 0.5, dampening: 0.1, weight_decay: 0.01}",
              "{name: adam, lr: 0.01, amsgrad: true}", "{name: adam, lr: 0.02}",
              "{name: adamw, lr: 0.02, weight_decay: 0.05}",
              "{name: rmsprop, lr: 0.01, momentum: 0.5}"]
# mini-batches (each seed its own batch order), log every epoch, no time checkpoints
BASE = ["task.name=beans", "task.count=300", "model.hidden=[6,4]", "train.epochs=6",
        "train.batch_size=32", "train.log_every=1", "train.checkpoint_seconds=null"]
FILES = ("metrics.csv", "diagnostics.csv")


def stack_configs(schedule: str, extra: tuple[str, ...] = ()) -> list[config.Config]:
    """Six models: every optimizer, two activations, two seeds, dropout on some."""
    return [config.load(None, [*BASE, f"train.lr_schedule={schedule}", f"optimizer={opt}",
                               f"model.activation={'tanh' if i % 3 else 'relu'}",
                               f"train.seed={i % 2}", f"model.dropout={0.3 if i % 2 else 0}",
                               *extra])
            for i, opt in enumerate(OPTIMIZERS)]


class StopAt(checkpoints.StopRequests):
    """StopRequests as if Ctrl-C came at its ``at``-th look (the stop after that step)."""

    at = 0

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        if self.calls >= self.at:
            self.requested = True
        return self.requested


def same_folders(a: Path, b: Path) -> None:
    """Two run folders with the same numbers, bit for bit."""
    for name in FILES:  # (a model that diverged in its first epoch logged no row)
        assert (a / name).exists() == (b / name).exists(), name
        if (a / name).exists():
            assert (a / name).read_text() == (b / name).read_text(), name
    x = torch.load(a / "model.pt", weights_only=True)
    y = torch.load(b / "model.pt", weights_only=True)
    assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    sa, sb = (json.loads((f / "summary.json").read_text()) for f in (a, b))
    assert sa["status"] == sb["status"] and sa["epochs"] == sb["epochs"]
    assert sa["metrics"] == sb["metrics"]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
# a look after every step but an epoch's last, and one at every epoch's end: 8 an epoch
@pytest.mark.parametrize("at", [17, 40])  # after epoch 3's first step; after epoch 5
def test_a_stack_stopped_mid_run_resumes_to_the_same_numbers(tmp_path, monkeypatch,
                                                              schedule, at):
    configs = stack_configs(schedule)
    n = len(configs)
    straight = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(n)])
    folders = [tmp_path / "b" / str(i) for i in range(n)]
    path = tmp_path / "stack.pt"
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": at}))
    stopped = driver.run_stack(configs, folders, checkpoint=path)
    assert {r.status for r in stopped} == {"interrupted"} and path.exists()
    assert all("continues it from its checkpoint" in r.reason for r in stopped)
    saved = checkpoints.read(path)
    assert saved.names == [folders[i].name for i in driver.stack_order(configs)]
    monkeypatch.undo()
    resumed = driver.run_stack(configs, folders, checkpoint=path)
    assert [r.status for r in resumed] == ["completed"] * n and not path.exists()
    for a, b in zip(straight, resumed, strict=True):
        assert a.metrics == b.metrics
        same_folders(a.path, b.path)


def test_a_stack_stopped_twice_with_best_epochs_resumes_to_the_same_numbers(
        tmp_path, monkeypatch):
    # a validation split: each model's best weights so far travel in the checkpoint
    from test_fashion_mnist import fake_dataset

    data = fake_dataset(tmp_path / "data", n_train=300, n_test=100)
    base = ["task.name=fashion_mnist", f"task.data_dir={data}", "task.val_size=100",
            "task.download=false", "loss=cross_entropy", "model.output=softmax",
            "model.hidden=[12]", "train.epochs=6", "train.batch_size=50",
            "train.log_every=1", "train.checkpoint_seconds=null"]
    configs = [config.load(None, [*base, f"model.activation={a}", f"train.seed={s}",
                                  f"optimizer={opt}"])
               for a, s, opt in [("relu", 0, "{name: adam, lr: 0.05}"),
                                 ("sigmoid", 1, "{name: sgd, lr: 0.5, momentum: 0.9}"),
                                 ("tanh", 2, "{name: rmsprop, lr: 0.01}")]]
    straight = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(3)])
    folders = [tmp_path / "b" / str(i) for i in range(3)]
    path = tmp_path / "stack.pt"
    for at in (5, 9):  # stopped, resumed and stopped again
        monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": at}))
        assert {r.status for r in driver.run_stack(configs, folders, checkpoint=path)} == \
            {"interrupted"}
    monkeypatch.undo()
    resumed = driver.run_stack(configs, folders, checkpoint=path)
    for a, b in zip(straight, resumed, strict=True):
        assert a.metrics == b.metrics and "best_epoch" in b.metrics
        same_folders(a.path, b.path)


def test_a_resumed_stack_draws_the_figures_of_the_stack_never_stopped(tmp_path, monkeypatch):
    # the "before training" curve and weights are the untrained network's, as never stopped
    configs = stack_configs("constant")[:2]
    straight = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(2)], figures=True)
    folders = [tmp_path / "b" / str(i) for i in range(2)]
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": 20}))
    driver.run_stack(configs, folders, figures=True, checkpoint=tmp_path / "stack.pt")
    monkeypatch.undo()
    resumed = driver.run_stack(configs, folders, figures=True, checkpoint=tmp_path / "stack.pt")
    for a, b in zip(straight, resumed, strict=True):
        for name in ("fit.png", "weights.png", "learning_curves.png"):
            assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name


GPUS = [pytest.param("cuda", marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)"))]


@pytest.mark.parametrize("device", GPUS)
def test_a_stack_on_a_gpu_resumes(tmp_path, monkeypatch, device):
    configs = stack_configs("cosine", (f"device={device}",))
    straight = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(len(configs))])
    folders = [tmp_path / "b" / str(i) for i in range(len(configs))]
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": 17}))
    driver.run_stack(configs, folders, checkpoint=tmp_path / "stack.pt")
    monkeypatch.undo()
    resumed = driver.run_stack(configs, folders, checkpoint=tmp_path / "stack.pt")
    for a, b in zip(straight, resumed, strict=True):
        assert b.status == "completed"
        # GPU kernels are not bit-reproducible (README): within a looser tolerance
        assert b.metrics == pytest.approx(a.metrics, rel=1e-4)


@pytest.mark.parametrize("how", ["train.checkpoint_seconds=1e-9", "train.checkpoint_every=2"])
def test_checkpoints_of_a_stack_change_no_number(tmp_path, monkeypatch, how):
    configs = stack_configs("cosine")
    never = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(len(configs))],
                      checkpoint=tmp_path / "never.pt")
    saved: list[int] = []
    write = driver.folders.save_state

    def counting(state, path):
        if path.name == "always.pt":
            saved.append(state["epoch"])
        write(state, path)

    monkeypatch.setattr(driver.folders, "save_state", counting)
    configs = stack_configs("cosine", (how,))
    always = driver.run_stack(configs, [tmp_path / "b" / str(i) for i in range(len(configs))],
                       checkpoint=tmp_path / "always.pt")
    if how.startswith("train.checkpoint_seconds"):
        assert len(saved) == 6 * 8 - 1  # after every step of 6 epochs but the last one
    else:
        assert saved == [2, 4]
    assert not (tmp_path / "always.pt").exists()  # the stack ended: its checkpoint goes
    for a, b in zip(never, always, strict=True):
        assert a.metrics == b.metrics
        same_folders(a.path, b.path)


@pytest.mark.parametrize("at", [5, 30])  # in the epoch it diverged in (its 3rd step); later
def test_a_diverged_model_stays_diverged_and_the_others_resume(tmp_path, monkeypatch, at):
    # lr 1e4 with mse on an identity output diverges within steps; it is frozen in the
    # checkpoint and stays so, the other models resume to their numbers
    base = [*BASE, "model.output=identity", "loss=mse"]
    configs = [config.load(None, [*base, f"optimizer={{name: sgd, lr: {lr}}}",
                                  f"train.seed={i}"])
               for i, lr in enumerate([0.01, 1e4, 0.05])]
    straight = driver.run_stack(configs, [tmp_path / "a" / str(i) for i in range(3)])
    assert [r.status for r in straight] == ["completed", "diverged", "completed"]
    folders = [tmp_path / "b" / str(i) for i in range(3)]
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": at}))
    stopped = driver.run_stack(configs, folders, checkpoint=tmp_path / "stack.pt")
    assert [r.status for r in stopped] == ["interrupted", "diverged", "interrupted"]
    assert stopped[1].reason == straight[1].reason == "loss or gradient not finite at epoch 1"
    assert checkpoints.read(tmp_path / "stack.pt").alive.count(False) == 1
    monkeypatch.undo()
    resumed = driver.run_stack(configs, folders, checkpoint=tmp_path / "stack.pt")
    assert [r.status for r in resumed] == ["completed", "diverged", "completed"]
    # and a checkpoint after every step (the divergence between two of them) changes nothing
    always = driver.run_stack([config.load(None, [*base, f"optimizer={{name: sgd, lr: {lr}}}",
                                           f"train.seed={i}", "train.checkpoint_seconds=1e-9"])
                        for i, lr in enumerate([0.01, 1e4, 0.05])],
                       [tmp_path / "c" / str(i) for i in range(3)],
                       checkpoint=tmp_path / "always.pt")
    for a, b, c in zip(straight, resumed, always, strict=True):
        assert a.metrics == b.metrics == c.metrics and a.reason == b.reason == c.reason
        same_folders(a.path, b.path)
        same_folders(a.path, c.path)


# --- through compare and the command line -------------------------------------------------

GRID = ["--activations", "relu,tanh", "--seeds", "2", "--workers", "1",
        "--set", "model.hidden=[8]", "--set", "train.epochs=30", "--set", "train.batch_size=100",
        "--set", "model.dropout=0.2", "--set", "train.lr_schedule=cosine"]


def compare_folder(root: Path) -> Path:
    (folder,) = root.iterdir()
    return folder


def same_compares(a: Path, b: Path) -> None:
    cells = planning.load(a).cells
    for cell in cells:
        same_folders(a / "cells" / cell.id, b / "cells" / cell.id)


def sigint_at_step(monkeypatch, step: int) -> None:
    """A real Ctrl-C (SIGINT to this process) during the stack's ``step``-th step."""
    batch = DenseEngine.batch
    calls = [0]

    def batch_then_ctrl_c(self, *args):
        calls[0] += 1
        if calls[0] == step:
            signal.raise_signal(signal.SIGINT)
        return batch(self, *args)

    monkeypatch.setattr(DenseEngine, "batch", batch_then_ctrl_c)


def test_ctrl_c_on_a_fused_compare_then_resume_continues_the_stack(tmp_path, invoke,
                                                                  monkeypatch):
    straight = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "a", *GRID)
    assert straight.exit_code == 0, straight.output
    sigint_at_step(monkeypatch, 100)  # inside epoch 13 of 30 (8 steps an epoch)
    stopped = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "b", *GRID)
    assert stopped.exit_code == 130, stopped.output
    folder = compare_folder(tmp_path / "b")
    assert "interrupted; resume with: actcli compare --resume" in stopped.stderr
    cells = planning.load(folder).cells
    (ids,) = planning.stacks(folder)
    assert (folder / "stacks" / f"{ids[0]}.pt").exists()
    for cell in cells:
        summary = json.loads((folder / "cells" / cell.id / "summary.json").read_text())
        assert summary["status"] == "interrupted" and summary["epochs"] == 12
        assert "continues it from its checkpoint" in summary["reason"]
    monkeypatch.undo()
    seen = []
    run = driver.run_stack

    def spy(configs, folders, **kwargs):
        seen.append(kwargs["checkpoint"].exists())
        return run(configs, folders, **kwargs)

    monkeypatch.setattr(driver, "run_stack", spy)
    again = invoke("compare", "--resume", folder)
    assert again.exit_code == 0, again.output
    assert seen == [True]  # continued from the checkpoint, not from epoch 0
    assert not list((folder / "stacks").iterdir())
    same_compares(compare_folder(tmp_path / "a"), folder)


def test_a_stack_partly_completed_keeps_its_plan_and_trains_only_the_rest(tmp_path,
                                                                          monkeypatch):
    # as after a kill in the stack's wrap-up: one cell completed, its checkpoint from before
    overrides = ["model.hidden=[8]", "train.epochs=20", "train.batch_size=100",
                 "train.checkpoint_seconds=null"]
    grid = {"model.activation": ["relu", "tanh"]}
    made = planning.create(CONFIGS / "beans.yaml", overrides, grid, 2, tmp_path / "a")
    done, cells = made.folder, made.cells
    assert all(r.status == "completed" for r in executing.execute(done, cells))
    made = planning.create(CONFIGS / "beans.yaml", overrides, grid, 2, tmp_path / "b")
    folder, cells = made.folder, made.cells
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": 50}))
    assert {r.status for r in executing.execute(folder, cells)} == {"interrupted"}
    monkeypatch.undo()
    first = folder / "cells" / cells[0].id
    shutil.rmtree(first)
    shutil.copytree(done / "cells" / cells[0].id, first)
    before = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    seen = []
    again = executing.execute(folder, cells, on_done=seen.append)
    assert [r.status for r in again] == ["completed"] * 4
    assert sorted(r.cell.id for r in seen) == sorted(c.id for c in cells[1:])
    assert {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()} == before
    for cell in cells:
        same_folders(done / "cells" / cell.id, folder / "cells" / cell.id)


def interrupted_compare(tmp_path: Path, invoke, monkeypatch) -> tuple[Path, Path]:
    sigint_at_step(monkeypatch, 60)
    stopped = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, *GRID)
    assert stopped.exit_code == 130, stopped.output
    monkeypatch.undo()
    folder = compare_folder(tmp_path)
    (ids,) = planning.stacks(folder)
    return folder, folder / "stacks" / f"{ids[0]}.pt"


def refused(invoke, folder: Path, *expected: str) -> None:
    result = invoke("compare", "--resume", folder)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for text in (*expected, "delete it to train the stack's unfinished cells from zero"):
        assert text in result.stderr


def test_a_stack_checkpoint_that_does_not_fit_is_refused_in_one_line(tmp_path, invoke,
                                                                     monkeypatch):
    folder, path = interrupted_compare(tmp_path, invoke, monkeypatch)
    state = torch.load(path, weights_only=True)
    # as another actcli version would write it
    torch.save({**state, "version": 0}, path)
    refused(invoke, folder, "a checkpoint of layout 0, not 2")
    torch.save({"model": {}}, path)  # not a stack's checkpoint at all
    refused(invoke, folder, "not a checkpoint of actcli")
    path.write_bytes(b"not a checkpoint")
    refused(invoke, folder, "cannot be read")
    # written for another plan: other configs, other cells
    other = [dict(c) for c in state["configs"]]
    other[0] = {**other[0], "train": {**other[0]["train"], "epochs": 40}}
    torch.save({**state, "configs": other}, path)
    refused(invoke, folder, "its config is not the one the checkpoint was written with "
                            "(train.epochs: 40 -> 30)")
    torch.save({**state, "names": ["x", *state["names"][1:]]}, path)
    refused(invoke, folder, "it holds x, not a cell of this stack")
    engine = state["engine"]
    torch.save({**state, "engine": {**engine, "flat": engine["flat"][:-1]}}, path)
    refused(invoke, folder, "parameters, not the stack's")
    # what only building the stack tells: its cells fail (the compare goes on), none lost
    torch.save({**state, "engine": {**engine, "optimizer": engine["optimizer"] * 2}}, path)
    result = invoke("compare", "--resume", folder)
    assert result.exit_code == 1, result.output
    shown = " ".join(result.stdout.split())
    assert "does not fit the stack its configs build (2 optimizer states, not 1" in shown
    assert "delete it to train the stack from zero" in shown
    assert {executing.cell_status(folder, c) for c in planning.load(folder).cells} == \
        {"interrupted"}
    # deleted, as the line says: the cells train from zero, to the numbers of a straight run
    path.unlink()
    assert invoke("compare", "--resume", folder).exit_code == 0
    straight = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "a", *GRID)
    assert straight.exit_code == 0
    for cell in planning.load(folder).cells:  # within rounding: a stack of the same cells
        a = json.loads((folder / "cells" / cell.id / "summary.json").read_text())["metrics"]
        b = json.loads((compare_folder(tmp_path / "a") / "cells" / cell.id /
                        "summary.json").read_text())["metrics"]
        assert a == pytest.approx(b, rel=1e-5)


def test_a_stack_planned_by_an_earlier_actcli_trains_its_cells_again(tmp_path, invoke,
                                                                     monkeypatch):
    # an earlier actcli wrote no stack checkpoint: the interrupted cells train from zero
    folder, path = interrupted_compare(tmp_path, invoke, monkeypatch)
    path.unlink()
    result = invoke("compare", "--resume", folder)
    assert result.exit_code == 0, result.output
    assert all(executing.cell_status(folder, c) == "completed"
               for c in planning.load(folder).cells)


def test_periodic_checkpoints_no_longer_keep_cells_out_of_a_stack(tmp_path):
    made = planning.create(CONFIGS / "beans.yaml",
                           ["model.hidden=[4]", "train.checkpoint_every=5"],
                           {"model.activation": ["relu", "tanh"]}, 1, tmp_path)
    folder, cells = made.folder, made.cells
    assert planning.stacks(folder) == [[c.id for c in cells]]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_or_killed_fused_compare_resumes_from_its_checkpoint(tmp_path, invoke,
                                                                       signum):
    # SIGINT: the stack checkpoints where it stops; SIGKILL: its last time checkpoint
    argv = ["compare", str(CONFIGS / "beans.yaml"), "--activations", "relu,tanh",
            "--workers", "1", "--set", "model.hidden=[8]", "--set", "train.epochs=5000",
            "--set", "train.checkpoint_seconds=0.3"]
    straight = invoke(*argv, "--out", tmp_path / "a")
    assert straight.exit_code == 0, straight.output
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen([sys.executable, "-m", "actcli", *argv, "--out",
                                str(tmp_path / "b")], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("b/*/stacks/*.pt")):
        assert time.monotonic() < deadline, "no stack checkpoint appeared"
        time.sleep(0.05)
    process.send_signal(signum)  # SIGKILL: nothing of the process's own runs after this
    _, err = process.communicate(timeout=60)
    folder = compare_folder(tmp_path / "b")
    statuses = {executing.cell_status(folder, c) for c in planning.load(folder).cells}
    if signum == signal.SIGINT:
        assert process.returncode == 130 and "actcli compare --resume" in err
        assert statuses == {"interrupted"}
    else:
        assert statuses == {"running"}
    resumed = invoke("compare", "--resume", folder)
    assert resumed.exit_code == 0, resumed.output
    same_compares(compare_folder(tmp_path / "a"), folder)


def test_a_stack_checkpoint_of_layout_1_resumes_to_the_numbers_of_a_straight_run(
        tmp_path, invoke, monkeypatch):
    # layout 1 (the first stack checkpoints) held the engine's parts at the top level
    folder, path = interrupted_compare(tmp_path, invoke, monkeypatch)
    state = torch.load(path, weights_only=True)
    engine = state.pop("engine")
    torch.save({**state, **engine, "format": "actcli stack checkpoint", "version": 1}, path)
    assert invoke("compare", "--resume", folder).exit_code == 0
    straight = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "a", *GRID)
    assert straight.exit_code == 0
    for cell in planning.load(folder).cells:  # same machine, threads: bit for bit
        a = json.loads((folder / "cells" / cell.id / "summary.json").read_text())["metrics"]
        b = json.loads((compare_folder(tmp_path / "a") / "cells" / cell.id /
                        "summary.json").read_text())["metrics"]
        assert a == b


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_a_stack_of_one_saved_with_one_tensor_per_layer_continues_exactly(optimizer):
    # earlier versions stepped a stack of one as one tensor per layer; now one flat tensor
    from actcli.engine.dense import DenseEngine
    from actcli.engine.model import build

    extra = ["optimizer.momentum=0.9"] if optimizer != "adam" else []
    cfg = config.load(CONFIGS / "beans.yaml", ["model.hidden=[5, 3]", f"optimizer={optimizer}",
                                               *extra])

    def engine() -> DenseEngine:
        torch.manual_seed(0)
        net = build(cfg.model, (1,), 1)
        return DenseEngine([net], [cfg.optimizer], cfg.loss, net.output, 1, net.output,
                           epochs=5, cosine=False, generators=[torch.Generator()])

    x = torch.linspace(-1, 1, 32).unsqueeze(1)
    y = (x > 0.1).float()
    alive = torch.ones(1, dtype=torch.bool)
    a = engine()
    for _ in range(3):
        a.batch(x, y, False, alive)
    state = a.state()
    (whole,) = state["optimizer"]
    shapes = [value.shape for value, _ in a.stack.models()[0]]
    sizes = [s.numel() for s in shapes]
    per_layer: dict = {"state": {}, "param_groups": [{**whole["param_groups"][0],
                                                      "params": list(range(len(shapes)))}]}
    for i, shape in enumerate(shapes):  # what one tensor per layer held
        start = sum(sizes[:i])
        per_layer["state"][i] = {k: (v[start:start + sizes[i]].reshape(shape)
                                     if isinstance(v, torch.Tensor) and v.dim() else v)
                                 for k, v in whole["state"][0].items()}
    b = engine()
    b.load({**state, "optimizer": [per_layer]}, [True])
    for _ in range(3):
        a.batch(x, y, False, alive)
        b.batch(x, y, False, alive)
    assert torch.equal(a.stack.flat, b.stack.flat)


def test_a_resumed_stack_records_where_its_learned_activations_started(tmp_path, monkeypatch):
    # the trackers are made from the untrained network also when the stack continues
    configs = [config.load(None, [*BASE, "model.activation=prelu", f"train.seed={seed}"])
               for seed in (0, 1)]
    straight = driver.run_stack(configs, [tmp_path / "a" / f"m{i}" for i in range(2)])
    monkeypatch.setattr(checkpoints, "StopRequests", type("Stop", (StopAt,), {"at": 7}))
    path = tmp_path / "stack.pt"
    stopped = driver.run_stack(configs, [tmp_path / "b" / f"m{i}" for i in range(2)],
                               checkpoint=path)
    assert {r.status for r in stopped if r} == {"interrupted"} and path.exists()
    monkeypatch.undo()
    resumed = driver.run_stack(configs, [tmp_path / "b" / f"m{i}" for i in range(2)],
                               checkpoint=path)
    for a, b in zip(straight, resumed, strict=True):
        assert a is not None and b is not None and b.status == "completed"
        first = json.loads((a.path / "summary.json").read_text())["learned_activations"]
        again = json.loads((b.path / "summary.json").read_text())["learned_activations"]
        assert first == again
        assert first["start"]["layer1"]["slope"] == pytest.approx(0.25)  # prelu's start
