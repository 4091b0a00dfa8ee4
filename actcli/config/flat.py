"""A config document (nested mappings) as dotted keys: what `actcli runs` lists and
filters on, and what TensorBoard's hyperparameters are."""

from __future__ import annotations

from typing import Any


def flatten(value: dict[str, Any]) -> dict[str, Any]:
    """A nested mapping (a config) as dotted keys; see :func:`flatten_into`."""
    found: dict[str, Any] = {}
    flatten_into(value, "", found)
    return found


def flatten_into(value: Any, prefix: str, into: dict[str, Any]) -> None:
    """Nested mappings -> dotted keys. A component written with options, such as
    ``{name: softplus, beta: 1}``, gives ``model.activation=softplus`` (as a bare name
    does) and ``model.activation.beta=1``; a formula or a Python reference written as a
    mapping shows as its text: ``model.activation=x * sigmoid(beta * x)``."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            named = key == "name" or key in ("formula", "python") and \
                prefix.endswith("activation.")  # (not provenance.python)
            if named and prefix and isinstance(item, str):
                into[prefix[:-1]] = item
            else:
                flatten_into(item, f"{prefix}{key}.", into)
    else:
        into[prefix[:-1]] = value
