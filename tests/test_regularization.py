"""L1/L2 regularisation rates (every optimizer's ``l1`` and ``l2``): the penalty and its
gradient, a run alone, a stack, the autograd engine, what a run records, the config, and
the effect on the weights."""

from __future__ import annotations

import copy
import csv
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actcli import config
from actcli.components import Ref, optimizers
from actcli.training import driver
from actcli.training.parts import prepare

from helpers import write

# a 2-D task small enough for exact one-step comparisons: 60 training points
BASE = ["task.name=circle", "task.count=120", "task.test_fraction=0.5", "model.hidden=[5]",
        "model.activation=tanh", "model.output=sigmoid", "loss=bce", "train.batch_size=null",
        "train.log_every=1", "device=cpu"]  # the references are computed on the CPU


def load(*overrides: str):
    return config.load(None, [*BASE, *overrides])


def weights_of(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, nn.Linear)]


def data_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The bce of a sigmoid network, written with torch's built-in (on logits)."""
    return F.binary_cross_entropy_with_logits(net(x), y)


def hand_penalty(net: nn.Module, l1: float, l2: float) -> torch.Tensor:
    total = torch.zeros(())
    for w in weights_of(net):
        total = total + l1 * w.abs().sum() + 0.5 * l2 * (w ** 2).sum()
    return total


def trained(cfg, tmp_path, name="run"):
    result = driver.run(cfg, tmp_path, folder=tmp_path / name, figures=False)
    assert result.status == "completed", result.reason
    return result, torch.load(result.path / "model.pt", weights_only=True)


def start(cfg):
    """The seeded untrained network of ``cfg`` (a copy) and its training split."""
    p = prepare(cfg)
    return copy.deepcopy(p.parts.net), p.train.x.clone(), p.train.y.clone()


# --- the penalty ---------------------------------------------------------------------------

def test_penalty_is_l1_sum_abs_plus_half_l2_sum_of_squares():
    a = torch.tensor([[1.0, -2.0, 0.0], [0.5, 3.0, -0.25]], requires_grad=True)
    b = torch.tensor([-4.0, 0.0, 2.0, 1.5], requires_grad=True)
    l1, l2 = 0.3, 0.7
    # by hand: sum |a| = 6.75, sum |b| = 7.5; sum a^2 = 14.3125, sum b^2 = 22.25
    expected = 0.3 * (6.75 + 7.5) + 0.5 * 0.7 * (14.3125 + 22.25)
    got = optimizers.penalty([a, b], l1, l2)
    assert float(got.detach()) == pytest.approx(expected, rel=1e-6)
    got.backward()
    # gradient: l1 sign(w) + l2 w (sign(0) = 0)
    torch.testing.assert_close(a.grad, torch.tensor([[0.3 + 0.7, -0.3 - 1.4, 0.0],
                                                     [0.3 + 0.35, 0.3 + 2.1, -0.3 - 0.175]]))
    torch.testing.assert_close(b.grad, torch.tensor([-0.3 - 2.8, 0.0, 0.3 + 1.4,
                                                     0.3 + 1.05]))
    with torch.no_grad():
        assert float(optimizers.penalty([a, b], 0.0, 0.0)) == 0.0
        assert float(optimizers.penalty([a], 0.0, 2.0)) == pytest.approx(14.3125, rel=1e-6)
        assert float(optimizers.penalty([b], 1.0, 0.0)) == pytest.approx(7.5, rel=1e-6)


def test_penalty_rates_read_the_optimizer_section():
    cfg = load("optimizer={name: sgd, lr: 0.1, l1: 0.002, l2: 0.5}")
    assert optimizers.penalty_rates(cfg.optimizer) == (0.002, 0.5)
    assert optimizers.penalty_rates(load("optimizer=adam").optimizer) == (0.0, 0.0)
    assert optimizers.penalty_rates(Ref("optimizer", "rmsprop", (("lr", 0.1), ("l2", 0.1)))) \
        == (0.0, 0.1)
    # the rates are no torch options: build() makes the optimizer without them
    built = optimizers.build(cfg.optimizer, [torch.zeros(2, requires_grad=True)])
    assert isinstance(built, torch.optim.SGD) and "l1" not in built.param_groups[0]


# --- a dense run alone (a stack of one) -------------------------------------------------

def linear_weights(net: nn.Module) -> set[str]:
    """The names of the parameters the penalty covers: the Linear layers' weights."""
    return {f"{name}.weight" for name, m in net.named_modules() if isinstance(m, nn.Linear)}


