"""Looking across runs: `actcli runs` (list, filter, sort) and `actcli runs diff`.

A run is a folder with a ``summary.json``; a compare folder (``plan.json``) contributes its
cells. Only ``summary.json`` and ``config.yaml`` are read, so a thousand runs list in about
a second. Every run becomes one flat record: its config keys (``model.activation``), its
final metrics (``accuracy``), the summary's fields (``status``, ``seconds``, ``torch``,
...) and its provenance (``provenance.git_commit``), plus ``run``, ``when`` and ``compare``.
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

from actcli import runs
from actcli.errors import ActcliError, ConfigError, quote

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader where PyYAML has it
_STAMP = re.compile(r"^(\d{8})-(\d{6})")
_CONDITION = re.compile(r"^\s*([^<>=!\s][^<>=!]*?)\s*(<=|>=|!=|=|<|>)\s*(.*)$")
SHOWN = ("when", "run", "task", "status")  # the fixed columns of the table, then the rest


@dataclass
class RunRecord:
    path: Path
    flat: dict[str, Any]  # every key of the run, flat
    config_keys: list[str] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)


def flatten(value: dict[str, Any]) -> dict[str, Any]:
    """A nested mapping (a config) as dotted keys; see :func:`flatten_into`."""
    found: dict[str, Any] = {}
    flatten_into(value, "", found)
    return found


def flatten_into(value: Any, prefix: str, into: dict[str, Any]) -> None:
    """Nested mappings -> dotted keys. A component written with options, such as
    ``{name: softplus, beta: 1}``, gives ``model.activation=softplus`` (as a bare name
    does) and ``model.activation.beta=1``."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if key == "name" and prefix and isinstance(item, str):
                into[prefix[:-1]] = item
            else:
                flatten_into(item, f"{prefix}{key}.", into)
    else:
        into[prefix[:-1]] = value


