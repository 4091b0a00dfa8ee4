"""Diagnostics: dead and saturated units by construction, gradient norms against autograd."""

from __future__ import annotations

import torch

from actcli import config
from actcli.components import losses
from actcli.engine import diagnostics, model
from actcli.engine.diagnostics import measure

from helpers import CONFIGS


def build(*overrides):
    cfg = config.load(CONFIGS / "beans.yaml", list(overrides))
    net = model.build(cfg.model, (1,), 1)
    return net, losses.objective(cfg.loss, net.output, 1)


X = torch.linspace(-1, 1, 64).unsqueeze(1)
Y = (X > 0).float()


def test_relu_units_with_a_huge_negative_bias_are_dead():
    net, objective = build("model.hidden=[6, 4]", "model.activation=relu")
    with torch.no_grad():
        net.layers[0].bias[:3] = -100.0  # 3 of 6 units never fire on inputs in [-1, 1]
    found = measure(net, objective, X, Y)
    assert found["dead/layer1"] == 0.5
    assert found["saturated/layer1"] == 0.5  # relu'(x) = 0 there too


def test_sigmoid_units_with_huge_weights_are_saturated_not_dead():
    net, objective = build("model.hidden=[4]", "model.activation=sigmoid")
    with torch.no_grad():
        net.layers[0].weight.fill_(1e4)
        net.layers[0].bias.fill_(5e3)  # pre-activation 1e4 x + 5e3: |.| >= 5e3 off x near -0.5
    x = torch.tensor([[-1.0], [0.0], [1.0]])
    found = measure(net, objective, x, (x > 0).float())
    assert found["saturated/layer1"] == 1.0 and found["dead/layer1"] == 0.0


def test_gradient_norms_match_autograd_in_eval_mode():
    net, objective = build("model.hidden=[5]", "model.activation=tanh", "model.dropout=0.5")
    net.train()
    found = measure(net, objective, X, Y)
    assert net.training  # mode restored
    net.eval()
    objective(net(X), Y).backward()
    assert found["grad_norm/layer1"] == net.layers[0].weight.grad.norm().item()
    assert found["grad_norm/layer2"] == net.layers[-1].weight.grad.norm().item()


def test_measuring_leaves_gradients_and_randomness_alone():
    net, objective = build("model.hidden=[5]", "model.dropout=0.5")
    objective(net(X), Y).backward()
    before = [p.grad.clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    measure(net, objective, X, Y)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(a, p.grad) for a, p in zip(before, net.parameters(), strict=True))


def test_every_run_writes_diagnostics(tmp_path):
    from actcli.training import driver

    result = driver.run(config.load(CONFIGS / "beans.yaml", [
        "model.hidden=[4, 3]", "model.activation=[relu, sigmoid]", "train.epochs=20"]), tmp_path)
    header = (result.path / "diagnostics.csv").read_text().splitlines()[0].split(",")
    assert header == ["epoch", "grad_norm/layer1", "grad_norm/layer2", "grad_norm/layer3",
                      "dead/layer1", "saturated/layer1", "dead/layer2", "saturated/layer2"]


def test_the_probe_spans_a_set_stored_in_order():
    # the rice cooker's temperatures are stored from 0 to 200 °C: its first 512 are all
    # below the switch (label 0); the probe is 512 of them evenly spaced over the range
    from actcli.config import shipped
    from actcli.training.parts import prepare

    p = prepare(config.load(shipped.resolve("rice_cooker")))
    x, y = p.probe
    train = p.train.x[:, 0]
    assert len(x) == diagnostics.PROBE
    assert x[0, 0] == train.min() and x[-1, 0] == train.max()
    assert set(y.flatten().tolist()) == {0.0, 1.0}
    assert abs(float(y.mean()) - float(p.train.y.mean())) < 0.01  # the set's share of 1s
    small = prepare(config.load(shipped.resolve("spiral")))  # 250 samples: all of them
    assert torch.equal(small.probe[0], small.train.x)
