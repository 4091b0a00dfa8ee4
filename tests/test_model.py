"""The network a model config builds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from actcli import config
from actcli.engine import model


def build(*overrides, n_in=1, n_out=1):
    cfg = config.load(None, list(overrides))
    return model.build(cfg.model, (n_in,), n_out)


def test_one_neuron_is_sigmoid_of_a_t_plus_b():
    net = build()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 1 and sum(p.numel() for p in net.parameters()) == 2
    a, b = linears[0].weight.item(), linears[0].bias.item()
    t = torch.tensor([[0.3], [-1.2]])
    torch.testing.assert_close(net.output(net(t)), torch.sigmoid(a * t + b))


def test_hidden_layers_activations_and_sizes():
    net = build("model.hidden=[8, 4]", "model.activation=[relu, tanh]", n_in=3, n_out=1)
    kinds = [type(m) for m in net.layers]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.Tanh, nn.Linear]
    assert sum(p.numel() for p in net.parameters()) == (3 * 8 + 8) + (8 * 4 + 4) + (4 + 1)


def test_activation_options_reach_the_module():
    net = build("model.hidden=[2]", "model.activation={name: leaky_relu, negative_slope: 0.2}")
    assert net.layers[1].negative_slope == 0.2


def test_init_per_layer():
    net = build("model.hidden=[2]", "model.init=[zeros, {name: constant, value: 3}]")
    assert torch.equal(net.layers[0].weight, torch.zeros(2, 1))
    assert torch.equal(net.layers[2].weight, torch.full((1, 2), 3.0))
    assert torch.equal(net.layers[2].bias, torch.full((1,), 3.0))


def test_softmax_output_for_classes():
    net = build("task=beans", "model.hidden=[5]", "model.output=identity",
                "loss=bce_with_logits", n_in=4, n_out=3)
    assert net(torch.zeros(2, 4)).shape == (2, 3)


def test_cnn_weights_are_channels_last_and_compute_the_same():
    cfg = config.load(None, ["task.name=fashion_mnist", "model.kind=cnn", "model.channels=[4, 6]",
                             "model.hidden=[8]", "model.output=softmax", "loss=cross_entropy"])
    net = model.build(cfg.model, (1, 28, 28), 10)
    second = [m for m in net.layers if isinstance(m, nn.Conv2d)][1]  # 4 in-channels
    assert second.weight.is_contiguous(memory_format=torch.channels_last)
    assert not second.weight.is_contiguous()
    plain = model.build(cfg.model, (1, 28, 28), 10)
    plain.load_state_dict(net.state_dict())
    plain.to(memory_format=torch.contiguous_format)
    assert [m for m in plain.layers if isinstance(m, nn.Conv2d)][1].weight.is_contiguous()
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(x), plain(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("overrides", [
    [], ["model.hidden=[8, 4]"], ["model.hidden=[5]", "model.batch_norm=true"],
    ["model.hidden=[6, 3]", "model.activation=[prelu, relu]"],
    ["model.kind=cnn", "model.channels=[4, 6]", "model.hidden=[7]"],
    ["model.kind=cnn", "model.channels=[3]", "model.batch_norm=true",
     "model.activation=[prelu, tanh]", "model.hidden=[5]"],
])
def test_parameter_count_without_building_matches_the_built_network(overrides):
    task = "fashion_mnist" if "model.kind=cnn" in overrides else "beans"
    cfg = config.load(None, [f"task={task}", *overrides,
                             *(["model.output=softmax", "loss=cross_entropy"]
                               if task == "fashion_mnist" else [])])
    shape, n_out = ((1, 28, 28), 10) if task == "fashion_mnist" else ((1,), 1)
    built = model.build(cfg.model, shape, n_out)
    assert model.parameter_count(cfg.model, shape, n_out) == sum(
        p.numel() for p in built.parameters())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_has_the_distribution_of_torchs(p):
    x = torch.ones(200_000)
    ours, theirs = model.Dropout(p).train(), torch.nn.Dropout(p).train()
    torch.manual_seed(0)
    a = ours(x)
    torch.manual_seed(1)
    b = theirs(x)
    for out in (a, b):
        kept = out[out != 0]
        assert torch.all(kept == 1 / (1 - p))  # survivors scaled by 1/(1-p)
        sigma = (p * (1 - p) / len(x)) ** 0.5
        assert abs((out == 0).float().mean().item() - p) < 5 * sigma  # each unit dropped w.p. p
    assert abs(a.mean().item() - b.mean().item()) < 10 * (p / (1 - p) / len(x)) ** 0.5
    assert torch.equal(ours.eval()(x), x) and torch.equal(theirs.eval()(x), x)
