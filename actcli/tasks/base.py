"""What every task hands to an experiment, and the shared 1-D binary task machinery.

A task turns its options into tensors (:class:`TaskData`), names the extra figures it
reports (``extras``) and the data its picture needs (``picture``). rice_cooker and beans
are both "one number in, yes/no out", so :class:`Curve1D` does their split, scaling,
threshold and fit curve once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from actcli.errors import DataError
from actcli.strict import Strict

Predict = Callable[[Tensor], Tensor]  # model inputs (N, n_inputs) -> scores (N, n_outputs)


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (N, n_inputs) and targets ``y``: (N, 1) float for binary, (N,) long."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device) -> Split:
        return Split(self.x.to(device), self.y.to(device))

    def spread(self) -> float:
        """The population variance of float targets (a regression's R² divides by it); 1.0
        for class labels or a constant target."""
        if self.y.is_floating_point() and len(self.y) > 1:
            var = float(self.y.double().var(unbiased=False))
            return var if var > 0 else 1.0
        return 1.0


@dataclass(frozen=True)
class TaskData:
    train: Split
    test: Split  # what final metrics are computed on (the full set when there is no split)
    n_outputs: int  # 1 = binary with one unit, else number of classes
    val: Split | None = None  # for model selection, when the task has one
    info: dict[str, Any] = field(default_factory=dict)  # JSON-able, recorded in summary.json
    context: dict[str, Any] = field(default_factory=dict)  # the task's own, for its picture
    score: str = "accuracy"  # what the second metric is: accuracy, or r2 for a regression

    @property
    def regression(self) -> bool:
        return self.score == "r2"

    @property
    def held_out(self) -> bool:
        """Whether the test split is data the model never trains on."""
        return self.test is not self.train

    @property
    def monitored(self) -> tuple[str, str]:
        """metrics.csv's names (loss, accuracy) for what each logged epoch measures: the
        validation split, else the test split, else (nothing held out) the training set
        itself, named so."""
        if self.val is not None:
            return "val_loss", f"val_{self.score}"
        if self.held_out:
            return "test_loss", self.score
        return "train_set_loss", self.score


@dataclass(frozen=True)
class FitPicture:
    """A 1-D task's picture: the data and the model's prediction over the input range."""

    x: np.ndarray  # raw inputs of the curve (task units)
    score: np.ndarray  # the prediction at x
    data_x: np.ndarray  # the samples, raw
    data_y: np.ndarray  # their labels
    x_label: str


@dataclass(frozen=True)
class ClassesPicture:
    """A classification task's picture: the confusion matrix and misclassified samples."""

    confusion: np.ndarray  # (classes, classes): true x predicted counts
    classes: tuple[str, ...]
    wrong_images: np.ndarray | None  # (n, 28, 28) uint8; None: the samples are no images
    wrong_true: np.ndarray | None
    wrong_pred: np.ndarray | None


@dataclass(frozen=True)
class PlanePicture:
    """A 2-D task's picture: the network's output over a grid of the plane and the points."""

    xs: np.ndarray  # (G,) x1 of the grid's columns (raw task units)
    ys: np.ndarray  # (G,) x2 of its rows
    values: np.ndarray  # (G, G) [row, column]: P(class 1), or the predicted value
    train_x: np.ndarray  # (N, 2) raw training points
    train_y: np.ndarray  # their labels (0/1) or values
    test_x: np.ndarray
    test_y: np.ndarray
    regression: bool
    inputs: Tensor  # (G * G, features): the network's inputs of the grid, row by row


Picture = FitPicture | ClassesPicture | PlanePicture


class Task(Protocol):
    """A task: named options in, tensors and task-specific results out."""

    name: str
    doc: str
    options: type[Strict]
    smoke: dict[str, Any]  # option changes that make the task tiny (``--smoke``)
    smoke_epochs: int  # at most this many epochs with ``--smoke``
    picture_type: type[FitPicture] | type[ClassesPicture] | type[PlanePicture]  # of picture()
    final_names: tuple[str, str]  # names of the final (loss, accuracy) in summary.json

    def load(self, options: Any, progress: Any = None) -> TaskData: ...

    def shape(self, options: Any) -> tuple[tuple[int, ...], int]:
        """(one sample's input shape, output units) with these options, without loading the
        data (a table reads its header and target column); ValueError for unreadable
        data."""
        ...

    def regression(self, options: Any) -> bool:
        """Whether the task predicts a number (scored by R²) rather than a class."""
        ...

    def train_size(self, options: Any) -> int:
        """How many samples a training epoch goes over (without loading them)."""
        ...

    def extras(self, options: Any, data: TaskData, predict: Predict) -> dict[str, Any]: ...

    def picture(self, options: Any, data: TaskData, predict: Predict) -> Picture: ...


def final_names(task: Task, options: Any) -> tuple[str, str]:
    """The names of a run's final (loss, score) in summary.json: the task's, with
    ``accuracy`` read as ``r2`` on a regression."""
    loss, score = task.final_names
    return (loss, score.replace("accuracy", "r2")) if task.regression(options) else (loss, score)


class FixedShape:
    """A task whose input shape and outputs do not depend on its options."""

    n_outputs: int
    input_shape: tuple[int, ...]

    def shape(self, options: Any) -> tuple[tuple[int, ...], int]:
        return self.input_shape, self.n_outputs

    def regression(self, options: Any) -> bool:
        return False


class Curve1DOptions(Strict):
    """Options every 1-D binary task has."""

    scale: Literal["standard", "minmax", "none"] = Field(
        "standard",
        description="input scaling fitted on the training set: standard = (x - mean) / std, "
        "minmax = (x - min) / (max - min), none = raw values",
    )
    test_fraction: float = Field(
        0.0, ge=0.0, lt=1.0,
        description="share of samples held out for testing; 0 = train and measure on the "
        "full set, as the classic example does",
    )
    seed: int = Field(0, ge=0, description="seed of the data (noise and split), not of training")


@dataclass(frozen=True)
class Scaling:
    """x_model = (x_raw - shift) / scale."""

    shift: float
    scale: float

    @classmethod
    def fit(cls, x: Tensor, how: str) -> Scaling:
        if how == "standard":
            std = float(x.std())
            return cls(float(x.mean()), std if std > 0 else 1.0)
        if how == "minmax":
            span = float(x.max() - x.min())
            return cls(float(x.min()), span if span > 0 else 1.0)
        return cls(0.0, 1.0)

    def __call__(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale


def crossing(x: Tensor, score: Tensor, level: float = 0.5) -> float | None:
    """First x where ``score`` crosses ``level``, linearly interpolated; None if never."""
    d = (score - level).flatten().double()
    x = x.flatten().double()
    hit = torch.nonzero(d == 0)
    change = torch.nonzero((d[:-1] * d[1:]) < 0)
    candidates = []
    if len(hit):
        candidates.append((int(hit[0]), float(x[hit[0]])))
    if len(change):
        i = int(change[0])
        t = float(d[i] / (d[i] - d[i + 1]))
        candidates.append((i, float(x[i] + t * (x[i + 1] - x[i]))))
    return min(candidates)[1] if candidates else None


def _test_count(n: int, options: Any) -> int:
    """How many of ``n`` samples a 1-D task holds out for testing."""
    return round(n * options.test_fraction)


class Curve1D(FixedShape):
    """A binary task on one input: subclasses give the raw samples and the labels."""

    name: str
    doc: str
    options: type[Curve1DOptions]
    n_outputs = 1
    input_shape = (1,)
    picture_type = FitPicture
    final_names = ("loss", "accuracy")
    smoke: dict[str, Any] = {}
    smoke_epochs = 200
    x_label = "x"
    classes = ("0", "1")  # what labels 0 and 1 mean, for `actcli predict`
    extra_name = "threshold"  # the x where the prediction crosses 0.5

    def samples(self, options: Any) -> tuple[Tensor, Tensor]:
        """Raw inputs (N,) float64 and 0/1 labels (N,)."""
        raise NotImplementedError

    def span(self, options: Any) -> tuple[float, float]:
        """The range of raw inputs the fit curve and the threshold search cover."""
        raise NotImplementedError

    def train_size(self, options: Any) -> int:
        n = len(self.samples(options)[0])
        return n - _test_count(n, options)

    def load(self, options: Curve1DOptions, progress: Any = None) -> TaskData:
        raw, labels = self.samples(options)
        n = len(raw)
        order = torch.arange(n)
        n_test = _test_count(n, options)
        if n - n_test < 2:
            raise DataError(f"task.test_fraction: {options.test_fraction} of {n} samples "
                            f"holds out {n_test}, leaving {n - n_test} to train on (at least "
                            "2 are needed)")
        if n_test:
            gen = torch.Generator().manual_seed(options.seed)
            order = torch.randperm(n, generator=gen)
        train_idx, test_idx = order[n_test:], order[:n_test]
        scaling = Scaling.fit(raw[train_idx], options.scale)
        dtype = torch.get_default_dtype()
        x = scaling(raw).to(dtype).unsqueeze(1)
        y = labels.to(dtype).unsqueeze(1)
        train = Split(x[train_idx], y[train_idx])
        test = Split(x[test_idx], y[test_idx]) if n_test else train
        return TaskData(
            train, test, 1,
            info={"samples": n, "train_samples": len(train_idx), "test_samples": n_test,
                  "input_scaling": {"shift": scaling.shift, "scale": scaling.scale}},
            context={"raw": raw, "labels": labels, "scaling": scaling},
        )

    def _grid(self, options: Any, data: TaskData, points: int) -> tuple[Tensor, Tensor]:
        lo, hi = self.span(options)
        raw = torch.linspace(lo, hi, points, dtype=torch.float64)
        x = data.context["scaling"](raw).to(torch.get_default_dtype()).unsqueeze(1)
        return raw, x

    def extras(self, options: Any, data: TaskData, predict: Predict) -> dict[str, Any]:
        raw, x = self._grid(options, data, 20001)
        return {self.extra_name: crossing(raw, predict(x)[:, 0])}

    def picture(self, options: Any, data: TaskData, predict: Predict) -> FitPicture:
        raw, x = self._grid(options, data, 801)
        return FitPicture(raw.numpy(), predict(x)[:, 0].double().numpy(),
                          data.context["raw"].numpy(), data.context["labels"].numpy(),
                          self.x_label)
