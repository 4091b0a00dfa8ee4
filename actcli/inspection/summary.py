"""What a config builds: one row per layer with its output shape, parameters and parts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from actcli import devices
from actcli.components.texts import short_activation
from actcli.config import Config
from actcli.engine import model as model_mod
from actcli.tasks import TASKS


@dataclass(frozen=True)
class Row:
    layer: str  # e.g. "Linear(784 -> 256)"
    output_shape: tuple[int, ...]  # for one sample
    parameters: int
    note: str  # initializer of a weight layer, or the activation


@dataclass(frozen=True)
class Summary:
    rows: list[Row]
    total: int
    trainable: int
    input_shape: tuple[int, ...]


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features} -> {module.out_features})"
    if isinstance(module, nn.Conv2d):
        k = "x".join(map(str, module.kernel_size))
        return f"Conv2d({module.in_channels} -> {module.out_channels}, {k})"
    return type(module).__name__


def summarize(config: Config) -> Summary:
    """The network ``config`` builds, run once on a zero sample to read every shape."""
    task = TASKS.get(config.task.name).task
    input_shape, n_outputs = task.shape(config.task)
    params = model_mod.parameter_count(config.model, input_shape, n_outputs)
    devices.require_memory(torch.device("cpu"), 4 * params,
                           f"building this network ({params:,} parameters)")
    net = model_mod.build(config.model, input_shape, n_outputs).eval()
    weights = [m for m in net.layers if isinstance(m, nn.Linear | nn.Conv2d)]
    inits = model_mod.per_layer(config.model.init, len(weights))
    init_of = {id(m): ref.name for m, ref in zip(weights, inits, strict=True)}
    shapes: dict[int, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(
        lambda mod, _inp, out: shapes.__setitem__(id(mod), tuple(out.shape[1:])))
        for m in net.layers]
    with torch.inference_mode():
        net(torch.zeros(1, *input_shape))
    for hook in hooks:
        hook.remove()
    acts = iter(model_mod.per_layer(config.model.activation, config.model.hidden_layers))
    rows = []
    for module in net.layers:
        count = sum(p.numel() for p in module.parameters())
        if id(module) in init_of:
            note = f"init {init_of[id(module)]}"
        elif isinstance(module, model_mod.Dropout):
            note = f"dropout p={module.p}"
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            note = "batch norm"
        elif isinstance(module, nn.Flatten | nn.MaxPool2d):
            note = ""
        else:  # an activation: as the config names it (a formula, a reference, a name)
            layer = short_activation(next(acts))
            note = "activation, learned" if count else "activation"
            rows.append(Row(layer, shapes[id(module)], count, note))
            continue
        rows.append(Row(_describe(module), shapes[id(module)], count, note))
    rows.append(Row(f"output: {config.model.output}", (n_outputs,), 0, "output activation"))
    total = sum(p.numel() for p in net.parameters())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return Summary(rows, total, trainable, input_shape)
