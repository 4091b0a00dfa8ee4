"""The dense engine's optimizer steps, without torch.optim's Python layer.

torch.optim's optimizers import torch's compiler stack (``torch._dynamo``, about 1.3 s
here) the first time one is built or stepped (``torch._disable_dynamo`` on their methods,
``import torch._dynamo`` in every step). :class:`Update` makes the same update with the
same kernels: adam and adamw call torch's fused kernels (``torch._fused_adam_``,
``torch._fused_adamw_``) and sgd ``torch._fused_sgd_``, exactly as torch.optim does with
``fused=True``, and rmsprop is torch's single-tensor arithmetic written out op for op (it
has no fused kernel; torch.optim runs that arithmetic on the CPU). So a step changes the
parameters bit for bit as torch.optim's would (tests/test_updates.py), and its
``state_dict`` has torch's layout, so a checkpoint of either loads into the other.

Where a fused kernel does not run on a device (or dtype), :func:`make` returns torch.optim's
optimizer instead: the same arithmetic, with its import. The dense engine's stacks and the
autograd engine (CNN, batch norm) both build their optimizers with :func:`make`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

FUSED = {"adam": "_fused_adam_", "adamw": "_fused_adamw_", "sgd": "_fused_sgd_"}


class Update:
    """One optimizer (``name`` with ``options``, a config's optimizer section without l1/l2)
    over ``params`` (tensors whose ``.grad`` holds their gradient). The API a stack uses of
    a torch optimizer: ``param_groups`` (one group: its ``params`` and ``lr``), ``state``
    (keyed by parameter), ``step``, ``state_dict``, ``load_state_dict``."""

    def __init__(self, name: str, options: dict[str, Any], params: Sequence[Tensor]) -> None:
        self.name, self.options = name, dict(options)
        self.param_groups: list[dict[str, Any]] = [
            {"params": list(params), "lr": float(options["lr"])}]
        self.state: dict[Tensor, dict[str, Tensor]] = {}

    # -- the step ----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """As torch.optim's: every parameter's gradient dropped (or zeroed)."""
        for p in self.param_groups[0]["params"]:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def step(self) -> None:
        group = self.param_groups[0]
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        lr, o = float(group["lr"]), self.options
        with torch.no_grad():
            if self.name in ("adam", "adamw"):
                self._adam(params, lr, o)
            elif self.name == "sgd":
                self._sgd(params, lr, o)
            else:
                self._rmsprop(params, lr, o)

    def _adam(self, params: list[Tensor], lr: float, o: dict[str, Any]) -> None:
        amsgrad = bool(o["amsgrad"])
        for p in params:
            if not self.state.get(p):
                zeros = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                         "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                         "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
                if amsgrad:
                    zeros["max_exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)
                self.state[p] = zeros
        states = [self.state[p] for p in params]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        kernel = torch._fused_adamw_ if self.name == "adamw" else torch._fused_adam_
        kernel(params, [p.grad for p in params], [s["exp_avg"] for s in states],  # type: ignore[misc]
               [s["exp_avg_sq"] for s in states],
               [s["max_exp_avg_sq"] for s in states] if amsgrad else [], steps,
               lr=lr, beta1=float(o["beta1"]), beta2=float(o["beta2"]),
               weight_decay=float(o["weight_decay"]), eps=float(o["eps"]), amsgrad=amsgrad,
               maximize=False, grad_scale=None, found_inf=None)

    def _sgd(self, params: list[Tensor], lr: float, o: dict[str, Any]) -> None:
        momentum = float(o["momentum"])
        buffers: list[Tensor] = []
        first = False
        if momentum != 0:
            held = [self.state.get(p, {}).get("momentum_buffer") for p in params]
            first = all(b is None for b in held)
            buffers = [torch.empty_like(p) for p in params] if first \
                else [b for b in held if b is not None]
        torch._fused_sgd_(params, [p.grad for p in params], buffers,  # type: ignore[misc]
                          weight_decay=float(o["weight_decay"]), momentum=momentum, lr=lr,
                          dampening=float(o["dampening"]), nesterov=bool(o["nesterov"]),
                          maximize=False, is_first_step=first, grad_scale=None,
                          found_inf=None)
        if momentum != 0:
            for p, buffer in zip(params, buffers, strict=True):
                self.state.setdefault(p, {})["momentum_buffer"] = buffer

    def _rmsprop(self, params: list[Tensor], lr: float, o: dict[str, Any]) -> None:
        # torch.optim.rmsprop._single_tensor_rmsprop, centered=False, maximize=False
        alpha, eps = float(o["alpha"]), float(o["eps"])
        weight_decay, momentum = float(o["weight_decay"]), float(o["momentum"])
        for p in params:
            state = self.state.get(p)
            if not state:
                state = {"step": torch.zeros((), dtype=torch.get_default_dtype()),
                         "square_avg": torch.zeros_like(p, memory_format=torch.preserve_format)}
                if momentum > 0:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)
                self.state[p] = state
            grad = p.grad
            assert grad is not None  # (params with a gradient only)
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            square_avg = state["square_avg"]
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            avg = square_avg.sqrt().add_(eps)
            if momentum > 0:
                buffer = state["momentum_buffer"]
                buffer.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buffer, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)

    # -- checkpoints, in torch.optim's layout -----------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """torch.optim's layout: parameters numbered in order, state by number."""
        group = self.param_groups[0]
        state = {i: dict(self.state[p]) for i, p in enumerate(group["params"])
                 if self.state.get(p)}
        return {"state": state, "param_groups": [
            {**self._torch_group(), "lr": group["lr"],
             "params": list(range(len(group["params"])))}]}

    def _torch_group(self) -> dict[str, Any]:
        """The options as torch.optim's param_groups name them (so torch loads them)."""
        o = self.options
        common = {"weight_decay": float(o["weight_decay"]), "maximize": False,
                  "foreach": None, "differentiable": False}
        if self.name in ("adam", "adamw"):
            return {**common, "betas": (float(o["beta1"]), float(o["beta2"])),
                    "eps": float(o["eps"]), "amsgrad": bool(o["amsgrad"]),
                    "capturable": False, "fused": True,
                    "decoupled_weight_decay": self.name == "adamw"}
        if self.name == "sgd":
            return {**common, "momentum": float(o["momentum"]),
                    "dampening": float(o["dampening"]), "nesterov": bool(o["nesterov"]),
                    "fused": True}
        return {**common, "alpha": float(o["alpha"]), "eps": float(o["eps"]),
                "momentum": float(o["momentum"]), "centered": False, "capturable": False}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore a state_dict of this layout (ours or torch.optim's, one group over the
        same parameters); KeyError or ValueError when it does not fit."""
        groups = saved["param_groups"]
        if len(groups) != 1:
            raise ValueError(f"{len(groups)} parameter groups, not 1")
        params = self.param_groups[0]["params"]
        indices = list(groups[0]["params"])
        if len(indices) != len(params):
            raise ValueError(f"a state over {len(indices)} tensors, not {len(params)}")
        states = saved["state"]
        self.state = {}
        for index, p in zip(indices, params, strict=True):
            held = states.get(index)
            if not held:
                continue
            # as torch.optim loads a state: buffers follow the parameter's device and
            # dtype; the step count keeps its own dtype and device
            self.state[p] = {key: self._placed(key, value, p) for key, value in held.items()
                             if isinstance(value, Tensor)}
        self.param_groups[0]["lr"] = float(groups[0].get("lr", self.param_groups[0]["lr"]))

    def _placed(self, key: str, value: Tensor, p: Tensor) -> Tensor:
        if key == "step":  # a fused kernel's count is a float32 on the parameter's device
            return value.to(device=p.device, dtype=torch.float32, copy=True) \
                if self.name in FUSED else value.clone()
        return value.to(device=p.device, dtype=p.dtype, copy=True)


def runs_here(name: str, params: Sequence[Tensor]) -> bool:
    """Whether :class:`Update` can step ``params`` here: rmsprop always; the fused kernels
    where this torch build has them for the parameters' device and dtype (tried once per
    device and dtype on a tensor of one element)."""
    if name == "rmsprop":
        return True
    if name not in FUSED or not params:
        return False
    return all(_fused_runs(name, p.device, p.dtype) for p in params)


_RUNS: dict[tuple[str, str, torch.dtype], bool] = {}


def _fused_runs(name: str, device: torch.device, dtype: torch.dtype) -> bool:
    key = (name, str(device), dtype)
    if key not in _RUNS:
        p = torch.zeros(1, device=device, dtype=dtype)
        p.grad = torch.zeros_like(p)
        options = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
                   "amsgrad": False, "momentum": 0.0, "dampening": 0.0, "nesterov": False}
        try:
            Update(name, options, [p]).step()
            _RUNS[key] = True
        except (RuntimeError, NotImplementedError, TypeError):
            _RUNS[key] = False
    return _RUNS[key]


def make(ref: Any, params: Sequence[Tensor]) -> Any:  # an optimizer Ref; Update or torch's
    """``ref``'s optimizer (a config's ``optimizer``) over ``params``: :class:`Update`
    where it runs here, else torch.optim's (:func:`components.optimizers.build`). The l1/l2
    penalties are not the optimizer's: the engines add them to the gradient."""
    from actcli.components import optimizers

    params = list(params)
    if runs_here(ref.name, params):
        options = {k: v for k, v in ref.kwargs.items() if k not in optimizers.PENALTIES}
        return Update(ref.name, options, params)
    return optimizers.build(ref, params)
