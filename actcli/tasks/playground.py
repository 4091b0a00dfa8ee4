"""The Neural Network Playground's 2-D sets as tasks: circle, xor, gauss, spiral, moons
(classification, two classes) and reg_plane, reg_gauss (regression).

The points come from :mod:`actcli.tasks.playground_data` (the Playground's own definitions),
seeded by ``task.seed``; ``task.features`` picks the network's inputs from the Playground's
seven (x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)), so "features instead of layers" is one
config line. A seeded share (``test_fraction``) is held out for testing; each feature is
standardised with the training split's mean and standard deviation (``scale: standard``,
recorded in summary.json as ``data.input_standardize``, which ``predict`` applies). The
picture is the network's output over the plane (``decision.png``) and each hidden unit's
(``units.png``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, create_model, field_validator, model_validator
from torch import Tensor

from actcli.strict import Strict
from actcli.tasks import playground_data as pd
from actcli.tasks.base import PlanePicture, Predict, Split, TaskData
from actcli.tasks.scaling import Standardize

GRID = 80  # points per side of the plane a picture evaluates the network on


class PlaneOptions(Strict):
    """Options every Playground set has."""

    count: int = Field(500, ge=10, le=1_000_000, description="number of points")
    noise: float = Field(0.0, ge=0.0, le=0.5, description="the Playground's noise slider / "
                         "100: 0 = clean classes, 0.5 = the most noise it offers")
    test_fraction: float = Field(0.5, ge=0.0, lt=1.0, description="share of the points held "
                                 "out for testing (the Playground trains on half)")
    features: tuple[str, ...] = Field(
        ("x1", "x2"), min_length=1,
        description="the network's inputs, from: " + ", ".join(pd.FEATURES))
    scale: Literal["standard", "none"] = Field(
        "standard", description="standard = each feature (x - mean) / std of the training "
        "split; none = raw values, as the Playground feeds them")
    seed: int = Field(0, ge=0, description="seed of the points and the split, not of training")

    @model_validator(mode="after")
    def _some_to_train_on(self) -> PlaneOptions:
        held = round(self.count * self.test_fraction)
        if self.count - held < 2:
            raise ValueError(f"test_fraction {self.test_fraction} of {self.count} points "
                             f"holds out {held}, leaving {self.count - held} to train on "
                             "(at least 2 are needed)")
        return self

    @field_validator("features", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:  # raw config data
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            names = [pd.canonical_feature(str(v)) for v in value]
            if len(set(names)) != len(names):
                raise ValueError(f"{', '.join(names)} names a feature twice")
            return tuple(names)
        return value


def fitted(x: np.ndarray, how: str, names: Sequence[str]) -> Standardize:
    """The standardisation of features ``x`` (the training rows) that ``scale`` asks for:
    fitted (``standard``), or none (``none``: mean 0, std 1)."""
    if how == "none":
        return Standardize((0.0,) * len(names), (1.0,) * len(names), tuple(names))
    return Standardize.fit(x, names)


def record(standardize: Standardize) -> dict[str, Any]:
    """summary.json's ``data.input_standardize`` of a 2-D run."""
    return {"features": list(standardize.names), "mean": list(standardize.mean),
            "std": list(standardize.std)}


