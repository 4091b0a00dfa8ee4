"""Text typed on the command line, turned into the typed values the library takes.

Every parser here reads option or argument text (``--points -1,0,2.5``, ``--from 1,1e-6``,
``--optimizers sgd,adam:lr=0.1``, predict's inputs) and raises ConfigError naming the
option and the bad text: one line, exit 2. Nothing here imports torch or matplotlib, so
the command modules may import it at module level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from actcli.errors import ConfigError, quote

if TYPE_CHECKING:
    from actcli.inspection.surfaces import OptimizerChoice, Point


def number(text: str) -> float | None:
    """``text`` as a finite number, or None when it is not one (nan and inf are not)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numbers(option: str, text: str, example: str, count: int | None = None) -> list[float]:
    """``"-1,0,2.5"`` -> [-1.0, 0.0, 2.5]: finite numbers separated by commas, ``count`` of
    them when given; ConfigError naming the option and the bad item otherwise."""
    values = []
    for item in text.split(","):
        value = number(item)
        if value is None:
            raise ConfigError(f"{option}: {quote(item.strip())} is not a number; give "
                              f"numbers separated by commas, e.g. {option} {example}")
        values.append(value)
    if count is not None and len(values) != count:
        raise ConfigError(f"{option}: {quote(text)} must be {count} numbers, e.g. "
                          f"{option} {example}")
    return values


def optional_numbers(option: str, text: str | None, example: str) -> tuple[float, ...] | None:
    """:func:`numbers` as a tuple, or None for an option not given (``backprop``)."""
    return None if text is None else tuple(numbers(option, text, example))


def plot_points(text: str) -> list[float]:
    """``plot --points "-1,0,2.5"`` -> [-1.0, 0.0, 2.5]; ConfigError naming the bad item."""
    return numbers("--points", text, "-1,0,2.5")


def start_point(text: str) -> Point:
    """``landscape --from "1,1e-6"`` -> (1.0, 1e-06); ConfigError naming the bad text."""
    x, y = numbers("--from", text, "1,1e-6", count=2)
    return x, y


def optimizer(text: str) -> OptimizerChoice:
    """One ``--optimizers`` item: ``adam``, ``momentum`` or ``sgd:momentum=0.5:nesterov=true``
    -> the name (or alias) with its options read as YAML values, labelled by the text."""
    from actcli.inspection.surfaces import OptimizerChoice

    name, *options = text.strip().split(":")
    kwargs: dict[str, object] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or not key:
            raise ConfigError(f"--optimizers: {quote(text)}: options go as name:key=value, "
                              "e.g. sgd:momentum=0.5")
        import yaml

        try:
            kwargs[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            kwargs[key] = raw
    return OptimizerChoice(name, kwargs, text.strip())


def optimizers(text: str) -> list[OptimizerChoice]:
    """``--optimizers "sgd,momentum,adam:lr=0.1"`` -> one choice per comma-separated item
    (blank items are passed over)."""
    return [optimizer(item) for item in text.split(",") if item.strip()]


def inputs(texts: Sequence[str], units: str) -> list[float]:
    """``predict RUN 125 131.5`` -> [125.0, 131.5]; ConfigError naming the bad input and
    the task's ``units`` (e.g. ``temperature (°C)``)."""
    values = []
    for text in texts:
        value = number(text)
        if value is None:
            raise ConfigError(f"input {quote(text)} is not a number; give numbers in the "
                              f"task's units ({units})")
        values.append(value)
    return values


def check_predict_arguments(given: Sequence[str]) -> None:
    """An error for a ``predict`` argument that is an unknown option rather than a number:
    registered with ``ignore_unknown_options``, predict gets them as arguments (-40 is a
    temperature, --imag a typo)."""
    for text in given:
        if text.startswith("-") and len(text) > 1:
            try:
                float(text)
            except ValueError:
                raise ConfigError(f"no such option: {text} (options: --image, --help; "
                                  "a negative input is a number such as -40)") from None


_CONDITION = re.compile(r"^\s*([^<>=!\s][^<>=!]*?)\s*(<=|>=|!=|=|<|>)\s*(.*)$")


def where(text: str) -> tuple[str, str, str]:
    """``--where KEY=VALUE`` (also ``!=``, ``<``, ``>``, ``<=``, ``>=``) -> (key, op, value)."""
    found = _CONDITION.match(text)
    if not found:
        raise ConfigError(f"--where {quote(text)}: expected KEY=VALUE (or !=, <, >, <=, >=), "
                          "e.g. model.activation=relu or accuracy>=0.9")
    key, op, value = found.groups()
    return key, op, value.strip()


def sort_key(text: str | None) -> tuple[str, bool] | None:
    """``--sort KEY`` (ascending) or ``-KEY`` (descending) -> (key, descending)."""
    if not text:
        return None
    return text.removeprefix("-"), text.startswith("-")


def split_names(text: str) -> list[str]:
    """``--activations`` text -> its entries, split on the commas outside parentheses:
    ``relu,gelu,max(x, 0.1*x)`` is three (a formula holds commas only inside them)."""
    how = ("a formula may hold commas only inside parentheses; quote it for the shell, e.g. "
           "--activations relu,\"max(x, 0.1*x)\"")
    entries, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":  # (a mapping with options nests too: {name: elu, alpha: 0.5})
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"unbalanced parentheses in {quote(text, 60)}: a ')' without "
                                   f"its '('; {how}")
        elif c == "," and depth == 0:
            entries.append(text[start:i])
            start = i + 1
    if depth:
        raise ConfigError(f"unbalanced parentheses in {quote(text, 60)}: {depth} '(' not "
                           f"closed; {how}")
    entries.append(text[start:])
    names = [" ".join(e.split()) for e in entries]
    if not all(names):
        raise ConfigError(f"empty entry in {quote(text, 60)}: separate names with single "
                           f"commas; {how}")
    return names
