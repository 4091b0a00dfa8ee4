"""One run end to end: task + model + components -> training -> run folder.

Everything that can be wrong with the input (device, data, sizes) is checked before the
run folder exists, so bad input never leaves a folder behind. From then on the folder
always holds a ``summary.json`` whose status says how far the run got.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from actcli import config as config_mod
from actcli import devices, plots, runs
from actcli import model as model_mod
from actcli.components import losses, optimizers
from actcli.config import Config
from actcli.tasks import TASKS
from actcli.tasks.base import Split, TaskData
from actcli.training import fit


class Reporter(Protocol):
    """Progress of a run, for a progress bar or a log. Every method may do nothing."""

    def start(self, run: Path, epochs: int) -> None: ...

    def epoch(self, epoch: int, train_loss: float) -> None: ...

    def finish(self) -> None: ...


@dataclass
class RunResult:
    path: Path
    status: str
    metrics: dict[str, Any]
    seconds: float
    epochs: int
    reason: str = ""
    files: list[str] = field(default_factory=list)


def scorer(config: Config, net: model_mod.Network, n_outputs: int) -> Callable[[Tensor], Tensor]:
    """Logits -> what a prediction is read from: probabilities (or the raw output).

    A logit loss with output identity still predicts through the sigmoid/softmax it
    trained with; otherwise the output activation gives the prediction.
    """
    reads = losses.LOSSES.get(config.loss.name).reads
    if config.model.output == "identity" and reads != "output":
        return torch.sigmoid if n_outputs == 1 else (lambda z: torch.softmax(z, dim=-1))
    return net.output


def evaluate(net: model_mod.Network, objective: Callable[[Tensor, Tensor], Tensor],
             score: Callable[[Tensor], Tensor], split: Split) -> dict[str, float]:
    """Loss and accuracy of ``net`` on ``split`` (no gradients)."""
    net.eval()
    with torch.inference_mode():
        z = net(split.x)
        loss = float(objective(z, split.y))
        s = score(z)
        if s.shape[1] == 1:
            correct = ((s > 0.5).to(split.y.dtype) == split.y).float().mean()
        else:
            correct = (s.argmax(dim=1) == split.y).float().mean()
    return {"loss": loss, "accuracy": float(correct)}


def _finite_or_none(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run(config: Config, out: Path, *, reporter: Reporter | None = None) -> RunResult:
    """Train ``config`` and write its run folder under ``out``; return what happened."""
    device = devices.resolve(config.device)
    task = TASKS.get(config.task.name).task
    data: TaskData = task.load(config.task)
    train_split, test_split = data.train.to(device), data.test.to(device)

    torch.manual_seed(config.train.seed)
    generator = torch.Generator().manual_seed(config.train.seed)
    net = model_mod.build(config.model, data.n_inputs, data.n_outputs).to(device)
    objective = losses.objective(config.loss, net.output, data.n_outputs)
    optimizer = optimizers.build(config.optimizer, net.parameters())
    score = scorer(config, net, data.n_outputs)

    def predict(x: Tensor) -> Tensor:
        net.eval()
        with torch.inference_mode():
            return score(net(x.to(device))).cpu()

    folder = runs.create(out, config.name or task.name)
    summary: dict[str, Any] = {
        "status": "running", "name": config.name, "task": config.task.name,
        "metrics": {}, "epochs": 0, "seconds": 0.0, "device": str(device),
        "torch": torch.__version__, "seed": config.train.seed, "data": data.info,
    }
    runs.write_text(folder / "config.yaml", config_mod.dump(config))
    runs.write_json(folder / runs.SUMMARY, summary)
    start = time.perf_counter()
    picture_before = task.picture(config.task, data, predict)
    history: list[dict[str, float]] = []

    def on_epoch(epoch: int, train_loss: float, row: dict[str, float] | None) -> None:
        if row is not None:
            history.append(row)
        if reporter is not None:
            reporter.epoch(epoch, train_loss)

    def test_metrics() -> dict[str, float]:
        measured = evaluate(net, objective, score, test_split)
        return {"test_loss": measured["loss"], "accuracy": measured["accuracy"]}

    if reporter is not None:
        reporter.start(folder, config.train.epochs)
    status, reason, epochs = "failed", "", 0
    try:
        result = fit(net, objective, optimizer, train_split.x, train_split.y,
                     epochs=config.train.epochs, batch_size=config.train.batch_size,
                     generator=generator, evaluate=test_metrics,
                     log_every=config.train.log_every, on_epoch=on_epoch)
        status, reason, epochs = result.status, result.reason, result.epochs
    except KeyboardInterrupt:
        status, reason, epochs = "interrupted", "interrupted by the user", len(history)
        raise
    except Exception as err:
        reason = f"{type(err).__name__}: {err}"
        raise
    finally:
        if reporter is not None:
            reporter.finish()
        seconds = time.perf_counter() - start
        metrics = _final_metrics(status, history, net, objective, score, test_split)
        if status in ("completed", "diverged") and metrics:
            extras = task.extras(config.task, data, predict) if status == "completed" else {}
            metrics.update(extras)
        files = _write_outputs(folder, config, task, data, history, picture_before, predict,
                               metrics, net, status)
        summary.update(status=status, metrics={k: _finite_or_none(v) for k, v in metrics.items()},
                       epochs=epochs, seconds=round(seconds, 3))
        if reason:
            summary["reason"] = reason
        runs.write_json(folder / runs.SUMMARY, summary)
    return RunResult(folder, status, summary["metrics"], seconds, epochs, reason,
                     [*files, "config.yaml", runs.SUMMARY])


def _final_metrics(status: str, history: list[dict[str, float]], net: model_mod.Network,
                   objective: Callable[[Tensor, Tensor], Tensor],
                   score: Callable[[Tensor], Tensor], split: Split) -> dict[str, Any]:
    """Completed: measured now. Otherwise: the last finite logged row, if any."""
    if status == "completed":
        return evaluate(net, objective, score, split)
    if history:
        last = history[-1]
        return {"loss": last["test_loss"], "accuracy": last["accuracy"],
                "last_logged_epoch": last["epoch"]}
    return {}


def _write_outputs(folder: Path, config: Config, task: Any, data: TaskData,  # noqa: ANN401
                   history: list[dict[str, float]], picture_before: dict[str, Any],
                   predict: Callable[[Tensor], Tensor], metrics: dict[str, Any],
                   net: model_mod.Network, status: str) -> list[str]:
    files = []
    if history:
        runs.write_csv(folder / "metrics.csv", history)
        runs.save_figure(plots.learning_curves(history, config.name or ""),
                         folder / "learning_curves.png")
        files += ["metrics.csv", "learning_curves.png"]
    if status != "failed":
        runs.save_state({k: v.cpu() for k, v in net.state_dict().items()}, folder / "model.pt")
        files.append("model.pt")
    if task.figure == "fit_curve" and status != "failed":
        after = task.picture(config.task, data, predict)
        before_curve = plots.Curve("before training", picture_before["x"],
                                   picture_before["score"])
        after_curve = plots.Curve(f"after {status} training" if status != "completed"
                                  else "after training", after["x"], after["score"])
        figure = plots.fit_curve(after["data_x"], after["data_y"], before_curve, after_curve,
                                 metrics.get(task.extra_name), after["x_label"],
                                 title=f"{config.name}: {config.model.output} output, "
                                       f"{config.loss.name}, {config.optimizer.name} "
                                       f"lr={config.optimizer.kwargs['lr']:g}")
        runs.save_figure(figure, folder / "fit.png")
        files.append("fit.png")
    return files
