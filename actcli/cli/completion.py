"""The names the command line completes, without importing the registries (and torch).

Shell completion runs actcli on every Tab press, so it must answer in well under half a
second: these tuples are the registries' names written out, and a test checks they match.
Inside a formula (``plot "x * tanh(soft``, ``--set model.activation=x*sig``) the word
being typed completes to a formula function or a built-in activation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ACTIVATIONS = ("step", "identity", "sigmoid", "hard_sigmoid", "tanh", "hardtanh", "relu",
               "relu6", "leaky_relu", "prelu", "elu", "celu", "selu", "gelu", "silu", "mish",
               "softplus", "softsign", "hardswish", "logsigmoid", "swish_beta", "rational",
               "softmax")
LOSSES = ("mae", "mse", "smooth_l1", "bce", "bce_with_logits", "cross_entropy", "nll")
INITS = ("uniform", "normal", "zeros", "ones", "constant", "xavier_uniform", "xavier_normal",
         "kaiming_uniform", "kaiming_normal", "orthogonal", "default")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
TASKS = ("rice_cooker", "beans", "fashion_mnist", "circle", "xor", "gauss", "spiral", "moons",
         "reg_plane", "reg_gauss", "table")
# what a formula may call besides the activations (components/formula.py FUNCTIONS)
FORMULA_FUNCTIONS = ("exp", "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "tanh",
                     "sigmoid", "softplus", "relu", "erf", "min", "max", "clamp", "where")
SURFACES = ("bowl", "saddle", "himmelblau", "rosenbrock", "rastrigin")
LIST_KINDS = ("activations", "losses", "inits", "optimizers", "tasks", "surfaces", "configs")

# config keys --set takes (the sections' own keys; options of components and tasks too)
KEYS = ("name", "task", "task.name", "task.scale", "task.test_fraction", "task.seed",
        "task.threshold", "task.t_min", "task.t_max", "task.step", "task.count", "task.noise",
        "task.data_dir", "task.download", "task.val_size", "task.normalize",
        "task.limit_train", "task.limit_test", "model.kind", "model.channels", "model.hidden",
        "model.dropout", "model.batch_norm", "model.activation", "model.output", "model.init",
        "loss", "optimizer", "optimizer.name", "optimizer.lr", "optimizer.momentum",
        "optimizer.weight_decay", "optimizer.l1", "optimizer.l2", "train.epochs",
        "train.batch_size", "train.seed",
        "train.lr_schedule", "train.checkpoint_every", "train.checkpoint_seconds",
        "train.log_every", "train.precision", "device", "log.tensorboard",
        "task.features", "task.path", "task.target", "task.kind",
        "task.val_fraction")
VALUES = {  # what a key's value may be, where it is one of a few names
    "task": TASKS, "task.name": TASKS, "model.activation": ACTIVATIONS, "loss": LOSSES,
    "model.init": INITS, "optimizer": OPTIMIZERS, "optimizer.name": OPTIMIZERS,
    "model.output": ("sigmoid", "softmax", "identity"), "model.kind": ("mlp", "cnn"),
    "train.lr_schedule": ("constant", "cosine"), "train.precision": ("fp32", "tf32", "bf16"),
    "device": ("auto", "cpu", "cuda", "mps"),
    "task.scale": ("standard", "minmax", "none"), "model.batch_norm": ("true", "false"),
    "log.tensorboard": ("true", "false"),
}


def starting(incomplete: str, choices: Iterable[str]) -> list[str]:
    return [c for c in choices if c.startswith(incomplete)]


_LAST_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_BEFORE_A_CALL = "( ,+-*/<>=!"  # what a function's name may follow in a formula


def in_formula(incomplete: str) -> list[str]:
    """``incomplete`` as a formula being typed (it holds a parenthesis, a space or an
    operator): the formula functions and built-in activations its last word starts,
    the text before that word kept. Nothing where the last word follows no operator."""
    found = _LAST_WORD.search(incomplete)
    word = found.group() if found else ""
    head = incomplete[: len(incomplete) - len(word)]
    if not head or head[-1] not in _BEFORE_A_CALL:
        return []
    names = dict.fromkeys((*FORMULA_FUNCTIONS, *(a for a in ACTIVATIONS if a != "softmax")))
    return [head + name for name in names if name.startswith(word)]


def _is_formula(incomplete: str) -> bool:
    return "(" in incomplete or any(c in incomplete for c in " *+")


def complete_activation(incomplete: str) -> list[str]:
    """An activation's name; inside a formula, a function's or activation's name."""
    if _is_formula(incomplete):
        return in_formula(incomplete)
    return starting(incomplete, ACTIVATIONS)


def complete_surface(incomplete: str) -> list[str]:
    return starting(incomplete, SURFACES)


def complete_kind(incomplete: str) -> list[str]:
    return starting(incomplete, LIST_KINDS)


def complete_config(incomplete: str) -> list[str]:
    """Shipped config names and the YAML files here that start with ``incomplete``."""
    from importlib import resources
    from pathlib import Path

    # the shipped configs' folder (config.shipped.folder), found without importing the
    # config package: its __init__ imports torch
    shipped = sorted(Path(p).stem for p in Path(str(resources.files("actcli") / "configs"))
                     .glob("*.yaml"))
    here = Path(incomplete).parent if "/" in incomplete else Path(".")
    files = sorted(str(p) if "/" in incomplete else p.name
                   for p in here.glob("*.y*ml") if p.is_file())
    return starting(incomplete, [*shipped, *files])


def complete_set(incomplete: str) -> list[str]:
    """``--set``: a key (ending in ``=``), then the names its value may take."""
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [f"{k}=" for k in starting(key, KEYS)]
    if key == "model.activation" and _is_formula(value):
        return [f"{key}={v}" for v in in_formula(value)]
    return [f"{key}={v}" for v in starting(value, VALUES.get(key, ()))]
