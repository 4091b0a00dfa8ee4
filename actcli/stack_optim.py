"""The optimizers actcli offers, written element-wise for a stack of K models.

Stock torch optimizers take one learning rate (and one of every other option) for all
their tensors; a stack needs model k's update to use model k's own options. Here every
numeric option is a ``[K, 1]`` tensor that broadcasts over the model's row of the ``[K, P]``
parameter tensor, and the updates are torch's own formulas (``torch.optim.SGD``, ``Adam``,
``AdamW``, ``RMSprop``, single-tensor form), so model k moves exactly as it would under
the torch optimizer alone, up to float rounding (the tests compare them step by step).
Options that switch a formula (``nesterov``, ``amsgrad``) are one value for the stack.

Only the rows of active models are read and written: a frozen (diverged) model's row is
never part of any arithmetic again, so its NaNs cannot reach another model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

SWITCHES = {"sgd": ("nesterov",), "adam": ("amsgrad",), "adamw": ("amsgrad",),
            "rmsprop": ()}


class StackedOptimizer:
    """``name`` (sgd, adam, adamw, rmsprop) over ``flat`` [K, P] with gradient ``grad``;
    ``options[k]`` are model k's options, as a config's optimizer section gives them."""

    def __init__(self, name: str, options: Sequence[Mapping[str, Any]], flat: Tensor,
                 grad: Tensor) -> None:
        if name not in SWITCHES:
            raise ValueError(f"no stacked optimizer {name!r}; stacked: {', '.join(SWITCHES)}")
        if len(options) != len(flat):
            raise ValueError("one set of options per model of the stack")
        for switch in SWITCHES[name]:
            if len({bool(o.get(switch, False)) for o in options}) > 1:
                raise ValueError(f"{name}: {switch} must be the same for every model")
        self.name, self.flat, self.grad = name, flat, grad
        self.switches = {s: bool(options[0].get(s, False)) for s in SWITCHES[name]}
        numeric = sorted({key for o in options for key, v in o.items()
                          if key not in self.switches and not isinstance(v, bool)})
        self.options = {key: torch.tensor([[float(o[key])] for o in options],
                                          dtype=flat.dtype, device=flat.device)
                        for key in numeric}
        self.steps = torch.zeros(len(flat), 1, dtype=torch.float64, device=flat.device)
        self.state: dict[str, Tensor] = {}

    def step(self, active: Tensor | None = None, lr_scale: float = 1.0) -> None:
        """One update of the models where ``active`` ([K] bool) is true (all when None),
        with every learning rate times ``lr_scale`` (a schedule's factor)."""
        if active is None or bool(active.all()):
            self._update(None, lr_scale)
            return
        rows = active.nonzero().flatten()
        if len(rows):
            self._update(rows, lr_scale)

    def _update(self, rows: Tensor | None, lr_scale: float) -> None:
        def take(t: Tensor) -> Tensor:
            return t if rows is None else t.index_select(0, rows)

        opts = {key: take(value) for key, value in self.options.items()}
        p, g = take(self.flat), take(self.grad)
        state = {key: take(value) for key, value in self.state.items()}
        steps = take(self.steps) + 1
        lr = opts["lr"] * lr_scale
        fresh = not self.state
        if self.name == "sgd":
            self._sgd(p, g, state, opts, lr, fresh)
        elif self.name in ("adam", "adamw"):
            self._adam(p, g, state, opts, lr, steps, fresh)
        else:
            self._rmsprop(p, g, state, opts, lr, fresh)
        if rows is None:
            self.steps = steps
            self.state = state
            return
        self.flat.index_copy_(0, rows, p)
        self.steps.index_copy_(0, rows, steps)
        for key, value in state.items():
            if key not in self.state:  # created now: the frozen rows keep zeros
                self.state[key] = torch.zeros_like(self.flat)
            self.state[key].index_copy_(0, rows, value)

    def _sgd(self, p: Tensor, g: Tensor, state: dict[str, Tensor], o: dict[str, Tensor],
             lr: Tensor, fresh: bool) -> None:
        d = torch.addcmul(g, p, o["weight_decay"])
        momentum = o["momentum"]
        if bool((momentum != 0).any()):
            if fresh:  # torch: the buffer starts as the first step's direction
                buf = d.clone()
            else:
                buf = state["momentum"].mul_(momentum).add_(d * (1 - o["dampening"]))
            state["momentum"] = buf
            moved = d + momentum * buf if self.switches["nesterov"] else buf
            d = torch.where(momentum != 0, moved, d)
        p.sub_(lr * d)

    def _adam(self, p: Tensor, g: Tensor, state: dict[str, Tensor], o: dict[str, Tensor],
              lr: Tensor, steps: Tensor, fresh: bool) -> None:
        wd = o["weight_decay"]
        if self.name == "adamw":
            p.mul_(1 - lr * wd)
        else:
            g = torch.addcmul(g, p, wd)
        if fresh:
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            if self.switches["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        beta1, beta2 = o["beta1"], o["beta2"]
        exp_avg = state["exp_avg"].lerp_(g, 1 - beta1)
        exp_avg_sq = state["exp_avg_sq"].mul_(beta2).addcmul_(g * (1 - beta2), g)
        correction1 = 1 - beta1.double() ** steps
        correction2_sqrt = (1 - beta2.double() ** steps).sqrt()
        step_size = (lr.double() / correction1).to(p.dtype)
        if self.switches["amsgrad"]:
            torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = (second.sqrt() / correction2_sqrt.to(p.dtype)).add_(o["eps"])
        p.sub_(step_size * exp_avg / denom)

    def _rmsprop(self, p: Tensor, g: Tensor, state: dict[str, Tensor], o: dict[str, Tensor],
                 lr: Tensor, fresh: bool) -> None:
        g = torch.addcmul(g, p, o["weight_decay"])
        alpha, momentum = o["alpha"], o["momentum"]
        if fresh:
            state["square_avg"] = torch.zeros_like(p)
        square_avg = state["square_avg"].mul_(alpha).addcmul_(g * (1 - alpha), g)
        avg = square_avg.sqrt().add_(o["eps"])
        if bool((momentum > 0).any()):
            if fresh:
                state["momentum"] = torch.zeros_like(p)
            # momentum 0: buffer = 0 * buffer + g / avg, torch's update without momentum
            buf = state["momentum"].mul_(momentum).add_(g / avg)
            p.sub_(lr * buf)
        else:
            p.sub_(lr * (g / avg))
