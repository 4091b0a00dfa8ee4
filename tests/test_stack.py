"""A stack of models against the same models trained alone: every activation, loss,
optimizer, dropout; divergence inside a stack; which configs share a stack."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from actcli import config
from actcli.components import losses, optimizers
from actcli.components.activations import ACTIVATIONS
from actcli.engine import diagnostics, model
from actcli.engine.autograd import AutogradStep
from actcli.engine.stack import StackedMLP
from actcli.engine.stack_optim import StackedOptimizer
from actcli.inspection.evaluate import evaluate_run
from actcli.sweep import executing, planning, stacking
from actcli.training import driver
from actcli.training.budget import check_memory
from actcli.training.parts import prepare

from helpers import CONFIGS, stop_requested_at

HIDDEN = [spec.name for spec in ACTIVATIONS if spec.hidden]  # prelu too: per model
N_IN = 6


def members(overrides: list[list[str]], n_out: int):
    """(config, network, torch's RNG state right after building it) for each model, each
    built from its own seed as a run alone builds it."""
    task = ["task.name=fashion_mnist"] if n_out > 1 else []
    found = []
    for extra in overrides:
        cfg = config.load(None, [*task, *extra])
        torch.manual_seed(cfg.train.seed)
        net = model.build(cfg.model, (N_IN,), n_out)
        found.append((cfg, net, torch.get_rng_state()))
    return found


def batches(n_out: int, steps: int, size: int = 8):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(steps * size, N_IN, generator=gen) * 2
    y = (torch.randint(0, n_out, (steps * size,), generator=gen) if n_out > 1
         else torch.randint(0, 2, (steps * size, 1), generator=gen).float())
    return [(x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]) for i in range(steps)]


def alone(cfg, net, rng, data, n_out):
    """Autograd and the torch optimizer, dropout from torch's global RNG: the reference."""
    step = AutogradStep(net, losses.objective(cfg.loss, net.output, n_out))
    optimizer = optimizers.build(cfg.optimizer, step.parameters())
    torch.set_rng_state(rng)
    net.train()
    found = []
    for x, y in data:
        outcome = step(optimizer, x, y)
        found.append(float("nan") if outcome is None else float(outcome[0]))
    return found


def stacked(items, data, n_out):
    nets = [net for _, net, _ in items]
    generators = []
    for _, _, rng in items:
        generator = torch.Generator()
        generator.set_state(rng)
        generators.append(generator)
    stack = StackedMLP(nets, generators)
    optimizer = StackedOptimizer([cfg.optimizer for cfg, _, _ in items], stack.models())
    loss = losses.stacked(items[0][0].loss, nets[0].output, n_out)
    found = []
    alive = torch.ones(len(nets), dtype=torch.bool)
    for x, y in data:
        saved = stack.forward(x, training=True)
        values = stack.gradients(saved, y.expand(len(nets), *y.shape), loss)
        ok = stack.finite(values) & alive
        optimizer.freeze((alive & ~ok).nonzero().flatten().tolist())
        alive = ok
        optimizer.step()
        found.append(values.tolist())
    return [list(column) for column in zip(*found, strict=True)]


def check_against_alone(overrides: list[list[str]], n_out: int, steps: int = 4):
    items = members(overrides, n_out)
    twins = [(cfg, copy.deepcopy(net), rng) for cfg, net, rng in items]
    data = batches(n_out, steps)
    expected = [alone(cfg, net, rng, data, n_out) for cfg, net, rng in twins]
    got = stacked(items, data, n_out)
    for k, ((_, net, _), (_, twin, _)) in enumerate(zip(items, twins, strict=True)):
        assert got[k] == pytest.approx(expected[k], rel=1e-5, abs=1e-7), overrides[k]
        for p, q in zip(net.parameters(), twin.parameters(), strict=True):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
    return items, got


def test_every_hidden_activation_in_one_stack_trains_as_alone():
    # every activation, its own seed, dropout on every other model: one stack
    overrides = [[f"model.activation={name}", "model.hidden=[5,4]", f"train.seed={i}",
                  f"model.dropout={0.3 if i % 2 else 0.0}", "optimizer={name: adam, lr: 0.05}"]
                 for i, name in enumerate(HIDDEN)]
    check_against_alone(overrides, n_out=1)


def test_activations_that_differ_per_layer_and_interleave():
    # groups that are not side by side in the stack: relu/tanh alternate, per layer
    overrides = [["model.hidden=[5,4]", f"model.activation=[{a},{b}]", f"train.seed={i}"]
                 for i, (a, b) in enumerate([("relu", "tanh"), ("tanh", "relu"),
                                             ("relu", "relu"), ("tanh", "gelu")])]
    check_against_alone(overrides, n_out=1)


OPTIMIZERS = ["{name: sgd, lr: 0.1, momentum: 0.9, nesterov: true}",
              "{name: sgd, lr: 0.05, momentum: 0.5, dampening: 0.1, weight_decay: 0.01}",
              "{name: adam, lr: 0.01, amsgrad: true}", "{name: adam, lr: 0.003, beta1: 0.8}",
              "{name: adamw, lr: 0.02, weight_decay: 0.05}",
              "{name: rmsprop, lr: 0.01, momentum: 0.5}", "{name: rmsprop, lr: 0.001}"]


@pytest.mark.parametrize(("loss", "n_out", "output"), [
    ("bce", 1, "sigmoid"), ("bce_with_logits", 1, "identity"), ("mse", 1, "sigmoid"),
    ("mae", 1, "sigmoid"), ("smooth_l1", 1, "identity"), ("cross_entropy", 10, "softmax"),
    ("nll", 10, "softmax"), ("mse", 10, "softmax")])
def test_every_loss_with_every_optimizer_and_its_own_options(loss, n_out, output):
    # one stack: every optimizer actcli offers, with per-model learning rates and options
    overrides = [["model.hidden=[5]", "model.activation=tanh", f"loss={loss}",
                  f"model.output={output}", f"optimizer={opt}", f"train.seed={i}"]
                 for i, opt in enumerate(OPTIMIZERS)]
    check_against_alone(overrides, n_out)


def test_a_diverging_model_stops_alone_and_nothing_leaks():
    # lr 1e4 with an identity output and mse diverges within steps; the others are exact
    overrides = [["model.hidden=[5]", "model.output=identity", "loss=mse",
                  f"optimizer={{name: sgd, lr: {lr}}}", f"train.seed={i}"]
                 for i, lr in enumerate([0.01, 1e4, 0.05])]
    items = members(overrides, 1)
    twins = [(cfg, copy.deepcopy(net), rng) for cfg, net, rng in items]
    data = batches(1, 8)
    got = stacked(items, data, 1)
    assert any(not torch.isfinite(torch.tensor(v)) for v in got[1])
    for k in (0, 2):
        cfg, twin, rng = twins[k]
        assert got[k] == pytest.approx(alone(cfg, twin, rng, data, 1), rel=1e-5)
        for p, q in zip(items[k][1].parameters(), twin.parameters(), strict=True):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
    # the frozen model kept finite weights: the step that went wrong was never applied
    assert all(torch.isfinite(p).all() for p in items[1][1].parameters())


def test_stacked_losses_are_each_models_objective_and_a_nan_stays_its_own():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 16, 1, generator=gen)
    y = torch.randint(0, 2, (3, 16, 1), generator=gen).float()
    z[1, 4, 0] = float("nan")
    for name in ("bce", "mse", "mae", "bce_with_logits"):
        ref = config.load(None, [f"loss={name}"]).loss
        sigmoid = torch.nn.Sigmoid()
        got = losses.stacked(ref, sigmoid, 1)(z, y)
        objective = losses.objective(ref, sigmoid, 1)
        for k in (0, 2):
            torch.testing.assert_close(got[k], objective(z[k], y[k]), rtol=1e-6, atol=1e-7)
        assert torch.isnan(got[1])


