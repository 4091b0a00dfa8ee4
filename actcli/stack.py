"""K plain MLPs of one shape trained as one stacked model.

Every model keeps its own ``nn.Module`` (so its state_dict, model.pt, diagnostics and
``eval`` are those of an ordinary run), but its parameters are views into one tensor of
shape ``[K, P]``: row k holds model k's weights and biases, and layer l of all K models is
one ``[K, out, in]`` view of it. A step runs the K forward and backward passes as batched
matrix products (``torch.matmul`` over the K axis), applies each model's activation to its
own slice (models with the same activation in a layer share one call), draws each model's
dropout masks from that model's own generator, and computes each model's mean loss.
The gradient lands in a second ``[K, P]`` tensor that :mod:`actcli.stack_optim` steps with
each model's own hyperparameters.

A model whose loss or gradient is not finite is frozen (``alive`` false) and the others
train on: nothing of its values reaches another model, because every quantity is either
per model (the K axis) or selected per model with ``torch.where``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actcli import diagnostics
from actcli.components.activations import spec_of
from actcli.diagnostics import SATURATED
from actcli.steps import dense_layers

# (z [K, B, C], y [K, B, ...]) -> each model's mean loss [K]
StackedLoss = Callable[[Tensor, Tensor], Tensor]


@dataclass
class _Group:
    """The models of one layer that share an activation: one call for all of them."""

    module: nn.Module
    index: Tensor | None  # model indices; None = every model of the stack
    relu: bool


@dataclass
class Pass:
    """What a forward pass keeps for the backward: per hidden layer, the layer's input,
    the activation's input and output, the dropout mask (None: no dropout)."""

    inputs: list[Tensor]  # input of each weight layer: [B, F] (shared) or [K, B, F]
    pre: list[Tensor]  # activation input of each hidden layer [K, B, units]
    post: list[Tensor]  # activation output (before dropout)
    masks: list[Tensor | None]
    logits: Tensor  # [K, B, outputs]


def signature(net: nn.Module) -> tuple[tuple[int, int], ...] | None:
    """The weight shapes of a plain dense stack ((out, in) per layer), or None when the
    network cannot join a stack."""
    layers = dense_layers(net)
    if layers is None:
        return None
    return tuple((int(layer.linear.out_features), int(layer.linear.in_features))
                 for layer in layers)


