"""Values given on the command line as text: comma-separated numbers, checked."""

from __future__ import annotations

import math

from actcli.errors import ConfigError, quote


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
