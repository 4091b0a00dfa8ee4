"""Why a network trains or not: per-layer gradient norms, dead units, saturated units.

Measured on a fixed probe batch (the first training samples) in eval mode, so they use
no randomness and do not change training: a diagnosed run gives the same numbers.

- ``grad_norm/<layer>``: L2 norm of the loss gradient of that layer's weights.
- ``dead/<act>``: share of the layer's units whose output is 0 on every probe sample
  (a dead ReLU: no gradient flows through it again).
- ``saturated/<act>``: share of units whose activation derivative is below 1e-3 on every
  probe sample (a saturated sigmoid/tanh: its gradient vanishes).

The derivative is the spec's (:func:`slope`): analytic for the registry's activations (at
prelu's learned slope, swish_beta's beta and rational's coefficients as they are now), by
autograd through the module for a formula or a Python reference (their spec is bound to
the module: ``activations.spec_of``). ``engine.stack`` uses the same function.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from actcli.components.activations import ACTIVATIONS, spec_of
from actcli.engine.model import Network

SATURATED = 1e-3
PROBE = 512

def measure(net: Network, objective: Callable[[Tensor, Tensor], Tensor], x: Tensor,
            y: Tensor) -> dict[str, float]:
    """Diagnostics of ``net`` on the probe batch (x, y); leaves no gradients behind."""
    was_training = net.training
    net.eval()
    inputs: dict[str, Tensor] = {}
    hooks = []
    layers = layer_names(net)
    for name, module in layers.items():
        if spec_of(module) is not None:
            hooks.append(module.register_forward_hook(
                lambda mod, inp, out, name=name: inputs.__setitem__(name, inp[0].detach())))
    saved = [p.grad for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    try:
        objective(net(x), y).backward()
        found: dict[str, float] = {}
        for name, module in layers.items():
            if isinstance(module, nn.Linear | nn.Conv2d) and module.weight.grad is not None:
                found[f"grad_norm/{name}"] = float(module.weight.grad.norm())
        for name, pre in inputs.items():
            module = layers[name]
            spec = spec_of(module)
            assert spec is not None  # hooked above for exactly these
            params = params_of(module, spec.name)
            # computed where the module is (N, units [, H, W]): per-unit parameters
            # broadcast there; then (units, samples [x H x W])
            out = _per_unit(spec.fn(pre, **params))
            slope = _per_unit(spec.grad(pre, **params)).abs()
            layer = name.removesuffix("/act")
            found[f"dead/{layer}"] = float((out == 0).all(dim=1).float().mean())
            found[f"saturated/{layer}"] = float((slope < SATURATED).all(dim=1).float().mean())
        return found
    finally:
        for hook in hooks:
            hook.remove()
        for p, g in zip(net.parameters(), saved, strict=True):
            p.grad = g
        net.train(was_training)


def layer_names(net: Network) -> dict[str, nn.Module]:
    """``layerK`` for the K-th weight layer and ``layerK/act`` for the activation after it."""
    names: dict[str, nn.Module] = {}
    k = 0
    for module in net.layers:
        if isinstance(module, nn.Linear | nn.Conv2d):
            k += 1
            names[f"layer{k}"] = module
        elif spec_of(module) is not None:
            names[f"layer{k}"] = names.get(f"layer{k}", module)
            names[f"layer{k}/act"] = module
    return names


def _per_unit(t: Tensor) -> Tensor:
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def params_of(module: nn.Module, name: str | None = None) -> dict[str, float]:
    """The options of a built activation module, under the registry's option names (prelu's
    ``init`` is its learned slope as it is now); ``{}`` for a module whose spec is bound to
    it (swish_beta, rational, a formula, a Python reference). ``name``: the registry's name
    (default: the module's spec's)."""
    found = spec_of(module)
    if found is None or found.bound:
        return {}
    spec = ACTIVATIONS.get(name if name is not None else found.name)
    values = {}
    for key in spec.params:
        if key == "init":  # prelu: its learned slope, as it is now
            weight = module.weight
            assert isinstance(weight, Tensor)  # nn.PReLU's learned slope
            values[key] = float(weight.detach().mean())
        else:
            values[key] = float(getattr(module, key))
    return values


def slope(module: nn.Module, x: Tensor) -> Tensor:
    """The derivative of a hidden activation module at ``x``, elementwise: the spec's grad
    (analytic, or autograd for a formula and a Python reference)."""
    spec = spec_of(module)
    assert spec is not None, f"{type(module).__name__} is no hidden activation"
    return spec.grad(x, **params_of(module, spec.name))
