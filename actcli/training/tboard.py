"""TensorBoard event files for a run: its metrics, hyperparameters and pictures.

Written with torch's own ``SummaryWriter`` (it needs the ``tensorboard`` package) into the
run folder itself, so ``tensorboard --logdir runs`` shows every run and ``--logdir`` on a
compare folder shows its cells. The hyperparameters go into the same event file as the
scalars (``SummaryWriter.add_hparams`` would start a separate run, pytorch/pytorch#32651),
so the HParams tab links each run's config to its final metrics.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from actcli.errors import ActcliError

INSTALL = 'pip install "actcli[tensorboard]"'
FINAL = "final/"  # tag prefix of the final metrics the HParams tab shows


def require() -> None:
    """ActcliError (exit 2) naming the pip command when TensorBoard is not installed."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise ActcliError(f"--tensorboard needs TensorBoard: {INSTALL}") from None


def hparams_of(config: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """A resolved config as flat hyperparameters, keyed as `actcli runs` keys them
    (``model.activation`` is the name, with or without options); lists as text."""
    from actcli.config.flat import flatten

    flat = flatten({k: v for k, v in config.items() if k not in ("compare", "log")})
    return {k: v if isinstance(v, bool | int | float | str) else str(v)
            for k, v in flat.items()}


class Board:
    """The event file of one run, written as the run goes."""

    def __init__(self, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def log(self, row: dict[str, float]) -> None:
        """One logged row of metrics.csv, at its epoch."""
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch" and math.isfinite(value):
                self.writer.add_scalar(key, value, epoch)
        self.writer.flush()

    def finish(self, config: dict[str, Any], metrics: dict[str, Any], epoch: int,
               pictures: list[Path]) -> None:
        """The hyperparameters with the final metrics, and the run's PNGs; closes the file."""
        from torch.utils.tensorboard.summary import hparams

        finals = {f"{FINAL}{k}": float(v) for k, v in metrics.items()
                  if isinstance(v, int | float) and not isinstance(v, bool)
                  and math.isfinite(v)}
        experiment, start, end = hparams(hparams_of(config), finals)
        file_writer = self.writer._get_file_writer()  # the run's own event file
        for summary in (experiment, start, end):
            file_writer.add_summary(summary)
        for tag, value in finals.items():
            self.writer.add_scalar(tag, value, epoch)
        for picture in pictures:
            self.writer.add_image(picture.stem, _read_png(picture), epoch, dataformats="HWC")
        self.writer.close()


def _read_png(path: Path) -> Any:
    import matplotlib.image
    import numpy as np

    image = matplotlib.image.imread(str(path))  # float in [0, 1], RGB or RGBA
    return (np.asarray(image)[..., :3] * 255).round().astype(np.uint8)
