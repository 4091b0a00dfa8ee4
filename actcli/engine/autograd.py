"""One optimisation step on a batch: autograd for any network, written out for dense stacks.

:class:`AutogradStep` works for every network: forward, ``loss.backward()``, step.
:class:`DenseStep` does the same for a plain MLP (Linear -> activation [-> Dropout] ... ->
Linear, no batch norm, activations without parameters) with the forward and backward
matrix products written out: no autograd graph over the weights, the gradients computed
straight into one preallocated buffer, and the optimizer stepping one flat parameter
tensor instead of one per layer. That removes most of PyTorch's per-op overhead, which on
a CPU costs as much as the matrix products themselves at batch sizes like 128
(``benchmarks/fmnist_epoch.py``). The numbers are those of autograd: the same products,
the same dropout masks from the same random stream, torch's own backward for every
activation and the loss (tests compare the two on every hidden activation). One flat tensor
is the same to the optimizer as one tensor per layer because every optimizer actcli offers
(sgd, adam, adamw, rmsprop) works element by element; a layer-wise one (LAMB, Adafactor)
would need the per-layer tensors.

Both return ``(loss, logits)`` of the batch, detached, or ``None`` when the loss or a
gradient is not finite (the step is then skipped, so the weights stay finite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actcli.components.activations import spec_of
from actcli.components.losses import LogitGradient
from actcli.engine.model import Dropout

Objective = Callable[[Tensor, Tensor], Tensor]  # (logits, targets) -> scalar loss
Outcome = tuple[Tensor, Tensor] | None  # (loss, logits), None when not finite


class AutogradStep:
    """Forward, ``backward()``, optimizer step: any network, any loss."""

    def __init__(self, model: nn.Module, objective: Objective) -> None:
        self.model, self.objective = model, objective

    def parameters(self) -> list[Tensor]:
        """What the optimizer must update."""
        return list(self.model.parameters())

    def __call__(self, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Outcome:
        optimizer.zero_grad(set_to_none=True)
        z = self.model(x)
        loss = self.objective(z, y)
        loss.backward()
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not _all_finite(loss, grads):
            return None
        optimizer.step()
        return loss.detach(), z.detach()


def _all_finite(loss: Tensor, grads: list[Tensor]) -> bool:
    """Loss and every gradient finite: a step with a NaN would poison the weights."""
    if not torch.isfinite(loss):
        return False
    if not grads:
        return True
    # one fused call for all gradients: a norm is inf/NaN exactly when an entry is
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all())


@dataclass
class _Layer:
    linear: nn.Linear
    activation: nn.Module | None  # None for the output layer
    relu: bool  # activation is nn.ReLU: its backward is one threshold op
    dropout: float  # after the activation; 0 = none


def dense_layers(model: nn.Module) -> list[_Layer] | None:
    """The layers of a plain dense stack, or None when ``model`` is anything else."""
    modules = list(getattr(model, "layers", []))
    if not isinstance(getattr(model, "layers", None), nn.Sequential) or not modules:
        return None
    if isinstance(modules[0], nn.Flatten):
        modules = modules[1:]
    layers: list[_Layer] = []
    i = 0
    while i < len(modules):
        linear = modules[i]
        if type(linear) is not nn.Linear or linear.bias is None:
            return None
        if i == len(modules) - 1:  # the output layer
            layers.append(_Layer(linear, None, False, 0.0))
            return layers
        act = modules[i + 1]
        if spec_of(act) is None or any(True for _ in act.parameters()):
            return None  # not a known activation, or one with learned parameters (prelu)
        dropout, i = 0.0, i + 2
        if i < len(modules) and isinstance(modules[i], Dropout):
            dropout, i = modules[i].p, i + 1
        layers.append(_Layer(linear, act, type(act) is nn.ReLU, dropout))
    return None  # ended on an activation: no output layer


class DenseStep:
    """The step of a plain dense stack with the matrix products written out.

    Built once per network: it moves the network's parameters into one flat tensor (each
    parameter becomes a view of it, so the module, its state_dict and checkpoints see the
    same values) and keeps the gradient in a second flat tensor. The optimizer must be
    built over :meth:`parameters` (that one flat tensor). Move the model to its device
    before building the step: ``model.to()`` afterwards would give the parameters new
    storage and cut them loose from the flat tensor.
    """

    def __init__(self, model: nn.Module, objective: Objective,
                 gradient: LogitGradient | None = None) -> None:
        layers = dense_layers(model)
        if layers is None:
            raise ValueError("DenseStep needs Linear -> activation [-> Dropout] ... -> Linear")
        self.model, self.objective, self.layers = model, objective, layers
        self.gradient = gradient  # closed-form loss gradient; None = autograd on the logits
        params = list(model.parameters())
        first = params[0]
        self.flat = torch.empty(sum(p.numel() for p in params), dtype=first.dtype,
                                device=first.device)
        self.flat.grad = torch.zeros_like(self.flat)
        views: dict[int, tuple[Tensor, Tensor]] = {}
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                value = self.flat[offset:offset + n].view_as(p)
                value.copy_(p)
                p.data = value  # the parameter now lives inside the flat tensor
                views[id(p)] = (value, self.flat.grad[offset:offset + n].view_as(p))
                offset += n
        self.flat.requires_grad_(True)
        # (weight, bias, weight gradient, bias gradient) of each layer
        self._tensors = [(views[id(layer.linear.weight)][0], views[id(layer.linear.bias)][0],
                          views[id(layer.linear.weight)][1], views[id(layer.linear.bias)][1])
                         for layer in layers]

    def parameters(self) -> list[Tensor]:
        """What the optimizer must update: the one flat tensor holding every parameter."""
        return [self.flat]

    def __call__(self, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Outcome:
        training = self.model.training
        with torch.no_grad():
            a = x.reshape(len(x), -1)
            # per layer: (input, activation output, activation graph, dropout mask)
            saved: list[tuple[Tensor, Tensor | None, tuple[Tensor, Tensor] | None,
                              Tensor | None]] = []
            for layer, (w, b, _, _) in zip(self.layers, self._tensors, strict=True):
                z = torch.addmm(b, a, w.t())
                if layer.activation is None:
                    logits = z
                    saved.append((a, None, None, None))
                    break
                graph = None
                if layer.relu:
                    out = torch.relu(z)
                else:  # torch's own forward and backward of this activation
                    with torch.enable_grad():
                        leaf = z.requires_grad_()
                        graph = (leaf, layer.activation(leaf))
                    out = graph[1].detach()
                mask, kept = None, out
                if training and layer.dropout:
                    # as model.Dropout: the same draws from the same generator
                    # (a 0/1 mask times the scale: exactly the module's x * keep * scale)
                    keep = torch.rand_like(out) >= layer.dropout
                    mask = keep * (1.0 / (1.0 - layer.dropout))
                    out = out * mask
                saved.append((a, kept, graph, mask))
                a = out
            g: Tensor
            if self.gradient is not None:
                loss, g = self.gradient(logits, y)
            else:
                with torch.enable_grad():
                    leaf = logits.requires_grad_()
                    loss = self.objective(leaf, y)
                    (g,) = torch.autograd.grad(loss, leaf)
                loss, logits = loss.detach(), logits.detach()
            for k in range(len(self.layers) - 1, -1, -1):
                inputs = saved[k][0]
                w, _, gw, gb = self._tensors[k]
                torch.mm(g.t(), inputs, out=gw)
                torch.sum(g, dim=0, out=gb)
                if k == 0:
                    break
                g = g.mm(w)  # gradient of the previous layer's (dropped-out) output
                _, kept_out, graph, mask = saved[k - 1]
                if mask is not None:
                    g = g.mul_(mask)
                if graph is not None:
                    (g,) = torch.autograd.grad(graph[1], graph[0], g)
                else:  # relu: pass where the output is positive (relu'(0) = 0, as torch)
                    assert kept_out is not None  # a hidden layer keeps its output
                    g = torch.ops.aten.threshold_backward(g, kept_out, 0)
            # inf/NaN when the loss or a gradient entry is (or when the gradients are so
            # large that their float32 sum overflows, which is divergence too)
            grad = self.flat.grad
            assert grad is not None  # the flat buffer's gradient is set at construction
            if not math.isfinite(float(loss) + float(grad.sum())):
                return None
        optimizer.step()
        return loss, logits


Step = AutogradStep | DenseStep


def step_for(model: nn.Module, objective: Objective,
             gradient: LogitGradient | None = None) -> Step:
    """The fastest exact step for ``model``: dense where it applies, else autograd.

    ``gradient`` is the objective's closed-form logit gradient, if it has one
    (:func:`actcli.components.losses.logit_gradient`); only the dense step uses it.
    """
    if dense_layers(model) is not None:
        return DenseStep(model, objective, gradient)
    return AutogradStep(model, objective)