class PlaneTask:
    """One Playground set: two raw inputs, the chosen features, one output unit."""

    n_outputs = 1
    picture_type = PlanePicture
    final_names = ("loss", "accuracy")
    smoke: dict[str, Any] = {"count": 100}
    smoke_epochs = 20
    x_label = "x1, x2"
    columns = ("x1", "x2")  # what a user gives `predict`

    def __init__(self, name: str, doc: str, options: type[PlaneOptions]) -> None:
        self.name, self.doc, self.options = name, doc, options
        self.is_regression = name in pd.REGRESSION
        self.classes: tuple[str, ...] = () if self.is_regression else ("0", "1")

    def shape(self, options: PlaneOptions) -> tuple[tuple[int, ...], int]:
        return (len(options.features),), 1

    def regression(self, options: Any) -> bool:
        return self.is_regression

    def train_size(self, options: PlaneOptions) -> int:
        return options.count - round(options.count * options.test_fraction)

    def load(self, options: PlaneOptions, progress: Any = None) -> TaskData:
        points, targets = pd.generate(self.name, options.count, options.noise, options.seed)
        n = len(points)
        n_test = round(n * options.test_fraction)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(options.seed)
                               ).numpy()
        train_idx, test_idx = order[n_test:], order[:n_test]
        raw = pd.features(points, options.features)
        standardize = fitted(raw[train_idx], options.scale, options.features)
        dtype = torch.get_default_dtype()
        x = torch.from_numpy(standardize(raw)).to(dtype)
        y = torch.from_numpy(targets).to(dtype).unsqueeze(1)
        train = Split(x[train_idx], y[train_idx])
        test = Split(x[test_idx], y[test_idx]) if n_test else train
        return TaskData(
            train, test, 1,
            info={"samples": n, "train_samples": len(train_idx), "test_samples": n_test,
                  "input_standardize": record(standardize)},
            context={"points": points, "targets": targets, "train_idx": train_idx,
                     "test_idx": test_idx, "standardize": standardize},
            score="r2" if self.is_regression else "accuracy",
        )

    def encode(self, options: PlaneOptions, recorded: dict[str, Any], rows: np.ndarray
               ) -> Tensor:
        """Raw points (N, 2) as the network's inputs, with the run's recorded
        standardisation (summary.json ``data.input_standardize``); ValueError if missing."""
        found = recorded.get("input_standardize")
        if not isinstance(found, dict) or found.get("features") != list(options.features):
            raise ValueError("records no data.input_standardize for its features")
        standardize = Standardize(tuple(found["mean"]), tuple(found["std"]))
        inputs = standardize(pd.features(rows, options.features))
        return torch.from_numpy(inputs).to(torch.get_default_dtype())

    def input_columns(self, options: PlaneOptions, recorded: dict[str, Any]
                      ) -> tuple[str, ...]:
        """What ``predict`` asks for: the point's coordinates (the features follow)."""
        return self.columns

    def output_classes(self, options: PlaneOptions, recorded: dict[str, Any]
                       ) -> tuple[str, ...]:
        """The classes' names (none for a regression)."""
        return self.classes

    def span(self, data: TaskData) -> float:
        """Half the side of the square a picture covers: the Playground's [-6, 6], wider
        when points lie beyond it."""
        reach = float(np.abs(data.context["points"]).max()) if len(data.context["points"]) \
            else pd.SPAN
        return max(pd.SPAN, math.ceil(reach * 1.05))

    def grid(self, options: PlaneOptions, data: TaskData, points: int = GRID
             ) -> tuple[np.ndarray, np.ndarray, Tensor]:
        """(xs, ys, the network's inputs of every grid point, row by row: x2 = ys[i],
        x1 = xs[j] at row i * points + j)."""
        half = self.span(data)
        xs = np.linspace(-half, half, points)
        ys = np.linspace(-half, half, points)
        x1, x2 = np.meshgrid(xs, ys)  # [row (x2), column (x1)]
        plane = np.stack([x1.ravel(), x2.ravel()], axis=1)
        inputs = data.context["standardize"](pd.features(plane, options.features))
        return xs, ys, torch.from_numpy(inputs).to(torch.get_default_dtype())

    def values(self, options: PlaneOptions, data: TaskData, predict: Predict,
               points: int = GRID) -> np.ndarray:
        """The network's output (P(class 1), or the value) over the grid, (G, G)."""
        _, _, inputs = self.grid(options, data, points)
        return predict(inputs)[:, 0].double().numpy().reshape(points, points)

    def extras(self, options: Any, data: TaskData, predict: Predict) -> dict[str, Any]:
        return {}

    def picture(self, options: PlaneOptions, data: TaskData, predict: Predict
                ) -> PlanePicture:
        xs, ys, inputs = self.grid(options, data)
        values = predict(inputs)[:, 0].double().numpy().reshape(len(ys), len(xs))
        points, targets = data.context["points"], data.context["targets"]
        train, test = data.context["train_idx"], data.context["test_idx"]
        return PlanePicture(xs, ys, values, points[train], targets[train], points[test],
                            targets[test], self.is_regression, inputs)


_DOCS = {
    "circle": "the Playground's circle: class 1 inside radius 2.5, class 0 on a ring around "
              "it (2-D, binary)",
    "xor": "the Playground's exclusive or: class 1 where x1 and x2 have the same sign "
           "(2-D, binary)",
    "gauss": "the Playground's two gaussians around (2, 2) and (-2, -2) (2-D, binary)",
    "spiral": "the Playground's two interleaved spirals (2-D, binary)",
    "moons": "two interleaving half circles, scikit-learn's make_moons (2-D, binary)",
    "reg_plane": "the Playground's plane: the value (x1 + x2) / 10 (2-D, regression)",
    "reg_gauss": "the Playground's six gaussians of value +1 or -1 (2-D, regression)",
}


def _options(name: str) -> type[PlaneOptions]:
    """The options class of set ``name``: PlaneOptions with ``name`` fixed to it (and the
    Playground's 1,200 points for a regression)."""
    fields: dict[str, Any] = {"name": (Literal[name], name)}
    if name in pd.REGRESSION:
        fields["count"] = (int, Field(1200, ge=10, le=1_000_000, description="number of points"))
    title = "".join(part.title() for part in name.split("_"))
    made: type[PlaneOptions] = create_model(f"{title}Options", __base__=PlaneOptions,
                                            **fields)
    return made


PLANE_TASKS = tuple(PlaneTask(name, _DOCS[name], _options(name)) for name in pd.SETS)
