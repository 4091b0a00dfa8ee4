"""K plain MLPs of one shape trained as one stacked model (K = 1: a run alone).

Every model keeps its own ``nn.Module`` (so its state_dict, model.pt, diagnostics and
``eval`` are those of an ordinary run), but its parameters are views into one flat tensor:
each weight and bias of all K models is one contiguous ``[K, ...]`` block (layer l's weights
one ``[K, out, in]`` view, a ``[K * out, in]`` matrix too), and after the blocks each
model's learned activation parameters (prelu's slope, a trainable formula's values). A
step runs each layer of the K models as one product (``addmm`` over ``[K * out, in]`` for a
shared batch, ``bmm``/``baddbmm`` otherwise; a stack of one the 2-D ``addmm``/``mm`` of a
run alone), applies each model's activation to its own slice (models with the same fixed
activation in a layer share one call), draws each model's dropout masks from that model's
own generator, and computes each model's mean loss. The gradient lands in a second flat
tensor of the same layout that :mod:`actcli.engine.stack_optim` steps with each model's
own hyperparameters.

A model whose loss or gradient is not finite is frozen (``alive`` false) and the others
train on: nothing of its values reaches another model, because every quantity is either
per model (the K axis) or selected per model with ``torch.where``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components.activations import spec_of
from actcli.components.losses import LogitGradient
from actcli.engine import diagnostics
from actcli.engine.diagnostics import SATURATED
from actcli.engine.model import Dropout

# (z [K, B, C], y [K, B, ...]) -> each model's mean loss [K]
StackedLoss = Callable[[Tensor, Tensor], Tensor]


@dataclass
class DenseLayer:
    """One weight layer of a plain dense network, and what follows it."""

    linear: nn.Linear
    activation: nn.Module | None  # None for the output layer
    dropout: float  # after the activation; 0 = none


def dense_layers(model: nn.Module) -> list[DenseLayer] | None:
    """The layers of a plain dense network (Linear -> activation [-> Dropout] ... ->
    Linear, no batch norm), or None when ``model`` is anything else. Activations may have
    learned parameters (prelu): each model keeps its own."""
    modules = list(getattr(model, "layers", []))
    if not isinstance(getattr(model, "layers", None), nn.Sequential) or not modules:
        return None
    if isinstance(modules[0], nn.Flatten):
        modules = modules[1:]
    layers: list[DenseLayer] = []
    i = 0
    while i < len(modules):
        linear = modules[i]
        if type(linear) is not nn.Linear or linear.bias is None:
            return None
        if i == len(modules) - 1:  # the output layer
            layers.append(DenseLayer(linear, None, 0.0))
            return layers
        act = modules[i + 1]
        if spec_of(act) is None:
            return None  # not a known activation
        dropout, i = 0.0, i + 2
        if i < len(modules) and isinstance(modules[i], Dropout):
            dropout, i = modules[i].p, i + 1
        layers.append(DenseLayer(linear, act, dropout))
    return None  # ended on an activation: no output layer


@dataclass
class _Group:
    """The models of one layer that share an activation: one call for all of them."""

    module: nn.Module
    rows: list[int]  # the models, in stack order
    # a learned activation (prelu): its parameters, and their gradients' place in the
    # stack's gradient; its group holds one model (each model learns its own)
    params: list[tuple[Tensor, Tensor]]


@dataclass
class _Layer:
    """A hidden layer's activations: the groups, and how their joined outputs map back."""

    groups: list[_Group]
    order: Tensor | None  # stack order -> the groups' joined order (None: the same)
    back: Tensor | None  # the groups' joined order -> stack order (None: the same)
    relu: bool  # every model's activation is nn.ReLU: backward is one threshold op
    params: list[tuple[Tensor, Tensor]]  # every group's learned (parameter, gradient)

    def split(self, t: Tensor) -> list[Tensor]:
        """``t`` [K, ...] cut into each group's models (views when the groups are in
        stack order)."""
        if len(self.groups) == 1:
            return [t]
        joined = t if self.order is None else t.index_select(0, self.order)
        return list(joined.split([len(g.rows) for g in self.groups]))

    def unorder(self, joined: Tensor) -> Tensor:
        """The groups' outputs joined in group order -> stack order."""
        return joined if self.back is None else joined.index_select(0, self.back)

    def join(self, parts: Sequence[Tensor]) -> Tensor:
        """The inverse of :meth:`split`."""
        return parts[0] if len(parts) == 1 else self.unorder(torch.cat(list(parts)))

    def apply(self, z: Tensor, fn: Callable[[nn.Module, Tensor], Tensor]) -> Tensor:
        """``fn(module, z of its models)`` of every group, back in stack order."""
        return self.join([fn(g.module, part)
                          for g, part in zip(self.groups, self.split(z), strict=True)])


