"""Commands over finished runs: `actcli runs` (and `runs diff A B`), `actcli predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from actcli.cli import parsing
from actcli.cli.shared import stdout, user_errors
from actcli.errors import ActcliError, ConfigError, quote

FORMATS = ("table", "csv", "json")
# what `predict` is registered with: an input such as -40 is a number, not an option
PREDICT_SETTINGS = {"ignore_unknown_options": True}


def runs(
    args: Annotated[list[str] | None, typer.Argument(
        help="ROOT (default runs/), or: diff RUN_A RUN_B", show_default=False)] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="KEY=VALUE filter (also !=, <, >, <=, >=; numbers compare as "
        "numbers; repeatable): any config key, metric or provenance field.")] = None,
    sort: Annotated[str | None, typer.Option(help="Sort by KEY (-KEY: descending).")] = None,
    last: Annotated[int | None, typer.Option(help="Only the N most recent runs.")] = None,
    format_: Annotated[str, typer.Option("--format", help="table | csv | json (csv and "
                                         "json carry every key)")] = "table",
    cells: Annotated[bool, typer.Option("--cells/--no-cells",
                                        help="Include the cells of compares.")] = True,
    show: Annotated[list[str] | None, typer.Option(
        "--show", help="Also show this key as a column, e.g. provenance.git_commit "
        "(repeatable).")] = None,
) -> None:
    """List the runs under ROOT: when, name, task, status, the config keys that differ
    between them (the model's, the optimizer's, the loss, training's, the rest, the task's),
    final metrics, seconds. `actcli runs diff A B` shows what changed.

    Keys: metrics and the summary's fields by their names (loss, accuracy, device,
    status, ...); config keys by their dotted paths, the loss function and the device
    asked for always as config.loss and config.device. Folders that cannot be read are
    skipped and counted on stderr.

    Examples:

      actcli runs

      actcli runs runs/ --where model.activation=relu --where "accuracy>=0.98" --sort -accuracy

      actcli runs --last 5 --no-cells

      actcli runs --where status!=completed

      actcli runs --show provenance.git_commit --where provenance.git_dirty=false

      actcli runs --format csv > runs.csv

      actcli runs diff runs/20261122-205633-beans runs/20261122-210102-beans
    """
    with user_errors():
        from actcli.inspection import listing

        items = list(args or [])
        if items[:1] == ["diff"]:
            if len(items) != 3:
                raise ActcliError("runs diff: give two run folders: actcli runs diff A B")
            _diff(listing.load_run(Path(items[1])), listing.load_run(Path(items[2])))
            return
        if len(items) > 1:
            raise ActcliError(f"runs: one ROOT folder, got {len(items)}: "
                              f"{' '.join(quote(i) for i in items)}")
        if format_ not in FORMATS:
            raise ConfigError(f"--format: {quote(format_)} is not allowed; valid: "
                              f"{', '.join(FORMATS)}")
        root = Path(items[0]) if items else Path("runs")
        scanned = listing.scan(root, cells=cells)
        listing.check_shown(scanned.records, list(show or []))
        found = listing.select(scanned.records, [parsing.where(w) for w in where or []],
                               parsing.sort_key(sort), last)
        if scanned.skipped:
            typer.echo(scanned.skipped_note(), err=True)
        if format_ == "json":
            import json

            keys = listing.every_key(found)
            typer.echo(json.dumps([{"path": str(r.path), **{k: r.flat.get(k) for k in keys}}
                                   for r in found], indent=2))
        elif format_ == "csv":
            _csv(found)
        else:
            _table(found, root, list(show or []), len(scanned.records))


def _csv(found: list) -> None:
    import csv
    import json
    import sys

    from actcli.inspection import listing

    keys = listing.every_key(found)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["path", *keys])
    for r in found:
        writer.writerow([str(r.path), *(
            json.dumps(v) if isinstance(v, list | dict) else "" if v is None else v
            for v in (r.flat.get(k) for k in keys))])


def _table(found: list, root: Path, show: list[str], listed: int) -> None:
    """The table of ``found`` (of ``listed`` runs before --where and --last)."""
    from actcli.console import grid, left_out, natural_width, without
    from actcli.inspection import listing

    console = stdout()
    if not found:
        console.print(f"none of the {listed} run(s) under {root} matches" if listed else
                      f"no runs under {root}", markup=False)
        return
    base = listing.columns(found)
    varied = [k for k in listing.differing(found) if k in base and k not in listing.SHOWN]
    metrics = [c for c in base if c not in (*listing.SHOWN, "compare", "seconds", *varied)]
    columns = base + [key for key in show if key not in base]
    rows = [[listing.cell(r.flat.get(c)) for c in columns] for r in found]
    title = f"{len(found)} run(s) under {root}"
    # as the terminal narrows: seconds go first, then when (the run's name begins with
    # it), the varied task and other keys, the compare, the task, metrics from the last,
    # then the model's, the optimizer's, the loss's and training's keys from the last (the
    # first metric, the run and what --show asks for stay)
    telling = [k for k in varied if listing.rank(k) < len(listing.ORDER)]
    rest = [k for k in varied if k not in telling]
    optional = [c for c in ("seconds", "when", *reversed(rest), "compare", "task",
                            *reversed(metrics[1:]), *reversed(telling)) if c not in show]
    for n in range(len(optional) + 1):  # measured by arithmetic: a thousand rows stay fast
        shown, kept = without(columns, rows, optional[:n])
        if natural_width(shown, kept) <= console.width:
            break
    table = grid(title, shown, kept)
    table.note = left_out(console.width, [c for c in columns if c not in shown])
    if table.note:
        table.note += " (--show KEY adds one back; --format csv has every key)"
    console.print(table)


def _diff(a, b) -> None:  # noqa: ANN001 - listing.RunRecord
    from actcli.console import grid
    from actcli.inspection import listing

    console = stdout()
    changed, metrics = listing.diff(a, b)
    console.print(f"A: {a.path}\nB: {b.path}", markup=False, highlight=False)
    if changed:
        console.print(grid("config keys that differ", ("key", "A", "B"), changed))
    else:
        console.print("the configs are the same", markup=False)
    console.print(grid("metrics", ("metric", "A", "B", "B - A"), [
        (name, listing.cell(x), listing.cell(y), "-" if d is None else f"{d:+.4g}")
        for name, x, y, d in metrics]))


def predict(
    run: Annotated[Path, typer.Argument(help="A run folder made by actcli train.")],
    inputs: Annotated[list[str] | None, typer.Argument(
        help="1-D tasks: inputs in the task's units (°C for the rice cooker, bean size).",
        show_default=False)] = None,
    image: Annotated[Path | None, typer.Option(
        help="fashion_mnist: a PNG or JPEG image to classify.")] = None,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="2-D and table tasks: one input NAME=VALUE (repeat for each input: "
        "--set x1=1.5 --set x2=-2).", show_default=False)] = None,
    rows: Annotated[Path | None, typer.Option(
        help="2-D and table tasks: a CSV whose header names the inputs; one answer per row "
        "(other columns, such as the target, are ignored).")] = None,
) -> None:
    """Ask a trained model (weights only): the probability and class for each input, the
    three most likely classes of an image, or (a 2-D or table task) the class or value for
    named inputs.

    Examples:

      actcli predict runs/20261122-205633-rice_cooker 125 130 135

      actcli predict runs/20261122-210102-beans 0.3 0.5

      actcli predict runs/20261122-205633-rice_cooker -40 0 250

      actcli predict runs/20261122-211501-fashion_mnist --image shoe.jpg

      actcli predict runs/20261201-151107-spiral --set x1=1.5 --set x2=-2

      actcli predict runs/20261201-160000-iris --rows new_flowers.csv
    """
    with user_errors():
        from actcli.console import grid
        from actcli.inspection import predict as predict_mod

        parsing.check_predict_arguments([str(run), *(inputs or [])])
        loaded = predict_mod.load(run)
        console = stdout()
        if settings or rows is not None:
            if inputs or image is not None or (settings and rows is not None):
                raise ActcliError("give one of: inputs, --image, --set NAME=VALUE ..., --rows")
            _answer_rows(loaded, settings or [], rows)
            return
        if predict_mod.takes_columns(loaded):
            predict_mod.check_takes_numbers(loaded)  # says how to give named inputs
        if image is not None:
            if inputs:
                raise ActcliError("give either inputs or --image, not both")
            found = predict_mod.classify(loaded, image)
            console.print(f"{image}: the three most likely classes", markup=False,
                          highlight=False)
            console.print(grid("", ("class", "probability"),
                               [(name, f"{p:.4f}") for name, p in found]))
            return
        predict_mod.check_takes_numbers(loaded)
        answers = predict_mod.ask(loaded, parsing.inputs(inputs or [], loaded.task.x_label))
        console.print(grid(f"{loaded.config.name}: P(class 1 = "
                           f"{loaded.task.classes[1]})",
                           (loaded.task.x_label, "probability", "class"),
                           [(f"{a.x:g}", f"{a.probability:.4f}", a.label) for a in answers]))



def _answer_rows(loaded: Any, settings: list[str], rows: Path | None) -> None:
    """Print the answers for ``--set`` (one row) or every row of ``--rows FILE``."""
    from actcli.console import grid
    from actcli.inspection import predict as predict_mod

    given = predict_mod.read_rows(loaded, rows) if rows is not None else \
        [predict_mod.named_row(loaded, settings)]
    answers = predict_mod.ask_rows(loaded, given)
    names = predict_mod.columns(loaded)
    regression = answers[0].label is None
    head = (*names, "prediction") if regression else (*names, "class", "P(that class)")
    table = [(*(f"{a.row[n]:g}" for n in names),
              *((f"{a.value:.6g}",) if regression else (a.label or "", f"{a.value:.4f}")))
             for a in answers]
    stdout().print(grid(f"{loaded.config.name}: {'predicted value' if regression else 'class'}",
                        head, table))
