"""Builds the network a config's ``model`` section describes."""

from __future__ import annotations

from torch import Tensor, nn

from actcli.components import Ref, activations, initializers


def per_layer(value: Ref | tuple[Ref, ...], count: int) -> tuple[Ref, ...]:
    """One Ref for each of ``count`` layers: a list as given, a single Ref repeated."""
    return value if isinstance(value, tuple) else (value,) * count


class Network(nn.Module):
    """Linear layers with activations between them; ``forward`` returns the logits.

    ``output`` is the output activation (sigmoid, softmax or identity). Losses read the
    logits or the output as they need (see ``components.losses``); ``predict`` gives the
    output activation's values.
    """

    def __init__(self, n_inputs: int, hidden: list[int], n_outputs: int,
                 activation: Ref | tuple[Ref, ...], output: str,
                 init: Ref | tuple[Ref, ...]) -> None:
        super().__init__()
        widths = [n_inputs, *hidden, n_outputs]
        acts = per_layer(activation, len(hidden))
        inits = per_layer(init, len(hidden) + 1)
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            linear = nn.Linear(fan_in, fan_out)
            initializers.apply(inits[i], linear.weight, linear.bias)
            layers.append(linear)
            if i < len(hidden):
                layers.append(activations.build(acts[i].name, **acts[i].kwargs))
        self.layers = nn.Sequential(*layers)
        self.output = activations.build(output)

    def forward(self, x: Tensor) -> Tensor:  # (N, n_inputs) -> logits (N, n_outputs)
        return self.layers(x)

    def predict(self, x: Tensor) -> Tensor:
        return self.output(self.forward(x))


def build(model: object, n_inputs: int, n_outputs: int) -> Network:
    """The network for a ``ModelConfig`` on a task with these input and output sizes."""
    return Network(n_inputs, list(model.hidden), n_outputs, model.activation,  # type: ignore[attr-defined]
                   model.output, model.init)  # type: ignore[attr-defined]
