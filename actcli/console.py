"""Terminal output with rich: the training progress bar and tables that cut no value."""

from __future__ import annotations

import io
import itertools
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
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
from rich.text import Text


class ProgressReporter:
    """A rich progress bar over epochs with the live training loss (experiment.Reporter)."""

    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label
        self._progress: Progress | None = None
        self._task: Any = None
        self._last = 0.0  # when the bar was last redrawn
        self._epoch = 0  # the latest epoch and its loss, shown at the end
        self._loss: float | None = None  # None until an epoch has reported one
        self._drawn: Progress | None = None  # the bar of a figure drawn after training
        self._drawn_task: Any = None

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

    def drawing(self, name: str, done: int, total: int) -> None:
        """Progress of a figure drawn after training: a bar of its frames, gone when done."""
        if self._drawn is None:
            self._drawn = Progress(
                TextColumn(f"drawing {name}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                transient=True)
            self._drawn_task = self._drawn.add_task(name, total=total)
            self._drawn.start()
        self._drawn.update(self._drawn_task, completed=done, total=total)
        if done >= total:
            self._drawn.stop()
            self._drawn = None

    def finish(self) -> None:
        if self._progress is not None:
            loss = "-" if self._loss is None else f"{self._loss:.4g}"
            self._progress.update(self._task, completed=self._epoch, loss=loss)
            self._progress.stop()


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def key_values(title: str, values: Mapping[str, Any]) -> Grid:
    return Grid(title, ("key", "value"), [(key, format_value(value))
                                          for key, value in values.items()],
                show_header=False, styles=("bold", None))


_RULE = 3  # what a column adds besides its text: a space each side and the rule before it
ROOMY = 16  # a prose column narrower than this reads badly: the table splits first


class Grid:
    """A table that cuts no value and breaks no word, at any terminal width.

    Columns take their natural width when the terminal has room. When it has not, a
    ``prose`` table (descriptions, formulas) wraps its text at spaces. Any other table
    wraps its headers, then values that are lists at their commas (a cell named
    ``model.activation=relu, optimizer.lr=0.1``), never inside a number; when even that is
    too wide, its columns go on in a second table (and a third...), each with the first
    column (the row's name) again; only then do values wrap at their spaces (``0.99 ±``
    over ``0.01``). A single word wider than the whole terminal is the one thing ever
    folded. ``note`` is a line printed under the table (which columns were left out).
    """

    def __init__(self, title: str, columns: Iterable[str], rows: Iterable[Iterable[str]],
                 prose: bool = False, *, show_header: bool = True,
                 styles: Sequence[str | None] = (), note: str = "") -> None:
        self.title, self.prose, self.show_header, self.note = title, prose, show_header, note
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.styles = list(styles) + [None] * (len(self.columns) - len(styles))

    def _natural(self) -> list[int]:
        """Each column's widest line."""
        headers = [self.columns] if self.show_header else []
        return [max((_widest(row[i], "lines") for row in [*headers, *self.rows]), default=0)
                for i in range(len(self.columns))]

    def _least(self, way: str) -> list[int]:
        """Each column's narrowest width when its values break the ``way`` given (lines:
        not at all; commas: after a comma; words: at any space; prose: at any space, and no
        narrower than :data:`ROOMY` where the text is wider); headers break at spaces."""
        least = []
        for i, natural in enumerate(self._natural()):
            values = max((_widest(row[i], "words" if way == "prose" else way)
                          for row in self.rows), default=0)
            header = _widest(self.columns[i], "words") if self.show_header else 0
            roomy = min(natural, ROOMY) if way == "prose" else 0
            least.append(max(values, header, roomy, 1))
        return least

    def plan(self, width: int) -> list[tuple[list[int], list[int] | None, str]]:
        """(the columns, their text widths, how values break) of each table shown at
        ``width`` columns; widths None: rich squeezes them (a word wider than the terminal)."""
        everything = list(range(len(self.columns)))
        natural = self._natural()
        # one table if it fits, else several; values wrap only where nothing else helps
        ways = (("prose", True), ("words", True)) if self.prose else (
            ("lines", False), ("commas", True), ("words", True))
        for way, split in ways:
            least = self._least(way)
            if _total(least, everything) <= width:
                return [(everything, _share(everything, least, natural, width), way)]
            groups = _split(least, width) if split else None
            if groups:
                return [(group, _share(group, least, natural, width), way) for group in groups]
        return [(everything, None, "words")]

    def _table(self, shown: list[int], widths: list[int] | None, way: str) -> Table:
        table = Table(show_header=self.show_header, highlight=False)
        for place, i in enumerate(shown):
            table.add_column(Text(self.columns[i]), style=self.styles[i] or "",
                             width=None if widths is None else widths[place], overflow="fold")
        for row in self.rows:
            table.add_row(*(Text(_after_commas(row[i], widths[place])
                                 if way == "commas" and widths else row[i])
                            for place, i in enumerate(shown)))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number, (shown, widths, way) in enumerate(self.plan(options.max_width)):
            title = self.title if number == 0 else f"{self.title} (continued)".strip()
            if title:
                yield Text(title, style="table.title")
            yield self._table(shown, widths, way)
        if self.note:
            yield Text(self.note)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        everything = list(range(len(self.columns)))
        least = self._least("words")
        smallest = min(_total(least, everything), max(
            (_total(least, [0, i]) for i in everything[1:]), default=_total(least, [0])))
        return Measurement(smallest, _total(self._natural(), everything))


_COMMA = re.compile(r"(?<=,) ")


def _pieces(text: str, way: str) -> list[str]:
    """What of ``text`` must stay on one line when it breaks the ``way`` given."""
    lines = text.split("\n")
    if way == "commas":
        return [piece for line in lines for piece in _COMMA.split(line)]
    if way == "words":
        return [word for line in lines for word in line.split()]
    return lines


def _widest(text: str, way: str) -> int:
    return max((cell_len(piece) for piece in _pieces(text, way)), default=0)


def _after_commas(text: str, width: int) -> str:
    """``text`` with its lines broken after commas so that each fits ``width`` where it can
    (rich then breaks nothing: a list's items stay whole)."""
    out = []
    for line in text.split("\n"):
        current = ""
        for piece in _COMMA.split(line):
            if current and cell_len(current) + 1 + cell_len(piece) > width:
                out.append(current)
                current = piece
            else:
                current = f"{current} {piece}" if current else piece
        out.append(current)
    return "\n".join(out)


def _total(widths: Sequence[int], shown: Sequence[int]) -> int:
    """The width a table of the ``shown`` columns takes at these text widths."""
    return sum(widths[i] + _RULE for i in shown) + 1


def _share(shown: list[int], least: list[int], natural: list[int], width: int) -> list[int]:
    """Text widths of the ``shown`` columns at ``width``: natural where there is room, else
    as even as can be: each column up to one level (never under its least, never over its
    natural width), the level as high as ``width`` allows."""
    lows, highs = [least[i] for i in shown], [max(natural[i], least[i]) for i in shown]
    room = width - (_RULE * len(shown) + 1)

    def at(level: int) -> list[int]:
        return [min(max(level, low), high) for low, high in zip(lows, highs, strict=True)]

    level = min(lows)
    while level < max(highs) and sum(at(level + 1)) <= room:
        level += 1
    widths = at(level)
    for place in range(len(widths)):  # what the level leaves, one column at a time
        if sum(widths) < room and widths[place] < highs[place]:
            widths[place] += 1
    return widths


def _split(least: list[int], width: int) -> list[list[int]] | None:
    """The columns after the first in the fewest consecutive groups that each fit ``width``
    beside the first column at their least widths, the widest group as narrow as can be;
    None when one column beside the first is already too wide."""
    rest = list(range(1, len(least)))
    if len(rest) < 2 or any(_total(least, [0, i]) > width for i in rest):
        return None
    for count in range(2, len(rest) + 1):
        best: tuple[int, list[list[int]]] | None = None
        for cuts in itertools.combinations(range(1, len(rest)), count - 1):
            bounds = [0, *cuts, len(rest)]
            groups = [[0, *rest[a:b]] for a, b in itertools.pairwise(bounds)]
            widest = max(_total(least, g) for g in groups)
            if widest <= width and (best is None or widest < best[0]):
                best = (widest, groups)
        if best is not None:
            return best[1]
    return None


def grid(title: str, columns: Iterable[str], rows: Iterable[Iterable[str]],
         prose: bool = False) -> Grid:
    """A :class:`Grid`: its values never wrap while they fit (a number cut over two lines
    misleads); ``prose`` tables (descriptions, formulas) wrap their text at spaces."""
    return Grid(title, columns, rows, prose)


def width_of(table: Any) -> int:
    """The columns ``table`` needs to show every value on one line."""
    return Console(width=100_000, file=io.StringIO()).measure(table).maximum


def natural_width(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """What :func:`width_of` measures for a :func:`grid` of plain text, without building it:
    each column its widest cell plus one space each side, and the n + 1 rules between."""
    widths = [cell_len(c) for c in columns]
    for row in rows:
        widths = [max(w, cell_len(v)) for w, v in zip(widths, row, strict=True)]
    return sum(w + 2 for w in widths) + len(widths) + 1


def left_out(width: int, names: Sequence[str], limit: int = 8) -> str:
    """The note under a table that left columns out to fit: the first ``limit`` named."""
    if not names:
        return ""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"left out to fit {width} columns: {', '.join(names[:limit])}{more}"


def fit(width: int, candidates: Iterable[Callable[[], Grid]]) -> Grid:
    """The first of ``candidates`` (fullest first) that fits ``width`` columns on one line
    a row, else the last (which wraps or splits as :class:`Grid` does); with a note naming
    the columns of the fullest that it leaves out."""
    table = fullest = None
    for make in candidates:
        table = make()
        fullest = fullest or table
        if width_of(table) <= width:
            break
    if table is None or fullest is None:
        raise ValueError("no candidate table")
    table.note = left_out(width, [c for c in fullest.columns if c not in table.columns])
    return table


def without(columns: Sequence[str], rows: Sequence[Sequence[str]], drop: Iterable[str]
            ) -> tuple[list[str], list[list[str]]]:
    """``columns`` and ``rows`` less the named columns."""
    drop = set(drop)
    keep = [i for i, name in enumerate(columns) if name not in drop]
    return [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
