"""Terminal output: tables that cut no value and break no word at any width; the progress bar."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from actcli.console import Grid, ProgressReporter, fit, grid
from actcli.inspection import catalog

from helpers import CONFIGS


def render(table, width: int) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(width=width, file=out, color_system=None, legacy_windows=False).print(table)
    return out.getvalue()


def cells_shown(text: str) -> set[str]:
    """Every word inside the table's cells and headers, as printed."""
    found: set[str] = set()
    for line in text.splitlines():
        if line[:1] in "│┃":
            for part in re.split("[│┃]", line):
                found.update(part.split())
    return found


def words_of(columns, rows) -> set[str]:
    return {word for row in [columns, *rows] for cell in row for word in cell.split()}


def invoke_at(width: int, *args: object):
    from typer.testing import CliRunner

    from actcli.cli.main import app

    return CliRunner(env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, [str(a) for a in args])


def test_a_grid_that_fits_is_one_line_a_row():
    text = render(grid("t", ("name", "value"), [("a", "0.5"), ("long value", "1")]), 80)
    assert text.splitlines() == ["t",
                                 "┏━━━━━━━━━━━━┳━━━━━━━┓",
                                 "┃ name       ┃ value ┃",
                                 "┡━━━━━━━━━━━━╇━━━━━━━┩",
                                 "│ a          │ 0.5   │",
                                 "│ long value │ 1     │",
                                 "└────────────┴───────┘"]


def test_prose_wraps_at_spaces_and_never_inside_a_word():
    rows = [("softsign", "approaches its limits polynomially, not exponentially."),
            ("tanh", "zero-centred sigmoid")]
    text = render(grid("t", ("name", "notes"), rows, prose=True), 30)
    assert max(len(line) for line in text.splitlines()) <= 30
    assert cells_shown(text) == words_of(("name", "notes"), rows)


def test_columns_that_do_not_fit_go_on_in_a_second_table_with_the_name_again():
    columns = ("param", "a", "b", "c", "d")
    rows = [("w1", "0.123456789", "-0.123456789", "0.5", "0.000438568")]
    text = render(grid("gradients", columns, rows), 40)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert lines[0] == "gradients" and "gradients (continued)" in lines
    assert sum(line.startswith("│ w1 ") for line in lines) == 2
    assert cells_shown(text) == words_of(columns, rows)


def test_a_list_of_values_wraps_after_its_commas_and_a_number_stays_whole():
    columns = ("cell", "accuracy", "to target", "vs best")
    rows = [("model.activation=leaky_relu, optimizer.lr=0.01", "0.78 ± 0.30", "12 (1/2)",
             "few seeds p=1")]
    text = render(grid("compare", columns, rows), 74)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 74
    assert "│ model.activation=leaky_relu, │ 0.78 ± 0.30 │ 12 (1/2)  │ few seeds p=1 │" in lines
    assert "│ optimizer.lr=0.01            │             │           │               │" in lines


def test_nothing_is_ever_cut_with_an_ellipsis():
    rows = [(f"row {i}", "0.9900 ± 0.0029", "model.activation=hardswish, optimizer.lr=0.1")
            for i in range(3)]
    for width in (30, 40, 60):
        text = render(grid("t", ("name", "accuracy", "cell"), rows), width)
        assert "…" not in text
        assert max(len(line) for line in text.splitlines()) <= width


def test_fit_says_which_columns_it_left_out():
    def table(drop: tuple[str, ...] = ()):
        columns = [c for c in ("name", "a", "b") if c not in drop]
        return grid("t", columns, [["x" * 10] * len(columns)])

    chosen = fit(30, [table, lambda: table(("b",))])
    assert chosen.columns == ["name", "a"] and chosen.note == "left out to fit 30 columns: b"
    assert render(chosen, 30).splitlines()[-1] == "left out to fit 30 columns: b"
    assert fit(80, [table]).note == ""


