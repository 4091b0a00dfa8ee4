"""An activation as text: as a config names it, and cut to fit a narrow place (a table
cell, a legend). Light: neither torch's modules nor the config are imported here."""

from __future__ import annotations

import os
from pathlib import Path

from actcli.components import FORMULA, PYTHON, Ref

SHORT = 40  # characters of an activation's text in a narrow place (a table cell, a legend)


def shorten(text: str, width: int = SHORT) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when it is cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def reference_text(reference: str) -> str:
    """A Python reference as stored (a file's path absolute) as a person reads it: the path
    relative to the current directory where the file is under it; a module's as it is."""
    target, _, name = reference.rpartition(":")
    if not os.path.isabs(target):
        return reference
    try:
        relative = os.path.relpath(target)
    except ValueError:  # another drive (Windows)
        return reference
    return f"{relative if not relative.startswith('..') else Path(target).name}:{name}"


def short_reference(text: str, width: int = SHORT) -> str:
    """A Python reference in at most ``width`` characters, its end (the function) kept:
    the file's name without its folders, then an ellipsis in front."""
    if len(text) <= width:
        return text
    target, _, name = text.rpartition(":")
    if target.endswith(".py"):
        text = f"{Path(target).name}:{name}"
    return text if len(text) <= width else "…" + text[-(width - 1):]


def short_activation(ref: Ref, width: int = SHORT) -> str:
    """:func:`activation_text` in at most ``width`` characters (a table cell, a legend)."""
    text = activation_text(ref)
    return short_reference(text, width) if ref.name == PYTHON else shorten(text, width)


def activation_text(ref: Ref) -> str:
    """An activation as a config names it: the registry name (with the options that are
    not their defaults), the formula as written, or the Python reference (relative to
    here)."""
    if ref.name == FORMULA:
        return str(ref.kwargs["formula"])
    if ref.name == PYTHON:
        return reference_text(str(ref.kwargs["python"]))
    from actcli.components.activations import ACTIVATIONS

    spec = ACTIVATIONS.get(ref.name)
    changed = [(k, v) for k, v in ref.params if k not in spec.params or spec.params[k].default != v]
    return f"{ref.name}({', '.join(f'{k}={v}' for k, v in changed)})" if changed else ref.name