@pytest.mark.parametrize(("l1", "l2", "activation"), [(0.0, 0.8, "tanh"), (0.3, 0.0, "tanh"),
                                                      (0.2, 0.5, "prelu")])
def test_one_sgd_step_alone_adds_the_penalty_gradient_to_weights_only(tmp_path, l1, l2,
                                                                       activation):
    eta = 0.5
    cfg = load(f"optimizer={{name: sgd, lr: {eta}, l1: {l1}, l2: {l2}}}", "train.epochs=1",
               f"model.activation={activation}")
    ref, x, y = start(cfg)
    before = {k: v.detach().clone() for k, v in ref.state_dict().items()}
    loss = data_loss(ref, x, y)
    names = [name for name, _ in ref.named_parameters()]
    grads = dict(zip(names, torch.autograd.grad(loss, list(ref.parameters())), strict=True))
    penalised = linear_weights(ref)
    assert len(penalised) == 2 and len(names) == (5 if activation == "prelu" else 4)
    _, got = trained(cfg, tmp_path)
    for name in names:
        w, g = before[name], grads[name]
        with_penalty = w - eta * (g + l1 * torch.sign(w) + l2 * w)
        if name in penalised:
            want = with_penalty
            # and the penalty made a measurable difference
            assert (got[name] - (w - eta * g)).abs().max() > 1e-3, name
        else:  # biases and prelu's slope: the data gradient alone
            want = w - eta * g
            if w.abs().max() > 0.01:
                assert (got[name] - with_penalty).abs().max() > 1e-4, name
        torch.testing.assert_close(got[name], want, rtol=0, atol=1e-6, msg=name)


def test_a_stacks_penalty_is_each_models_own():
    from actcli.engine.stack import StackedMLP

    nets = []
    for seed in range(3):
        cfg = load("model.hidden=[4,3]", f"train.seed={seed}")
        nets.append(start(cfg)[0])
    want = [[float(hand_penalty(net, a, b).detach()) for net in nets]
            for a, b in [(0.1, 0.0), (0.0, 0.4), (0.2, 0.3)]]
    twins = [copy.deepcopy(net) for net in nets]
    stack = StackedMLP(twins)
    l1, l2 = torch.tensor([0.1, 0.0, 0.2]), torch.tensor([0.0, 0.4, 0.3])
    got = stack.penalty(l1, l2).tolist()
    assert got == pytest.approx([want[0][0], want[1][1], want[2][2]], rel=1e-6)
    assert stack.penalty(None, l2).tolist() == pytest.approx(
        [0.0, want[1][1], float(hand_penalty(nets[2], 0.0, 0.3).detach())], rel=1e-6)
    # penalize adds l1 sign(w) + l2 w to each model's weight gradients, none to biases
    stack.grad.zero_()
    stack.penalize(l1, l2)
    for k, net in enumerate(nets):
        layers = [m for m in net.modules() if isinstance(m, nn.Linear)]
        assert len(layers) == len(stack.tensors) == 3
        for m, (w, _, gw, gb) in zip(layers, stack.tensors, strict=True):
            original = m.weight.detach()
            torch.testing.assert_close(w[k], original)
            torch.testing.assert_close(gw[k], l1[k] * torch.sign(original) + l2[k] * original)
            assert not gb[k].any()


def test_three_adam_steps_alone_are_torch_adam_on_data_loss_plus_penalty(tmp_path):
    l1, l2, lr = 0.01, 0.2, 0.05
    cfg = load(f"optimizer={{name: adam, lr: {lr}, l1: {l1}, l2: {l2}}}", "train.epochs=3",
               "model.hidden=[6,4]")
    ref, x, y = start(cfg)
    plain = copy.deepcopy(ref)
    optimizer = torch.optim.Adam(ref.parameters(), lr=lr)
    for _ in range(3):
        optimizer.zero_grad()
        (data_loss(ref, x, y) + hand_penalty(ref, l1, l2)).backward()
        optimizer.step()
    unpenalised = torch.optim.Adam(plain.parameters(), lr=lr)
    for _ in range(3):
        unpenalised.zero_grad()
        data_loss(plain, x, y).backward()
        unpenalised.step()
    _, got = trained(cfg, tmp_path)
    for name, want in ref.state_dict().items():
        torch.testing.assert_close(got[name], want, rtol=0, atol=1e-6, msg=name)
    # the reference without a penalty is another network (the comparison can fail)
    differs = max(float((got[n] - v).abs().max()) for n, v in plain.state_dict().items()
                  if n.endswith("weight"))
    assert differs > 1e-3


