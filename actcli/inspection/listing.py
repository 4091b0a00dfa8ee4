"""Looking across runs: `actcli runs` (list, filter, sort) and `actcli runs diff`.

A run is a folder with a ``summary.json``; a compare folder (``plan.json``) contributes its
cells. Only ``summary.json`` and ``config.yaml`` are read, so a thousand runs list in about
a second. Every run becomes one flat record: its config keys (``model.activation``), its
final metrics (``accuracy``), the summary's fields (``status``, ``seconds``, ``torch``,
...) and its provenance (``provenance.git_commit``), plus ``run``, ``when`` and ``compare``.

Names never depend on the run: metrics and the summary's fields keep their own names, and
the config's ``loss`` and ``device`` (and their options) are always ``config.loss`` and
``config.device`` (``loss`` is the final loss a task reports, ``device`` the device the
run used). ``name`` and ``task`` are one key each: the summary copies them from the config.
Any other config key that meets a name the run already has (a task's own extra metric) goes
under ``config.`` too.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from actcli import folders, locks
from actcli.config.flat import flatten_into
from actcli.errors import ActcliError, ConfigError, quote, suggest

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader where PyYAML has it
_STAMP = re.compile(r"^(\d{8})-(\d{6})")
SHOWN = ("when", "run", "task", "status")  # the fixed columns of the table, then the rest
UNDER_CONFIG = ("loss", "device")  # config keys always listed as config.KEY (see above)
SAME_IN_BOTH = ("name", "task")  # config keys the summary records as they are
# the varied config keys, most telling first: what a comparison is usually about
ORDER = ("model", "optimizer", "config.loss", "train")


@dataclass
class RunRecord:
    path: Path
    flat: dict[str, Any]  # every key of the run, flat
    config_keys: list[str] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)


def _folders(root: Path, cells: bool) -> Iterator[tuple[Path, str | None]]:
    """(run folder, its compare's name or None) under ``root``, sorted by name."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        if folders.SUMMARY in filenames:
            dirnames[:] = []
            compare = here.parent.parent.name if here.parent.name == "cells" and (
                here.parent.parent / "plan.json").exists() else None
            if compare is None or cells:
                yield here, compare
        elif "plan.json" in filenames:
            dirnames[:] = ["cells"] if cells and "cells" in dirnames else []


class UnreadableRun(ActcliError):
    """A folder with a summary.json that cannot be read as a run."""

    def __init__(self, path: Path, why: str) -> None:
        self.path, self.why = path, why
        super().__init__(f"{path}: {why}")


@dataclass
class Scan:
    """What a runs root holds: the runs read, and the folders skipped with why."""

    records: list[RunRecord]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def skipped_note(self) -> str:
        """``skipped 6 folder(s) that cannot be read: PATH: why`` (the first), or ""."""
        if not self.skipped:
            return ""
        path, why = self.skipped[0]
        return f"skipped {len(self.skipped)} folder(s) that cannot be read: {path}: {why}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# the summary's fields a record is built from, and what each must be when present
_SUMMARY_TYPES: tuple[tuple[str, str, Any], ...] = (
    ("task", "a string", lambda v: isinstance(v, str)),
    ("name", "a string", lambda v: isinstance(v, str)),
    ("seconds", "a number", _is_number),
    ("epochs", "a number", _is_number),
    ("provenance", "a mapping", lambda v: isinstance(v, dict)),
)


def _problem(summary: Any, config: Any) -> str | None:
    """Why ``summary`` (summary.json) and ``config`` (config.yaml) are not a run's, or None."""
    if not isinstance(summary, dict):
        return f"summary.json is {quote(summary, 40)}, not a mapping"
    if "status" not in summary:
        return "summary.json has no status"
    if not isinstance(summary["status"], str):
        return f"summary.json: status is {quote(summary['status'], 40)}, not a string"
    metrics = summary.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        return f"summary.json: metrics is {quote(metrics, 40)}, not a mapping"
    for name, value in (metrics or {}).items():
        if value is not None and not _is_number(value):
            return f"summary.json: metrics.{name} is {quote(value, 40)}, not a number"
    for key, kind, valid in _SUMMARY_TYPES:
        if summary.get(key) is not None and not valid(summary[key]):
            return f"summary.json: {key} is {quote(summary[key], 40)}, not {kind}"
    if not isinstance(config, dict):
        return f"config.yaml is {quote(config, 40)}, not a mapping"
    return None


def _load(path: Path) -> tuple[Any, Any]:
    """summary.json and config.yaml as parsed; UnreadableRun saying which and why."""
    try:
        summary = json.loads((path / folders.SUMMARY).read_text(encoding="utf-8"))
    except OSError as err:
        raise UnreadableRun(path, f"summary.json: {err.strerror or err}") from None
    except ValueError as err:
        raise UnreadableRun(path, f"summary.json is not JSON ({err})") from None
    try:
        config = yaml.load((path / "config.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as err:
        raise UnreadableRun(path, f"config.yaml: {err.strerror or err}") from None
    except (ValueError, yaml.YAMLError) as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UnreadableRun(path, f"config.yaml is not YAML ({why})") from None
    return summary, config


def read(path: Path, compare: str | None = None) -> RunRecord:
    """One run folder as a flat record; UnreadableRun when it is not a readable run (a file
    missing or not parsed, or a field of the wrong type: status a string, metrics a mapping
    of numbers or nulls, config a mapping)."""
    summary, config = _load(path)
    why = _problem(summary, config)
    if why is not None:
        raise UnreadableRun(path, why)
    flat: dict[str, Any] = {"when": _when(path), "run": path.name, "compare": compare}
    metrics = summary.get("metrics") or {}
    status = summary["status"]
    flat.update(task=summary.get("task"), status=locks.status(path, status),
                seconds=summary.get("seconds"), epochs=summary.get("epochs"))
    for key in ("name", "device", "torch", "seed", "stack", "parameters", "reason"):
        if key in summary:
            flat.setdefault(key, summary[key])
    flatten_into({"provenance": summary.get("provenance") or {}}, "", flat)
    flat.pop("provenance", None)  # no provenance recorded (a run from before it was)
    flat.update(metrics)
    config_flat: dict[str, Any] = {}
    flatten_into({k: v for k, v in config.items() if k != "compare"}, "", config_flat)
    config_flat = {_config_key(k, flat): v for k, v in config_flat.items()}
    flat.update(config_flat)
    return RunRecord(path, flat, list(config_flat), list(metrics))


def _config_key(key: str, flat: dict[str, Any]) -> str:
    """The name a config key is listed under (the rule in the module's docstring)."""
    if key.split(".")[0] in UNDER_CONFIG or (key in flat and key not in SAME_IN_BOTH):
        return f"config.{key}"
    return key


def _when(path: Path) -> str:
    """When the run started, to the minute: its folder's stamp (YYYYmmdd-HHMMSS), else (a
    compare cell) when its summary was last written."""
    found = _STAMP.match(path.name)
    if found:
        day, time = found.groups()
        return f"{day[:4]}-{day[4:6]}-{day[6:]} {time[:2]}:{time[2:4]}"
    import datetime

    stamp = (path / folders.SUMMARY).stat().st_mtime
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


def scan(root: Path, *, cells: bool = True) -> Scan:
    """Every run under ``root``, oldest first, and the folders with a summary.json that
    cannot be read (skipped, with why); folders that are not runs are passed over."""
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "no such folder"
        raise ActcliError(f"{root}: {what} (runs are listed from a runs root, e.g. runs/)")
    found = Scan([])
    for path, compare in _folders(root, cells):
        try:
            found.records.append(read(path, compare))
        except UnreadableRun as err:
            found.skipped.append((path, err.why))
    found.records.sort(key=lambda r: (r.flat["when"], str(r.path)))
    return found


def collect(root: Path, *, cells: bool = True) -> list[RunRecord]:
    """Every run under ``root``, oldest first; folders that are not runs are skipped."""
    return scan(root, cells=cells).records


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def matches(record: RunRecord, key: str, op: str, wanted: str) -> bool:
    """Whether ``record`` meets ``key op wanted``: numbers compare as numbers, anything else
    as text; a run without the key meets only ``!=``."""
    if key not in record.flat:
        return op == "!="
    have = record.flat[key]
    a, b = _number(have), _number(wanted)
    if a is not None and b is not None:
        left: Any = a
        right: Any = b
    else:
        left, right = _text(have), wanted
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if isinstance(left, str) != isinstance(right, str):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right,
            ">=": left >= right}[op]


Condition = tuple[str, str, str]  # (key, operator: = != < > <= >=, value as text)


def select(records: list[RunRecord], where: Sequence[Condition] = (),
           sort: tuple[str, bool] | None = None, last: int | None = None) -> list[RunRecord]:
    """Filter (every condition must hold), sort by ``sort`` = (key, descending) (runs
    without the key last) and keep the ``last`` N most recent."""
    known = {key for r in records for key in r.flat}
    for key, op, value in where:
        if records:
            check_key("--where", key, known)
        records = [r for r in records if matches(r, key, op, value)]
    if last is not None:
        if last < 1:
            raise ConfigError(f"--last: must be >= 1, got {last}")
        records = records[-last:]
    if sort:
        key, descending = sort
        if records:
            check_key("--sort", key, known)
        present = [r for r in records if r.flat.get(key) is not None]
        absent = [r for r in records if r.flat.get(key) is None]
        numeric = all(_number(r.flat[key]) is not None for r in present)

        def order(r: RunRecord) -> tuple[float, str]:
            return (_number(r.flat[key]) or 0.0, "") if numeric else (0.0, _text(r.flat[key]))

        present.sort(key=order, reverse=descending)
        records = present + absent
    return records


def check_key(option: str, key: str, known: set[str]) -> None:
    """ConfigError naming ``option``, the key, the closest known one and some others
    when no run has ``key``."""
    if key in known:
        return
    hint = f"config.{key}" if f"config.{key}" in known else suggest(key, known)
    did_you_mean = f" (did you mean {quote(hint)}?)" if hint else ""
    raise ConfigError(f"{option}: no run has the key {quote(key)}{did_you_mean}; keys: "
                      f"{_some(known)}")


def check_shown(records: list[RunRecord], keys: Sequence[str]) -> None:
    """``--show KEY``: the same check as ``--where`` (no runs, nothing to check)."""
    known = {key for r in records for key in r.flat}
    for key in keys:
        if records:
            check_key("--show", key, known)


def _some(keys: set[str], limit: int = 12) -> str:
    shown = sorted(keys)
    more = f", ... ({len(shown) - limit} more)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def rank(key: str) -> int:
    """Where a varied config key goes in the table: :data:`ORDER` first, task.* last."""
    for place, first in enumerate(ORDER):
        if key == first or key.startswith(f"{first}."):
            return place
    return len(ORDER) + (key == "task" or key.startswith("task."))


def differing(records: list[RunRecord]) -> list[str]:
    """Config keys whose values are not the same in every listed run: the model's, the
    optimizer's, the loss, training's, the rest, then the task's; in config order within."""
    order: list[str] = []
    for r in records:
        order += [k for k in r.config_keys if k not in order]
    varied = [k for k in order if len({_text(r.flat.get(k)) for r in records}) > 1]
    return sorted(varied, key=rank)


def columns(records: list[RunRecord]) -> list[str]:
    """The table's columns: fixed ones, the compare where any run has one, the differing
    config keys (less those already fixed: ``task``), the final metrics, seconds."""
    metrics: list[str] = []
    for r in records:
        metrics += [k for k in r.metric_keys if k not in metrics]
    compare = ["compare"] if any(r.flat.get("compare") for r in records) else []
    varied = [k for k in differing(records) if k not in (*SHOWN, "compare")]
    found = [*SHOWN, *compare, *varied, *metrics, "seconds"]
    return [k for i, k in enumerate(found) if k not in found[:i]]


def every_key(records: list[RunRecord]) -> list[str]:
    keys: list[str] = []
    for r in records:
        keys += [k for k in r.flat if k not in keys]
    return keys


def cell(value: Any) -> str:
    """A value as a table shows it."""
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return _text(value)


def load_run(path: Path) -> RunRecord:
    if not (path / folders.SUMMARY).is_file():
        raise ActcliError(f"{path}: not a run folder (needs summary.json and config.yaml)")
    try:
        return read(path)
    except UnreadableRun as err:
        raise ActcliError(f"{path}: cannot be read as a run: {err.why}") from None


def diff(a: RunRecord, b: RunRecord) -> tuple[list[tuple[str, str, str]],
                                                list[tuple[str, Any, Any, float | None]]]:
    """(config keys that differ: key, value in a, value in b;
    metrics of either: name, a, b, b - a where both are numbers)."""
    keys = a.config_keys + [k for k in b.config_keys if k not in a.config_keys]
    keys.sort(key=rank)  # in the order `actcli runs` shows them
    changed = [(k, _text(a.flat.get(k)), _text(b.flat.get(k))) for k in keys
               if _text(a.flat.get(k)) != _text(b.flat.get(k))]
    names = a.metric_keys + [k for k in b.metric_keys if k not in a.metric_keys]
    names += ["seconds"]
    metrics = []
    for name in names:
        x, y = a.flat.get(name), b.flat.get(name)
        nx, ny = _number(x), _number(y)
        metrics.append((name, x, y, ny - nx if nx is not None and ny is not None else None))
    return changed, metrics
