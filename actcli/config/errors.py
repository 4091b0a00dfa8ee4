"""Pydantic's validation errors as one line each: the key, the value, what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actcli.errors import quote, suggest, unknown_name_message
from actcli.strict import Strict
from actcli.tasks import TASKS


def _section_at(root: type[Strict], loc: Sequence[Any]) -> type[Strict] | None:
    """The config section class that ``loc`` (a pydantic error location) points into."""
    cls: type[Strict] = root
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if cls is root and part == "task":
            if not parts or parts[0] not in TASKS:
                return None
            cls = TASKS.get(parts.pop(0)).task.options
            continue
        field = cls.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, Strict)):
            return None
        cls = annotation
    return cls


def display_loc(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] == "task" and parts[1] in TASKS:
        del parts[1]  # the discriminator pydantic adds, not a key the user wrote
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def format_error(root: type[Strict], err: Any, source: str) -> str:
    """One line for one pydantic error dict: where, what was given, what is allowed.

    ``root`` is the config class the error came from (sections are found from it).
    """
    loc = tuple(err["loc"])
    kind = err["type"]
    where = display_loc(loc)
    prefix = f"{source}: {where}: " if where else f"{source}: "
    if kind in ("actcli", "value_error"):
        message = err["msg"].removeprefix("Value error, ")
        key = (err.get("ctx") or {}).get("key")
        if key:
            where = f"{where}{key}" if key.startswith("[") else f"{where}.{key}"
            return f"{source}: {where}: {message}"
        # a section's own check names the key inside the section: join the two paths
        head, sep, rest = message.partition(": ")
        section = _section_at(root, loc)
        if sep and where and section is not None and head in section.model_fields:
            return f"{source}: {where}.{head}: {rest}"
        return prefix + message if where else f"{source}: {message}"
    if kind == "extra_forbidden":
        section = _section_at(root, loc[:-1])
        valid = list(section.model_fields) if section else []
        hint = suggest(loc[-1], valid)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        parent = display_loc(loc[:-1]) or "top level"
        return (f"{source}: unknown key {display_loc(loc)!r}{extra}; valid keys in "
                f"{parent}: {', '.join(valid)}")
    if kind == "union_tag_invalid":
        return prefix.replace(f"{where}: ", "") + "task.name: " + unknown_name_message(
            "task", err["ctx"]["tag"], TASKS.names()
        )
    if kind == "union_tag_not_found":
        return f"{source}: task: needs a 'name'; valid: {', '.join(TASKS.names())}"
    if kind == "model_attributes_type" or kind == "model_type":
        return prefix + f"expected a mapping of keys, got {quote(err['input'])}"
    message = err["msg"]
    if kind.startswith("literal_error"):
        return prefix + f"{quote(err['input'])} is not allowed; valid: {err['ctx']['expected']}"
    return prefix + f"{message[0].lower()}{message[1:]}; got {quote(err['input'])}"


