"""What ``actcli list`` shows: one table per kind of component, from the registries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from actcli.components import Param
from actcli.errors import UnknownNameError

KINDS = ("activations", "losses", "inits", "optimizers", "tasks", "surfaces", "configs")
_SINGULAR = {"activation": "activations", "loss": "losses", "init": "inits",
             "initializers": "inits", "initializer": "inits", "optimizer": "optimizers",
             "task": "tasks", "surface": "surfaces", "config": "configs"}


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""  # a line under the table


# under the activations: what model.activation takes besides these names
OWN_ACTIVATION = 'model.activation also takes a formula ("x * tanh(softplus(x))") or file.py:name'


def _defaults(params: Mapping[str, Param]) -> str:
    return ", ".join(f"{k}={p.default}" for k, p in params.items()) or "-"


def _what(path: Path) -> str:
    """A shipped config's whole description: its header comments up to ``Takes:``, less the
    $schema line and the command lines shown (``actcli ...``), as one sentence or more."""
    found: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("Takes:"):
            break
        if text and not text.startswith("actcli "):
            found.append(text)
    return " ".join(found).rstrip(":")


def table(kind: str) -> Table:
    """The table for ``kind`` (activations, losses, inits, optimizers or tasks)."""
    kind = _SINGULAR.get(kind, kind)
    if kind == "activations":
        from actcli.components.activations import ACTIVATIONS

        return Table("activations", ("name", "f(x)", "f'(x)", "range", "options", "notes"),
                     [(s.name, s.formula, s.derivative, s.output_range, _defaults(s.params),
                       s.notes) for s in ACTIVATIONS], OWN_ACTIVATION)
    if kind == "losses":
        from actcli.components.losses import LOSSES

        return Table("losses", ("name", "formula", "reads", "outputs", "options", "notes"),
                     [(s.name, s.formula, s.reads, ", ".join(s.outputs), _defaults(s.params),
                       s.notes) for s in LOSSES])
    if kind == "inits":
        from actcli.components.initializers import INITIALIZERS

        return Table("initializers", ("name", "draws", "bias", "options", "what"),
                     [(s.name, s.formula, s.bias, _defaults(s.params), s.doc)
                      for s in INITIALIZERS])
    if kind == "optimizers":
        from actcli.components.optimizers import OPTIMIZERS

        return Table("optimizers", ("name", "update", "options", "what"),
                     [(s.name, s.formula, _defaults(s.params), s.doc) for s in OPTIMIZERS])
    if kind == "tasks":
        from actcli.tasks import TASKS

        rows = []
        for spec in TASKS:
            fields = spec.task.options.model_fields
            defaults = ", ".join(f"{k}={_shown(f.default)}" for k, f in fields.items()
                                 if k != "name")
            rows.append((spec.name, spec.doc, str(getattr(spec.task, "n_outputs", "by data")),
                         defaults))
        return Table("tasks", ("name", "what", "outputs", "options"), rows)
    if kind == "configs":
        from actcli.config import shipped

        return Table("shipped configs (actcli train NAME, actcli init NAME)",
                     ("name", "what it trains", "takes here"),
                     [(name, _what(shipped.folder() / f"{name}.yaml"),
                       shipped.about(name).takes) for name in shipped.names()])
    if kind == "surfaces":
        from actcli.inspection.surfaces import SURFACES

        def points(values: tuple[tuple[float, float], ...]) -> str:
            return ", ".join(f"({x:g}, {y:g})" for x, y in values) or "-"

        return Table("surfaces (actcli landscape --surface NAME)",
                     ("name", "f(x, y)", "minima", "saddle points", "default lr", "notes"),
                     [(s.name, s.formula, points(s.minima) + (
                         " + a local one near each integer point" if s.name == "rastrigin"
                         else ""), points(s.saddles), f"{s.lr:g}", s.notes)
                      for s in SURFACES])
    raise UnknownNameError("kind", kind, KINDS)


def _shown(value: object) -> str:
    """An option's default as a config writes it: a list as [a, b], not Python's tuple."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