def test_diagnostics_of_a_stack_are_each_models_own():
    overrides = [["model.hidden=[6,5]", f"model.activation={name}", f"train.seed={i}"]
                 for i, name in enumerate(["relu", "sigmoid", "tanh", "relu"])]
    items = members(overrides, 1)
    x, y = batches(1, 1, size=64)[0]
    x[:, 0] = 40.0  # large inputs: saturated sigmoid/tanh units and dead relus appear
    nets = [copy.deepcopy(net) for _, net, _ in items]
    stack = StackedMLP([net for _, net, _ in items])
    cfg = items[0][0]
    got = stack.diagnose(x, y, losses.stacked(cfg.loss, nets[0].output, 1))
    for k, net in enumerate(nets):
        want = diagnostics.measure(net, losses.objective(cfg.loss, net.output, 1), x, y)
        assert got[k] == pytest.approx(want, rel=1e-5, abs=1e-7)
    assert any(row["saturated/layer1"] > 0 for row in got)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_runs_of_a_stack_are_the_runs_alone(tmp_path, schedule):
    # the whole run: initial weights from each seed, each its own batch order (mini-batches)
    # and dropout stream, metrics.csv, diagnostics.csv, model.pt, summary.json
    base = ["task.name=beans", "task.count=300", "model.hidden=[6,4]", "train.epochs=4",
            "train.batch_size=32", "train.log_every=1", f"train.lr_schedule={schedule}",
            "optimizer.lr=0.05"]
    configs = [config.load(None, [*base, f"model.activation={a}", f"train.seed={s}",
                                  f"model.dropout={d}"])
               for a, s, d in [("relu", 0, 0.0), ("tanh", 1, 0.2), ("relu", 2, 0.5)]]
    results = driver.run_stack(configs, [tmp_path / "stack" / str(i) for i in range(3)])
    for i, (cfg, result) in enumerate(zip(configs, results, strict=True)):
        single = driver.run(cfg, tmp_path, folder=tmp_path / "alone" / str(i),
                                figures=False)
        assert result.status == single.status == "completed"
        assert result.metrics == pytest.approx(single.metrics, rel=1e-5)
        for name in ("metrics.csv", "diagnostics.csv"):
            rows = (result.path / name).read_text().splitlines()
            want = (single.path / name).read_text().splitlines()
            assert rows[0] == want[0] and len(rows) == len(want)
            for a, b in zip(rows[1:], want[1:], strict=True):
                assert [float(v) for v in a.split(",")] == pytest.approx(
                    [float(v) for v in b.split(",")], rel=1e-5, abs=1e-7)
        got = torch.load(result.path / "model.pt", weights_only=True)
        want = torch.load(single.path / "model.pt", weights_only=True)
        for key in want:
            torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6)
        summary = json.loads((result.path / "summary.json").read_text())
        assert summary["stack"] == 3 and summary["seed"] == cfg.train.seed
        evaluated = evaluate_run(result.path)  # an ordinary run folder
        assert evaluated["measured"] == pytest.approx(evaluated["recorded"], rel=1e-6)