@dataclass
class Pass:
    """What a forward pass keeps for the backward: per hidden layer, the layer's input,
    the activation's input and output, its autograd graph, the dropout mask."""

    inputs: list[Tensor]  # input of each weight layer: [B, F] (shared) or [K, B, F]
    pre: list[Tensor]  # activation input of each hidden layer [K, B, units]
    post: list[Tensor]  # activation output (before dropout)
    # (each group's leaf, the groups' outputs joined); None: relu everywhere
    graphs: list[tuple[list[Tensor], Tensor] | None]
    masks: list[Tensor | None]  # dropout: 0 or 1/(1-p); None: no model drops here
    logits: Tensor  # [K, B, outputs]
    # a stack of one on one batch: every tensor above but the logits without the K axis
    # ([B, units]: the products of a run alone, no batched ones)
    one: bool = False


def signature(net: nn.Module) -> tuple[tuple[int, int], ...] | None:
    """The weight shapes of a plain dense stack ((out, in) per layer), or None when the
    network cannot join a stack."""
    layers = dense_layers(net)
    if layers is None:
        return None
    return tuple((int(layer.linear.out_features), int(layer.linear.in_features))
                 for layer in layers)


class StackedMLP:
    """K plain dense networks of equal shapes whose parameters live in one tensor.

    ``nets`` must be on one device and share their layer shapes; their activations and
    dropout rates may differ per model. ``dropout_generators``: one per model, the stream
    its dropout masks are drawn from (models without dropout never draw).
    """

    def __init__(self, nets: Sequence[nn.Module],
                 dropout_generators: Sequence[torch.Generator] | None = None,
                 low: torch.dtype | None = None) -> None:
        if not nets:
            raise ValueError("a stack needs at least one network")
        layers = [dense_layers(net) for net in nets]
        shapes = {signature(net) for net in nets}
        if any(found is None for found in layers) or len(shapes) != 1:
            raise ValueError("every network of a stack must be a plain dense stack of the "
                             "same layer shapes")
        self.k = len(nets)
        # low: the matrix products' dtype (bfloat16) where it is not float32: their inputs
        # are rounded to it and their results come back as float32
        self.low = low
        first = next(nets[0].parameters())
        self.device, self.dtype = first.device, first.dtype
        # every model's weights and biases, layer by layer (the same shapes in every model)
        params = [[t for layer in found for t in (layer.linear.weight, layer.linear.bias)]
                  for found in layers if found is not None]
        shared = {id(t) for found in params for t in found}
        # a learned activation's parameters (prelu's slope): the model's own, in its order
        learned = [[t for t in net.parameters() if id(t) not in shared] for net in nets]
        # layer by layer: each parameter of all K models is one contiguous [K, ...] block
        # (a layer's weights are one [K, out, in] tensor, a [K * out, in] matrix as well);
        # after them each model's learned activation parameters
        total = sum(t.numel() for t in params[0]) * self.k + \
            sum(t.numel() for own in learned for t in own)
        self.flat = torch.empty(total, dtype=self.dtype, device=self.device)
        self.grad = torch.zeros_like(self.flat)
        blocks: list[tuple[Tensor, Tensor]] = []  # (values, gradients) per parameter
        self._grad_of: dict[int, Tensor] = {}  # id of a model's parameter -> its gradient
        # (model, values, gradient) of every learned activation parameter
        self._learned: list[tuple[int, Tensor, Tensor]] = []
        offset = 0
        with torch.no_grad():
            for i, t in enumerate(params[0]):
                n = t.numel() * self.k
                value = self.flat[offset:offset + n].view(self.k, *t.shape)
                blocks.append((value, self.grad[offset:offset + n].view(self.k, *t.shape)))
                for k in range(self.k):
                    value[k].copy_(params[k][i])
                    params[k][i].data = value[k]  # model k's parameter now lives in the block
                    self._grad_of[id(params[k][i])] = blocks[-1][1][k]
                offset += n
            for k, own in enumerate(learned):
                for t in own:
                    n = t.numel()
                    value = self.flat[offset:offset + n].view_as(t)
                    grad = self.grad[offset:offset + n].view_as(t)
                    value.copy_(t)
                    t.data = value
                    self._grad_of[id(t)] = grad
                    self._learned.append((k, value, grad))
                    offset += n
        self.blocks = blocks
        self._learned_rows = torch.tensor([k for k, _, _ in self._learned], dtype=torch.long,
                                          device=self.device)
        index = {id(t): i for i, t in enumerate(params[0])}
        first_layers = layers[0]
        assert first_layers is not None  # checked above
        # (weight [K, out, in], bias [K, out], their gradients) of each layer
        self.tensors = [(blocks[index[id(layer.linear.weight)]][0],
                         blocks[index[id(layer.linear.bias)]][0],
                         blocks[index[id(layer.linear.weight)]][1],
                         blocks[index[id(layer.linear.bias)]][1]) for layer in first_layers]
        self.layers: list[_Layer] = []  # per hidden layer
        self.dropout: list[list[float]] = []  # per hidden layer, per model
        hidden = len(first_layers) - 1
        for depth in range(hidden):
            acts = [found[depth].activation for found in layers if found is not None]
            self.layers.append(self._group(acts))
            self.dropout.append([found[depth].dropout for found in layers if found is not None])
        if any(p for rates in self.dropout for p in rates) and (
                dropout_generators is None or len(dropout_generators) != self.k):
            raise ValueError("networks with dropout need one dropout generator per model")
        self.generators = list(dropout_generators or [])
        self._drops = [any(rates) for rates in self.dropout]  # does any model drop here
        # a stack of one: each layer's (weight transposed, bias, weight gradient, bias
        # gradient) as a run alone's 2-D tensors (views: they follow every update)
        self._one = [(w[0].t(), b[0], gw[0], gb[0]) for w, b, gw, gb in self.tensors] \
            if self.k == 1 else []

    def _group(self, acts: Sequence[nn.Module | None]) -> _Layer:
        by_kind: dict[str | int, _Group] = {}
        for k, act in enumerate(acts):
            assert act is not None and spec_of(act) is not None  # dense_layers checked it
            learned: list[tuple[Tensor, Tensor]] = [(p, self._grad_of[id(p)])
                                                    for p in act.parameters()]
            # the class and its options: equal modules compute alike (a formula's repr is
            # its text and fixed values, a Python function's its reference); a learned one
            # is its model's own, and so is any module holding tensors of its own (buffers
            # of a Python module: its repr holds its id)
            kind: str | int = k if learned else repr(act)
            by_kind.setdefault(kind, _Group(act, [], learned)).rows.append(k)
        groups = list(by_kind.values())
        joined = [k for group in groups for k in group.rows]
        order = back = None
        if joined != list(range(self.k)):
            order = torch.tensor(joined, device=self.device)
            back = torch.tensor([joined.index(k) for k in range(self.k)], device=self.device)
        return _Layer(groups, order, back, all(type(g.module) is nn.ReLU for g in groups),
                      [pair for g in groups for pair in g.params])

    def forward(self, x: Tensor, training: bool, stacked: bool = False,
                backward: bool = True) -> Pass:
        """Logits of every model for inputs ``x``: [B, ...] shared by all models, or with
        ``stacked`` [K, B, ...], each model its own batch. ``training``: draw dropout;
        ``backward``: keep what :meth:`backward` needs."""
        a = x.reshape(self.k, x.shape[1], -1) if stacked else x.reshape(len(x), -1)
        one = self.k == 1 and not stacked
        saved = Pass([], [], [], [], [], a, one)
        last = len(self.tensors) - 1
        for depth, (w, b, _, _) in enumerate(self.tensors):
            saved.inputs.append(a)
            if one:
                wt, bias = self._one[depth][:2]
                z = self._mm(torch.addmm, bias, a, wt)
            else:
                z = _linear(a, w, b, self.low)
            if depth == last:
                saved.logits = z.unsqueeze(0) if one else z
                break
            layer = self.layers[depth]
            graph = None
            if layer.relu:  # its backward needs no graph: one threshold op on the output
                out = torch.relu(z)
            elif not backward:
                with torch.no_grad():  # (a learned activation's parameters need no graph)
                    out = layer.apply(z, lambda module, part: module(part))
            else:  # torch's own forward and backward of each group's activation
                with torch.enable_grad():
                    leaves = [part.detach().requires_grad_() for part in layer.split(z)]
                    # one output for the graph: autograd checks one gradient, not one a group
                    joined = torch.cat([group.module(leaf) for group, leaf in
                                        zip(layer.groups, leaves, strict=True)])
                graph = (leaves, joined)
                out = layer.unorder(joined.detach())
            saved.pre.append(z)
            saved.post.append(out)
            saved.graphs.append(graph)
            mask = self._mask(out, depth) if training and self._drops[depth] else None
            saved.masks.append(mask)
            a = out * mask if mask is not None else out
        return saved

    def _mask(self, out: Tensor, depth: int) -> Tensor | None:
        """Each model's dropout mask (0 or 1/(1-p)) from its own generator: the draws of
        model.Dropout in the same network trained alone (None: no model drops here)."""
        rates = self.dropout[depth]
        if not any(rates):
            return None
        if out.dim() == 2:  # a stack of one, without the K axis
            keep = torch.rand(out.shape, generator=self.generators[0], dtype=out.dtype,
                              device=out.device) >= rates[0]
            return keep * (1.0 / (1.0 - rates[0]))
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
        if saved.one:
            g = g[0]
        for depth in range(len(self.tensors) - 1, -1, -1):
            inputs = saved.inputs[depth]
            w, _, gw, gb = self.tensors[depth]
            if saved.one:  # one model: the products of a run alone, no batch axis
                wt, _, gw1, gb1 = self._one[depth]
                self._into(torch.mm, gw1, g.t(), inputs)
                torch.sum(g, dim=0, out=gb1)
                if depth == 0:
                    break
                g = self._mm(torch.mm, g, wt.t())
            else:
                if inputs.dim() == 2:  # shared inputs: one product for all K models
                    out, features = gw.shape[1], gw.shape[2]
                    self._into(torch.mm, gw.view(self.k * out, features),
                               g.transpose(1, 2).reshape(self.k * out, -1), inputs)
                else:
                    self._into(torch.bmm, gw, g.transpose(1, 2), inputs)
                torch.sum(g, dim=1, out=gb)
                if depth == 0:
                    break
                g = self._mm(torch.bmm, g, w)
            mask = saved.masks[depth - 1]
            if mask is not None:
                g = g.mul_(mask)
            graph = saved.graphs[depth - 1]
            if graph is not None:  # one call of autograd for every group of the layer
                layer = self.layers[depth - 1]
                ordered = g if layer.order is None else g.index_select(0, layer.order)
                learned = [p for p, _ in layer.params]
                with torch.enable_grad():
                    # the gradient of sum(out * g): the same backward as grad_outputs=g
                    # (which makes torch import its symbolic shapes and sympy, 0.3 s, on
                    # first use); times 1.0 and summing are exact
                    vjp = (graph[1] * ordered).sum()
                found = torch.autograd.grad(vjp, [*graph[0], *learned])
                g = layer.join(found[:len(graph[0])])
                for (_, place), grad in zip(layer.params, found[len(graph[0]):], strict=True):
                    place.copy_(grad)  # a learned activation's gradient, into the stack's
            else:  # relu: pass where the output is positive (relu'(0) = 0, as torch)
                g = torch.ops.aten.threshold_backward(g, saved.post[depth - 1], 0)

    def gradients(self, saved: Pass, y: Tensor, loss: StackedLoss,
                  closed_form: LogitGradient | None = None) -> Tensor:
        """Each model's loss [K] for targets ``y`` [K, B, ...]; its gradient into :attr:`grad`.
        ``closed_form``: the loss and its logit gradient without autograd, where the loss
        has one (losses.stacked_logit_gradient)."""
        if closed_form is not None:
            losses, g = closed_form(saved.logits, y)
            self.backward(saved, g)
            return losses
        with torch.enable_grad():
            leaf = saved.logits.detach().requires_grad_()
            losses = loss(leaf, y)
            (g,) = torch.autograd.grad(losses.sum(), leaf)
        # a model whose loss is NaN has NaN gradients: they stay in its own rows
        self.backward(saved, g)
        return losses.detach()

    def _mm(self, product: Any, *args: Tensor) -> Tensor:
        """``product(*args)``, in :attr:`low` (the result as float32) where it is set."""
        if self.low is None:
            return product(*args)
        return product(*(t.to(self.low) for t in args)).to(self.dtype)

    def _into(self, product: Any, out: Tensor, *args: Tensor) -> None:
        """``product(*args, out=out)``, in :attr:`low` where it is set."""
        if self.low is None:
            product(*args, out=out)
        else:
            out.copy_(product(*(t.to(self.low) for t in args)))

    def penalize(self, l1: Tensor | None, l2: Tensor | None) -> None:
        """Add each model's regularisation gradient ``l1 * sign(w) + l2 * w`` to its weights'
        gradients (biases and learned activation parameters excluded); ``l1``, ``l2``: [K]
        rates, None where every model's is 0 (components.optimizers)."""
        for w, _, gw, _ in self.tensors:
            if l1 is not None:
                gw.addcmul_(l1.view(-1, 1, 1), w.sign())
            if l2 is not None:
                gw.addcmul_(l2.view(-1, 1, 1), w)

    def penalty(self, l1: Tensor | None, l2: Tensor | None) -> Tensor:
        """[K]: each model's ``l1 * sum |w| + l2 * sum w^2 / 2`` over its weights."""
        total = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        for w, _, _, _ in self.tensors:
            flat = w.detach().reshape(self.k, -1).double()
            if l1 is not None:
                total += l1.double() * flat.abs().sum(dim=1)
            if l2 is not None:
                total += 0.5 * l2.double() * (flat * flat).sum(dim=1)
        return total

    def finite(self, losses: Tensor) -> Tensor:
        """[K] bool: the model's loss and every entry of its gradient are finite (a float32
        sum of the gradient that overflows reads as divergence too)."""
        if self.k == 1:  # one reduction over the whole gradient
            return torch.isfinite(losses + self.grad.sum())
        sums = torch.stack([grad.reshape(self.k, -1).sum(dim=1)
                            for _, grad in self.blocks]).sum(dim=0)
        if self._learned:  # each model's learned activation parameters too
            sums = sums.index_add(0, self._learned_rows,
                                  torch.stack([grad.sum() for _, _, grad in self._learned]))
        return torch.isfinite(losses) & torch.isfinite(sums)

    def models(self) -> list[list[tuple[Tensor, Tensor]]]:
        """Each model's (parameter, gradient) views: its weights and biases layer by layer,
        then its learned activation parameters."""
        return [[(value[k], grad[k]) for value, grad in self.blocks] +
                [(value, grad) for model, value, grad in self._learned if model == k]
                for k in range(self.k)]

    def diagnose(self, x: Tensor, y: Tensor, loss: StackedLoss) -> list[dict[str, float]]:
        """Each model's diagnostics (actcli.engine.diagnostics) on the probe batch (x, y): the
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
                    if saved.one:  # as every model's: [K, B, units]
                        pre, post = pre.unsqueeze(0), post.unsqueeze(0)
                    slope = self.layers[depth].apply(pre, _slope).abs()
                    name = f"layer{depth + 1}"
                    found[f"dead/{name}"] = (post == 0).all(dim=1).float().mean(dim=1)
                    found[f"saturated/{name}"] = (slope < SATURATED).all(dim=1).float().mean(dim=1)
            columns = {key: value.tolist() for key, value in found.items()}
            return [{key: float(values[k]) for key, values in columns.items()}
                    for k in range(self.k)]
        finally:
            self.grad.copy_(kept)


def _linear(a: Tensor, w: Tensor, b: Tensor, low: torch.dtype | None = None) -> Tensor:
    """z = a w^T + b of every model: a [B, F] shared by all (one matrix product over the
    [K * out, F] weights, as a run alone computes its own) or [K, B, F]; z [K, B, out].
    ``low``: the product in that dtype, z back in w's."""
    k, out, features = w.shape
    dtype = w.dtype
    if low is not None:
        a, w, b = a.to(low), w.to(low), b.to(low)
    if a.dim() == 2:
        z = torch.addmm(b.view(k * out), a, w.view(k * out, features).t())
        # model by model in memory: the activations and their backward run on whole rows
        return z.view(len(a), k, out).transpose(0, 1).contiguous().to(dtype)
    return torch.baddbmm(b.unsqueeze(1), a, w.transpose(1, 2)).to(dtype)


def _slope(module: nn.Module, x: Tensor) -> Tensor:
    """The derivative of a hidden activation module at ``x``, as diagnostics computes it
    (analytic from its spec; autograd for a formula or a Python reference)."""
    return diagnostics.slope(module, x)
