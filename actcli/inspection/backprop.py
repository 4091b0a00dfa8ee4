"""Backpropagation by hand: the classic 2-2-2 sigmoid network, chain rule beside autograd.

Inputs i1, i2; hidden units h1, h2 with weights w1..w4 and a shared bias b1; outputs
o1, o2 with weights w5..w8 and a shared bias b2; loss E = 1/2 sum (target - out)^2.
Every gradient is worked out as dE/dout * dout/dnet * dnet/dparam with plain floats,
then compared with torch autograd on the same network; then one SGD step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from actcli.errors import ConfigError

CLASSIC = {"inputs": (0.05, 0.10), "targets": (0.01, 0.99),
           "hidden_weights": (0.15, 0.20, 0.25, 0.30), "output_weights": (0.40, 0.45, 0.50, 0.55),
           "biases": (0.35, 0.60)}


@dataclass(frozen=True)
class Unit:
    name: str
    net: float
    out: float


@dataclass(frozen=True)
class Gradient:
    name: str  # w1..w8, b1, b2
    value: float  # before the step
    dE_dout: float | None  # None for the shared biases: their gradient is a sum
    dout_dnet: float | None
    dnet_dparam: float | None
    chain: float  # the product (or sum of products) by hand
    autograd: float
    updated: float  # after one SGD step


@dataclass(frozen=True)
class Backprop:
    units: list[Unit]
    loss: float
    gradients: list[Gradient]
    lr: float


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _check(name: str, values: tuple[float, ...], count: int) -> None:
    if len(values) != count:
        raise ConfigError(f"--{name.replace('_', '-')}: needs {count} numbers, got {len(values)}")


def compute(inputs: tuple[float, ...] = CLASSIC["inputs"],
            targets: tuple[float, ...] = CLASSIC["targets"],
            hidden_weights: tuple[float, ...] = CLASSIC["hidden_weights"],
            output_weights: tuple[float, ...] = CLASSIC["output_weights"],
            biases: tuple[float, ...] = CLASSIC["biases"], lr: float = 0.5) -> Backprop:
    """Forward pass, chain-rule gradients, autograd gradients and one SGD step."""
    for name, values, count in (("inputs", inputs, 2), ("targets", targets, 2),
                                ("hidden_weights", hidden_weights, 4),
                                ("output_weights", output_weights, 4), ("biases", biases, 2)):
        _check(name, values, count)
    if not lr > 0:
        raise ConfigError(f"--lr: must be > 0, got {lr}")
    i1, i2 = inputs
    t = targets
    w1, w2, w3, w4 = hidden_weights
    w5, w6, w7, w8 = output_weights
    b1, b2 = biases

    # forward, by hand
    net_h = (w1 * i1 + w2 * i2 + b1, w3 * i1 + w4 * i2 + b1)
    out_h = tuple(_sigmoid(n) for n in net_h)
    net_o = (w5 * out_h[0] + w6 * out_h[1] + b2, w7 * out_h[0] + w8 * out_h[1] + b2)
    out_o = tuple(_sigmoid(n) for n in net_o)
    loss = sum(0.5 * (t[k] - out_o[k]) ** 2 for k in range(2))

    # backward, by the chain rule
    dE_dout_o = tuple(-(t[k] - out_o[k]) for k in range(2))  # dE/dout_o
    dout_dnet_o = tuple(o * (1 - o) for o in out_o)  # sigmoid'
    delta_o = tuple(dE_dout_o[k] * dout_dnet_o[k] for k in range(2))  # dE/dnet_o
    w_out = ((w5, w6), (w7, w8))  # w_out[o][h]
    dE_dout_h = tuple(sum(delta_o[k] * w_out[k][h] for k in range(2)) for h in range(2))
    dout_dnet_h = tuple(o * (1 - o) for o in out_h)
    delta_h = tuple(dE_dout_h[h] * dout_dnet_h[h] for h in range(2))

    # weight -> (unit it feeds: (dE/dout, dout/dnet), dnet/dweight)
    factors = {
        "w1": (dE_dout_h[0], dout_dnet_h[0], i1), "w2": (dE_dout_h[0], dout_dnet_h[0], i2),
        "w3": (dE_dout_h[1], dout_dnet_h[1], i1), "w4": (dE_dout_h[1], dout_dnet_h[1], i2),
        "w5": (dE_dout_o[0], dout_dnet_o[0], out_h[0]),
        "w6": (dE_dout_o[0], dout_dnet_o[0], out_h[1]),
        "w7": (dE_dout_o[1], dout_dnet_o[1], out_h[0]),
        "w8": (dE_dout_o[1], dout_dnet_o[1], out_h[1]),
    }
    weights = dict(zip(("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2"),
                      (*hidden_weights, *output_weights, b1, b2), strict=True))
    by_hand = {name: a * b * c for name, (a, b, c) in factors.items()}
    by_hand["b1"] = delta_h[0] + delta_h[1]  # the bias is shared: dnet/db = 1 for both
    by_hand["b2"] = delta_o[0] + delta_o[1]

    auto = _autograd(inputs, targets, weights)
    gradients = [
        Gradient(name, weights[name], dE_dout, dout_dnet, dnet_dparam, by_hand[name],
                 auto[name], weights[name] - lr * by_hand[name])
        for name in weights
        for dE_dout, dout_dnet, dnet_dparam in [factors.get(name, (None, None, None))]
    ]
    units = [Unit("h1", net_h[0], out_h[0]), Unit("h2", net_h[1], out_h[1]),
             Unit("o1", net_o[0], out_o[0]), Unit("o2", net_o[1], out_o[1])]
    return Backprop(units, loss, gradients, lr)


def _autograd(inputs: tuple[float, ...], targets: tuple[float, ...],
              values: dict[str, float]) -> dict[str, float]:
    """The same network in torch (float64); autograd's dE/dparam for every parameter."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    i = torch.tensor(inputs, dtype=torch.float64)
    t = torch.tensor(targets, dtype=torch.float64)
    hidden = torch.sigmoid(torch.stack([p["w1"] * i[0] + p["w2"] * i[1] + p["b1"],
                                        p["w3"] * i[0] + p["w4"] * i[1] + p["b1"]]))
    out = torch.sigmoid(torch.stack([p["w5"] * hidden[0] + p["w6"] * hidden[1] + p["b2"],
                                     p["w7"] * hidden[0] + p["w8"] * hidden[1] + p["b2"]]))
    loss = 0.5 * ((t - out) ** 2).sum()
    grads = torch.autograd.grad(loss, list(p.values()))
    return {k: float(g) for k, g in zip(p, grads, strict=True)}