# --- a stack -----------------------------------------------------------------------------

def test_a_stack_with_different_rates_trains_each_model_as_alone(tmp_path):
    # one seed, so that the model without a penalty is the control of the other two
    base = ["model.hidden=[6,4]", "train.epochs=6", "train.batch_size=20", "train.seed=3"]
    rates = [("sgd", 0.0, 0.0), ("sgd", 0.02, 0.0), ("sgd", 0.01, 0.3)]
    configs = [load(*base, f"optimizer={{name: {name}, lr: 0.3, l1: {a}, l2: {b}}}")
               for name, a, b in rates]
    results = driver.run_stack(configs, [tmp_path / "stack" / str(i) for i in range(3)])
    stacked = []
    for i, (cfg, result) in enumerate(zip(configs, results, strict=True)):
        assert result is not None and result.status == "completed"
        assert json.loads((result.path / "summary.json").read_text())["stack"] == 3
        got = torch.load(result.path / "model.pt", weights_only=True)
        _, alone = trained(cfg, tmp_path, f"alone{i}")
        for key, want in alone.items():
            torch.testing.assert_close(got[key], want, rtol=0, atol=1e-6, msg=f"{i} {key}")
        stacked.append(got)
    for penalised in stacked[1:]:
        assert max(float((penalised[k] - stacked[0][k]).abs().max())
                   for k in stacked[0]) > 1e-3


def test_a_stack_of_adam_models_with_rates_matches_torch_adam(tmp_path):
    # the reference of each stacked model: torch.optim.Adam on data loss + penalty
    rates = [(0.0, 0.0), (0.005, 0.1), (0.0, 0.5)]
    configs = [load("train.epochs=3", f"optimizer={{name: adam, lr: 0.05, l1: {a}, l2: {b}}}",
                    f"train.seed={i}") for i, (a, b) in enumerate(rates)]
    results = driver.run_stack(configs, [tmp_path / str(i) for i in range(3)])
    for cfg, result, (l1, l2) in zip(configs, results, rates, strict=True):
        assert result is not None
        ref, x, y = start(cfg)
        optimizer = torch.optim.Adam(ref.parameters(), lr=0.05)
        for _ in range(3):
            optimizer.zero_grad()
            (data_loss(ref, x, y) + hand_penalty(ref, l1, l2)).backward()
            optimizer.step()
        got = torch.load(result.path / "model.pt", weights_only=True)
        for key, want in ref.state_dict().items():
            torch.testing.assert_close(got[key], want, rtol=0, atol=1e-6, msg=key)


# --- the autograd engine ------------------------------------------------------------------

def test_batch_norm_run_with_l2_is_a_torch_step_on_data_loss_plus_penalty(tmp_path):
    eta, l2 = 0.5, 0.8
    cfg = load("model.batch_norm=true", "model.hidden=[5,3]",
               f"optimizer={{name: sgd, lr: {eta}, l2: {l2}}}", "train.epochs=1")
    ref, x, y = start(cfg)
    assert any(isinstance(m, nn.BatchNorm1d) for m in ref.modules())
    before = {k: v.detach().clone() for k, v in ref.state_dict().items()}
    ref.train()
    optimizer = torch.optim.SGD(ref.parameters(), lr=eta)
    optimizer.zero_grad()
    twin = copy.deepcopy(ref)  # (a forward in training mode moves the running statistics)
    data_grad = torch.autograd.grad(data_loss(twin, x, y), twin.layers[0].weight)[0]
    (data_loss(ref, x, y) + hand_penalty(ref, 0.0, l2)).backward()
    grads = {name: p.grad.clone() for name, p in ref.named_parameters()}
    optimizer.step()
    _, got = trained(cfg, tmp_path)
    for name, want in ref.state_dict().items():
        torch.testing.assert_close(got[name], want, rtol=0, atol=1e-6, msg=name)
    # the batch-norm scales are no weights of the penalty: their step is the data's
    linear = {f"layers.{i}.weight" for i, m in enumerate(ref.layers) if isinstance(m, nn.Linear)}
    for name, g in grads.items():
        if name.endswith("weight") and name not in linear:  # BatchNorm1d.weight (1 at start)
            torch.testing.assert_close(got[name], before[name] - eta * g, rtol=0, atol=1e-6)
            assert (got[name] - (before[name] - eta * (g + l2 * before[name]))).abs().min() \
                > 0.1
    # and the Linear weights' step is not the data's alone
    assert (got["layers.0.weight"] - (before["layers.0.weight"] - eta * data_grad)
            ).abs().max() > 1e-3


