"""The configs that ship inside the package: found by name, listed, copied out for editing.

They live in ``actcli/configs/`` (the repository's ``configs/`` points there), so
``actcli train rice_cooker`` works wherever actcli is installed. A path that exists always
wins over a shipped name. Imports nothing heavy: shell completion reads the names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from actcli.errors import ConfigError, quote

SCHEMA_NAME = "actcli.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema="
DEFAULT_COMPARE = "compare_beans"  # what `actcli compare` with no CONFIG runs


def folder() -> Path:
    return Path(str(resources.files("actcli") / "configs"))


def schema_file() -> Path:
    """The config's JSON Schema as installed with the package."""
    return Path(str(resources.files("actcli") / "schema" / SCHEMA_NAME))


def names() -> list[str]:
    return sorted(path.stem for path in folder().glob("*.yaml"))


def resolve(given: str | Path) -> Path:
    """A config file: ``given`` itself when it exists, else the shipped config it names
    (``rice_cooker`` or ``rice_cooker.yaml``); ConfigError listing the shipped ones."""
    path = Path(given)
    if path.exists():
        return path
    name = path.name.removesuffix(".yaml").removesuffix(".yml")
    if path.parent == Path(".") and name in names():
        return folder() / f"{name}.yaml"
    hint = (f"; a shipped config is named without a folder: {name}" if name in names() else "")
    raise ConfigError(f"{given}: config file not found, and no shipped config is named "
                      f"{quote(str(given))}{hint}; shipped: {', '.join(names())}")


@dataclass(frozen=True)
class About:
    name: str
    what: str  # the header's first line
    takes: str  # how long it takes here, from the header's "Takes:" line


def about(name: str) -> About:
    """What a shipped config trains and how long it takes, from its header comments."""
    lines = (folder() / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    what: list[str] = []
    takes = ""
    for line in lines[1:]:  # the first line is the $schema line
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("Takes:"):
            takes = text.removeprefix("Takes:").strip().rstrip(".")
        elif text and not text.startswith("actcli ") and not what:
            what.append(text.rstrip(":"))
    return About(name, " ".join(what), takes)


def init(name: str, out: Path | None = None) -> tuple[Path, Path | None]:
    """Copy the shipped config ``name`` to ``out`` (default ``./NAME.yaml``; a folder takes
    ``NAME.yaml`` inside it) with its $schema line pointing at the schema written beside it.

    Returns (the copy, the schema written or None when one was already there). Never
    overwrites: an existing target is a ConfigError.
    """
    source = resolve(name) if name in names() else None
    if source is None:
        raise ConfigError(f"init: {quote(name)} is not a shipped config; shipped: "
                          f"{', '.join(names())}")
    target = Path(f"{name}.yaml") if out is None else out
    if target.is_dir():
        target = target / f"{name}.yaml"
    if target.exists():
        raise ConfigError(f"init: {target} exists; it is never overwritten (choose another "
                          "--out, or remove it)")
    from actcli import folders

    text = source.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_LINE):
        lines[0] = f"{SCHEMA_LINE}{SCHEMA_NAME}\n"
    folders.writable(target)
    schema = target.parent / SCHEMA_NAME
    written = None
    if not schema.exists():
        folders.write_text(schema, schema_file().read_text(encoding="utf-8"))
        written = schema
    try:
        with open(target, "x", encoding="utf-8") as handle:  # "x": never over another file
            handle.write("".join(lines))
    except FileExistsError:
        raise ConfigError(f"init: {target} exists; it is never overwritten") from None
    return target, written