class StackedMLP:
    """K plain dense networks of equal shapes whose parameters live in one [K, P] tensor.

    ``nets`` must be on one device and share their layer shapes; their activations and
    dropout rates may differ per model. ``dropout_generators``: one per model, the stream
    its dropout masks are drawn from (models without dropout never draw).
    """

    def __init__(self, nets: Sequence[nn.Module],
                 dropout_generators: Sequence[torch.Generator] | None = None) -> None:
        if not nets:
            raise ValueError("a stack needs at least one network")
        layers = [dense_layers(net) for net in nets]
        shapes = {signature(net) for net in nets}
        if any(found is None for found in layers) or len(shapes) != 1:
            raise ValueError("every network of a stack must be a plain dense stack of the "
                             "same layer shapes")
        self.nets = list(nets)
        self.k = len(nets)
        first = next(nets[0].parameters())
        self.device, self.dtype = first.device, first.dtype
        params = [list(net.parameters()) for net in nets]
        width = sum(p.numel() for p in params[0])
        self.flat = torch.empty(self.k, width, dtype=self.dtype, device=self.device)
        self.grad = torch.zeros_like(self.flat)
        offsets: dict[int, int] = {}  # id(parameter of model 0) -> its offset in a row
        with torch.no_grad():
            for k, ps in enumerate(params):
                offset = 0
                for i, p in enumerate(ps):
                    n = p.numel()
                    value = self.flat[k, offset:offset + n].view_as(p)
                    value.copy_(p)
                    p.data = value  # model k's parameter now lives in row k
                    if k == 0:
                        offsets[id(params[0][i])] = offset
                    offset += n
        first_layers = layers[0]
        assert first_layers is not None  # checked above

        def block(t: Tensor, p: nn.Parameter) -> Tensor:
            start = offsets[id(p)]
            return t[:, start:start + p.numel()].view(self.k, *p.shape)

        # (weight [K, out, in], bias [K, out], their gradients) of each layer
        self.tensors = [(block(self.flat, layer.linear.weight), block(self.flat, layer.linear.bias),
                         block(self.grad, layer.linear.weight), block(self.grad, layer.linear.bias))
                        for layer in first_layers]
        self.groups: list[list[_Group]] = []  # per hidden layer
        self.dropout: list[list[float]] = []  # per hidden layer, per model
        hidden = len(first_layers) - 1
        for depth in range(hidden):
            acts = [found[depth].activation for found in layers if found is not None]
            self.groups.append(self._group(acts))
            self.dropout.append([found[depth].dropout for found in layers if found is not None])
        if any(p for rates in self.dropout for p in rates) and (
                dropout_generators is None or len(dropout_generators) != self.k):
            raise ValueError("networks with dropout need one dropout generator per model")
        self.generators = list(dropout_generators or [])

    def _group(self, acts: Sequence[nn.Module | None]) -> list[_Group]:
        by_kind: dict[str, list[int]] = {}
        modules: dict[str, nn.Module] = {}
        for k, act in enumerate(acts):
            assert act is not None and spec_of(act) is not None  # dense_layers checked it
            key = repr(act)  # class and its options: equal modules compute alike
            by_kind.setdefault(key, []).append(k)
            modules.setdefault(key, act)
        return [_Group(modules[key], None if len(ks) == self.k else
                       torch.tensor(ks, device=self.device), type(modules[key]) is nn.ReLU)
                for key, ks in by_kind.items()]

    def forward(self, x: Tensor, training: bool, stacked: bool = False) -> Pass:
        """Logits of every model for inputs ``x``: [B, ...] shared by all models, or with
        ``stacked`` [K, B, ...], each model its own batch."""
        a = x.reshape(self.k, x.shape[1], -1) if stacked else x.reshape(len(x), -1)
        saved = Pass([], [], [], [], a)
        last = len(self.tensors) - 1
        for depth, (w, b, _, _) in enumerate(self.tensors):
            saved.inputs.append(a)
            z = torch.matmul(a, w.transpose(1, 2)).add_(b.unsqueeze(1))
            if depth == last:
                saved.logits = z
                break
            out = self._activate(z, self.groups[depth])
            saved.pre.append(z)
            saved.post.append(out)
            mask = self._mask(out, depth) if training else None
            saved.masks.append(mask)
            a = out * mask if mask is not None else out
        return saved

    def _activate(self, z: Tensor, groups: list[_Group]) -> Tensor:
        if len(groups) == 1:
            return groups[0].module(z)
        out = torch.empty_like(z)
        for group in groups:
            assert group.index is not None  # several groups: each has its models
            out.index_copy_(0, group.index, group.module(z.index_select(0, group.index)))
        return out

    def _mask(self, out: Tensor, depth: int) -> Tensor | None:
        """Each model's dropout mask (0 or 1/(1-p)) from its own generator: the draws of
        model.Dropout in the same network trained alone (None: no model drops here)."""
        rates = self.dropout[depth]
        if not any(rates):
            return None
        mask = torch.ones_like(out)
        for k, p in enumerate(rates):
            if p:
                keep = torch.rand(out.shape[1:], generator=self.generators[k],
                                  dtype=out.dtype, device=out.device) >= p
                mask[k] = keep * (1.0 / (1.0 - p))
        return mask

    def backward(self, saved: Pass, g: Tensor) -> None:
        """Gradients of every model's loss, given ``g`` = dL_k/dlogits_k [K, B, C], into
        :attr:`grad`."""
        for depth in range(len(self.tensors) - 1, -1, -1):
            inputs = saved.inputs[depth]
            w, _, gw, gb = self.tensors[depth]
            if inputs.dim() == 2:  # shared inputs: one product for all K models
                out, features = gw.shape[1], gw.shape[2]
                gw.copy_(torch.mm(g.transpose(1, 2).reshape(self.k * out, -1), inputs)
                         .view(self.k, out, features))
            else:
                gw.copy_(torch.bmm(g.transpose(1, 2), inputs))
            gb.copy_(g.sum(dim=1))
            if depth == 0:
                break
            g = torch.bmm(g, w)
            mask = saved.masks[depth - 1]
            if mask is not None:
                g = g.mul_(mask)
            g = self._activation_grad(g, saved.pre[depth - 1], saved.post[depth - 1],
                                      self.groups[depth - 1])

    def _activation_grad(self, g: Tensor, pre: Tensor, post: Tensor,
                         groups: list[_Group]) -> Tensor:
        result = g if len(groups) == 1 else torch.empty_like(g)
        for group in groups:
            part_g = g if group.index is None else g.index_select(0, group.index)
            if group.relu:  # pass where the output is positive (relu'(0) = 0, as torch)
                part_out = post if group.index is None else post.index_select(0, group.index)
                found = torch.ops.aten.threshold_backward(part_g, part_out, 0)
            else:  # torch's own backward of this activation
                part_in = pre if group.index is None else pre.index_select(0, group.index)
                with torch.enable_grad():
                    leaf = part_in.detach().requires_grad_()
                    (found,) = torch.autograd.grad(group.module(leaf), leaf, part_g)
            if group.index is None:
                return found
            result.index_copy_(0, group.index, found)
        return result

    def gradients(self, saved: Pass, y: Tensor, loss: StackedLoss) -> Tensor:
        """Each model's loss [K] for targets ``y`` [K, B, ...]; its gradient into :attr:`grad`."""
        with torch.enable_grad():
            leaf = saved.logits.detach().requires_grad_()
            losses = loss(leaf, y)
            (g,) = torch.autograd.grad(losses.sum(), leaf)
        # a model whose loss is NaN has NaN gradients: they stay in its own rows
        self.backward(saved, g)
        return losses.detach()

    def finite(self, losses: Tensor) -> Tensor:
        """[K] bool: the model's loss and every entry of its gradient are finite (a float32
        sum of the gradient that overflows reads as divergence too, as in DenseStep)."""
        return torch.isfinite(losses) & torch.isfinite(self.grad.sum(dim=1))

    def diagnose(self, x: Tensor, y: Tensor, loss: StackedLoss) -> list[dict[str, float]]:
        """Each model's diagnostics (actcli.diagnostics) on the probe batch (x, y): the
        gradient norm of every weight layer, dead and saturated units of every hidden layer.
        Leaves :attr:`grad` as it found it."""
        kept = self.grad.clone()
        try:
            with torch.no_grad():
                saved = self.forward(x, training=False)
                self.gradients(saved, y.expand(self.k, *y.shape), loss)
                found: dict[str, Tensor] = {}
                for depth, (_, _, gw, _) in enumerate(self.tensors):
                    found[f"grad_norm/layer{depth + 1}"] = gw.reshape(self.k, -1).norm(dim=1)
                for depth, (pre, post) in enumerate(zip(saved.pre, saved.post, strict=True)):
                    slope = torch.empty_like(pre)
                    for group in self.groups[depth]:
                        spec = spec_of(group.module)
                        assert spec is not None  # hidden activations all have a spec
                        part = pre if group.index is None else pre.index_select(0, group.index)
                        value = spec.grad(part, **_params_of(group.module)).abs()
                        if group.index is None:
                            slope = value
                        else:
                            slope.index_copy_(0, group.index, value)
                    name = f"layer{depth + 1}"
                    found[f"dead/{name}"] = (post == 0).all(dim=1).float().mean(dim=1)
                    found[f"saturated/{name}"] = (slope < SATURATED).all(dim=1).float().mean(dim=1)
            columns = {key: value.tolist() for key, value in found.items()}
            return [{key: float(values[k]) for key, values in columns.items()}
                    for k in range(self.k)]
        finally:
            self.grad.copy_(kept)


def _params_of(module: nn.Module) -> dict[str, float]:
    spec = spec_of(module)
    assert spec is not None  # hidden activations all have a spec
    return diagnostics.params_of(module, spec.name)
