"""Read and check a user's own table of data (CSV, TSV, Parquet) for the "table" task.

This is the pure reading and checking part: no torch. Every problem with the file is a
:class:`TableError`, one line that names the file and, where it applies, the line and
the column, so the user can open the file and go straight to the cell.

Formats, chosen by the file's suffix (any case):

- ``.csv`` (comma separated) and ``.tsv`` (tab separated): UTF-8, a UTF-8 byte order
  mark accepted; the first line is the header; quoting as the ``csv`` module reads it;
  whitespace around every cell (and every column name) is stripped; blank lines at the
  end (also lines of empty cells only, ``,,,``, as spreadsheets write them) are ignored,
  a blank line anywhere else is an error.
- ``.parquet`` and ``.pq``: through pyarrow, an optional dependency, imported only
  here (``pip install "actcli[parquet]"``). Columns of numbers (integers, floats,
  decimals) and of text are read; booleans are read as the text ``True``/``False``;
  columns of other types (dates, lists, ...) are left out of the default features and
  refused when named. A null is an empty cell. Parquet has no lines, so a row is named as
  it would be in the same table written as CSV: ``line = row index + 2`` (the header is
  line 1). Columns pandas writes for a non-default index (``__index_level_0__``) are
  never default features.

Line numbers are those a text editor shows, which are also the row numbers a spreadsheet
shows: the header is line 1, the first data row line 2 (a quoted cell spanning several
lines makes the two differ; the error names the line where the row starts).

Numbers are what ``float()`` accepts, except that NaN and the infinities are refused.

Columns: the target is named; the features are either named (order kept) or, by default,
every other column whose cells are numbers (empty cells and NaN do not make a column
text: they are reported as errors instead, so a hole in the data never drops a column
silently; a column with no value at all is left out). The columns left out are in
:attr:`Table.skipped`.

The kind of the target, unless given: a column with any value that is not a number is
a classification; numbers that are all whole with at most :data:`MAX_AUTO_CLASSES`
distinct values are a classification; any other numbers a regression.

A table needs at least :data:`MIN_ROWS` data rows: one each for training, validation and
test.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Literal

import numpy as np

from actcli.errors import DataError, quote, suggest

Kind = Literal["classification", "regression"]
KINDS: tuple[str, ...] = ("auto", "classification", "regression")

DELIMITERS: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}
"""Suffix -> cell separator; None for Parquet."""

MIN_ROWS = 3
"""Fewest data rows a table may have: one each for training, validation and test."""

MAX_AUTO_CLASSES = 20
"""A target of whole numbers with at most this many distinct values is inferred to be a
classification; with more, a regression."""

PARQUET_INSTALL = 'pip install "actcli[parquet]"'

_NAMES_SHOWN = 20  # column names an error line lists before "... and N more"
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


class TableError(DataError, ValueError):
    """A data table cannot be used: one line that names the file, and where it applies the
    row and the column.

    The row is named as ``line N``: the line a text editor (or the row number a
    spreadsheet) shows, the header being line 1, so the first data row is line 2.
    For Parquet files, ``line = row index + 2`` likewise.

    A :class:`~actcli.errors.DataError` (the CLI shows it as one line, exit code 2) and a
    ``ValueError``.
    """


@dataclass(frozen=True, eq=False)
class Table:
    """A checked table: features ``x``, target ``y``, and what they are.

    ``eq=False``: tables compare by identity (arrays have no single truth value).
    """

    path: str
    feature_names: tuple[str, ...]
    target_name: str
    kind: Kind
    x: np.ndarray
    """(N, F) float64, the columns in the order of ``feature_names``."""
    y: np.ndarray
    """(N,) float64 for a regression; int64 index into ``classes`` for a classification."""
    classes: tuple[str, ...] = ()
    """Classification: the class labels as text, sorted (numbers numerically, each shown
    as first written, e.g. ``'0', '1', '2'``; text by code point). ``()`` for regression."""
    skipped: tuple[str, ...] = ()
    """Columns left out of the default features (not numbers), in file order; ``()`` when
    the features were named."""

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])


@dataclass
class _Raw:
    """A file's cells as text, column by column, before any checking of values."""

    path: str
    names: tuple[str, ...]
    columns: list[list[str] | None]  # None: a Parquet column of a type that is not read
    lines: list[int]  # the line number of each data row
    types: dict[str, str]  # column name -> the Parquet type of a column not read


