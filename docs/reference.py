"""The documentation's two generated pages: the config reference from actcli's JSON Schema,
the CLI reference from its Typer app. ``docs/hooks.py`` puts them into the pages that ask
for them when MkDocs builds; ``python docs/reference.py config|cli`` prints one."""

from __future__ import annotations

import json
import sys
from typing import Any

Schema = dict[str, Any]


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: Schema, root: Schema) -> str:
    """A schema node's type as one short phrase: integer, list of integer, a or b..."""
    node = _resolve(node, root)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "name" if node.get("type") == "string" else "one of the values"
    for key in ("anyOf", "oneOf"):
        if key in node:
            kinds = []
            for option in node[key]:
                kind = _type(option, root)
                if kind not in kinds:
                    kinds.append(kind)
            return " or ".join(kinds)
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type(node.get('items', {}), root)}"
    if kind == "object":
        if "name" in node.get("properties", {}):
            return "{name: ..., options}"
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return f"mapping to {_type(extra, root)}"
        return "mapping"
    return str(kind or "any")


def _allowed(node: Schema, root: Schema) -> str:
    """Allowed values and bounds, as the schema states them."""
    node = _resolve(node, root)
    found: list[str] = []
    if "enum" in node:
        found.append(", ".join(f"`{v}`" for v in node["enum"]))
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            text = _allowed(option, root)
            if text and text not in found:
                found.append(text)
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=",
              "exclusiveMaximum": "<"}
    found += [f"{sign} {node[key]}" for key, sign in bounds.items() if key in node]
    if "pattern" in node:
        found.append(f"matches `{node['pattern']}`")
    if node.get("type") == "array":
        items = _allowed(node.get("items", {}), root)
        if items and items not in found:
            found.append(f"each {items}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        text = _allowed(extra, root)
        if text:
            found.append(f"values {text}")
    names = node.get("propertyNames")
    if isinstance(names, dict):
        text = _allowed(names, root)
        if text:
            found.append(f"keys {text}")
    return "; ".join(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(node: Schema) -> str:
    if "default" not in node:
        return "required" if node.get("_required") else ""
    return f"`{json.dumps(node['default'])}`"


def _object(node: Schema, root: Schema) -> Schema | None:
    """The object a node describes (through a $ref, or the one object of an "X or null"),
    when it has keys of its own; else None."""
    node = _resolve(node, root)
    options = [_resolve(o, root) for o in node.get("anyOf", [])]
    objects = [o for o in options if o.get("type") == "object" and "properties" in o]
    if len(objects) == 1 and all(o in objects or o.get("type") == "null" for o in options):
        node = {**objects[0], "description": node.get("description", "")}
    if node.get("type") == "object" and "properties" in node and "discriminator" not in node:
        return node
    return None


def _rows(prefix: str, node: Schema, root: Schema) -> list[tuple[str, Schema]]:
    """(dotted key, node) of every key under an object node, nested objects expanded."""
    node = _resolve(node, root)
    found = []
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        child = {**child, "_required": name in required}
        found.append((key, child))
        inner = _object(child, root)
        if inner is not None:
            found += _rows(f"{key}.", inner, root)
    return found


def _table(rows: list[tuple[str, Schema]], root: Schema) -> str:
    lines = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for key, node in rows:
        resolved = _resolve(node, root)
        description = node.get("description") or resolved.get("description", "")
        if _object(node, root) is not None:
            description = f"{description}; its keys below".lstrip("; ")
        lines.append(f"| `{key}` | {_cell(_type(node, root))} | {_cell(_default(node))} | "
                     f"{_cell(_allowed(node, root))} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def config_reference(schema: Schema | None = None) -> str:
    """Every key of a config: its type, default, allowed values and description, from the
    JSON Schema (``actcli schema`` writes the same); the task's options a table a task."""
    if schema is None:
        from actcli import config

        schema = config.json_schema()
    out = ["The tables below are generated from actcli's JSON Schema when the site is "
           "built (`actcli schema` writes it; editors use it to check and complete configs).",
           ""]
    top = [(key, node) for key, node in _rows("", schema, schema) if "." not in key]
    out += ["## Top level", "", _table([(k, n) for k, n in top if k != "task"], schema)]
    for key, node in top:
        inner = _object(node, schema)
        if inner is not None:
            out += [f"## `{key}`", "", node.get("description", "") or
                    inner.get("description", ""), "",
                    _table(_rows(f"{key}.", inner, schema), schema)]
    task = schema["properties"]["task"]
    out += ["## `task`", "", f"{task.get('description', '')}: `task.name` picks the task, "
            "and the other keys are that task's options.", ""]
    for name, ref in sorted(task["discriminator"]["mapping"].items()):
        options = _resolve({"$ref": ref}, schema)
        out += [f"### `task.name: {name}`", "", options.get("description", ""), "",
                _table(_rows("task.", options, schema), schema)]
    return "\n".join(out)


def cli_reference() -> str:
    """Every command and its arguments and options, each as ``--help`` words it."""
    import typer.main

    from actcli.cli.main import app

    group = typer.main.get_command(app)
    out = ["Generated from actcli's command-line app when the site is built: each command's "
           "usage, its help, and every argument and option as `actcli COMMAND --help` gives "
           "them.", ""]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        context = command.make_context(f"actcli {name}", [], resilient_parsing=True)
        usage = " ".join(command.collect_usage_pieces(context))
        out += [f"## `actcli {name}`", "", f"```text\nactcli {name} {usage}\n```", "",
                "```text", (command.help or "").strip(), "```", ""]
        lines = ["| argument or option | help |", "|---|---|"]
        for param in command.params:
            record = param.get_help_record(context)
            if record is not None:
                lines.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
        out += [*lines, ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(config_reference() if sys.argv[1:] == ["config"] else cli_reference())