def test_the_initial_weights_are_those_of_the_run_alone():
    cfg = config.load(CONFIGS / "compare_beans.yaml", ["train.seed=4"])
    want = {k: v.clone() for k, v in prepare(cfg).parts.net.state_dict().items()}
    p = prepare(cfg, alone=False)
    StackedMLP([p.parts.net, prepare(cfg, alone=False).parts.net])
    got = p.parts.net.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)


def _key(*overrides: str):
    return stacking.stack_key(config.load(CONFIGS / "compare_beans.yaml", list(overrides)))


def test_which_configs_share_a_stack():
    base = _key()
    assert base is not None
    for same in ("model.activation=tanh", "model.activation=[tanh,relu]", "train.seed=3",
                 "model.init=kaiming_normal", "model.dropout=0.3", "optimizer.lr=0.5",
                 "optimizer={name: sgd, lr: 0.1, momentum: 0.9}", "name=other",
                 "log.tensorboard=true"):
        assert _key(same) == base, same
    # periodic checkpoints join a stack too (the stack checkpoints as a run alone does)
    assert _key("train.checkpoint_every=10") not in (None, base)
    for other in ("model.hidden=[8,8]", "train.batch_size=64", "train.epochs=10",
                  "loss=mse", "task.noise=0.05", "task.count=500",
                  "train.lr_schedule=cosine", "train.log_every=5"):
        assert _key(other) not in (None, base), other
    assert _key("model.batch_norm=true") is None
    assert _key("model.activation=prelu") == base  # its learned slope is per model
    cnn = config.load(None, ["task.name=fashion_mnist", "model.kind=cnn", "model.channels=[4]",
                             "loss=cross_entropy", "model.output=softmax"])
    assert stacking.stack_key(cnn) is None


