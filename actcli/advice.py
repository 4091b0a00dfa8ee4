"""Warnings for combinations known to train badly: said before training, never errors."""

from __future__ import annotations

from actcli.config import Config
from actcli.model import per_layer

SQUASHING = {"sigmoid", "tanh", "hard_sigmoid", "hardtanh", "softsign"}
RELU_LIKE = {"relu", "relu6", "leaky_relu", "prelu", "elu", "celu", "gelu", "silu", "mish",
             "hardswish", "softplus"}
CONSTANT = {"zeros", "ones", "constant"}
DEEP = 3  # hidden layers from which a mismatched init is worth a warning


def warnings_for(config: Config) -> list[str]:
    """One line per known problem in ``config``'s model, in layer order."""
    model = config.model
    layers = model.hidden_layers
    if layers == 0:
        return []
    found = []
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
