"""`actcli predict`: ask a trained run's model (weights only) about new inputs.

1-D tasks take inputs in the task's own units (°C, bean size): the run's recorded input
scaling is applied. Fashion-MNIST takes an image file, turned into a 28x28 grey image the
way the training images are (light garment on a dark ground, normalised with the run's
recorded pixel mean and std).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from actcli import config as config_mod
from actcli import folders, locks
from actcli.engine import model as model_mod
from actcli.errors import ActcliError, quote
from actcli.tasks import TASKS


@dataclass(frozen=True)
class Loaded:
    config: config_mod.Config
    task: Any
    net: model_mod.Network
    score: Callable[[Tensor], Tensor]  # logits -> probabilities
    data: dict[str, Any]  # summary.json's "data": the input scaling, pixel mean and std
    run: Path
    input_shape: tuple[int, ...]  # one sample's, as the network was built
    n_outputs: int


def trained(run: Path, summary: dict[str, Any]) -> tuple[config_mod.Config, Path]:
    """A trained run's config (checked against its summary.json) and its model.pt, or one
    ActcliError line: no model.pt (saying the run's status), or a config.yaml of another
    task or name than the summary's."""
    state_path = run / "model.pt"
    if not state_path.exists():
        raise ActcliError(f"{run}: no model.pt (run status: "
                          f"{locks.status(run, summary.get('status'))})")
    # a table run answers from what it recorded: its data file may be gone
    config = config_mod.load(run / "config.yaml", data=False)
    folders.check_agree(run, summary, config.task.name, config.name)
    return config, state_path


def load(run: Path) -> Loaded:
    """A run's config and trained model (weights only), in eval mode, on the CPU."""
    from actcli.training.parts import scorer

    if not run.is_dir():
        raise ActcliError(f"{run}: not a run folder")
    summary = folders.read_summary(run)
    if not (run / "config.yaml").exists():
        raise ActcliError(f"{run}: not a run folder (no config.yaml)")
    config, state_path = trained(run, summary)
    task = TASKS.get(config.task.name).task
    data = dict(summary.get("data") or {})
    if hasattr(task, "recorded_shape"):  # a table: what it trained on, not the file now
        try:
            input_shape, n_outputs = task.recorded_shape(config.task, data)
        except ValueError as err:
            raise ActcliError(f"{run / folders.SUMMARY}: {err}; train the run again") from None
    else:
        input_shape, n_outputs = task.shape(config.task)
    net = model_mod.build(config.model, input_shape, n_outputs)
    folders.load_weights(net, state_path)
    net.eval()
    return Loaded(config, task, net, scorer(config, net, n_outputs), data, run, input_shape,
                  n_outputs)


@dataclass(frozen=True)
class Answer:
    x: float
    probability: float  # of class 1
    label: str  # the predicted class, named


def check_takes_numbers(loaded: Loaded) -> None:
    """ActcliError unless ``loaded``'s task takes 1-D inputs (numbers, not images)."""
    if takes_columns(loaded):
        names = columns(loaded)
        raise ActcliError(f"task {loaded.task.name} takes named inputs: use "
                          + " ".join(f"--set {name}=VALUE" for name in names[:4])
                          + (" ..." if len(names) > 4 else "") + " (or --rows FILE.csv)")
    if getattr(loaded.task, "input_shape", None) != (1,):
        raise ActcliError(f"task {loaded.task.name} takes images: use --image FILE")


def ask(loaded: Loaded, numbers: Sequence[float]) -> list[Answer]:
    """The model's answer for each 1-D input, given in the task's own units."""
    check_takes_numbers(loaded)
    if not numbers:
        raise ActcliError("give one or more inputs, e.g. actcli predict RUN 125 131")
    scaling = _recorded(loaded, "input_scaling", dict)
    if not all(isinstance(scaling.get(k), int | float) for k in ("shift", "scale")) \
            or scaling["scale"] == 0:
        raise ActcliError(f"{loaded.run / folders.SUMMARY}: data.input_scaling is "
                          f"{quote(scaling)}, not {{shift: number, scale: non-zero number}}; "
                          "the run's inputs cannot be reproduced: train it again")
    raw = torch.tensor(numbers, dtype=torch.float64)
    x = ((raw - scaling["shift"]) / scaling["scale"]).to(torch.get_default_dtype())
    with torch.inference_mode():
        probability = loaded.score(loaded.net(x.unsqueeze(1)))[:, 0].double()
    return [Answer(n, float(p), loaded.task.classes[int(p > 0.5)])
            for n, p in zip(numbers, probability, strict=True)]


def _recorded(loaded: Loaded, key: str, kind: Any) -> Any:  # JSON value
    """summary.json's ``data.KEY``, which turns an input into what the model was trained
    on; a run without it is refused: any stand-in would answer for other inputs."""
    value = loaded.data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ActcliError(f"{loaded.run / folders.SUMMARY}: records no data.{key} (how the "
                          "run's inputs were scaled), so its answers cannot be reproduced; "
                          "train the run again")
    return value


def image_tensor(path: Path) -> Tensor:
    """An image file as Fashion-MNIST sees one: (28, 28) floats in [0, 1], a light object on
    a dark ground (a photo on a light ground is inverted), the object fitted into the
    square with its aspect kept."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            grey = opened.convert("L")
    except FileNotFoundError:
        raise ActcliError(f"--image: {path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ActcliError(f"--image: {path}: cannot be read as an image "
                          f"({type(err).__name__})") from None
    width, height = grey.size
    side = max(width, height)
    pixels = torch.from_numpy(np.asarray(grey, dtype=np.float64))  # (height, width)
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = int(border.median())
    square = Image.new("L", (side, side), background)
    square.paste(grey, ((side - width) // 2, (side - height) // 2))
    small = square.resize((28, 28), Image.Resampling.LANCZOS)
    image = torch.from_numpy(np.asarray(small, dtype=np.float64)) / 255
    if background > 127:  # dark garment on a light ground: Fashion-MNIST is the other way
        image = 1.0 - image
    return image


def classify(loaded: Loaded, path: Path, top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` most likely classes of the image at ``path`` with their probabilities."""
    if getattr(loaded.task, "input_shape", None) != (1, 28, 28):
        raise ActcliError(f"task {loaded.task.name} takes numbers, not --image")
    from actcli.tasks.fashion_mnist import CLASSES

    image = image_tensor(path)
    mean = float(_recorded(loaded, "pixel_mean", int | float))
    std = float(_recorded(loaded, "pixel_std", int | float))
    x = ((image - mean) / std).to(torch.get_default_dtype()).reshape(1, 1, 28, 28)
    with torch.inference_mode():
        probabilities = loaded.score(loaded.net(x))[0].double()
    best = torch.argsort(probabilities, descending=True)[:top]
    return [(CLASSES[int(i)], float(probabilities[i])) for i in best]


@dataclass(frozen=True)
class RowAnswer:
    """A 2-D or table task's answer for one row of named inputs."""

    row: dict[str, float]
    value: float  # a regression's prediction, else the probability of ``label``
    label: str | None  # the predicted class (None for a regression)


def takes_columns(loaded: Loaded) -> bool:
    """Whether ``loaded``'s task takes named inputs (``--set name=value``, ``--rows``)."""
    return hasattr(loaded.task, "encode")


def columns(loaded: Loaded) -> tuple[str, ...]:
    """The named inputs ``loaded``'s task takes; one ActcliError line for a task that
    takes none (numbers of a 1-D task, an image)."""
    if not takes_columns(loaded):
        raise ActcliError(f"task {loaded.task.name} takes no named inputs: "
                          + (f"give numbers, e.g. actcli predict {loaded.run} 0.5"
                             if getattr(loaded.task, "input_shape", None) == (1,)
                             else "use --image FILE"))
    return tuple(loaded.task.input_columns(loaded.config.task, loaded.data))


def ask_rows(loaded: Loaded, rows: Sequence[dict[str, float]]) -> list[RowAnswer]:
    """The model's answer for each row (column name -> value in the data's own units),
    through the run's recorded standardisation."""
    names = columns(loaded)
    if not rows:
        raise ActcliError("give the inputs, e.g. actcli predict RUN "
                          + " ".join(f"--set {name}=0" for name in names[:4])
                          + " (or --rows FILE.csv)")
    matrix = np.array([[row[name] for name in names] for row in rows], dtype=np.float64)
    try:
        x = loaded.task.encode(loaded.config.task, loaded.data, matrix)
    except ValueError as err:
        raise ActcliError(f"{loaded.run / folders.SUMMARY}: {err}, so its answers cannot be "
                          "reproduced; train the run again") from None
    with torch.inference_mode():
        scores = loaded.score(loaded.net(x)).double()
    classes = tuple(loaded.task.output_classes(loaded.config.task, loaded.data))
    answers = []
    for row, score in zip(rows, scores, strict=True):
        if not classes:  # a regression
            answers.append(RowAnswer(dict(row), float(score[0]), None))
        elif len(score) == 1:  # binary: P(class 1)
            p = float(score[0])
            answers.append(RowAnswer(dict(row), p if p > 0.5 else 1 - p, classes[int(p > 0.5)]))
        else:
            best = int(score.argmax())
            answers.append(RowAnswer(dict(row), float(score[best]), classes[best]))
    return answers


def named_row(loaded: Loaded, settings: Sequence[str]) -> dict[str, float]:
    """``--set x1=1.5 --set x2=-2`` -> one row; every input named exactly once."""
    names = columns(loaded)
    row: dict[str, float] = {}
    for text in settings:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise ActcliError(f"--set {quote(text)}: expected NAME=VALUE with NAME one of: "
                              f"{', '.join(names)}")
        if key in row:
            raise ActcliError(f"--set: {key} is given twice")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ActcliError(f"--set {key}={value.strip()}: not a finite number")
        row[key] = number
    missing = [name for name in names if name not in row]
    if missing:
        raise ActcliError(f"--set: no value for {', '.join(missing)} (the model takes "
                          f"{', '.join(names)})")
    return row


def read_rows(loaded: Loaded, path: Path) -> list[dict[str, float]]:
    """``--rows FILE.csv``: every row's inputs (the header names them; other columns are
    left out); one line naming the file, the line and the column for what is wrong."""
    import csv

    names = columns(loaded)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle, delimiter="\t" if path.suffix.lower() == ".tsv"
                                    else ","))
    except FileNotFoundError:
        raise ActcliError(f"--rows: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ActcliError(f"--rows: {path}: cannot be read ({type(err).__name__})") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if len(lines) < 2:
        raise ActcliError(f"--rows: {path} needs a header line and at least one row")
    header = [cell.strip() for cell in lines[0]]
    missing = [name for name in names if name not in header]
    if missing and len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        raise ActcliError(f"--rows: {path}: its header is one column, {quote(header[0])}: "
                          "a .csv file must be separated by commas, a .tsv file by tabs")
    if missing:
        raise ActcliError(f"--rows: {path} has no column {', '.join(map(quote, missing))} "
                          f"(the model takes {', '.join(names)}; the file has "
                          f"{', '.join(header)})")
    where = {name: header.index(name) for name in names}
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        row: dict[str, float] = {}
        for name, index in where.items():
            text = line[index].strip() if index < len(line) else ""
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ActcliError(f"--rows: {path} line {number}, column {quote(name)}: "
                                  f"{quote(text)} is not a finite number")
            row[name] = value
        rows.append(row)
    return rows