def test_a_compare_plans_its_stacks_and_cells_say_their_size(tmp_path):
    grid = {"model.activation": ["relu", "tanh", "prelu"]}
    fast = ["model.hidden=[4]", "train.epochs=20"]
    made = planning.create(CONFIGS / "beans.yaml", fast, grid, 2, tmp_path)
    folder, cells = made.folder, made.cells
    plan = json.loads((folder / "plan.json").read_text())
    assert plan["stacks"] == [[c.id for c in cells]]  # prelu too: its slope is per model
    results = executing.execute(folder, cells)
    assert all(r.status == "completed" for r in results)
    for cell in cells:
        summary = json.loads((folder / "cells" / cell.id / "summary.json").read_text())
        assert summary["stack"] == 6
    from actcli.sweep import report, report_files

    found = report.summarize(folder, results, ("loss", "accuracy"), list(grid))
    report_files.write(folder, results, found)
    text = (folder / "report.md").read_text()
    assert "1 stack(s) of 6 (model.activation=relu, seed 0;" in text
    assert "alone." not in text
    sizes = [row.split(",")[9] for row in (folder / "summary.csv").read_text().splitlines()]
    assert sizes == ["stack", "6", "6", "6", "6", "6", "6"]
    assert not found.time_note
    by_time = report.summarize(folder, results, ("loss", "accuracy"), list(grid),
                               rank_by="seconds_to_target")
    assert by_time.time_note.startswith("6 runs trained in stacks")


def test_a_long_stack_is_split_in_the_plan_not_by_the_worker_count(tmp_path, monkeypatch):
    monkeypatch.setattr(stacking, "SPLIT_SECONDS", 1e-9)  # every stack counts as long
    monkeypatch.setattr(planning.os, "cpu_count", lambda: 2)
    grid = {"model.activation": ["relu", "tanh", "elu"]}
    made = planning.create(CONFIGS / "beans.yaml", ["train.epochs=5", "model.hidden=[4]"],
                           grid, 1, tmp_path, execution=planning.Execution(workers=1))
    folder, cells = made.folder, made.cells
    stacks = planning.stacks(folder)
    assert [len(s) for s in stacks] == [2, 1]
    assert sorted(sum(stacks, [])) == sorted(c.id for c in cells)
    units = executing.units(folder, cells, planning.Execution(workers=7))
    assert [len(u.cells) for u in units] == [2, 1] and all(u.stacked for u in units)


def test_an_interrupted_fused_compare_resumes_every_unfinished_cell(tmp_path, monkeypatch):
    from actcli.engine import checkpoints

    grid = {"model.activation": ["relu", "tanh"]}
    fast = ["train.epochs=400", "model.hidden=[4]"]
    made = planning.create(CONFIGS / "beans.yaml", fast, grid, 2, tmp_path)
    folder, cells = made.folder, made.cells
    real = stop_requested_at(monkeypatch, 50)  # as if Ctrl-C came during the 50th step
    stopped = executing.execute(folder, cells)
    assert [r.status for r in stopped] == ["interrupted"] * 4
    assert executing.was_interrupted(stopped)
    assert "compare --resume" in stopped[0].error
    monkeypatch.setattr(checkpoints, "StopRequests", real)
    seen = []
    again = executing.execute(folder, planning.load(folder).cells, on_done=seen.append)
    assert [r.status for r in again] == ["completed"] * 4 and len(seen) == 4
    # the same stack trained again from the start: the same numbers as never interrupted
    made = planning.create(CONFIGS / "beans.yaml", fast, grid, 2, tmp_path / "b")
    other, cells = made.folder, made.cells
    straight = executing.execute(other, cells)
    assert [r.metrics for r in again] == [r.metrics for r in straight]


