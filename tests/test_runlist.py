"""actcli runs: every run under a root, filters, sorting, formats; runs diff; provenance."""

from __future__ import annotations

import csv
import io
import json

import pytest

from actcli import runlist

from helpers import CONFIGS, write


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Three beans runs, one rice cooker run, a compare of two cells, and noise."""
    from typer.testing import CliRunner

    from actcli.cli import app

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    root = tmp_path_factory.mktemp("runs")

    def call(*args):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result

    for lr in ("0.05", "0.1", "0.2"):
        call("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--out", root,
             "--set", f"optimizer.lr={lr}", "--name", f"beans-{lr}")
    call("train", CONFIGS / "rice_cooker.yaml", "--smoke", "--quiet", "--out", root)
    import subprocess
    import sys

    # as typed in a shell, with worker processes: the cells record this command line
    subprocess.run([sys.executable, "-m", "actcli", "compare", str(CONFIGS / "beans.yaml"),
                    "--set", "model.hidden=[2]", "--set", "train.epochs=5", "--activations",
                    "relu,tanh", "--workers", "2", "--out", str(root)], check=True,
                   capture_output=True)
    (root / "notes").mkdir()
    write(root / "notes" / "readme.txt", "not a run")
    broken = root / "20991231-000000-broken"
    broken.mkdir()
    write(broken / "summary.json", "{not json")
    return root


def invoke(*args):
    from typer.testing import CliRunner

    from actcli.cli import app

    return CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, ["runs", *[str(a) for a in args]])


def as_json(*args):
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_run_and_cell_is_listed_and_other_folders_skipped(root):
    found = as_json(root)
    assert len(found) == 6
    cells = [r for r in found if r["compare"]]
    assert len(cells) == 2 and all(r["compare"].endswith("compare-beans") for r in cells)
    assert {r["model.activation"] for r in cells} == {"relu", "tanh"}
    assert len(as_json(root, "--no-cells")) == 4


def test_the_table_shows_only_the_keys_that_differ(root):
    result = invoke(root, "--no-cells", "--where", "task=beans")
    assert result.exit_code == 0
    header = next(line for line in result.stdout.splitlines() if "┃ when" in line)
    assert "optimizer.lr" in header and "name" in header
    assert "model.hidden" not in header and "task.count" not in header  # equal in all three
    assert "accuracy" in header and "seconds" in header


@pytest.mark.parametrize(("where", "names"), [
    (["optimizer.lr=0.1"], {"beans-0.1"}),
    (["optimizer.lr=0.10"], {"beans-0.1"}),  # numbers compare as numbers
    (["optimizer.lr>0.05", "task=beans"], {"beans-0.1", "beans-0.2"}),
    (["optimizer.lr<=0.1", "task=beans"], {"beans-0.05", "beans-0.1"}),
    (["task!=beans"], {"rice_cooker"}),
    (["status=completed", "task=rice_cooker"], {"rice_cooker"}),
])
def test_where_filters(root, where, names):
    args = sum((["--where", w] for w in where), [])
    assert {r["name"] for r in as_json(root, "--no-cells", *args)} == names


def test_sort_and_last(root):
    found = as_json(root, "--no-cells", "--where", "task=beans", "--sort", "-optimizer.lr")
    assert [r["optimizer.lr"] for r in found] == [0.2, 0.1, 0.05]
    found = as_json(root, "--no-cells", "--where", "task=beans", "--sort", "optimizer.lr")
    assert [r["optimizer.lr"] for r in found] == [0.05, 0.1, 0.2]
    assert len(as_json(root, "--last", "2")) == 2


def test_csv_carries_every_key(root):
    result = invoke(root, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert {"path", "model.activation", "optimizer.lr", "accuracy", "provenance.python",
            "provenance.command", "status"} <= set(rows[0])


def test_provenance_is_recorded_and_can_be_filtered(root):
    import platform

    found = as_json(root, "--no-cells", "--where", "task=rice_cooker")[0]
    assert found["provenance.python"] == platform.python_version()
    assert found["provenance.threads"] >= 1 and found["provenance.actcli"]
    assert found["stack"] == 1
    python = platform.python_version()
    assert len(as_json(root, "--where", f"provenance.python={python}")) == 6
    cell = next(r for r in as_json(root) if r["compare"])
    # the command as typed, not the worker process's
    assert cell["provenance.command"].startswith("actcli compare ")


def test_unfinished_and_failed_runs_show_as_such(root, tmp_path):
    import shutil

    copy = tmp_path / "runs"
    shutil.copytree(root, copy)
    runs = sorted(p for p in copy.iterdir() if p.name.endswith("beans-0.05"))
    summary = json.loads((runs[0] / "summary.json").read_text())
    summary["status"] = "running"
    (runs[0] / "summary.json").write_text(json.dumps(summary))
    found = as_json(copy, "--where", "status!=completed")
    assert [(r["name"], r["status"]) for r in found] == [("beans-0.05", "unfinished")]


def test_bad_input_is_one_line_exit_2(root, tmp_path):
    for args, message in [
        ([tmp_path / "nope"], "no such folder"),
        ([root, "--where", "accuracy"], "--where 'accuracy': expected KEY=VALUE"),
        ([root, "--where", "nokey=1"], "--where: no run has the key 'nokey'"),
        ([root, "--sort", "nokey"], "--sort: no run has the key 'nokey'"),
        ([root, "--format", "xml"], "--format: 'xml' is not allowed; valid: table, csv, json"),
        ([root, "--last", "0"], "--last: must be >= 1"),
        (["diff", root], "runs diff: give two run folders"),
        (["diff", root, root], "not a run folder"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, lines)


def test_diff_shows_only_what_changed(root):
    a, b = sorted(p for p in root.iterdir() if "beans-0." in p.name)[:2]
    result = invoke("diff", a, b)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "optimizer.lr" in text and "0.05" in text and "0.1" in text
    assert "model.hidden" not in text and "task.count" not in text
    record_a, record_b = runlist.load_run(a), runlist.load_run(b)
    changed, metrics = runlist.diff(record_a, record_b)
    assert ("optimizer.lr", "0.05", "0.1") in changed and ("name", "beans-0.05", "beans-0.1") \
        in changed
    by_name = {m[0]: m for m in metrics}
    accuracy = by_name["accuracy"]
    assert accuracy[3] == pytest.approx(record_b.flat["accuracy"] - record_a.flat["accuracy"])


def test_diff_works_on_compare_cells(root):
    cells = sorted(root.glob("*compare-beans/cells/*"))
    changed, _ = runlist.diff(runlist.load_run(cells[0]), runlist.load_run(cells[1]))
    assert [c[0] for c in changed] == ["model.activation"]


def test_matches_compares_numbers_as_numbers_and_text_as_text():
    record = runlist.RunRecord(CONFIGS, {"a": 10, "b": "relu", "c": [8, 8], "d": True})
    assert runlist.matches(record, "a", ">", "9") and not runlist.matches(record, "a", "<", "9")
    assert runlist.matches(record, "a", "=", "1e1")
    assert runlist.matches(record, "b", "=", "relu") and runlist.matches(record, "b", "!=", "x")
    assert runlist.matches(record, "c", "=", "[8, 8]") and runlist.matches(record, "d", "=", "true")
    assert runlist.matches(record, "missing", "!=", "x")
    assert not runlist.matches(record, "missing", "=", "x")


@pytest.mark.parametrize("rows", [[["a", "0.5"], ["long value", "1"]], [], [["±é", "x"]]])
def test_natural_width_is_what_rich_measures(rows):
    from actcli.console import grid, natural_width, width_of

    columns = ["name", "value"]
    assert natural_width(columns, rows) == width_of(grid("t", columns, rows))