@pytest.mark.parametrize("kind", catalog.KINDS)
@pytest.mark.parametrize("width", [80, 100])
def test_every_list_cuts_no_value_and_breaks_no_word(kind, width):
    found = catalog.table(kind)
    result = invoke_at(width, "list", kind)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= width
    assert cells_shown(result.stdout) == words_of(found.columns, found.rows)


def test_list_configs_shows_each_description_whole():
    found = {row[0]: row[1] for row in catalog.table("configs").rows}
    assert found["fashion_mnist"] == (
        "Fashion-MNIST with an MLP 784-256-128-10. Files: task.data_dir, $ACTCLI_DATA_DIR, "
        "the user cache, /usr/share/datasets/fashion-mnist, or a download (see README).")
    assert found["fashion_mnist_cnn"].endswith("with 2x2 pooling, then a dense layer of 128.")
    assert found["compare_beans"] == (
        "A compare that decides: the eleven activations in a two-hidden-layer net on beans, "
        "seeds added until each is slower to the target than the fastest, equivalent or "
        "tied.")
    assert "README)." in cells_shown(invoke_at(80, "list", "configs").stdout)


@pytest.mark.parametrize("args", [
    ["summary", CONFIGS / "fashion_mnist_cnn.yaml"],
    ["summary", CONFIGS / "beans.yaml", "--set", "model.hidden=[8,8]"],
    ["plot", "relu", "gelu", "--points", "-1,0,2.5", "--out", "TMP"],
    ["landscape", "--surface", "rastrigin", "--out", "TMP"],
    ["landscape", "--surface", "himmelblau", "--out", "TMP"],
])
def test_other_tables_fit_80_columns_without_an_ellipsis(args, tmp_path):
    result = invoke_at(80, *[tmp_path if a == "TMP" else a for a in args])
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    assert "…" not in result.stdout


def test_the_compare_table_cuts_no_value_at_80_columns(tmp_path):
    result = invoke_at(80, "compare", CONFIGS / "beans.yaml", "--activations",
                       "leaky_relu,hardswish", "--over", "optimizer.lr=0.01,0.1", "--seeds",
                       "2", "--out", tmp_path, "--set", "model.hidden=[4]", "--set",
                       "train.epochs=30")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("compare: best")))
    table = [line for line in lines[start:] if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in table) <= 80
    assert "…" not in result.stdout
    values = [cell.strip() for line in table if line.startswith("│")
              for cell in line.split("│")[1:-1]]
    accuracies = [v for v in values if "±" in v]
    assert len(accuracies) == 4
    assert all(re.fullmatch(r"\d\.\d+ ± \d\.\d+", v) for v in accuracies), accuracies
    assert "left out to fit 80 columns: " in result.stdout


class _Recorder:
    def __init__(self) -> None:
        from rich.console import Console

        self.out = io.StringIO()
        self.console = Console(width=100, file=self.out, color_system=None, force_terminal=False)


def test_the_progress_bar_shows_no_loss_before_the_first_epoch():
    record = _Recorder()
    reporter = ProgressReporter(record.console, "beans")
    reporter.start(Path("runs/x"), 10)
    reporter.finish()  # interrupted before epoch 1: no loss yet
    text = record.out.getvalue()
    assert "nan" not in text and "loss -" in text
    record = _Recorder()
    reporter = ProgressReporter(record.console, "beans")
    reporter.start(Path("runs/x"), 10)
    reporter.epoch(1, 0.25)
    reporter.finish()
    assert "loss 0.25" in record.out.getvalue()


def test_key_values_cuts_no_value():
    from actcli.console import key_values

    text = render(key_values("beans: completed", {"run folder": "runs/" + "x" * 60,
                                                  "accuracy": 0.99}), 80)
    assert "runs/" + "x" * 60 in text and "0.99" in text
    assert isinstance(key_values("t", {}), Grid)
