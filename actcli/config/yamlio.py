"""Reading YAML safely: floats like 1e-3, no duplicate keys, errors with line and column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from actcli.errors import ConfigError, quote

MAX_NODES = 100_000  # values a config may expand to (a shipped config has under 100)
MAX_BYTES = 1 << 20  # a config file's size (a shipped config is under 2 KB): checked first


class _Loader(yaml.SafeLoader):
    """Safe loader that reads 1e-3 as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quote(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:
    """YAML text -> Python data with the safe loader; ConfigError with line and column."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} characters is too large for a config "
                          f"value (at most {MAX_BYTES:,})")
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        size, shared = expanded_size(node)
        if size > MAX_NODES:
            what = ("its YAML aliases expand to" if shared else "it holds")
            raise ConfigError(f"{source}: {what} over {MAX_NODES:,} values; a config is "
                              "small (a shipped one holds under 100)")
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "invalid YAML"
        raise ConfigError(f"{source}{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as err:  # e.g. a control character: keep the message to one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{source}: invalid YAML: {first}") from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply; a config is a few levels deep"
                          ) from None
    finally:
        if loader is not None:
            loader.dispose()


def expanded_size(node: yaml.Node, limit: int = MAX_NODES) -> tuple[int, bool]:
    """How many values ``node`` stands for once every alias is expanded, counting up to
    just past ``limit``, and whether any alias was met. Aliases are shared nodes, so each
    node's size is computed once."""
    sizes: dict[int, int] = {}
    shared = False

    def size(n: yaml.Node) -> int:
        nonlocal shared
        if id(n) in sizes:
            shared = True
            return sizes[id(n)]
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                total += size(key) + size(value)
                if total > limit:
                    break
        sizes[id(n)] = total
        return total

    return size(node), shared


def read_document(path: Path) -> dict[str, Any]:
    """The raw mapping in a config file, or ConfigError saying why there is none."""
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a YAML config file")
    try:
        too_big = path.stat().st_size > MAX_BYTES
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    if too_big:
        raise ConfigError(f"{path}: {path.stat().st_size:,} bytes is too large for a config "
                          f"(at most {MAX_BYTES:,}; a shipped one is under 2 KB)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    document = parse_yaml(text, str(path))
    if document is None or document == {}:
        raise ConfigError(f"{path} is empty: a config needs at least task: (e.g. "
                          "task: rice_cooker)")
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys (name, task, model, ...), "
            f"got a {_yaml_kind(document)}"
        )
    return document


def _yaml_kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


