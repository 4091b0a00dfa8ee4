"""Warnings for combinations known to train badly: said before training, never errors."""

from __future__ import annotations

from collections.abc import Collection

from actcli.config import Config
from actcli.engine.model import per_layer

SQUASHING = {"sigmoid", "tanh", "hard_sigmoid", "hardtanh", "softsign"}
RELU_LIKE = {"relu", "relu6", "leaky_relu", "prelu", "elu", "celu", "gelu", "silu", "mish",
             "hardswish", "softplus"}
CONSTANT = {"zeros", "ones", "constant"}
DEEP = 3  # hidden layers from which a mismatched init is worth a warning


def no_effect(config: Config) -> dict[str, str]:
    """Keys whose value changes nothing in the network ``config`` trains -> why."""
    model = config.model
    found = {}
    if model.hidden_layers == 0:
        found["model.activation"] = "model.hidden is [] (no hidden layer)"
        found["model.batch_norm"] = "model.hidden is [] (no hidden layer)"
    if not model.hidden:
        found["model.dropout"] = "model.hidden is [] (dropout follows hidden dense layers)"
    if model.kind == "mlp":
        found["model.channels"] = "model.kind is mlp (no conv layers)"
    if config.optimizer.name == "sgd" and not config.optimizer.kwargs.get("momentum"):
        found["optimizer.dampening"] = "optimizer.momentum is 0 (dampening damps momentum)"
    return found


# keys that change what a run logs or saves, never the numbers it trains to
NOT_TRAINING = ("name", "compare", "log", "train.log_every", "train.checkpoint_every",
                "train.checkpoint_seconds")


def network_signature(config: Config) -> str:
    """What decides the numbers a config trains to: two configs with the same signature
    train the same network on the same data the same way."""
    import json

    from actcli.config import to_dict

    document = to_dict(config)
    for key in (*NOT_TRAINING, *no_effect(config)):
        *parents, last = key.split(".")
        node = document
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return json.dumps(document, sort_keys=True)


def warnings_for(config: Config, written: Collection[str] = ()) -> list[str]:
    """One line per known problem in ``config``: keys the user wrote (``written``, dotted)
    that change nothing, then the model's known traps in layer order."""
    found = [f"{key} has no effect: {reason}" for key, reason in no_effect(config).items()
             if key in written]
    model = config.model
    layers = model.hidden_layers
    if layers == 0:
        return found
    inits = per_layer(model.init, layers + 1)
    acts = per_layer(model.activation, layers)
    constant = sorted({ref.name for ref in inits[:layers] if ref.name in CONSTANT})
    if constant:
        found.append(
            f"model.init: {', '.join(constant)} gives every unit of a layer the same weights; "
            "they receive the same gradients and stay identical (symmetry is never broken)"
        )
    kaiming_squash = [i for i, (act, init) in enumerate(zip(acts, inits, strict=False))
                      if act.name in SQUASHING and init.name.startswith("kaiming")]
    if kaiming_squash:
        found.append(
            f"model.init: kaiming (He) init with {acts[kaiming_squash[0]].name} layers: its "
            "variance is sized for ReLU and pushes sigmoid/tanh units into saturation; "
            "xavier suits them"
        )
    if layers >= DEEP and any(act.name in RELU_LIKE and init.name.startswith("xavier")
                              for act, init in zip(acts, inits, strict=False)):
        found.append(
            f"model.init: xavier (Glorot) init with ReLU-like units in {layers} layers: the "
            "signal shrinks by about half per layer; kaiming suits them"
        )
    return found
