"""The optimizer of a stack: torch's own optimizers over the models' rows.

Stock torch optimizers take one learning rate (and one of every other option) for all their
tensors; a stack needs model k's update to use model k's options. Here the models that share
their optimizer options (every model, in an activation sweep) share one torch optimizer over
their parameters (views into the stack's tensors, each with its view of the stack's gradient
as ``.grad``); a model with other options has its own. That is torch's own arithmetic
(its fused kernel where this build has one, as a run alone uses), so each model's update is
the one it would get alone, and one kernel call serves a whole group. Measured here (CPU,
11 Fashion-MNIST MLPs, Adam) this is 9x faster than the same update written out once over
the whole stack with ``[K, 1]`` option tensors, which makes several passes
over memory where the fused kernel makes one; and it costs one call per group, not one per
model, on a stack of 33 small networks.

A model that diverges leaves its group's optimizer: its parameters and state are never read
or written again, so its NaNs cannot reach another model. :meth:`StackedOptimizer.state`
and :meth:`StackedOptimizer.load` are every group's torch ``state_dict`` (a stack's
checkpoint): loaded into an optimizer built over the same models, with the same models
frozen, the next step is the one the saved optimizer would have made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from actcli.components import Ref
from actcli.engine import updates

STACKED = ("sgd", "adam", "adamw", "rmsprop")  # what a stack can train with


class StackedOptimizer:
    """Model k's options ``refs[k]`` (a config's optimizer section) over model k's tensors
    ``models[k]``: (parameter, gradient) pairs, as :meth:`StackedMLP.models` gives them."""

    def __init__(self, refs: Sequence[Ref], models: Sequence[Sequence[tuple[Tensor, Tensor]]],
                 whole: tuple[Tensor, Tensor] | None = None) -> None:
        if len(refs) != len(models):
            raise ValueError("one optimizer per model of the stack")
        if whole is not None and len(models) == 1:
            # a stack of one: its (parameters, gradient) as two flat tensors, one tensor for
            # the optimizer to step (every optimizer here works element by element, so one
            # tensor is the same to it as one per layer, and one kernel call serves all)
            models = [[whole]]
        self.tensors: list[list[Tensor]] = []
        for pairs in models:
            for value, grad in pairs:
                value.grad = grad  # a view: the stack's backward writes it in place
            self.tensors.append([value for value, _ in pairs])
        shared: dict[Ref, list[int]] = {}
        for k, ref in enumerate(refs):
            shared.setdefault(ref, []).append(k)
        # (their optimizer, its base learning rate) per set of options
        self.groups = [(updates.make(ref, [t for k in models_ for t in self.tensors[k]]),
                        float(ref.kwargs["lr"])) for ref, models_ in shared.items()]
        self._scale = 1.0  # the factor the groups' learning rates hold now
        self._stepped = [optimizer for optimizer, _ in self.groups]  # those with a model left

    def freeze(self, models: Sequence[int]) -> None:
        """Take ``models`` out of every update from now on (they diverged)."""
        gone = {id(t) for k in models for t in self.tensors[k]}
        for optimizer, _ in self.groups:
            for group in optimizer.param_groups:
                group["params"] = [p for p in group["params"] if id(p) not in gone]
            # their state is never read again; dropped, so that state_dict() holds the
            # parameters still trained only (it indexes the groups' parameters)
            for k in models:
                for t in self.tensors[k]:
                    optimizer.state.pop(t, None)
        self._stepped = [optimizer for optimizer, _ in self.groups
                         if any(group["params"] for group in optimizer.param_groups)]

    def state(self) -> list[dict[str, Any]]:
        """Each group's torch ``state_dict`` (tensors not copied: save them at once)."""
        return [optimizer.state_dict() for optimizer, _ in self.groups]

    def load(self, states: Sequence[dict[str, Any]]) -> None:
        """Restore what :meth:`state` gave, into an optimizer over the same models with the
        same models frozen. ValueError when the states do not fit it."""
        if len(states) != len(self.groups):
            raise ValueError(f"{len(states)} optimizer states, not {len(self.groups)} (one "
                             "per set of options)")
        for (optimizer, _), saved in zip(self.groups, states, strict=True):
            self._scale = math.nan  # the loaded groups hold the saved learning rates
            held = [p for group in optimizer.param_groups for p in group["params"]]
            if len(held) == 1 and held[0].dim() == 1:
                saved = _as_one_tensor(saved)
            _check_shapes(saved, held)
            try:
                optimizer.load_state_dict(saved)
            except (KeyError, TypeError) as err:
                raise ValueError(f"an optimizer state of another shape ({err})") from None

    def step(self, lr_scale: float = 1.0) -> None:
        """One update of every model not frozen, each learning rate times ``lr_scale``
        (a schedule's factor)."""
        if lr_scale != self._scale:  # (set only when it changes: a step is hot code)
            for optimizer, base in self.groups:
                for group in optimizer.param_groups:
                    group["lr"] = base * lr_scale
            self._scale = lr_scale
        for optimizer in self._stepped:
            optimizer.step()


def _as_one_tensor(saved: dict[str, Any]) -> dict[str, Any]:
    """An optimizer state over one tensor per layer (a stack of one as earlier versions
    stepped it) as the state over the one flat tensor a stack of one steps now: each
    per-element buffer joined in parameter order, which is the flat tensor's order; the
    shared step count kept. A state over one tensor already is returned as it is."""
    groups = saved.get("param_groups", [])
    indices = [i for group in groups for i in group.get("params", [])]
    if len(groups) != 1 or len(indices) < 2:
        return saved
    states = [saved.get("state", {}).get(i, {}) for i in indices]
    joined: dict[str, Any] = {}
    for key in states[0]:
        values = [state.get(key) for state in states]
        if all(isinstance(v, Tensor) and v.dim() > 0 for v in values):
            joined[key] = torch.cat([v.reshape(-1) for v in values])
        else:  # the step count (equal for every tensor) and options
            first = values[0]
            joined[key] = first.clone() if isinstance(first, Tensor) else first
    return {"state": {0: joined} if joined else {},
            "param_groups": [{**groups[0], "params": [0]}]}


def _check_shapes(saved: dict[str, Any], held: Sequence[Tensor]) -> None:
    """ValueError unless every per-element buffer of ``saved`` has its parameter's shape
    (torch loads a buffer of another shape and fails only at the next step)."""
    states = saved.get("state", {})
    indices = [i for group in saved.get("param_groups", []) for i in group.get("params", [])]
    if len(indices) != len(held):
        raise ValueError(f"an optimizer state over {len(indices)} tensors, not {len(held)}")
    for index, param in zip(indices, held, strict=True):
        for key, value in states.get(index, {}).items():
            if isinstance(value, Tensor) and value.dim() and value.shape != param.shape:
                raise ValueError(f"an optimizer state of another shape ({key} "
                                 f"{tuple(value.shape)}, not {tuple(param.shape)})")
