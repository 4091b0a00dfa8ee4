"""The loop: it learns, logs, batches, stops on NaN and is deterministic."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actcli.engine.loop import log_epochs

from helpers import epoch_alone, fit_alone


def problem(seed=0, n=64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=gen)
    y = (x > 0.2).float()
    torch.manual_seed(seed)
    net = nn.Linear(1, 1)
    return net, x, y


def bce(z, y):
    return nn.functional.binary_cross_entropy_with_logits(z, y)


def run(batch_size=None, epochs=50, seed=0, lr=0.5):
    net, x, y = problem(seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    return fit_alone(net, bce, opt, x, y, epochs=epochs, batch_size=batch_size,
               generator=torch.Generator().manual_seed(seed),
               evaluate=lambda: {"test_loss": float(bce(net(x), y).detach())}), net


def test_full_batch_step_is_plain_gradient_descent():
    net, x, y = problem()
    w0, b0 = net.weight.detach().clone(), net.bias.detach().clone()
    loss = bce(net(x), y)
    gw, gb = torch.autograd.grad(loss, [net.weight, net.bias])
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    reported, _ = epoch_alone(net, bce, opt, x, y, None, torch.Generator())
    assert reported == pytest.approx(loss.detach().item(), rel=1e-6)
    torch.testing.assert_close(net.weight, w0 - 0.1 * gw)
    torch.testing.assert_close(net.bias, b0 - 0.1 * gb)


def test_loss_goes_down_and_rows_are_logged():
    result, _ = run(epochs=100)
    assert result.status == "completed" and result.epochs == 100
    epochs = [row["epoch"] for row in result.history]
    assert epochs[0] == 1 and epochs[-1] == 100 and len(epochs) == 100
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]


def test_log_every_default_gives_about_200_rows():
    assert log_epochs(10000, None) == 50
    assert log_epochs(100, None) == 1
    assert log_epochs(100, 7) == 7


def test_minibatches_cover_every_sample_once():
    seen = []

    def objective(z, y):
        seen.append(len(y))
        return bce(z, y)

    net, x, y = problem(n=70)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    epoch_alone(net, objective, opt, x, y, 16, torch.Generator().manual_seed(0))
    assert seen == [16, 16, 16, 16, 6]


def test_same_seed_same_numbers():
    a, net_a = run(batch_size=8, seed=3)
    b, net_b = run(batch_size=8, seed=3)
    assert a.history == b.history
    assert torch.equal(net_a.weight, net_b.weight)


def test_non_finite_loss_stops_at_once():
    net, x, y = problem()
    opt = torch.optim.SGD(net.parameters(), lr=1e3)
    calls = []

    def objective(z, y):
        calls.append(1)
        return bce(z, y) * (math.inf if len(calls) >= 3 else 1.0)

    result = fit_alone(net, objective, opt, x, y, epochs=10, batch_size=None,
                 generator=torch.Generator(), evaluate=lambda: {})
    assert result.status == "diverged" and result.epochs == 2
    assert "epoch 3" in result.reason
    assert torch.isfinite(net.weight).all()  # the bad step was never taken


def test_training_accuracy_is_counted_on_the_fly():
    net, x, y = problem(n=40)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: weights stay, so we can check

    def correct(z, y):
        return ((z > 0).float() == y).sum()

    expected = ((net(x) > 0).float() == y).float().mean().item()
    _, accuracy = epoch_alone(net, bce, opt, x, y, 7, torch.Generator(), correct)
    assert accuracy == pytest.approx(expected)