def test_a_gradient_that_overflows_with_a_finite_loss_stops_the_model():
    # model 1: output weight 1e38 times a hidden unit of 1e-38 gives a finite output, but
    # the first layer's gradient (1e38 x the input) overflows float32
    overrides = [["model.hidden=[1]", "model.activation=relu", "model.output=identity",
                  "loss=mse", "optimizer={name: sgd, lr: 0.1}", f"train.seed={i}"]
                 for i in range(2)]
    items = members(overrides, 1)
    net = items[1][1]
    with torch.no_grad():
        first, last = net.layers[0], net.layers[-1]
        first.weight.fill_(0.0)
        first.bias.fill_(1e-38)
        last.weight.fill_(1e38)
        last.bias.fill_(0.0)
    before = [p.detach().clone() for p in net.parameters()]
    stack = StackedMLP([n for _, n, _ in items])
    x = torch.full((4, N_IN), 10.0)
    y = torch.zeros(4, 1)
    values = stack.gradients(stack.forward(x, training=True), y.expand(2, 4, 1),
                             losses.stacked(items[0][0].loss, net.output, 1))
    assert torch.isfinite(values).all()  # the loss alone would not tell
    assert stack.finite(values).tolist() == [True, False]
    optimizer = StackedOptimizer([cfg.optimizer for cfg, _, _ in items], stack.models())
    optimizer.freeze([1])
    optimizer.step()
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before, strict=True))


