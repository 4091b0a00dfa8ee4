"""Builds the network a config's ``model`` section describes: an MLP or a small CNN."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components import Ref, activations, initializers


class Dropout(nn.Module):
    """Inverted dropout: zero each unit with probability ``p`` while training, scale by 1/(1-p).

    Same distribution as ``nn.Dropout``; draws its mask with ``rand_like`` (about twice as
    fast as ``bernoulli_`` on CPUs).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        return x * (torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def per_layer(value: Ref | tuple[Ref, ...], count: int) -> tuple[Ref, ...]:
    """One Ref for each of ``count`` layers: a list as given, a single Ref repeated."""
    return value if isinstance(value, tuple) else (value,) * count


class Network(nn.Module):
    """[conv blocks] -> flatten -> hidden dense blocks -> output layer; forward gives logits.

    A conv block is Conv2d(3x3, same padding) [-> BatchNorm2d] -> activation -> MaxPool2d(2);
    a dense block is Linear [-> BatchNorm1d] -> activation [-> Dropout]. ``output`` is the
    output activation; losses read logits or output as they need (components.losses).
    """

    def __init__(self, input_shape: tuple[int, ...], n_outputs: int, *, kind: str = "mlp",
                 channels: list[int] | None = None, hidden: list[int] | None = None,
                 activation: Ref | tuple[Ref, ...], output: str,
                 init: Ref | tuple[Ref, ...], dropout: float = 0.0,
                 batch_norm: bool = False) -> None:
        super().__init__()
        convs = list(channels or []) if kind == "cnn" else []
        dense = list(hidden or [])
        acts = iter(per_layer(activation, len(convs) + len(dense)))
        inits = iter(per_layer(init, len(convs) + len(dense) + 1))
        layers: list[nn.Module] = []
        shape = input_shape
        for width in convs:  # (N, C, H, W) -> (N, width, H/2, W/2)
            conv = nn.Conv2d(shape[0], width, kernel_size=3, padding=1)
            layers += self._block(conv, next(inits), next(acts), batch_norm, nn.BatchNorm2d,
                                  width)
            layers.append(nn.MaxPool2d(2))
            shape = (width, shape[1] // 2, shape[2] // 2)
        if len(shape) > 1:
            layers.append(nn.Flatten())
        features = int(torch.tensor(shape).prod())
        for width in dense:
            layers += self._block(nn.Linear(features, width), next(inits), next(acts),
                                  batch_norm, nn.BatchNorm1d, width)
            if dropout:
                layers.append(Dropout(dropout))
            features = width
        last = nn.Linear(features, n_outputs)
        initializers.apply(next(inits), last.weight, last.bias)
        layers.append(last)
        self.layers = nn.Sequential(*layers)
        self.output = activations.build(output)
        if convs:
            # channels-last weights steer the convolutions (and pooling) to oneDNN's NHWC
            # kernels: about 1.4x faster CNN training on CPU than the default layout
            self.to(memory_format=torch.channels_last)

    @staticmethod
    def _block(layer: nn.Conv2d | nn.Linear, init: Ref, act: Ref, batch_norm: bool,
               norm: type[nn.Module], width: int) -> list[nn.Module]:
        initializers.apply(init, layer.weight, layer.bias)
        modules: list[nn.Module] = [layer]
        if batch_norm:
            modules.append(norm(width))
        # one value per unit (per_unit learned parameters): per output of a dense layer,
        # per channel of a conv layer
        units = (width,) if isinstance(layer, nn.Linear) else (width, 1, 1)
        modules.append(activations.make(act, units))
        return modules

    def forward(self, x: Tensor) -> Tensor:  # (N, *input_shape) -> logits (N, n_outputs)
        return self.layers(x)


def parameter_count(model: Any, input_shape: tuple[int, ...], n_outputs: int) -> int:
    """Parameters the network of a ``ModelConfig`` has, computed without building it."""
    shape = input_shape
    total = 0
    convs = list(model.channels) if model.kind == "cnn" else []
    for width in convs:
        total += width * shape[0] * 9 + width + (2 * width if model.batch_norm else 0)
        shape = (width, shape[1] // 2, shape[2] // 2)
    features = math.prod(shape)
    for width in model.hidden:
        total += (features + 1) * width + (2 * width if model.batch_norm else 0)
        features = width
    # learned activations: prelu's slope, swish_beta's beta, rational's coefficients, ...
    acts = per_layer(model.activation, model.hidden_layers)
    learned = sum(activations.learned_count(ref, units) for ref, units in
                  zip(acts, [*convs, *model.hidden], strict=True))
    return total + (features + 1) * n_outputs + learned


def build(model: Any, input_shape: tuple[int, ...], n_outputs: int) -> Network:
    """The network for a ``ModelConfig`` on a task with this sample shape and output size."""
    return Network(input_shape, n_outputs, kind=model.kind, channels=list(model.channels),
                   hidden=list(model.hidden), activation=model.activation, output=model.output,
                   init=model.init, dropout=model.dropout, batch_norm=model.batch_norm)


def hidden_outputs(net: Network, x: Tensor) -> list[Tensor]:
    """Each hidden dense layer's output (after its activation; no dropout) for inputs
    ``x``: one (N, units) tensor per layer, in order. The network is put in eval mode."""
    net.eval()
    found: list[Tensor] = []
    modules = list(net.layers)
    with torch.inference_mode():
        h = x.to(next(net.parameters()).device)
        for i, module in enumerate(modules[:-1]):
            h = module(h)
            follows = modules[i - 1] if i else None
            if isinstance(follows, nn.Linear | nn.BatchNorm1d) and \
                    not isinstance(module, nn.BatchNorm1d) and h.dim() == 2:
                found.append(h.detach().cpu())
    return found