def _folders(root: Path, cells: bool) -> Iterator[tuple[Path, str | None]]:
    """(run folder, its compare's name or None) under ``root``, sorted by name."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        if runs.SUMMARY in filenames:
            dirnames[:] = []
            compare = here.parent.parent.name if here.parent.name == "cells" and (
                here.parent.parent / "plan.json").exists() else None
            if compare is None or cells:
                yield here, compare
        elif "plan.json" in filenames:
            dirnames[:] = ["cells"] if cells and "cells" in dirnames else []


def read(path: Path, compare: str | None = None) -> RunRecord | None:
    """One run folder as a flat record; None when it is not a readable run."""
    try:
        summary = json.loads((path / runs.SUMMARY).read_text(encoding="utf-8"))
        config = yaml.load((path / "config.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(summary, dict) or not isinstance(config, dict) or "status" not in summary:
        return None
    flat: dict[str, Any] = {"when": _when(path), "run": path.name, "compare": compare}
    metrics = summary.get("metrics") or {}
    status = summary.get("status")
    flat.update(task=summary.get("task"), status="unfinished" if status == "running" else status,
                seconds=summary.get("seconds"), epochs=summary.get("epochs"))
    for key in ("name", "device", "torch", "seed", "stack", "parameters", "reason"):
        if key in summary:
            flat.setdefault(key, summary[key])
    flatten_into({"provenance": summary.get("provenance") or {}}, "", flat)
    flat.pop("provenance", None)  # no provenance recorded (a run from before it was)
    flat.update(metrics)
    config_flat: dict[str, Any] = {}
    flatten_into({k: v for k, v in config.items() if k != "compare"}, "", config_flat)
    # a config key that names something else already (`loss: bce` beside the final loss,
    # `device: auto` beside the device used) goes under config.KEY
    config_flat = {f"config.{k}" if k in flat and flat[k] != v else k: v
                   for k, v in config_flat.items()}
    flat.update(config_flat)
    return RunRecord(path, flat, list(config_flat), list(metrics))


def _when(path: Path) -> str:
    """When the run started, to the minute: its folder's stamp (YYYYmmdd-HHMMSS), else (a
    compare cell) when its summary was last written."""
    found = _STAMP.match(path.name)
    if found:
        day, time = found.groups()
        return f"{day[:4]}-{day[4:6]}-{day[6:]} {time[:2]}:{time[2:4]}"
    import datetime

    stamp = (path / runs.SUMMARY).stat().st_mtime
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


def collect(root: Path, *, cells: bool = True) -> list[RunRecord]:
    """Every run under ``root``, oldest first; folders that are not runs are skipped."""
    if not root.is_dir():
        raise ActcliError(f"{root}: no such folder (runs are listed from a runs root, "
                          "e.g. runs/)")
    found = [r for path, compare in _folders(root, cells) if (r := read(path, compare))]
    found.sort(key=lambda r: (r.flat["when"], str(r.path)))
    return found


def parse_where(text: str) -> tuple[str, str, str]:
    """``KEY=VALUE`` (also ``!=``, ``<``, ``>``, ``<=``, ``>=``) -> (key, op, value)."""
    found = _CONDITION.match(text)
    if not found:
        raise ConfigError(f"--where {quote(text)}: expected KEY=VALUE (or !=, <, >, <=, >=), "
                          "e.g. model.activation=relu or accuracy>=0.9")
    key, op, value = found.groups()
    return key, op, value.strip()


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


def select(records: list[RunRecord], where: Sequence[str] = (), sort: str | None = None,
           last: int | None = None) -> list[RunRecord]:
    """Filter (every condition must hold), sort (``-KEY`` descending; runs without the key
    last) and keep the ``last`` N most recent."""
    known = {key for r in records for key in r.flat}
    for condition in where:
        key, op, value = parse_where(condition)
        if records and key not in known:
            raise ConfigError(f"--where: no run has the key {quote(key)}; keys: "
                              f"{_some(known)}")
        records = [r for r in records if matches(r, key, op, value)]
    if last is not None:
        if last < 1:
            raise ConfigError(f"--last: must be >= 1, got {last}")
        records = records[-last:]
    if sort:
        key = sort.removeprefix("-")
        if records and key not in known:
            raise ConfigError(f"--sort: no run has the key {quote(key)}; keys: {_some(known)}")
        present = [r for r in records if r.flat.get(key) is not None]
        absent = [r for r in records if r.flat.get(key) is None]
        numeric = all(_number(r.flat[key]) is not None for r in present)

        def order(r: RunRecord) -> tuple[float, str]:
            return (_number(r.flat[key]) or 0.0, "") if numeric else (0.0, _text(r.flat[key]))

        present.sort(key=order, reverse=sort.startswith("-"))
        records = present + absent
    return records


def _some(keys: set[str], limit: int = 12) -> str:
    shown = sorted(keys)
    more = f", ... ({len(shown) - limit} more)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def differing(records: list[RunRecord]) -> list[str]:
    """Config keys whose values are not the same in every listed run, in config order."""
    order: list[str] = []
    for r in records:
        order += [k for k in r.config_keys if k not in order]
    return [k for k in order if len({_text(r.flat.get(k)) for r in records}) > 1]


def columns(records: list[RunRecord]) -> list[str]:
    """The table's columns: fixed ones, the compare where any run has one, the differing
    config keys, the final metrics, seconds."""
    metrics: list[str] = []
    for r in records:
        metrics += [k for k in r.metric_keys if k not in metrics]
    compare = ["compare"] if any(r.flat.get("compare") for r in records) else []
    return [*SHOWN, *compare, *differing(records), *metrics, "seconds"]


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
    record = read(path)
    if record is None:
        raise ActcliError(f"{path}: not a run folder (needs summary.json and config.yaml)")
    return record


def diff(a: RunRecord, b: RunRecord) -> tuple[list[tuple[str, str, str]],
                                                list[tuple[str, Any, Any, float | None]]]:
    """(config keys that differ: key, value in a, value in b;
    metrics of either: name, a, b, b - a where both are numbers)."""
    keys = a.config_keys + [k for k in b.config_keys if k not in a.config_keys]
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
