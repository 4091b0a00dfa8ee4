"""Optimizer steps worked out by hand on one weight."""

from __future__ import annotations

import pytest
import torch

from actcli.components import parse_ref
from actcli.components.optimizers import OPTIMIZERS, build, check_params
from actcli.errors import ConfigError


def steps(name, grads, w0=1.0, **params):
    """Apply the optimizer to one weight with the given gradients; return the weights."""
    w = torch.nn.Parameter(torch.tensor([w0], dtype=torch.float64))
    opt = build(parse_ref(OPTIMIZERS, {"name": name, **params}, check_params), [w])
    out = []
    for g in grads:
        opt.zero_grad()
        (w * g).sum().backward()  # dL/dw = g
        opt.step()
        out.append(w.item())
    return out


def test_sgd_is_w_minus_lr_g():
    assert steps("sgd", [2.0, -1.0], lr=0.1) == pytest.approx([0.8, 0.9])


def test_sgd_momentum_by_hand():
    # v1 = g1 = 2; w = 1 - 0.1*2 = 0.8; v2 = 0.9*2 + 1 = 2.8; w = 0.8 - 0.28 = 0.52
    assert steps("sgd", [2.0, 1.0], lr=0.1, momentum=0.9) == pytest.approx([0.8, 0.52])


def test_sgd_nesterov_by_hand():
    # v1 = 2; step g + m v = 2 + 1.8 = 3.8 -> 0.62; v2 = 1.8 + 1 = 2.8; 1 + 2.52 = 3.52 -> 0.268
    assert steps("sgd", [2.0, 1.0], lr=0.1, momentum=0.9, nesterov=True) == pytest.approx(
        [0.62, 0.268])


def test_adam_first_step_is_lr_times_sign():
    # m_hat = g, v_hat = g^2: the step is lr * g / (|g| + eps)
    assert steps("adam", [5.0], lr=0.01)[0] == pytest.approx(1 - 0.01, abs=1e-9)
    assert steps("adamw", [-5.0], lr=0.01, weight_decay=0.0)[0] == pytest.approx(1.01, abs=1e-9)


def test_adamw_decays_the_weight():
    # decoupled: w = w (1 - lr wd) - lr sign(g)
    assert steps("adamw", [5.0], lr=0.01, weight_decay=0.5)[0] == pytest.approx(
        1 * (1 - 0.005) - 0.01, abs=1e-9)


def test_rmsprop_first_step():
    # s = (1 - a) g^2; w -= lr g / (sqrt(s) + eps)
    expected = 1 - 0.01 * 2 / ((0.01 * 4) ** 0.5 + 1e-8)
    assert steps("rmsprop", [2.0], lr=0.01)[0] == pytest.approx(expected)


def test_nesterov_without_momentum_is_rejected():
    with pytest.raises(ConfigError, match="nesterov needs momentum > 0"):
        parse_ref(OPTIMIZERS, {"name": "sgd", "nesterov": True}, check_params)


def test_lr_must_be_positive():
    with pytest.raises(ConfigError, match="must be > 0"):
        parse_ref(OPTIMIZERS, {"name": "adam", "lr": 0})