# -- public functions ---------------------------------------------------------------


def header(path: str | Path) -> tuple[str, ...]:
    """The column names of a table file, cheaply (the first line; a Parquet file's schema).

    For checking a config before any training: raises :class:`TableError` for the same
    problems of the file itself and its header as :func:`read_table` does (missing file,
    wrong suffix, empty, blank header, unnamed or duplicate columns, fewer than two).
    """
    file, delimiter = _check_file(path)
    if delimiter is None:
        pq = _parquet(file)
        pa = importlib.import_module("pyarrow")
        try:
            names = tuple(pq.read_schema(str(file)).names)
        except (OSError, pa.ArrowException) as err:
            raise TableError(f"{file}: not a readable Parquet file: {_one_line(err)}") from None
        _check_names(file, names, None)
        return names
    for line, cells in _records(file, delimiter):
        if _blank(cells):
            continue  # a blank first line: the file is empty, or its header is blank
        if line != 1:
            raise TableError(f"{file} line 1 (the header) is blank")
        names = tuple(cells)
        _check_names(file, names, delimiter)
        return names
    raise _empty(file)


def read_table(
    path: str | Path,
    target: str,
    features: Sequence[str] | None = None,
    kind: Literal["auto", "classification", "regression"] = "auto",
) -> Table:
    """Read a CSV, TSV or Parquet file and check it: a :class:`Table`, or a :class:`TableError`.

    ``target``: the column to predict. ``features``: the columns to predict it from, in
    this order; None: every other column of numbers (see the module's docstring); a single
    string is taken as one column name. ``kind``: ``"auto"`` infers it (:func:`infer_kind`);
    ``"classification"`` of a column of numbers makes each distinct value a class.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {quote(kind)}")
    if isinstance(features, str):
        features = (features,)
    raw = _read_raw(path)
    file = raw.path
    if len(raw.lines) < MIN_ROWS:
        rows = f"{len(raw.lines)} data row{'s' if len(raw.lines) != 1 else ''}"
        raise TableError(f"{file} has {rows}: a table needs at least {MIN_ROWS} "
                         "(one each for training, validation and test)")
    index = {name: j for j, name in enumerate(raw.names)}
    if target not in index:
        raise TableError(f"{file}: no target column {quote(target)}"
                         f"{_did_you_mean(target, raw.names)} (columns: {_listing(raw.names)})")
    skipped: tuple[str, ...] = ()
    if features is None:
        chosen, skipped = _default_features(raw, target)
    else:
        chosen = _named_features(raw, target, features)
    if not chosen:
        left_out = f" (not numbers: {_listing(skipped)})" if skipped else ""
        raise TableError(f"{file}: no feature columns besides the target {quote(target)}"
                         f"{left_out}")
    labels = _cells(raw, target)
    for line, cell in zip(raw.lines, labels, strict=True):
        if cell == "":
            raise _empty_cell(file, line, target)
    resolved: Kind = infer_kind(labels) if kind == "auto" else kind
    classes: tuple[str, ...] = ()
    if resolved == "regression":
        y = _numbers(raw, target)
    else:
        y, classes = _classes(raw, target)
    x = np.column_stack([_numbers(raw, name) for name in chosen])
    return Table(path=file, feature_names=tuple(chosen), target_name=target, kind=resolved,
                 x=x, y=y, classes=classes, skipped=skipped)


def infer_kind(values: Sequence[str]) -> Kind:
    """``"classification"`` or ``"regression"`` for a target column's cells (as text).

    Any value that ``float()`` does not accept: classification. All numbers, all whole
    (``3`` and ``3.0`` alike) and at most :data:`MAX_AUTO_CLASSES` distinct: classification.
    Otherwise (a fraction, NaN, an infinity, or more distinct values): regression.
    Empty cells are not looked at; ValueError when no cell has a value.
    """
    numbers: set[float] = set()
    whole = True
    seen = False
    for value in values:
        text = value.strip()
        if not text:
            continue
        seen = True
        try:
            number = float(text)
        except ValueError:
            return "classification"
        whole = whole and math.isfinite(number) and number.is_integer()
        numbers.add(number)
    if not seen:
        raise ValueError("infer_kind: no values (every cell is empty)")
    return "classification" if whole and len(numbers) <= MAX_AUTO_CLASSES else "regression"


def split_indices(
    n: int, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) row indices: a seeded random split of ``range(n)``.

    Validation and test get ``round(n * fraction)`` rows each (Python's ``round``: halves
    go to the even number), training the rest, at least one; ValueError otherwise, or when
    a fraction is not in [0, 1). The permutation is ``np.random.default_rng(seed)``'s, so
    the same arguments give the same split anywhere. Each array is int64, sorted.
    """
    if n < 1:
        raise ValueError(f"cannot split {n} rows")
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= fraction < 1:  # also refuses NaN
            raise ValueError(f"{name} must be at least 0 and below 1, not {fraction!r}")
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise ValueError(f"{n} rows leave none for training after {n_val} for validation "
                         f"and {n_test} for test")
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    val, test, train = order[:n_val], order[n_val:n_val + n_test], order[n_val + n_test:]
    return np.sort(train), np.sort(val), np.sort(test)


