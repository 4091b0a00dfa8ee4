"""Registries of components: name -> small frozen spec.

Every kind (activations, losses, initializers, optimizers) is a :class:`Registry` over
specs that carry a ``name``, a one-line ``doc`` and their ``params`` (:class:`Param`).
A config names a component as a string (``relu``) or a mapping with its options
(``{name: leaky_relu, negative_slope: 0.1}``); :func:`parse_ref` checks either form
against the registry and returns a :class:`Ref` with every option filled in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from actcli.errors import ConfigError, UnknownNameError, quote, suggest

Scalar = float | int | bool | str
# the names of the Refs of your own activation (components.activations.parse): no registry
# has them; their options are the formula's text, parameters (pairs), trainable names
# (a tuple) and per_unit, or the Python reference
FORMULA = "formula"
PYTHON = "python"


@dataclass(frozen=True)
class Param:
    """One option of a component: its default, what it means and what it may be."""

    default: Scalar
    doc: str
    choices: tuple[str, ...] | None = None
    gt: float | None = None  # value must be > gt
    ge: float | None = None  # value must be >= ge
    le: float | None = None  # value must be <= le

    def check(self, key: str, value: object) -> Scalar:
        """Return ``value`` coerced to this option's type, or raise ConfigError."""
        kind = type(self.default)
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value  # type: ignore[arg-type]
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"expected {kind.__name__}, got {quote(value)}", key)
        if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
            raise ConfigError(f"must be a finite number, got {quote(value)}", key)
        if self.choices is not None and value not in self.choices:
            hint = suggest(value, self.choices)
            extra = f" (did you mean '{hint}'?)" if hint else ""
            raise ConfigError(
                f"{quote(value)} is not allowed{extra}; valid: {', '.join(self.choices)}", key
            )
        if self.gt is not None and not value > self.gt:  # type: ignore[operator]
            raise ConfigError(f"must be > {self.gt}, got {quote(value)}", key)
        if self.ge is not None and not value >= self.ge:  # type: ignore[operator]
            raise ConfigError(f"must be >= {self.ge}, got {quote(value)}", key)
        if self.le is not None and not value <= self.le:  # type: ignore[operator]
            raise ConfigError(f"must be <= {self.le}, got {quote(value)}", key)
        return value  # type: ignore[return-value]


class Spec(Protocol):
    """What every registry entry has (read-only, so frozen dataclasses fit)."""

    @property
    def name(self) -> str: ...

    @property
    def doc(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Param]: ...


S = TypeVar("S", bound=Spec)


class Registry(Generic[S]):
    """A fixed set of named specs of one kind, with did-you-mean on a miss."""

    def __init__(
        self, kind: str, specs: list[S], aliases: Mapping[str, str] | None = None
    ) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {spec.name: spec for spec in specs}
        self.aliases: dict[str, str] = dict(aliases or {})  # other common name -> name

    def get(self, name: object) -> S:
        """The spec called ``name``; UnknownNameError listing the valid names otherwise."""
        if isinstance(name, str) and name in self.aliases:
            name = self.aliases[name]
        if not isinstance(name, str) or name not in self._specs:
            raise UnknownNameError(self.kind, name, self._specs)
        return self._specs[name]

    def names(self) -> list[str]:
        return list(self._specs)

    def __iter__(self) -> Iterator[S]:
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)


@dataclass(frozen=True)
class Ref:
    """A component chosen in a config: its kind, name and every option's value."""

    kind: str
    name: str
    # option -> value; a formula's params are (name, value) pairs, its trainable a tuple
    params: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def custom(self) -> bool:
        """Your own activation (a formula or a Python reference), not a registry's name."""
        return self.kind == "activation" and self.name in (FORMULA, PYTHON)

    def dump(self) -> str | dict[str, Any]:
        """The YAML form: the bare name when there are no options, else a mapping. A
        formula is its text (a mapping when it has parameters or per_unit), a Python
        reference its text."""
        if self.custom:
            kw = self.kwargs
            if self.name == PYTHON:
                return str(kw["python"])
            if not kw["params"] and not kw["trainable"] and not kw["per_unit"]:
                return str(kw["formula"])
            return {"formula": kw["formula"], "params": dict(kw["params"]),
                    "trainable": list(kw["trainable"]), "per_unit": kw["per_unit"]}
        return {"name": self.name, **self.kwargs} if self.params else self.name

    def __str__(self) -> str:
        if self.custom:
            kw = self.kwargs
            if self.name == PYTHON:
                return str(kw["python"])
            learned = set(kw["trainable"])
            parts = [f"{k}={v}{' (trainable)' if k in learned else ''}" for k, v in kw["params"]]
            if kw["per_unit"]:
                parts.append("per unit")
            return f"{kw['formula']} [{', '.join(parts)}]" if parts else str(kw["formula"])
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.params)})"


def parse_ref(
    registry: Registry[Any],
    value: object,
    check: Callable[[str, dict[str, Scalar]], None] | None = None,
) -> Ref:
    """Check a name or ``{name: ..., option: value}`` against ``registry``.

    Unknown names and unknown options raise ConfigError naming the valid ones; missing
    options take their defaults. ``check`` may look at the options together.
    """
    if isinstance(value, Ref):
        return value
    if isinstance(value, str):
        name, given = value, {}
    elif isinstance(value, dict):
        if "name" not in value:
            raise ConfigError(
                f"a mapping for a {registry.kind} needs a 'name' key, got {quote(value)}"
            )
        given = dict(value)
        name = given.pop("name")
    else:
        raise ConfigError(
            f"expected a {registry.kind} name or a mapping with 'name', got {quote(value)}"
        )
    spec = registry.get(name)
    unknown = [key for key in given if key not in spec.params]
    if unknown:
        valid = ", ".join(spec.params) or "none"
        hint = suggest(unknown[0], spec.params)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        raise ConfigError(f"{name} has no option {quote(unknown[0])}{extra}; its options: {valid}")
    params = {key: p.check(key, given.get(key, p.default)) for key, p in spec.params.items()}
    if check is not None:
        check(name, params)
    return Ref(registry.kind, spec.name, tuple(params.items()))
