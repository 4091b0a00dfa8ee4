"""A user's own activations, as the teaching material writes them: small Python functions
(and an nn.Module class). Used by tests/test_custom_activation.py through references such
as ``tests/data/user_activations.py:swish``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

CALLS = {"imported": 0}  # how often this file was executed (imported)
CALLS["imported"] += 1

NOT_A_FUNCTION = 3.0


def swish(x: Tensor) -> Tensor:
    return x * torch.sigmoid(x)


def step(x: Tensor) -> Tensor:
    """The perceptron's step: no gradient anywhere."""
    return (x > 0).to(x.dtype)


def shrink(x: Tensor) -> Tensor:
    return x[..., ::2]


def logarithm(x: Tensor) -> Tensor:
    return torch.log(x)  # NaN for x < 0


def as_float(x: Tensor) -> float:
    return float(x.sum())


def in_place(x: Tensor) -> Tensor:
    return x.mul_(2)


def row_softmax(x: Tensor) -> Tensor:
    return torch.softmax(x, dim=-1)


def fails(x: Tensor) -> Tensor:
    raise ValueError("no luck\nsecond line")


def to_double(x: Tensor) -> Tensor:
    return x.double()


class ShiftedRelu(nn.Module):
    """relu(x - shift) + shift, the shift learned."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(0.5))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x - self.shift) + self.shift


class NeedsArguments(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def forward(self, x: Tensor) -> Tensor:
        return x


class Plain:
    def __call__(self, x: Tensor) -> Tensor:
        return x