# -- reading files --------------------------------------------------------------------


def _check_file(path: str | Path) -> tuple[Path, str | None]:
    """The path and its cell separator (None: Parquet), once it is a file we can read."""
    file = Path(path)
    if file.is_dir():
        raise TableError(f"{file} is a directory, not a table file")
    if not file.exists():
        raise TableError(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix not in DELIMITERS:
        allowed = ", ".join(DELIMITERS)
        what = f"suffix {quote(file.suffix)}" if file.suffix else "no suffix"
        raise TableError(f"{file}: {what}: a table file must end in one of {allowed}")
    try:
        size = file.stat().st_size
    except OSError as err:
        raise TableError(f"{file}: cannot read: {_one_line(err)}") from None
    if size == 0:
        raise _empty(file)
    return file, DELIMITERS[suffix]


def _read_raw(path: str | Path) -> _Raw:
    file, delimiter = _check_file(path)
    if delimiter is None:
        return _read_parquet(file)
    records = list(_records(file, delimiter))
    while records and _blank(records[-1][1]):
        records.pop()
    if not records:
        raise _empty(file)
    names_list = records[0][1]
    if _blank(names_list):
        raise TableError(f"{file} line 1 (the header) is blank")
    names = tuple(names_list)
    _check_names(file, names, delimiter)
    if len(records) == 1:
        raise TableError(f"{file} has a header line but no data rows")
    for line, cells in records[1:]:
        if _blank(cells):
            raise TableError(f"{file} line {line} is blank (only blank lines at the end are "
                             "ignored)")
        if len(cells) != len(names):
            raise TableError(f"{file} line {line} has {len(cells)} "
                             f"cell{'s' if len(cells) != 1 else ''}, the header {len(names)}")
    rows = records[1:]
    columns: list[list[str] | None] = [list(c) for c in zip(*(r[1] for r in rows), strict=True)]
    return _Raw(str(file), names, columns, [line for line, _ in rows], {})


def _records(file: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells stripped) for every record of a text file."""
    try:
        handle = file.open("rb")
    except OSError as err:
        raise TableError(f"{file}: cannot read: {_one_line(err)}") from None
    with handle:
        reader = csv.reader(_utf8_lines(handle, file), delimiter=delimiter, strict=True)
        start = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise TableError(f"{file} line {reader.line_num}: {_one_line(err)}") from None
            except OSError as err:
                raise TableError(f"{file}: cannot read: {_one_line(err)}") from None
            yield start, [cell.strip() for cell in cells]
            start = reader.line_num + 1


def _utf8_lines(handle: IO[bytes], file: Path) -> Iterator[str]:
    """The file's lines decoded one by one, so a bad byte is reported with its line."""
    for number, line in enumerate(handle, 1):
        if number == 1:
            if line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            elif line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise TableError(f"{file} is UTF-16 text: save it as UTF-8")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise TableError(f"{file} line {number} is not UTF-8 text (byte "
                             f"0x{line[err.start]:02x}): save the file as UTF-8") from None


def _parquet(file: Path) -> ModuleType:
    """``pyarrow.parquet``, or a TableError that says how to install it."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise TableError(f"{file}: reading Parquet files needs pyarrow, which is not "
                         f"installed: {PARQUET_INSTALL}") from None


def _read_parquet(file: Path) -> _Raw:
    pq = _parquet(file)
    pa = importlib.import_module("pyarrow")
    try:
        table = pq.read_table(str(file))
    except (OSError, pa.ArrowException) as err:
        raise TableError(f"{file}: not a readable Parquet file: {_one_line(err)}") from None
    names = tuple(table.column_names)
    _check_names(file, names, None)
    if table.num_rows == 0:
        raise TableError(f"{file} has columns but no data rows")
    types = pa.types
    columns: list[list[str] | None] = []
    unread: dict[str, str] = {}
    for name, column in zip(names, table.columns, strict=True):
        kind = column.type
        if types.is_dictionary(kind):
            kind = kind.value_type
        values = column.to_pylist()
        if types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind):
            columns.append(["" if v is None else str(v) for v in values])
        elif types.is_boolean(kind):
            columns.append(["" if v is None else str(v) for v in values])
        elif types.is_string(kind) or types.is_large_string(kind) or (
            hasattr(types, "is_string_view") and types.is_string_view(kind)
        ):
            columns.append(["" if v is None else v.strip() for v in values])
        else:
            columns.append(None)
            unread[name] = str(column.type)
    return _Raw(str(file), names, columns, list(range(2, table.num_rows + 2)), unread)


# -- checking -------------------------------------------------------------------------


def _check_names(file: Path, names: tuple[str, ...], delimiter: str | None) -> None:
    where = f"{file} line 1" if delimiter is not None else str(file)
    for j, name in enumerate(names):
        if not name:
            hint = " (an index pandas wrote? write it with index=False)" if j == 0 else ""
            raise TableError(f"{where}: column {j + 1} has no name{hint}")
    first: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in first:
            raise TableError(f"{where}: column {quote(name)} appears twice (columns "
                             f"{first[name] + 1} and {j + 1})")
        first[name] = j
    if len(names) < 2:
        raise TableError(f"{where} has one column ({quote(names[0])}): a table needs a target "
                         f"and at least one feature column{_separator_hint(names[0], delimiter)}")


def _separator_hint(name: str, delimiter: str | None) -> str:
    if delimiter is None:
        return ""
    for separator, word in ((";", "semicolons"), ("\t", "tabs"), (",", "commas"),
                            ("|", "bars")):
        if separator != delimiter and separator in name:
            return (f"; it looks separated by {word}, but a .csv file must be separated by "
                    "commas, a .tsv file by tabs")
    return ""


def _default_features(raw: _Raw, target: str) -> tuple[list[str], tuple[str, ...]]:
    """(columns of numbers other than the target, the others left out), in file order."""
    chosen, skipped = [], []
    for name, cells in zip(raw.names, raw.columns, strict=True):
        if name == target:
            continue
        if cells is not None and not _PANDAS_INDEX.fullmatch(name) and _numeric(cells):
            chosen.append(name)
        else:
            if cells is not None:
                _typo(raw, name, cells)
            skipped.append(name)
    return chosen, tuple(skipped)


def _typo(raw: _Raw, name: str, cells: Sequence[str]) -> None:
    """TableError for a column of numbers but for a few cells (a typo would otherwise
    leave the whole column out of the default features without a word)."""
    numbers, words = [], []
    for line, cell in zip(raw.lines, cells, strict=True):
        if not cell:
            continue
        try:
            float(cell)
            numbers.append(line)
        except ValueError:
            words.append((line, cell))
    if numbers and words and len(words) <= max(1, len(numbers) // 10):
        line, cell = words[0]
        raise TableError(f"{raw.path} line {line}, column {quote(name)}: {quote(cell)} is not "
                         f"a number, but {len(numbers)} of the column's cells are (name "
                         "task.features to leave the column out)")


def _named_features(raw: _Raw, target: str, features: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for name in features:
        if name == target:
            raise TableError(f"{raw.path}: column {quote(name)} is the target, so it cannot "
                             "also be a feature")
        if name not in raw.names:
            raise TableError(f"{raw.path}: no feature column {quote(name)}"
                             f"{_did_you_mean(name, raw.names)} (columns: {_listing(raw.names)})")
        if name in chosen:
            raise TableError(f"{raw.path}: feature column {quote(name)} is named twice")
        chosen.append(name)
    return chosen


def _numeric(cells: Sequence[str]) -> bool:
    """Whether a column is one of numbers: some cell has a value, and every value is one
    ``float()`` accepts (NaN, infinities and empty cells are refused later, by line)."""
    seen = False
    for cell in cells:
        if cell:
            seen = True
            try:
                float(cell)
            except ValueError:
                return False
    return seen


def _cells(raw: _Raw, name: str) -> list[str]:
    cells = raw.columns[raw.names.index(name)]
    if cells is None:
        raise TableError(f"{raw.path}: column {quote(name)} is of Parquet type "
                         f"{raw.types[name]}: only numbers and text can be read")
    return cells


def _numbers(raw: _Raw, name: str) -> np.ndarray:
    """A column as float64, or the TableError for its first cell that is not a finite
    number."""
    cells = _cells(raw, name)
    try:
        values = np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for line, cell in zip(raw.lines, cells, strict=True):
        if cell == "":
            raise _empty_cell(raw.path, line, name)
        try:
            number = float(cell)
        except ValueError:
            raise TableError(f"{raw.path} line {line}, column {quote(name)}: {quote(cell)} is "
                             "not a number") from None
        if not math.isfinite(number):
            raise TableError(f"{raw.path} line {line}, column {quote(name)}: {quote(cell)} is "
                             "not a finite number")
    raise AssertionError("unreachable: a column that is not all finite has a bad cell")


def _classes(raw: _Raw, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(class index per row, class labels) of a classification target with no empty cell.

    Numbers are classes by value (``1`` and ``1.0`` are one class, shown as first
    written), sorted numerically; otherwise classes are the texts, sorted.
    """
    cells = _cells(raw, name)
    try:
        numbers = [float(cell) for cell in cells]
    except ValueError:
        texts = sorted(set(cells))
        text_index = {text: i for i, text in enumerate(texts)}
        y = np.array([text_index[cell] for cell in cells], dtype=np.int64)
        classes = tuple(texts)
    else:
        _numbers(raw, name)  # the error for a NaN or an infinity, by line
        written: dict[float, str] = {}
        for number, cell in zip(numbers, cells, strict=True):
            written.setdefault(number, cell)
        values = sorted(written)
        value_index = {value: i for i, value in enumerate(values)}
        y = np.array([value_index[number] for number in numbers], dtype=np.int64)
        classes = tuple(written[value] for value in values)
    if len(classes) < 2:
        raise TableError(f"{raw.path}: column {quote(name)} has one class "
                         f"({quote(classes[0])}): a classification needs two or more")
    return y, classes


# -- small helpers --------------------------------------------------------------------


def _blank(cells: Sequence[str]) -> bool:
    return all(cell == "" for cell in cells)


def _empty(file: Path) -> TableError:
    return TableError(f"{file} is empty: it needs a header line and at least one data row")


def _empty_cell(path: str, line: int, name: str) -> TableError:
    return TableError(f"{path} line {line}, column {quote(name)} is empty")


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    return f"{shown}, ... and {more} more" if more > 0 else shown


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    close = suggest(name, names)
    return f" (did you mean {quote(close)}?)" if close else ""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