GPUS = [pytest.param("cuda", marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")),
        pytest.param("mps", marks=pytest.mark.skipif(
            not (getattr(torch.backends, "mps", None) is not None
                 and torch.backends.mps.is_available()),
            reason="needs Apple's MPS (not on this machine)"))]


@pytest.mark.parametrize("device", GPUS)
def test_a_stack_on_a_gpu_trains_as_its_runs_alone_there(tmp_path, device):
    base = ["task.name=beans", "task.count=300", "model.hidden=[6,4]", "train.epochs=3",
            "train.batch_size=32", f"device={device}"]
    configs = [config.load(None, [*base, f"model.activation={a}", f"train.seed={s}",
                                  f"model.dropout={d}"])
               for a, s, d in [("relu", 0, 0.0), ("tanh", 1, 0.2)]]
    results = driver.run_stack(configs, [tmp_path / "stack" / str(i) for i in range(2)])
    for i, (cfg, result) in enumerate(zip(configs, results, strict=True)):
        single = driver.run(cfg, tmp_path, folder=tmp_path / "alone" / str(i),
                                figures=False)
        assert json.loads((result.path / "summary.json").read_text())["device"].startswith(
            device)
        # GPU kernels are not bit-reproducible (README): within a looser tolerance
        assert result.metrics == pytest.approx(single.metrics, rel=1e-4)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll"])
def test_closed_form_cross_entropy_of_a_stack_is_autograds(loss):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(3, 16, 10, generator=gen) * 3
    y = torch.randint(0, 10, (3, 16), generator=gen)
    ref = config.load(None, ["task.name=fashion_mnist", f"loss={loss}",
                             "model.output=softmax"]).loss
    closed = losses.stacked_logit_gradient(ref)
    assert closed is not None
    got_loss, got_grad = closed(z, y)
    leaf = z.clone().requires_grad_()
    want = losses.stacked(ref, torch.nn.Softmax(dim=-1), 10)(leaf, y)
    (want_grad,) = torch.autograd.grad(want.sum(), leaf)
    torch.testing.assert_close(got_loss, want.detach(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-5, atol=1e-7)
    # and by hand for one row: softmax minus the one-hot target, over the batch size
    row = torch.softmax(z[1, 4], dim=0)
    row[y[1, 4]] -= 1
    torch.testing.assert_close(got_grad[1, 4], row / 16)


def test_a_stack_on_images_keeps_each_models_best_epoch(tmp_path):
    # a validation split: each model keeps the weights of its own best epoch, as alone
    from test_fashion_mnist import fake_dataset

    data = fake_dataset(tmp_path / "data", n_train=400, n_test=100)
    base = ["task.name=fashion_mnist", f"task.data_dir={data}", "task.val_size=100",
            "task.download=false", "loss=cross_entropy", "model.output=softmax",
            "model.hidden=[12]", "train.epochs=6", "train.batch_size=50",
            "optimizer={name: adam, lr: 0.05}", "train.log_every=1"]
    configs = [config.load(None, [*base, f"model.activation={a}", f"train.seed={s}"])
               for a, s in [("relu", 0), ("sigmoid", 1), ("tanh", 2)]]
    results = driver.run_stack(configs, [tmp_path / "stack" / str(i) for i in range(3)])
    for i, (cfg, result) in enumerate(zip(configs, results, strict=True)):
        single = driver.run(cfg, tmp_path, folder=tmp_path / "alone" / str(i),
                                figures=False)
        assert result.metrics["best_epoch"] == single.metrics["best_epoch"]
        assert result.metrics == pytest.approx(single.metrics, rel=1e-5)
    assert len({r.metrics["best_epoch"] for r in results}) > 1  # chosen model by model


def test_a_stack_that_cannot_fit_in_memory_is_refused_before_any_folder(tmp_path, monkeypatch):
    from actcli import devices
    from actcli.errors import DeviceError

    # one model of [1000, 1000] with adam fits in 40 MB, a stack of 20 does not
    monkeypatch.setattr(devices, "available_memory", lambda device: 40_000_000)
    monkeypatch.setattr(stacking, "SPLIT_SECONDS", 1e9)  # one stack, not split between cores
    grid = {"model.activation": ["relu", "tanh"]}
    with pytest.raises(DeviceError, match=r"a stack of 20 \(compare --no-fuse trains them one "
                                          r"by one\) of this network \(1,004,001 parameters"):
        planning.create(CONFIGS / "beans.yaml", ["model.hidden=[1000,1000]"], grid, 10,
                        tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    check_memory(config.load(CONFIGS / "beans.yaml", ["model.hidden=[1000,1000]"]))


def test_a_stacked_cells_model_pt_holds_its_own_tensors_only(tmp_path, invoke):
    alone = invoke("train", CONFIGS / "beans.yaml", "--out", tmp_path / "alone", "--quiet",
                   "--set", "model.hidden=[8]", "--set", "train.epochs=1")
    assert alone.exit_code == 0, alone.output
    (run,) = (tmp_path / "alone").iterdir()
    lrs = ",".join(f"{i / 10000:g}" for i in range(1, 101))
    swept = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "sweep",
                   "--activations", "relu", "--over", f"optimizer.lr={lrs}",
                   "--set", "model.hidden=[8]", "--set", "train.epochs=1")
    assert swept.exit_code == 0, swept.output
    (folder,) = (tmp_path / "sweep").iterdir()
    cells = sorted((folder / "cells").iterdir())
    assert len(cells) == 100
    assert json.loads((cells[0] / "summary.json").read_text())["stack"] == 100
    size = (run / "model.pt").stat().st_size
    assert {(cell / "model.pt").stat().st_size for cell in cells} == {size}


def test_a_long_stack_is_cut_by_the_cpus_it_will_run_on():
    from actcli.sweep import planning

    cfg = config.load(CONFIGS / "compare_fashion_mnist.yaml")
    cells = planning.expand({"model.activation": list(planning.ELEVEN)}, 3)
    configs = [config.validate(planning._document(config.dump(cfg), c.overrides))
               for c in cells]
    assert len(cells) == 33
    here = planning._stacks(cells, configs, threads=1, cpus=2)
    cluster = planning._stacks(cells, configs, threads=1, cpus=4)
    assert len(here) == 2 and len(cluster) == 4  # a Ray cluster's CPUs, not this machine's
    assert sorted(i for part in cluster for i in part) == sorted(c.id for c in cells)
