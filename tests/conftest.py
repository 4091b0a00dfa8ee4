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
