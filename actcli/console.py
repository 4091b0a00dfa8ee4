"""Terminal output with rich: the training progress bar and tables. No logic lives here."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table


class ProgressReporter:
    """A rich progress bar over epochs with the live training loss (experiment.Reporter)."""

    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label
        self._progress: Progress | None = None
        self._task: Any = None
        self._last = 0.0  # when the bar was last redrawn
        self._epoch, self._loss = 0, float("nan")  # the latest epoch, shown at the end

    def download(self, name: str, done: int, total: int) -> None:
        """Progress of a data download (bytes)."""
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), console=self.console, transient=True,
            )
            self._progress.start()
            self._downloads: dict[str, Any] = {}
        if name not in self._downloads:
            self._downloads[name] = self._progress.add_task(f"download {name}", total=total or None)
        self._progress.update(self._downloads[name], completed=done)

    def start(self, run: Path, epochs: int) -> None:
        if self._progress is not None:  # a download bar finished before training
            self._progress.stop()
            self._progress = None
        self.console.print(f"run folder: {run}", highlight=False, markup=False)
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        self._task = self._progress.add_task(self.label, total=epochs, loss="-")
        self._progress.start()

    def epoch(self, epoch: int, train_loss: float) -> None:
        # updating rich on each of 10,000 fast epochs would cost more than training them
        now = time.monotonic()
        if self._progress is not None and (now - self._last > 0.1):
            self._last = now
            self._progress.update(self._task, completed=epoch, loss=f"{train_loss:.4g}")
        self._epoch, self._loss = epoch, train_loss

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self._epoch, loss=f"{self._loss:.4g}")
            self._progress.stop()


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def key_values(title: str, values: Mapping[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, format_value(value))
    return table


def grid(title: str, columns: Iterable[str], rows: Iterable[Iterable[str]],
         prose: bool = False) -> Table:
    """A table whose values never wrap (a number cut over two lines misleads); ``prose``
    tables (descriptions, formulas) wrap their text to the terminal instead."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        if prose:
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def width_of(table: Table) -> int:
    """The columns ``table`` needs to show every value on one line."""
    return Console(width=100_000, file=io.StringIO()).measure(table).maximum


def natural_width(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """What :func:`width_of` measures for a :func:`grid` of plain text, without building it:
    each column its widest cell plus one space each side, and the n + 1 rules between."""
    from rich.cells import cell_len

    widths = [cell_len(c) for c in columns]
    for row in rows:
        widths = [max(w, cell_len(v)) for w, v in zip(widths, row, strict=True)]
    return sum(w + 2 for w in widths) + len(widths) + 1


def fit(width: int, candidates: Iterable[Callable[[], Table]]) -> Table:
    """The first of ``candidates`` (fullest first) that fits ``width`` columns, else the last."""
    table = None
    for make in candidates:
        table = make()
        if width_of(table) <= width:
            return table
    if table is None:
        raise ValueError("no candidate table")
    return table


def without(columns: Sequence[str], rows: Sequence[Sequence[str]], drop: Iterable[str]
            ) -> tuple[list[str], list[list[str]]]:
    """``columns`` and ``rows`` less the named columns."""
    keep = [i for i, name in enumerate(columns) if name not in set(drop)]
    return [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
