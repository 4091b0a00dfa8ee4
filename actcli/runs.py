"""Run folders: create one with a unique name, write files atomically, read them back."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actcli.errors import ActcliError, ConfigError, quote

SUMMARY = "summary.json"


def _file_mode() -> int:
    """0o666 less the process umask: what open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def create(root: Path, name: str, now: float | None = None) -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<name>``, made now; ``-2``, ``-3``... if the name is taken.

    ``mkdir`` without ``exist_ok`` is atomic: two runs started in the same second get
    different folders, and an existing folder is never reused.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ActcliError(f"cannot create runs folder {root}: {err.strerror}") from None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{stamp}-{name}"
    for n in range(1, 10_000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ActcliError(f"cannot find a free run folder name for {base} in {root}")


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())  # mkstemp makes 0600; a run's files are ordinary files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """One header line from the keys of all rows (first seen first), then the rows."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def read_summary(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / SUMMARY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ActcliError(f"{run}: not a run folder (no {SUMMARY})") from None
    except json.JSONDecodeError as err:
        raise ActcliError(f"{run / SUMMARY}: not valid JSON: {err}") from None


def read_rows(path: Path) -> list[dict[str, float]]:
    """A numeric CSV (metrics.csv, diagnostics.csv) as rows of floats; empty cells are NaN,
    a missing file is no rows."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return [{k: float(v) if v not in ("", None) else float("nan")
                     for k, v in row.items()} for row in csv.DictReader(handle)]
    except FileNotFoundError:
        return []


def picture_path(out: Path, default_name: str, option: str = "--out") -> Path:
    """Where a command's picture goes: the one ``--out`` rule of every command that draws.

    A path ending in ``.png`` is the file itself; an existing folder, or a path with no
    suffix, is the folder the picture goes in (as ``default_name``); any other suffix is a
    ConfigError. Missing parent folders are made.
    """
    if out.suffix.lower() == ".png" and not out.is_dir():
        path = out
    elif out.is_dir() or not out.suffix:
        path = out / default_name
    else:
        raise ConfigError(f"{option}: {quote(str(out))} must be a .png file or a folder "
                          f"(an existing one, or a path with no suffix)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ActcliError(f"{option}: cannot create folder {path.parent}: {err.strerror}"
                          ) from None
    return path


def render_png(figure: Any, buffer: io.BytesIO, dpi: int = 120) -> None:  # noqa: ANN401
    """A matplotlib Figure as PNG bytes into ``buffer``."""
    figure.savefig(buffer, format="png", dpi=dpi)


def save_figure(figure: Any, path: Path, dpi: int = 120) -> Path:  # noqa: ANN401
    """Save a matplotlib Figure as PNG, atomically."""
    buffer = io.BytesIO()
    render_png(figure, buffer, dpi)
    write_bytes(path, buffer.getvalue())
    return path


def save_state(state: dict[str, Any], path: Path) -> None:
    """torch.save, atomically (readable with ``weights_only=True``)."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getvalue())
