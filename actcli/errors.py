"""The project's own errors. The CLI turns each into one stderr line and an exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ActcliError(Exception):
    """Base class: a problem the user can fix. Exit code 2 (bad input) unless stated."""

    exit_code = 2


class ConfigError(ActcliError):
    """A config file, a ``--set`` override or a command-line value is not valid.

    ``key`` is the option the message is about, relative to where the caller looked
    (``lr`` inside ``optimizer``), so the caller can print the whole path.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key, self.detail = key, message
        super().__init__(f"{key}: {message}" if key else message)


class UnknownNameError(ConfigError):
    """A name that is not in a registry (activation, loss, task, ...)."""

    def __init__(self, kind: str, name: object, valid: Iterable[str]) -> None:
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(unknown_name_message(kind, name, self.valid))


class DeviceError(ActcliError):
    """A device was asked for that this machine does not have."""


class DataError(ActcliError):
    """A data file is missing, truncated or corrupt."""


class RunError(ActcliError):
    """A run failed while it ran (diverged, crashed): exit code 1."""

    exit_code = 1


QUOTE_LIMIT = 80  # characters of a bad value an error line shows


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to at most ``limit`` characters, so an error stays one short line.

    A huge value (an expanded YAML alias bomb, a pasted array) never makes a huge message:
    containers are shortened while the repr is built, not after.
    """
    text = _short_repr(value, limit)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _short_repr(value: object, limit: int) -> str:
    """repr of ``value`` that stops early on big containers instead of building all of it."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = limit
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 8
    shortener.maxlevel = 3
    return shortener.repr(value)


def suggest(name: object, valid: Iterable[str]) -> str | None:
    """The closest valid name to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_name_message(kind: str, name: object, valid: Iterable[str]) -> str:
    """``unknown activation 'relux' (did you mean 'relu'?); valid: elu, relu, ...``."""
    valid = sorted(valid)
    hint = suggest(name, valid)
    did_you_mean = f" (did you mean '{hint}'?)" if hint else ""
    return f"unknown {kind} {quote(name)}{did_you_mean}; valid: {', '.join(valid)}"
