"""rice_cooker: a kettle that switches at 130 °C; one neuron learns the switch point.

Temperatures from t_min to t_max in steps of ``step``; label 1 above ``threshold``.
The classic trains sigmoid(a t + b) on every temperature and reads the switch point
back as the temperature where the prediction crosses 0.5 (t = -b / a, unscaled).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor

from actcli.tasks.base import Curve1D, Curve1DOptions


class RiceCookerOptions(Curve1DOptions):
    name: Literal["rice_cooker"] = "rice_cooker"
    threshold: float = Field(130.0, description="temperature (°C) above which the label is 1")
    t_min: float = Field(0.0, description="lowest temperature (°C)")
    t_max: float = Field(200.0, description="highest temperature (°C)")
    step: float = Field(0.1, gt=0.0, description="temperature step (°C)")

    @model_validator(mode="after")
    def _check_range(self) -> RiceCookerOptions:
        if not self.t_min < self.t_max:
            raise ValueError(f"t_min must be < t_max, got {self.t_min} and {self.t_max}")
        if not self.t_min < self.threshold < self.t_max:
            raise ValueError(
                f"threshold must lie inside ({self.t_min}, {self.t_max}), got {self.threshold}"
            )
        if (self.t_max - self.t_min) / self.step > 10_000_000:
            raise ValueError(f"step {self.step} gives more than 10 million temperatures")
        return self


class RiceCooker(Curve1D):
    name = "rice_cooker"
    doc = "switch point of a kettle: label 1 above 130 °C (one input, binary)"
    options = RiceCookerOptions
    x_label = "temperature (°C)"
    classes = ("below the switch point", "above the switch point")
    smoke = {"step": 1.0}

    def samples(self, options: RiceCookerOptions) -> tuple[Tensor, Tensor]:
        step = options.step
        count = int(round((options.t_max - options.t_min) / step)) + 1
        # integer steps, not arange on floats: 0.1 * k is exact to the last digit shown
        t = options.t_min + step * torch.arange(count, dtype=torch.float64)
        t = t[t <= options.t_max + 1e-9]
        return t, (t > options.threshold).long()

    def span(self, options: RiceCookerOptions) -> tuple[float, float]:
        return options.t_min, options.t_max


TASK = RiceCooker()