def test_batch_norm_run_with_adam_l1_and_l2_three_steps(tmp_path):
    l1, l2, lr = 0.02, 0.1, 0.05
    cfg = load("model.batch_norm=true", f"optimizer={{name: adam, lr: {lr}, l1: {l1}, "
               f"l2: {l2}}}", "train.epochs=3")
    ref, x, y = start(cfg)
    ref.train()
    optimizer = torch.optim.Adam(ref.parameters(), lr=lr)
    for _ in range(3):
        optimizer.zero_grad()
        (data_loss(ref, x, y) + hand_penalty(ref, l1, l2)).backward()
        optimizer.step()
    _, got = trained(cfg, tmp_path)
    # a Linear bias before batch norm has a zero data gradient (the norm subtracts the
    # batch mean): what is left is rounding noise, which Adam scales to steps of about lr
    # in either direction, so those biases are left out (they carry no penalty either), and
    # with them the running means they shift; every other parameter and buffer is compared
    before_norm = {f"layers.{i}.bias" for i, m in enumerate(ref.layers[:-1])
                   if isinstance(m, nn.Linear) and isinstance(ref.layers[i + 1], nn.BatchNorm1d)}
    before_norm |= {f"layers.{i}.running_mean" for i, m in enumerate(ref.layers)
                    if isinstance(m, nn.BatchNorm1d)}
    assert len(before_norm) == 2
    for name, want in ref.state_dict().items():
        if name not in before_norm:
            torch.testing.assert_close(got[name], want, rtol=0, atol=1e-6, msg=name)


# --- what a run records ---------------------------------------------------------------------

@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_recorded_train_loss_is_the_data_loss(tmp_path, batch_norm):
    l1, l2 = 0.05, 2.0  # a penalty of the size of the loss, or larger
    cfg = load(f"model.batch_norm={str(batch_norm).lower()}", "train.epochs=1",
               f"optimizer={{name: sgd, lr: 0.1, l1: {l1}, l2: {l2}}}")
    ref, x, y = start(cfg)
    ref.train()
    with torch.no_grad():
        want = float(data_loss(ref, x, y))
        penalty = float(hand_penalty(ref, l1, l2))
    assert penalty > 0.1
    result, _ = trained(cfg, tmp_path)
    with open(result.path / "metrics.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert float(row["train_loss"]) == pytest.approx(want, rel=1e-5)
    assert abs(float(row["train_loss"]) - (want + penalty)) > 0.05


def test_a_negative_rate_is_one_line_exit_2(tmp_path, invoke):
    path = write(tmp_path / "neg.yaml", "task: {name: circle, count: 100}\n"
                                        "optimizer: {name: adam, l1: -1}\n")
    result = invoke("train", path, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "optimizer.l1" in lines[0] and ">= 0" in lines[0], lines
    assert not (tmp_path / "runs").exists()
    result = invoke("train", path, "--set", "optimizer.l1=0", "--set", "optimizer.l2=-0.5",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "optimizer.l2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- the effect -------------------------------------------------------------------------------

def test_a_large_l1_drives_most_weights_of_beans_to_zero(tmp_path):
    # measured (beans, 300 samples, hidden [8] tanh, adam lr 0.05, 300 epochs): mean |w|
    # 2.11 (seed 0) and 1.89 (seed 1) without l1; 0.31 and 0.32 with l1 0.05, where 81 % and
    # 62 % of the weights end below 0.01 (none without), the test accuracy 1.0 either way
    found = {}
    for l1 in (0.0, 0.05):
        cfg = config.load(None, ["task.name=beans", "task.count=300", "model.hidden=[8]",
                                 "model.activation=tanh", "train.epochs=300",
                                 f"optimizer={{name: adam, lr: 0.05, l1: {l1}}}"])
        _, state = trained(cfg, tmp_path, f"l1_{l1}")
        w = torch.cat([v.flatten() for k, v in state.items() if k.endswith("weight")])
        found[l1] = (float(w.abs().mean()), float((w.abs() < 1e-2).double().mean()))
    assert found[0.0][0] >= 3 * found[0.05][0], found
    assert found[0.05][1] >= 0.4 and found[0.0][1] <= 0.1, found
