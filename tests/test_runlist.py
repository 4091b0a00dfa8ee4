"""actcli runs: every run under a root, filters, sorting, formats; runs diff; provenance."""

from __future__ import annotations

import csv
import io
import json

import pytest

from actcli.inspection import listing

from helpers import CONFIGS, write


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Three beans runs, one rice cooker run, a compare of two cells, and noise."""
    from typer.testing import CliRunner

    from actcli.cli.main import app

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

    from actcli.cli.main import app

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
    # its lock was left: the process that wrote "running" is gone
    found = as_json(copy, "--where", "status!=completed")
    assert [(r["name"], r["status"]) for r in found] == [("beans-0.05", "killed")]
    (runs[0] / ".lock").unlink()  # a run from before locks: nothing tells
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
    record_a, record_b = listing.load_run(a), listing.load_run(b)
    changed, metrics = listing.diff(record_a, record_b)
    assert ("optimizer.lr", "0.05", "0.1") in changed and ("name", "beans-0.05", "beans-0.1") \
        in changed
    by_name = {m[0]: m for m in metrics}
    accuracy = by_name["accuracy"]
    assert accuracy[3] == pytest.approx(record_b.flat["accuracy"] - record_a.flat["accuracy"])


def test_diff_works_on_compare_cells(root):
    cells = sorted(root.glob("*compare-beans/cells/*"))
    changed, _ = listing.diff(listing.load_run(cells[0]), listing.load_run(cells[1]))
    assert [c[0] for c in changed] == ["model.activation"]


def test_matches_compares_numbers_as_numbers_and_text_as_text():
    record = listing.RunRecord(CONFIGS, {"a": 10, "b": "relu", "c": [8, 8], "d": True})
    assert listing.matches(record, "a", ">", "9") and not listing.matches(record, "a", "<", "9")
    assert listing.matches(record, "a", "=", "1e1")
    assert listing.matches(record, "b", "=", "relu") and listing.matches(record, "b", "!=", "x")
    assert listing.matches(record, "c", "=", "[8, 8]") and listing.matches(record, "d", "=", "true")
    assert listing.matches(record, "missing", "!=", "x")
    assert not listing.matches(record, "missing", "=", "x")


@pytest.mark.parametrize("rows", [[["a", "0.5"], ["long value", "1"]], [], [["±é", "x"]]])
def test_natural_width_is_what_rich_measures(rows):
    from actcli.console import grid, natural_width, width_of

    columns = ["name", "value"]
    assert natural_width(columns, rows) == width_of(grid("t", columns, rows))


def _copy_run(source, target, summary=None, config=None):
    """A copy of the run folder ``source`` at ``target``, its summary.json and config.yaml
    updated with the given keys (a run folder as the contract describes it)."""
    import shutil

    import yaml

    shutil.copytree(source, target)
    if summary is not None:
        found = json.loads((target / "summary.json").read_text())
        (target / "summary.json").write_text(json.dumps({**found, **summary}))
    if config is not None:
        found = yaml.safe_load((target / "config.yaml").read_text())
        (target / "config.yaml").write_text(yaml.safe_dump({**found, **config}))
    return target


def _beans(root):
    return sorted(p for p in root.iterdir() if p.name.endswith("beans-0.05"))[0]


CORRUPT = [  # summary.json, config.yaml (None: as the run had it) -> why it is skipped
    ('{"status": 5, "metrics": "x"}', None, "summary.json: status is 5, not a string"),
    ('{"status": "completed", "metrics": "x"}', None,
     "summary.json: metrics is 'x', not a mapping"),
    ('{"status": "completed", "metrics": {"loss": "low"}}', None,
     "summary.json: metrics.loss is 'low', not a number"),
    ('{"status": "completed", "provenance": "git"}', None,
     "summary.json: provenance is 'git', not a mapping"),
    ('[1, 2]', None, "summary.json is [1, 2], not a mapping"),
    ('{"metrics": {}}', None, "summary.json has no status"),
    ('{"status": "completed"}', "- a list\n", "config.yaml is ['a list'], not a mapping"),
]


def test_corrupt_folders_are_skipped_and_counted(root, tmp_path):
    listed = tmp_path / "runs"
    listed.mkdir()
    good = _copy_run(_beans(root), listed / "20990101-000000-good")
    for n, (summary, config, _) in enumerate(CORRUPT):
        bad = _copy_run(_beans(root), listed / f"2000010{n}-000000-bad")
        (bad / "summary.json").write_text(summary)
        if config is not None:
            (bad / "config.yaml").write_text(config)
    for args in ([], ["--format", "json"], ["--format", "csv"]):
        result = invoke(listed, *args)
        assert result.exit_code == 0, result.output
        assert result.stderr == (f"skipped 7 folder(s) that cannot be read: {listed}/"
                                 "20000100-000000-bad: summary.json: status is 5, not a "
                                 "string\n")
    assert [r["run"] for r in as_json(listed)] == [good.name]
    assert "1 run(s) under" in invoke(listed).stdout
    scanned = listing.scan(listed)
    assert [why for _, why in scanned.skipped] == [why for _, _, why in CORRUPT]


def test_a_corrupt_run_given_to_diff_is_one_line(root, tmp_path):
    bad = _copy_run(_beans(root), tmp_path / "bad")
    (bad / "summary.json").write_text('{"status": 5, "metrics": "x"}')
    result = invoke("diff", bad, _beans(root))
    assert result.exit_code == 2
    assert result.stderr == (f"error: {bad}: cannot be read as a run: summary.json: status "
                             "is 5, not a string\n")


@pytest.fixture
def mixed(root, tmp_path):
    """A beans run (the final loss is a metric), and a run trained with `loss:
    cross_entropy` whose task reports test_loss (as fashion_mnist does)."""
    listed = tmp_path / "runs"
    listed.mkdir()
    beans = _copy_run(_beans(root), listed / "20990101-000000-beans")
    fashion = _copy_run(_beans(root), listed / "20990101-000001-fashion_mnist",
                        summary={"task": "fashion_mnist", "name": "fashion_mnist",
                                 "metrics": {"test_loss": 0.3092, "test_accuracy": 0.89}},
                        config={"name": "fashion_mnist", "loss": "cross_entropy",
                                "device": "cpu"})
    return listed, beans, fashion


def test_config_keys_and_metrics_never_share_a_name(mixed):
    listed, beans, fashion = mixed
    by_run = {r["run"]: r for r in as_json(listed)}
    a, b = by_run[beans.name], by_run[fashion.name]
    assert (a["config.loss"], b["config.loss"]) == ("bce", "cross_entropy")
    assert isinstance(a["loss"], float) and b["loss"] is None  # the final loss, or none
    # the device asked for and the device used, even where they are the same
    assert (a["config.device"], a["device"]) == ("auto", "cpu")
    assert (b["config.device"], b["device"]) == ("cpu", "cpu")
    found = as_json(listed, "--where", "config.loss=cross_entropy")
    assert [r["run"] for r in found] == [fashion.name]
    # the same names for a run listed alone
    alone = listing.load_run(fashion)
    assert alone.flat["config.loss"] == "cross_entropy" and "loss" not in alone.flat
    header = next(line for line in invoke(listed).stdout.splitlines() if "┃ when" in line)
    cells = [c.strip() for c in header.split("┃")]
    assert cells.count("loss") == 1 and cells.count("config.loss") == 1
    assert cells.count("task") == 1


def test_diff_compares_the_loss_function_with_the_loss_function(mixed):
    _, beans, fashion = mixed
    result = invoke("diff", beans, fashion)
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert ["config.loss", "bce", "cross_entropy"] in rows
    config_device = next(r for r in rows if r[0] == "config.device")
    assert config_device == ["config.device", "auto", "cpu"]
    loss = next(r for r in rows if r[0] == "loss")  # the final loss: a number, and none
    assert loss[1] == f"{listing.load_run(beans).flat['loss']:.4g}" and loss[2:] == ["-", "-"]
    assert ["test_loss", "-", "0.3092", "-"] in rows


def test_where_on_a_config_key_listed_under_config_suggests_it(mixed):
    listed, _, fashion = mixed
    alone = listed.parent / "alone"
    alone.mkdir()
    import shutil

    shutil.copytree(fashion, alone / fashion.name)
    result = invoke(alone, "--where", "loss=cross_entropy")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --where: no run has the key 'loss' (did you mean "
                                    "'config.loss'?); keys: ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("key", "message"), [
    ("nosuchkey", "error: --show: no run has the key 'nosuchkey'; keys: "),
    ("accurcy", "error: --show: no run has the key 'accurcy' (did you mean 'accuracy'?); "
     "keys: "),
])
def test_show_rejects_a_key_no_run_has(root, key, message):
    for args in ([], ["--format", "json"]):
        result = invoke(root, "--show", key, *args)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(message)
    assert invoke(root, "--show", "provenance.python").exit_code == 0


def test_varied_keys_come_model_optimizer_loss_train_then_task(root):
    records = listing.collect(root, cells=False)
    varied = listing.differing(records)
    groups = [next(i for i, p in enumerate(("model", "optimizer", "config.loss", "train"))
                   if k == p or k.startswith(p + ".")) if not k.startswith("task")
              and k != "name" else 4 + k.startswith("task") for k in varied]
    assert groups == sorted(groups) and varied[-1].startswith("task.")
    assert "optimizer.lr" in varied and "task.count" in varied
    columns = listing.columns(records)
    assert columns.count("task") == 1
    assert columns.index("optimizer.lr") < columns.index("task.count")


def test_at_80_columns_the_table_cuts_no_value_and_says_what_it_left_out(root):
    from typer.testing import CliRunner

    from actcli.cli.main import app

    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, ["runs", str(root), "--no-cells", "--where", "task=beans"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    header = next(line for line in lines if "┃ run" in line)
    assert "optimizer.lr" in header  # what differs between them, before the task's keys
    note = " ".join(result.stdout[result.stdout.index("left out to fit 80 columns: "):].split())
    assert "seconds" in note and "when" in note and "(--show KEY adds one back" in note
    shown = listing.columns(listing.select(listing.collect(root, cells=False),
                                           [("task", "=", "beans")]))
    left = note.removeprefix("left out to fit 80 columns: ").split(" (--show")[0]
    named = [k.strip() for k in left.split(",")]
    cells = [c.strip() for c in header.split("┃") if c.strip()]
    assert sorted(cells + named) == sorted(shown)
