"""Which cells of a compare train together in one stack, and how long a stack takes.

:func:`stack_key` says which configs can share a stack: same task and data, same layer
shapes, output, loss, batch size, epochs, schedule and logging. They may differ in
activation (per layer), initializer, seed, dropout rate and optimizer (sgd, adam, adamw,
rmsprop, with any options): the stack holds all of these per model. The planning side of
a compare decides the stacks (``actcli.sweep.planning``); ``actcli.training.driver.run_stack``
trains one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from actcli.config import Config, to_dict
from actcli.engine.stack_optim import STACKED

# per model, not part of the stack's key
PER_MODEL = ("name", "compare", "log", "train.seed", "model.activation", "model.init",
             "model.dropout", "optimizer")


def stack_key(config: Config) -> str | None:
    """Configs with equal keys can train in one stack; None: this config trains alone
    (a CNN, batch norm, an optimizer other than those of :data:`STACKED`). A learned
    activation (prelu) stacks: its parameters are per model, like the weights."""
    model = config.model
    if model.kind != "mlp" or model.batch_norm:
        return None
    if config.optimizer.name not in STACKED:
        return None
    document = to_dict(config)
    for key in PER_MODEL:
        *parents, last = key.split(".")
        node = document
        for part in parents:
            node = node.get(part, {})
        node.pop(last, None)
    return json.dumps(document, sort_keys=True)


# Splitting a stack between worker processes pays when each part trains well over what
# starting a worker costs here (importing torch and actcli, about 3 s): measured with
# benchmarks/compare_speed.py (compare_beans, about 2 s of training, runs faster as one
# stack; eleven Fashion-MNIST MLPs for 3 epochs, about 30 s, faster split in two).
SPLIT_SECONDS = 10.0
FLOPS = 5e10  # multiply-adds x 2 per second one core does here in float32 matrix products


def seconds_estimate(config: Config, models: int) -> float:
    """A rough time for ``models`` runs of ``config`` in one stack on one core: their
    matrix products' arithmetic (forward and backward, about 6 flops per parameter and
    sample) over every epoch."""
    from actcli.engine import model as model_mod
    from actcli.tasks import TASKS

    task = TASKS.get(config.task.name).task
    parameters = model_mod.parameter_count(config.model, *task.shape(config.task))
    samples = task.train_size(config.task) * config.train.epochs
    return 6 * parameters * samples * models / FLOPS


def groups(configs: Sequence[Config]) -> list[list[int]]:
    """Indices of the ``configs`` that can train together, one list per stack key, in
    first-seen order (a list of one where a config is the only one of its key); configs
    that cannot join a stack are in none."""
    found: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        key = stack_key(config)
        if key is not None:
            found.setdefault(key, []).append(i)
    return list(found.values())
