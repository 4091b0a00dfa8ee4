"""``actcli eval``: a run's model measured on its test data again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actcli import folders
from actcli.inspection.predict import trained
from actcli.tasks.base import final_names
from actcli.training.parts import measured_on, prepare


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    """Re-load a run's config and model (weights only) and measure it on the test set again.

    Returns the metrics now and the ones the run recorded, under ``measured``/``recorded``,
    and what they were measured on (``measured_on``).
    """
    recorded = folders.read_summary(run_dir)
    config, state_path = trained(run_dir, recorded)
    p = prepare(config)
    folders.load_weights(p.parts.net, state_path, p.parts.device)
    loss, accuracy = p.parts.measure(p.test)
    loss_name, accuracy_name = final_names(p.task, p.config.task)
    return {"measured": {loss_name: loss, accuracy_name: accuracy},
            "measured_on": measured_on(p.data),
            "recorded": {k: recorded["metrics"].get(k) for k in (loss_name, accuracy_name)}}
