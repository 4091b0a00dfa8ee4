"""The names the command line completes, without importing the registries (and torch).

Shell completion runs actcli on every Tab press, so it must answer in well under half a
second: these tuples are the registries' names written out, and a test checks they match.
"""

from __future__ import annotations

from collections.abc import Iterable

ACTIVATIONS = ("step", "identity", "sigmoid", "hard_sigmoid", "tanh", "hardtanh", "relu",
               "relu6", "leaky_relu", "prelu", "elu", "celu", "selu", "gelu", "silu", "mish",
               "softplus", "softsign", "hardswish", "logsigmoid", "swish_beta", "rational",
               "softmax")
LOSSES = ("mae", "mse", "smooth_l1", "bce", "bce_with_logits", "cross_entropy", "nll")
INITS = ("uniform", "normal", "zeros", "ones", "constant", "xavier_uniform", "xavier_normal",
         "kaiming_uniform", "kaiming_normal", "orthogonal", "default")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
TASKS = ("rice_cooker", "beans", "fashion_mnist")
SURFACES = ("bowl", "saddle", "himmelblau", "rosenbrock", "rastrigin")
LIST_KINDS = ("activations", "losses", "inits", "optimizers", "tasks", "surfaces", "configs")

# config keys --set takes (the sections' own keys; options of components and tasks too)
KEYS = ("name", "task", "task.name", "task.scale", "task.test_fraction", "task.seed",
        "task.threshold", "task.t_min", "task.t_max", "task.step", "task.count", "task.noise",
        "task.data_dir", "task.download", "task.val_size", "task.normalize",
        "task.limit_train", "task.limit_test", "model.kind", "model.channels", "model.hidden",
        "model.dropout", "model.batch_norm", "model.activation", "model.output", "model.init",
        "loss", "optimizer", "optimizer.name", "optimizer.lr", "optimizer.momentum",
        "optimizer.weight_decay", "train.epochs", "train.batch_size", "train.seed",
        "train.lr_schedule", "train.checkpoint_every", "train.checkpoint_seconds",
        "train.log_every", "device", "log.tensorboard")
VALUES = {  # what a key's value may be, where it is one of a few names
    "task": TASKS, "task.name": TASKS, "model.activation": ACTIVATIONS, "loss": LOSSES,
    "model.init": INITS, "optimizer": OPTIMIZERS, "optimizer.name": OPTIMIZERS,
    "model.output": ("sigmoid", "softmax", "identity"), "model.kind": ("mlp", "cnn"),
    "train.lr_schedule": ("constant", "cosine"), "device": ("auto", "cpu", "cuda", "mps"),
    "task.scale": ("standard", "minmax", "none"), "model.batch_norm": ("true", "false"),
    "log.tensorboard": ("true", "false"),
}


def starting(incomplete: str, choices: Iterable[str]) -> list[str]:
    return [c for c in choices if c.startswith(incomplete)]


def complete_activation(incomplete: str) -> list[str]:
    return starting(incomplete, ACTIVATIONS)


def complete_surface(incomplete: str) -> list[str]:
    return starting(incomplete, SURFACES)


def complete_kind(incomplete: str) -> list[str]:
    return starting(incomplete, LIST_KINDS)


def complete_config(incomplete: str) -> list[str]:
    """Shipped config names and the YAML files here that start with ``incomplete``."""
    from pathlib import Path

    from actcli.config import shipped

    here = Path(incomplete).parent if "/" in incomplete else Path(".")
    files = sorted(str(p) if "/" in incomplete else p.name
                   for p in here.glob("*.y*ml") if p.is_file())
    return starting(incomplete, [*shipped.names(), *files])


def complete_set(incomplete: str) -> list[str]:
    """``--set``: a key (ending in ``=``), then the names its value may take."""
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [f"{k}=" for k in starting(key, KEYS)]
    return [f"{key}={v}" for v in starting(value, VALUES.get(key, ()))]
