"""The command line: parse, call one library function, print (``actcli.cli.main`` is the app)."""

from actcli.cli.main import app, main

__all__ = ["app", "main"]
