"""The memory a training needs, checked before anything is allocated."""

from __future__ import annotations

from actcli import devices
from actcli.components import optimizers
from actcli.config import Config
from actcli.engine import model as model_mod
from actcli.tasks import TASKS


def check_memory(config: Config, models: int = 1) -> None:
    """Refuse, before allocating, training that cannot fit in the device's memory (one
    line, exit 2): weights, gradients, optimizer state and the best-model copy, plus a
    batch's activations; ``models`` times, for a stack of that many. Reads no data."""
    task = TASKS.get(config.task.name).task
    device = devices.resolve(config.device)
    input_shape, n_outputs = task.shape(config.task)
    params = model_mod.parameter_count(config.model, input_shape, n_outputs)
    copies = 3 + optimizers.state_copies(config.optimizer)
    batch = config.train.batch_size or task.train_size(config.task)
    per_sample = 3 * (sum(config.model.hidden) + n_outputs)
    shape = input_shape
    for width in config.model.channels if config.model.kind == "cnn" else []:
        per_sample += 3 * width * shape[1] * shape[2]
        shape = (width, shape[1] // 2, shape[2] // 2)
    needed = 4 * (params * copies + batch * per_sample) * models  # float32
    stack = f"a stack of {models} (compare --no-fuse trains them one by one) of " \
        if models > 1 else ""
    devices.require_memory(device, needed, f"training {stack}this network ({params:,} "
                           f"parameters, {config.optimizer.name}, batch {batch:,})")
