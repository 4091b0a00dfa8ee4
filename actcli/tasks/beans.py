"""beans: is a bean of this size toxic? One input in [0, 1), binary, slightly noisy.

The classic draws sizes x ~ U(0, 1) and calls a bean toxic when
0.7 x + noise / 50 + 0.5 > 0.8 with noise = 0.5 - U(0, 1): a boundary near
x = 3/7 ≈ 0.43 blurred by a jitter of total width 0.02 (option ``noise``).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from actcli.tasks.base import Curve1D, Curve1DOptions


class BeansOptions(Curve1DOptions):
    name: Literal["beans"] = "beans"
    count: int = Field(1000, ge=10, le=10_000_000, description="number of beans")
    noise: float = Field(
        0.02, ge=0.0, description="width of the uniform jitter on the toxicity score "
        "(the classic's noise / 50 with noise = 0.5 - U(0, 1))",
    )
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0, description="share of beans held out")


class Beans(Curve1D):
    name = "beans"
    doc = "toxic beans by size: 0.7 x + jitter + 0.5 > 0.8 (one input, binary)"
    options = BeansOptions
    x_label = "bean size"
    classes = ("safe", "toxic")
    smoke = {"count": 200}

    def samples(self, options: BeansOptions) -> tuple[Tensor, Tensor]:
        count = options.count
        gen = torch.Generator().manual_seed(options.seed)
        x = torch.rand(count, generator=gen, dtype=torch.float64)
        noise = 0.5 - torch.rand(count, generator=gen, dtype=torch.float64)
        score = 0.7 * x + noise * options.noise + 0.5
        return x, (score > 0.8).long()

    def span(self, options: BeansOptions) -> tuple[float, float]:
        return 0.0, 1.0


TASK = Beans()
