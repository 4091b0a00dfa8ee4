"""Values given on the command line as text: comma-separated numbers, checked."""

from __future__ import annotations

import math

from actcli.errors import ConfigError, quote


def numbers(option: str, text: str, example: str, count: int | None = None) -> list[float]:
    """``"-1,0,2.5"`` -> [-1.0, 0.0, 2.5]: finite numbers separated by commas, ``count`` of
    them when given; ConfigError naming the option and the bad item otherwise."""
    values = []
    items = text.split(",")
    for item in items:
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ConfigError(f"{option}: {quote(item.strip())} is not a number; give "
                              f"numbers separated by commas, e.g. {option} {example}") from None
        values.append(value)
    if count is not None and len(values) != count:
        raise ConfigError(f"{option}: {quote(text)} must be {count} numbers, e.g. "
                          f"{option} {example}")
    return values
