"""What every command module shares: the output console, the error guard, common options.

The command modules (main.py, compare.py, inside.py, runs.py) import this and nothing of
each other; main.py registers every command on the one Typer app.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from actcli.cli import completion
from actcli.errors import ActcliError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_INTERRUPTED = 130


def stdout() -> Console:
    """A rich Console on standard output (imported lazily: rich is slow to import)."""
    from rich.console import Console

    return Console(highlight=False)


def print_notes(notes: list[str]) -> None:
    """What the library noted beside its result (options dropped by a rename), on stderr."""
    for note in notes:
        typer.echo(f"note: {note}", err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """ActcliError -> one line on stderr and its exit code; never a traceback."""
    try:
        yield
    except ActcliError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:  # `actcli runs | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        raise typer.Exit(0) from None
    except OSError as err:  # the last net: a file the system would not read or write
        if os.environ.get("ACTCLI_DEBUG"):
            raise
        where = f"{err.filename}: " if err.filename else ""
        typer.echo(f"error: {where}{err.strerror or err} (set ACTCLI_DEBUG=1 for the "
                   "traceback)", err=True)
        raise typer.Exit(1) from None


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set optimizer.lr=0.01 "
                 "(value read as YAML; repeatable).", autocompletion=completion.complete_set),
]
OutOption = Annotated[Path, typer.Option("--out", help="Runs root folder.")]


def config_argument(help_text: str = "YAML config file, or the name of a shipped config "
                    "(actcli list configs).") -> Any:
    return typer.Argument(help=help_text, autocompletion=completion.complete_config,
                          show_default=False)


def config_path(given: Path) -> Path:
    """A CONFIG argument as a file: the path itself, or the shipped config it names."""
    from actcli.config import shipped

    return shipped.resolve(given)
