"""The hand-written dense step against autograd: same losses, same weights, same masks."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from actcli import config
from actcli.components import Ref, losses, optimizers
from actcli.components.activations import ACTIVATIONS
from actcli.engine import model
from actcli.engine.autograd import AutogradStep, DenseStep, dense_layers, step_for
from actcli.engine.loop import train_epoch

HIDDEN = [spec.name for spec in ACTIVATIONS if spec.hidden and spec.name != "prelu"]


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


def twin_runs(overrides: list[str], n_out: int, steps: int = 4, optimizer: str = "sgd"):
    """The same network trained ``steps`` batches by autograd and by the dense step."""
    cfg, net, objective = build(*overrides, n_out=n_out)
    twin = copy.deepcopy(net)
    dense = DenseStep(twin, objective, losses.logit_gradient(cfg.loss))
    auto = AutogradStep(net, objective)
    opt_auto = optimizers.build(config.load(None, [f"optimizer={optimizer}"]).optimizer,
                                auto.parameters())
    opt_dense = optimizers.build(config.load(None, [f"optimizer={optimizer}"]).optimizer,
                                 dense.parameters())
    x, y = data(6, n_out)
    net.train()
    twin.train()
    for i in range(steps):
        xb, yb = x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
        torch.manual_seed(100 + i)  # the same dropout draws for both
        loss_a, z_a = auto(opt_auto, xb, yb)  # type: ignore[misc]
        torch.manual_seed(100 + i)
        loss_d, z_d = dense(opt_dense, xb, yb)  # type: ignore[misc]
        torch.testing.assert_close(loss_d, loss_a, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(z_d, z_a, rtol=1e-5, atol=1e-5)
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


def test_closed_form_cross_entropy_gradient_is_autograds():
    gradient = losses.logit_gradient(Ref("loss", "cross_entropy"))
    assert gradient is not None
    z = torch.randn(16, 5, generator=torch.Generator().manual_seed(0)) * 3
    y = torch.arange(16) % 5
    leaf = z.clone().requires_grad_()
    expected = nn.functional.cross_entropy(leaf, y)
    (g,) = torch.autograd.grad(expected, leaf)
    loss, grad = gradient(z.clone(), y)
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(grad, g)
    # softmax minus one-hot, over the batch size, written out for one row
    p = torch.softmax(z[0], dim=0)
    p[y[0]] -= 1
    torch.testing.assert_close(grad[0], p / 16)
    assert losses.logit_gradient(Ref("loss", "mse")) is None


@pytest.mark.parametrize(("overrides", "dense"), [
    ([], True),  # one neuron: rice_cooker's network
    (["model.hidden=[8, 4]", "model.dropout=0.2"], True),
    (["model.hidden=[8]", "model.batch_norm=true"], False),
    (["model.hidden=[8]", "model.activation=prelu"], False),
])
def test_which_networks_take_the_dense_step(overrides, dense):
    _, net, objective = build(*overrides, n_out=1)
    assert (dense_layers(net) is not None) is dense
    assert isinstance(step_for(net, objective), DenseStep if dense else AutogradStep)


def test_cnn_takes_autograd():
    cfg = config.load(None, ["task.name=fashion_mnist", "model.kind=cnn", "model.channels=[4]",
                             "model.hidden=[8]", "model.output=softmax", "loss=cross_entropy"])
    net = model.build(cfg.model, (1, 8, 8), 10)
    assert dense_layers(net) is None


def test_parameters_live_in_the_flat_tensor():
    _, net, objective = build("model.hidden=[5]", n_out=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    step = DenseStep(net, objective)
    assert step.flat.numel() == sum(p.numel() for p in net.parameters())
    for k, v in net.state_dict().items():  # values kept when moved
        assert torch.equal(v, before[k])
    net.load_state_dict({k: torch.zeros_like(v) for k, v in before.items()})
    assert torch.count_nonzero(step.flat) == 0  # loading writes through to the flat tensor
    with torch.no_grad():
        step.flat.fill_(2.0)
    assert all(torch.all(p == 2.0) for p in net.parameters())


def test_a_non_finite_step_is_skipped():
    cfg, net, objective = build("model.hidden=[5]", "loss=bce_with_logits", n_out=1)
    step = DenseStep(net, objective)
    opt = optimizers.build(cfg.optimizer, step.parameters())
    before = step.flat.detach().clone()
    x = torch.full((4, 6), float("inf"))
    assert step(opt, x, torch.ones(4, 1)) is None
    assert torch.equal(step.flat.detach(), before)


def test_an_optimizer_over_the_wrong_tensors_is_refused():
    cfg, net, objective = build("model.hidden=[5]", n_out=1)
    step = DenseStep(net, objective)
    opt = optimizers.build(cfg.optimizer, net.parameters())  # not step.parameters()
    x, y = data(6, 1)
    with pytest.raises(ValueError, match="step.parameters"):
        train_epoch(step, opt, x, y, 8, torch.Generator())
