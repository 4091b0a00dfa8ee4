"""The documentation: README short and its two commands those .ci/run runs, every quick
example of the getting-started page run (so the page cannot drift from the program), the
generated references naming every config key and every command and option, and every
benchmark table the pages include present and written by its script."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))

import reference  # noqa: E402 - docs/reference.py

FIRST = "pip install -e . && actcli train configs/rice_cooker.yaml"
SECOND = 'pip install -e ".[dev]" && pytest'


def code_blocks(text: str, language: str = "bash") -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_readme_is_short_and_its_two_commands_are_cis():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    blocks = [[line for line in block.splitlines() if not line.startswith("#")]
              for block in code_blocks(readme)]
    assert blocks[0] == [FIRST] and blocks[1] == [SECOND]  # the two commands, first
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\n{SECOND} ||" in ci  # .ci/run runs the README's test command word for word
    getting_started = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert [FIRST] in [[ln for ln in b.splitlines() if not ln.startswith("#")]
                       for b in code_blocks(getting_started)]


def quick_examples() -> list[str]:
    """The getting-started page's commands that finish in seconds."""
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    found = []
    for block in code_blocks(text):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("actcli ") and re.search(
                    r"--smoke|--print-config|--help|^actcli (list|plot)\b", command):
                found.append(command)
    return found


def test_the_getting_started_page_has_quick_examples():
    assert len(quick_examples()) >= 6


@pytest.mark.parametrize("command", quick_examples())
def test_every_quick_example_of_getting_started_runs(command, invoke, tmp_path, monkeypatch):
    if "fashion_mnist" in command and not _fashion_mnist_files():
        pytest.skip("the Fashion-MNIST files are not here (ACTCLI_DATA_DIR)")
    monkeypatch.chdir(tmp_path)  # what it writes (runs/, PNGs) stays in tmp_path
    result = invoke(*shlex.split(command)[1:])
    assert result.exit_code == 0, (command, result.output)


def _fashion_mnist_files() -> bool:
    import os

    folder = os.environ.get("ACTCLI_DATA_DIR")
    return bool(folder) and any(Path(folder).glob("train-images-idx3-ubyte*"))


def schema_keys(schema: dict, node: dict | None = None, prefix: str = "") -> set[str]:
    """Every dotted key the schema has (a task's options as task.<option>), walked here
    apart from docs/reference.py."""
    node = schema if node is None else node
    found: set[str] = set()
    if "$ref" in node:
        return schema_keys(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], prefix)
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            found |= schema_keys(schema, option, prefix)
    for name, child in node.get("properties", {}).items():
        if prefix == "task." and name == "name" or name == "name" and prefix.endswith(
                ("loss.", "optimizer.", "activation.", "init.")):
            found.add(f"{prefix}{name}")
            continue
        found.add(f"{prefix}{name}")
        found |= schema_keys(schema, child, f"{prefix}{name}.")
    return found


def test_the_config_reference_names_every_key_of_the_schema():
    from actcli import config

    schema = config.json_schema()
    text = reference.config_reference(schema)
    keys = {k for k in schema_keys(schema) if not re.search(
        r"^(loss|optimizer)\.name$|^model\.(activation|init)\.", k)}  # {name: ...} forms
    assert len(keys) > 50
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []
    for task in schema["properties"]["task"]["discriminator"]["mapping"]:
        assert f"`task.name: {task}`" in text
    compare = schema["$defs"]["CompareConfig"]["properties"]
    assert json.dumps(compare["max_seeds"]["default"]) in text  # defaults are given


def test_the_cli_reference_names_every_command_and_option():
    import typer.main

    from actcli.cli.main import app

    text = reference.cli_reference()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"## `actcli {name}`" in text
        for param in command.params:
            for flag in [*param.opts, *param.secondary_opts]:
                if flag.startswith("--"):
                    assert flag in text, (name, flag)
    assert "--until-decided" in text and "--no-until-decided" in text


def test_every_included_benchmark_table_is_there_and_says_how_it_was_made():
    included = set()
    for page in DOCS.rglob("*.md"):
        included |= set(re.findall(r'--8<-- "docs/bench/([^"]+)"',
                                   page.read_text(encoding="utf-8")))
    assert {"startup.md", "compare_speed.md", "figures.md"} <= included
    for name in included:
        text = (DOCS / "bench" / name).read_text(encoding="utf-8")
        script = name.removesuffix(".md").removesuffix("_shown")
        assert re.match(rf"\*Measured \d{{4}}-\d\d-\d\d by `python benchmarks/{script}\.py",
                        text), name
        assert "torch " in text.splitlines()[0]


def test_the_readmes_start_up_table_is_the_one_its_script_wrote():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- bench:startup -->\n")[1].split("<!-- /bench:startup -->")[0]
    assert shown == (DOCS / "bench" / "startup.md").read_text(encoding="utf-8")
    assert "| actcli train rice_cooker |" in shown


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.skip('mkdocs is not installed (pip install -e ".[docs]")')
    done = subprocess.run(["mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "site" / "reference" / "config" / "index.html").read_text()
    assert "compare.until_decided" in page  # the generated reference is in the built page
