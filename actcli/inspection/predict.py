"""`actcli predict`: ask a trained run's model (weights only) about new inputs.

1-D tasks take inputs in the task's own units (°C, bean size): the run's recorded input
scaling is applied. Fashion-MNIST takes an image file, turned into a 28x28 grey image the
way the training images are (light garment on a dark ground, normalised with the run's
recorded pixel mean and std).
"""

from __future__ import annotations

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


def trained(run: Path, summary: dict[str, Any]) -> tuple[config_mod.Config, Path]:
    """A trained run's config (checked against its summary.json) and its model.pt, or one
    ActcliError line: no model.pt (saying the run's status), or a config.yaml of another
    task or name than the summary's."""
    state_path = run / "model.pt"
    if not state_path.exists():
        raise ActcliError(f"{run}: no model.pt (run status: "
                          f"{locks.status(run, summary.get('status'))})")
    config = config_mod.load(run / "config.yaml")
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
    net = model_mod.build(config.model, task.input_shape, task.n_outputs)
    folders.load_weights(net, state_path)
    net.eval()
    return Loaded(config, task, net, scorer(config, net, task.n_outputs),
                  dict(summary.get("data") or {}), run)


@dataclass(frozen=True)
class Answer:
    x: float
    probability: float  # of class 1
    label: str  # the predicted class, named


def check_takes_numbers(loaded: Loaded) -> None:
    """ActcliError unless ``loaded``'s task takes 1-D inputs (numbers, not images)."""
    if loaded.task.input_shape != (1,):
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
    if loaded.task.input_shape == (1,):
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
