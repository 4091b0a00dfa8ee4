"""Shared fixtures. Terminal width and colour are fixed so CLI output is the same anywhere."""

from __future__ import annotations

import os

import pytest

os.environ["COLUMNS"] = "200"
os.environ["NO_COLOR"] = "1"
os.environ["TERM"] = "dumb"
os.environ.pop("FORCE_COLOR", None)


@pytest.fixture
def invoke():
    """Run the CLI in-process: invoke("train", "x.yaml") -> Result (stdout, stderr apart)."""
    from typer.testing import CliRunner

    from actcli.cli.main import app

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})

    def call(*args: object):
        return runner.invoke(app, [str(a) for a in args])

    return call


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection made (torch, matplotlib, every test module: hundreds of
    thousands of objects that live as long as the session): Python's full collections then walk only
    what the tests make, as ``actcli.collector`` does for a command."""
    import gc

    gc.freeze()
