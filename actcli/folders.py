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
    if root.exists() and not root.is_dir():
        raise ActcliError(f"--out: {root} is a file; the runs root is a folder")
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
        except OSError as err:
            raise ActcliError(f"--out: cannot create a run folder in {root}: "
                              f"{err.strerror or err}") from None
    raise ActcliError(f"cannot find a free run folder name for {base} in {root}")


class WriteError(ActcliError):
    """A file could not be written (a full disk, a folder that vanished): exit code 1."""

    exit_code = 1


def writable(path: Path, option: str = "--out") -> Path:
    """``path`` when a file can be written there (its missing folders made), else a
    ConfigError naming ``option``: checked before any work, with a real file, since
    permissions alone do not say it (root in /proc, a read-only mount)."""
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a folder; give a file name")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        why = err.strerror or type(err).__name__
        if isinstance(err, FileExistsError | NotADirectoryError):
            why = "a part of that path is a file, not a folder"
        raise ConfigError(f"{option}: cannot write {path}: {why}") from None
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing.
    Any failure is a :class:`WriteError` naming the file."""
    try:
        _write_bytes(path, data)
    except OSError as err:
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from None


def _write_bytes(path: Path, data: bytes) -> None:
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


STATUSES = ("running", "completed", "diverged", "interrupted", "failed")
# the fields readers rely on, with the JSON types they must have where present
_FIELDS: dict[str, tuple[type, ...]] = {
    "metrics": (dict,), "seconds": (int, float), "epochs": (int,), "data": (dict,),
    "stack": (int,), "reason": (str,), "provenance": (dict,)}


def read_summary(run: Path) -> dict[str, Any]:
    """A run's summary.json, checked for the fields and types every reader relies on; a
    damaged one is one ActcliError line saying what is wrong."""
    path = run / SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ActcliError(f"{run}: not a run folder (no {SUMMARY})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ActcliError(f"{path}: not valid JSON: {err}") from None
    except OSError as err:
        raise ActcliError(f"{path}: cannot be read: {err.strerror}") from None
    problem = summary_problem(summary)
    if problem:
        raise ActcliError(f"{path}: damaged: {problem}")
    return summary


def check_agree(run: Path, summary: dict[str, Any], task: str, name: str | None) -> None:
    """A run's config.yaml and summary.json must describe the same run: a model measured
    or asked through another task's config would answer for the wrong question."""
    for key, found in (("task", task), ("name", name)):
        recorded = summary.get(key)
        if recorded is not None and found is not None and recorded != found:
            raise ActcliError(f"{run}: config.yaml says {key} {quote(found)} but summary.json "
                              f"says {quote(recorded)}; the folder was changed by hand: "
                              "restore config.yaml, or train the run again")


def summary_problem(summary: Any) -> str | None:  # parsed JSON
    """What is wrong with a parsed summary.json, or None when readers can trust it."""
    if not isinstance(summary, dict):
        return f"expected a JSON object, got {type(summary).__name__}"
    status = summary.get("status")
    if status not in STATUSES:
        return f"status is {quote(status)}, not one of {', '.join(STATUSES)}"
    for key, types in _FIELDS.items():
        value = summary.get(key)
        if key in summary and (not isinstance(value, types) or isinstance(value, bool)):
            return f"{key} is {quote(value)}, not {' or '.join(t.__name__ for t in types)}"
    bad = [k for k, v in summary.get("metrics", {}).items()
           if v is not None and (not isinstance(v, int | float) or isinstance(v, bool))]
    if bad:
        return f"metrics.{bad[0]} is {quote(summary['metrics'][bad[0]])}, not a number"
    return None


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
    return writable(path, option)


def render_png(figure: Any, buffer: io.BytesIO, dpi: int = 120) -> None:
    """A matplotlib Figure as PNG bytes into ``buffer``."""
    figure.savefig(buffer, format="png", dpi=dpi)


def save_figure(figure: Any, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib Figure as PNG, atomically."""
    buffer = io.BytesIO()
    render_png(figure, buffer, dpi)
    write_bytes(path, buffer.getvalue())
    return path


def load_state(path: Path, device: Any = "cpu") -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``, or one ActcliError line saying why not
    (never torch's advice to load without ``weights_only``: that would run the file)."""
    import pickle
    import zipfile

    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ActcliError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError,
            zipfile.BadZipFile, AttributeError, TypeError) as err:
        why = ("it holds more than tensors and plain values"
               if isinstance(err, pickle.UnpicklingError) and "Unsupported global" in str(err)
               else "it is truncated or not a PyTorch file")
        raise ActcliError(f"{path}: cannot be read ({why}; {type(err).__name__}); "
                          "train the run again, or restore the file") from None
    if not isinstance(state, dict):
        raise ActcliError(f"{path}: holds a {type(state).__name__}, not a state_dict")
    return state


def load_weights(net: Any, path: Path, device: Any = "cpu") -> None:
    """Load the state_dict in ``path`` into ``net`` (an nn.Module), or one ActcliError line:
    unreadable, or weights of another network than the run's config builds."""
    state = load_state(path, device)
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ActcliError(f"{path}: its weights do not fit the network the run's config.yaml "
                          f"builds ({quote(first, 160)})") from None


def save_state(state: dict[str, Any], path: Path) -> None:
    """torch.save, atomically (readable with ``weights_only=True``)."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getvalue())
