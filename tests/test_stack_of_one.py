"""A run alone of a plain MLP is a stack of one: it trains as torch autograd does (same losses,
same weights, same dropout masks), for every activation, loss and optimizer."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from actcli import config
from actcli.components import losses, optimizers
from actcli.components.activations import ACTIVATIONS
from actcli.engine import model
from actcli.engine.autograd import AutogradEngine, AutogradStep
from actcli.engine.dense import DenseEngine
from actcli.engine.stack import dense_layers

HIDDEN = [spec.name for spec in ACTIVATIONS if spec.hidden]  # prelu too: learned per model


def build(*overrides: str, n_in: int = 6, n_out: int = 10):
    task = ["task.name=fashion_mnist"] if n_out > 1 else []  # ten classes, else one unit
    cfg = config.load(None, task + list(overrides))
    net = model.build(cfg.model, (n_in,), n_out)
    objective = losses.objective(cfg.loss, net.output, n_out)
    return cfg, net, objective


def data(n_in: int, n_out: int, n: int = 32):
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(n, n_in, generator=gen) * 2
    y = (torch.randint(0, n_out, (n,), generator=gen) if n_out > 1
         else torch.randint(0, 2, (n, 1), generator=gen).float())
    return x, y


def engine_of(cfg, net, n_out: int, seed: int = 100) -> DenseEngine:
    """A stack of one over ``net``, its dropout drawn from a generator seeded ``seed``."""
    return DenseEngine([net], [cfg.optimizer], cfg.loss, net.output, n_out, net.output,
                       epochs=1, cosine=False,
                       generators=[torch.Generator().manual_seed(seed)])


def twin_runs(overrides: list[str], n_out: int, steps: int = 4, optimizer: str = "sgd"):
    """The same network trained ``steps`` batches by autograd and as a stack of one."""
    cfg, net, objective = build(*overrides, f"optimizer={optimizer}", n_out=n_out)
    twin = copy.deepcopy(net)
    auto = AutogradStep(net, objective)
    opt_auto = optimizers.build(cfg.optimizer, net.parameters())
    dense = engine_of(cfg, twin, n_out)
    alive = torch.ones(1, dtype=torch.bool)
    x, y = data(6, n_out)
    net.train()
    torch.manual_seed(100)  # autograd's dropout: the global stream, as the stack's seeded
    for i in range(steps):
        xb, yb = x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
        loss_a, z_a = auto(opt_auto, xb, yb)  # type: ignore[misc]
        saved = dense.stack.forward(xb, training=False, backward=False)  # before the step
        loss_d, _, finite = dense.batch(xb, yb, False, alive)
        assert finite is None  # a run alone: finite, checked inside the step
        torch.testing.assert_close(loss_d[0].double(), loss_a.double(), rtol=1e-5, atol=1e-6)
        if "model.dropout=0.3" not in overrides:  # logits without dropout: the same
            torch.testing.assert_close(saved.logits[0], z_a, rtol=1e-5, atol=1e-5)
    return net, twin


@pytest.mark.parametrize("activation", HIDDEN)
def test_every_hidden_activation_trains_as_autograd(activation):
    net, twin = twin_runs(["model.hidden=[7, 5]", f"model.activation={activation}",
                           "model.output=softmax", "loss=cross_entropy"], n_out=10)
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("loss", "output", "n_out"), [
    ("cross_entropy", "softmax", 10), ("nll", "softmax", 10), ("mse", "softmax", 10),
    ("smooth_l1", "identity", 10), ("bce", "sigmoid", 1), ("bce_with_logits", "sigmoid", 1),
    ("mae", "sigmoid", 1),
])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_losses_optimizers_and_dropout_match_autograd(loss, output, n_out, optimizer):
    net, twin = twin_runs(["model.hidden=[9, 5]", "model.activation=[relu, tanh]",
                           "model.dropout=0.3", f"model.output={output}", f"loss={loss}"],
                          n_out=n_out, optimizer=optimizer)
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("overrides", "dense"), [
    ([], True),  # one neuron: rice_cooker's network
    (["model.hidden=[8, 4]", "model.dropout=0.2"], True),
    (["model.hidden=[8]", "model.batch_norm=true"], False),
    (["model.hidden=[8]", "model.activation=prelu"], True),  # its slope is per model
])
def test_which_networks_train_in_the_dense_engine(overrides, dense):
    _, net, _ = build(*overrides, n_out=1)
    assert (dense_layers(net) is not None) is dense


def test_cnn_takes_autograd():
    cfg = config.load(None, ["task.name=fashion_mnist", "model.kind=cnn", "model.channels=[4]",
                             "model.hidden=[8]", "model.output=softmax", "loss=cross_entropy"])
    net = model.build(cfg.model, (1, 8, 8), 10)
    assert dense_layers(net) is None


def test_parameters_live_in_the_flat_tensor():
    cfg, net, _ = build("model.hidden=[5]", n_out=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    engine = engine_of(cfg, net, 1)
    flat = engine.stack.flat
    assert flat.numel() == sum(p.numel() for p in net.parameters())
    for k, v in net.state_dict().items():  # values kept when moved
        assert torch.equal(v, before[k])
    net.load_state_dict({k: torch.zeros_like(v) for k, v in before.items()})
    assert torch.count_nonzero(flat) == 0  # loading writes through to the flat tensor
    with torch.no_grad():
        flat.fill_(2.0)
    assert all(torch.all(p == 2.0) for p in net.parameters())
    # a stack of one's optimizer steps that one tensor
    (optimizer, _), = engine.optimizer.groups
    assert [p for g in optimizer.param_groups for p in g["params"]] == [flat]


def test_a_non_finite_step_is_skipped():
    cfg, net, _ = build("model.hidden=[5]", "loss=bce_with_logits", n_out=1)
    engine = engine_of(cfg, net, 1)
    before = engine.stack.flat.clone()
    x = torch.full((4, 6), float("inf"))
    alive = torch.ones(1, dtype=torch.bool)
    _, _, finite = engine.batch(x, torch.ones(4, 1), False, alive)
    assert not bool(finite[0])
    assert torch.equal(engine.stack.flat, before)


def test_prelu_learns_its_slope_in_the_stack_as_autograd_does():
    net, twin = twin_runs(["model.hidden=[7]", "model.activation=prelu"], n_out=1, steps=4,
                          optimizer="adam")
    (slope,) = [m.weight for m in net.modules() if isinstance(m, nn.PReLU)]
    (twin_slope,) = [m.weight for m in twin.modules() if isinstance(m, nn.PReLU)]
    assert not torch.equal(slope.detach(), torch.full_like(slope, 0.25))  # it moved
    torch.testing.assert_close(twin_slope, slope, rtol=1e-5, atol=1e-6)


def test_an_autograd_optimizer_over_other_tensors_is_refused():
    cfg, net, objective = build("model.hidden=[5]", n_out=1)
    other = nn.Linear(2, 2)
    opt = optimizers.build(cfg.optimizer, other.parameters())
    with pytest.raises(ValueError, match="network's parameters"):
        AutogradEngine(net, objective, opt)
