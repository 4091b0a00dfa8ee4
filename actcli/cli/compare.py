"""`actcli compare`: put activations or any config values side by side over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from actcli.cli import parsing
from actcli.cli.shared import (
    EXIT_INTERRUPTED,
    OutOption,
    SetOption,
    config_argument,
    config_path,
    print_notes,
    stdout,
    user_errors,
)
from actcli.errors import ActcliError, ConfigError, quote

if TYPE_CHECKING:
    from actcli.sweep.executing import CellResult
    from actcli.sweep.planning import Plan


def compare(
    config: Annotated[list[Path] | None, config_argument(
        "YAML config every cell starts from, or a shipped config's name (default: "
        "compare_beans, the eleven activations on beans). Two or more: the same sweep on "
        "each task, and an aggregate across them.")] = None,
    activations: Annotated[
        str | None,
        typer.Option(help="Comma-separated activations (default: the config's "
                     "compare.over, else the eleven).")] = None,
    over: Annotated[
        list[str] | None,
        typer.Option("--over", help="KEY=v1,v2 to vary (repeatable: a grid)."),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds 0..N-1 for every cell (default: the config's "
                                 "compare.seeds, else 1; compare_beans has 3).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes training cells side by side (default: cores / "
                     "threads)."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Torch threads per cell (default: the config's compare.threads, "
                     "else 1); a cell's numbers depend on it, never on --workers."),
    ] = None,
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    resume: Annotated[
        Path | None, typer.Option(help="Run only the missing cells of this compare folder.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="accuracy=V or loss=V: report the epochs and seconds each cell "
                     "takes to reach it (default: 99% of the best cell's final accuracy)."),
    ] = None,
    rank_by: Annotated[
        str | None, typer.Option(help="accuracy | loss | epochs_to_target | "
                                 "seconds_to_target (default: the config's compare.rank_by, "
                                 "else accuracy), on the validation split where there is one")
    ] = None,
    margin: Annotated[
        list[str] | None,
        typer.Option("--margin", help="Equivalence margin: VALUE for the ranked metric, or "
                     "METRIC=VALUE to judge another metric too (repeatable), e.g. 0.002 or "
                     "accuracy=0.002."),
    ] = None,
    until_decided: Annotated[bool | None, typer.Option(
        "--until-decided/--no-until-decided", help="Add seeds in rounds to the cells still "
        "undecided until each is worse, equivalent within --margin or tied (bounded by "
        "--max-seeds and --budget); default: the config's compare.until_decided.",
        show_default=False)] = None,
    max_seeds: Annotated[
        int | None, typer.Option(help="A deciding compare's most seeds per cell (default: "
                                 "the config's compare.max_seeds, 20).")
    ] = None,
    budget: Annotated[
        str | None, typer.Option(help="A deciding compare's time budget, e.g. 50s, 10m: no "
                                 "round starts that would end past it.")
    ] = None,
    tensorboard: Annotated[bool, typer.Option(
        "--tensorboard", help="Every cell also writes TensorBoard event files: "
        "tensorboard --logdir COMPARE_FOLDER.")] = False,
    cell_figures: Annotated[bool, typer.Option(
        "--cell-figures", help="Also draw each cell's own PNGs (learning curves, fit, "
        "weights); the compare's own figures are always drawn.")] = False,
    no_fuse: Annotated[bool, typer.Option(
        "--no-fuse", help="Train every cell alone (by default cells that share a network "
        "shape train together as one stacked model).")] = False,
    fail_fast: Annotated[bool, typer.Option(help="Stop at the first failing cell.")] = False,
    tune_lr: Annotated[
        bool, typer.Option(help="Give each cell the lr its own range test picks.")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(help="processes (this machine, the default) | ray (a Ray cluster)"),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address; none = a local Ray.")
    ] = None,
) -> None:
    """Put activations (or any config values) side by side over seeds; write a report.

    Examples:

      actcli compare                          (compare_beans: the eleven on beans, 3 seeds)

      actcli compare compare_fashion_mnist

      actcli compare configs/beans.yaml --set model.hidden=[8] --activations relu,tanh,sigmoid

      actcli compare configs/compare_beans.yaml --rank-by epochs_to_target

      actcli compare compare_beans --until-decided --margin accuracy=0.005 --budget 1m

      actcli compare configs/compare_fashion_mnist.yaml --target accuracy=0.89

      actcli compare configs/beans.yaml --over model.init=zeros,xavier_uniform,kaiming_normal

      actcli compare configs/beans.yaml --over optimizer.lr=0.01,0.1 --over model.hidden=[4],[8]

      actcli compare configs/compare_beans.yaml --activations relu,sigmoid --tune-lr

      actcli compare configs/compare_beans.yaml --backend ray --ray-address auto

      actcli compare --resume runs/20261122-140000-compare-beans
    """
    with user_errors():
        from actcli.sweep import compare as compare_mod
        from actcli.sweep import report as report_mod

        wanted = parse_target(target)  # bad options fail before anything runs
        if rank_by is not None:
            report_mod.check_rank_by(rank_by)
        margins = parse_margins(margin, rank_by)
        if resume is not None and (margins is not None or max_seeds is not None
                                   or budget is not None):
            raise ActcliError("--resume continues a compare with its planned margins, max "
                              "seeds and budget: give no --margin, --max-seeds or --budget")
        if budget is not None:
            from actcli.sweep import sequential

            sequential.parse_budget(budget)

        path, base, grid, names = None, None, None, None
        configs = list(config or [])
        across = len(configs) > 1 or (resume is not None and _is_across(resume))
        if resume is not None:
            if (configs or activations or over or set_ or seeds is not None
                    or tensorboard):
                raise ActcliError("--resume runs a compare as it was planned: give no CONFIG, "
                                  "--activations, --over, --seeds, --set or --tensorboard "
                                  "with it")
            set_ = []
        else:
            from actcli import config as config_mod
            from actcli.config import shipped

            paths = [config_path(c) for c in configs or [Path(shipped.DEFAULT_COMPARE)]]
            path = paths[0]
            set_ = [*(set_ or []), *(["log.tensorboard=true"] if tensorboard else [])]
            set_notes: list[str] = []
            bases = [config_mod.load(p, set_, set_notes) for p in paths]  # each read once
            base = bases[0]
            print_notes(set_notes)
            grid = parse_over(over or [])
            # a formula may hold commas inside its parentheses: max(x, 0.1*x)
            names = None if activations is None else \
                parsing.split_names(activations) if activations.strip() else []
        console = stdout()

        def planned(plan: Plan, notes: list[str]) -> None:
            print_notes(notes)
            console.print(f"compare folder: {plan.folder} ({len(plan.cells)} runs)",
                          markup=False)

        def done(result: CellResult) -> None:
            extra = f" ({result.error})" if result.error else ""
            console.print(f"  {result.status:<10} {result.cell.label}, seed {result.cell.seed}"
                          f"{extra}", markup=False, highlight=False)

        def say(line: str) -> None:
            console.print(line, markup=False, highlight=False)

        if across:
            _across(console, paths if resume is None else [], set_, resume, grid=grid,
                    activations=names, seeds=seeds, workers=workers, threads=threads,
                    backend=backend, address=ray_address, cell_figures=cell_figures,
                    fuse=not no_fuse, tune_lr=tune_lr, out=out, target=wanted,
                    rank_by=rank_by, margins=margins, until_decided=until_decided,
                    max_seeds=max_seeds, budget=budget, fail_fast=fail_fast,
                    on_planned=planned, on_done=done, say=say)
            return
        found = compare_mod.run(
            path, set_, base=base, grid=grid, activations=names, seeds=seeds, workers=workers,
            threads=threads, backend=backend, address=ray_address, cell_figures=cell_figures,
            fuse=not no_fuse, tune_lr=tune_lr, out=out, resume=resume, target=wanted,
            rank_by=rank_by, margins=margins, until_decided=until_decided,
            max_seeds=max_seeds, budget=budget, fail_fast=fail_fast, on_planned=planned,
            on_done=done, say=say)
        folder = found.folder
        _print_report(console, found.report)
        typer.echo(str(folder / "report.md"))
        if found.interrupted:
            typer.echo(f"interrupted; resume with: actcli compare --resume {folder}", err=True)
            raise typer.Exit(EXIT_INTERRUPTED)
        if found.report.failures:
            from actcli.errors import RunError

            raise RunError(f"{len(found.report.failures)} of {len(found.results)} runs did not "
                           f"complete (listed in {folder / 'report.md'}); rerun them with: "
                           f"actcli compare --resume {folder}")


def _is_across(folder: Path) -> bool:
    from actcli.sweep import across

    return across.is_across(folder)


def _across(console, configs: list[Path], overrides: list[str], resume: Path | None,  # noqa: ANN001 - rich Console
            **kwargs: Any) -> None:
    """A compare across tasks: each task's table as it ends, then the aggregate."""
    from actcli.console import grid
    from actcli.sweep import across

    if resume is not None:  # a resume runs as planned: only how it runs may change
        kwargs = {k: v for k, v in kwargs.items() if k not in (
            "grid", "activations", "seeds", "tune_lr", "out", "margins", "max_seeds",
            "budget") and v is not None}
        kwargs.pop("rank_by", None)
    else:
        kwargs["grid"] = kwargs.get("grid") or None
    found = across.run(configs, overrides, resume=resume, **kwargs)
    for name, comparison in zip(found.names, found.comparisons, strict=False):
        console.print(f"task {name}:", markup=False, highlight=False)
        _print_report(console, comparison.report)
    tasks = found.names[:len(found.comparisons)]
    final = "" if not found.interrupted else f" (not final: {len(tasks)} of " \
        f"{len(found.names)} tasks ran, interrupted)"
    console.print(grid(f"across {len(tasks)} tasks: best mean rank first (by "
                       f"{found.rank_by}){final}",
                       ["cell", *(f"rank {t}" for t in tasks), "mean rank [95% CI]",
                        "norm. IQM [95% CI]"],
                       [[row.shown, *(f"{row.ranks[t]:g}" for t in tasks),
                         f"{row.mean_rank[0]:.2f} [{row.mean_rank[1]:.2f}, "
                         f"{row.mean_rank[2]:.2f}]",
                         f"{row.iqm[0]:.3f} [{row.iqm[1]:.3f}, {row.iqm[2]:.3f}]"]
                        for row in found.rows]))
    if found.left_out:
        console.print(f"not aggregated (not complete on every task): "
                      f"{', '.join(found.left_out)}", markup=False, highlight=False)
    typer.echo(str(found.folder / "report.md"))
    if found.interrupted:
        typer.echo(f"interrupted; resume with: actcli compare --resume {found.folder}",
                   err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if found.failures:
        from actcli.errors import RunError

        raise RunError(f"{found.failures} runs did not complete (listed in "
                       f"{found.folder / 'report.md'}); rerun them with: actcli compare "
                       f"--resume {found.folder}")


def parse_over(items: Sequence[str]) -> dict[str, list[Any]]:
    """``--over KEY=v1,v2`` items -> key: values (the values read as one YAML flow list, so
    [8,8] stays a list)."""
    from actcli import config as config_mod

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--over {quote(item)}: expected KEY=v1,v2,..., "
                              "e.g. model.activation=relu,tanh")
        if key == "model.activation":  # a formula holds commas inside its parentheses
            values = [config_mod.parse_yaml(entry, f"--over {key}")
                      for entry in parsing.split_names(text)]
        else:
            values = config_mod.parse_yaml(f"[{text}]", f"--over {key}")
        if key in grid:
            raise ConfigError(f"--over: {key} is given twice")
        grid[key] = values
    return grid


def parse_margins(items: Sequence[str] | None, rank_by: str | None
                  ) -> dict[str, float] | None:
    """``--margin 0.002`` (the ranked metric: ``rank_by``, else :data:`report.RANKED`,
    which the compare reads as its rank-by) or ``--margin accuracy=0.002`` items -> metric:
    margin; None for no ``--margin``."""
    if not items:
        return None
    from actcli.sweep import report as report_mod

    found: dict[str, float] = {}
    for item in items:
        metric, sep, number = item.rpartition("=")
        metric = metric.strip() if sep else (rank_by or report_mod.RANKED)
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"--margin: {quote(item)} must be VALUE or METRIC=VALUE with a "
                              "number >= 0, e.g. 0.002 or epochs_to_target=2")
        if metric != report_mod.RANKED and metric not in report_mod.RANK_BY:
            raise ConfigError(f"--margin: {quote(metric)} is not a metric; valid: "
                              f"{', '.join(report_mod.RANK_BY)}")
        found[metric] = value
    return found


def parse_target(text: str | None) -> tuple[str, float] | None:
    """``--target accuracy=0.89`` or ``loss=0.3`` -> (metric, value); None for no
    ``--target``."""
    if text is None:
        return None
    metric, sep, number = text.partition("=")
    metric = metric.strip()
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not sep or metric not in ("accuracy", "loss") or not math.isfinite(value):
        raise ConfigError(f"--target: {quote(text)} must be accuracy=VALUE or loss=VALUE, "
                          "e.g. accuracy=0.89")
    if metric == "accuracy" and not 0 < value <= 1:
        raise ConfigError(f"--target: accuracy={value:g} can never be reached; an accuracy "
                          "target lies in (0, 1], e.g. accuracy=0.89")
    if metric == "loss" and value < 0:
        raise ConfigError(f"--target: loss={value:g} is below zero; a loss target is >= 0, "
                          "e.g. loss=0.3")
    return metric, value


def _print_report(console, found) -> None:  # noqa: ANN001 - rich Console, report.Report
    """The ranking in as many columns as the terminal has: no value wraps; the loss, the
    seconds and then digits give way first (report.md keeps everything)."""
    from actcli.console import fit, grid, without

    extra = [m for m in found.decided if m != found.rank_by]
    ranked = found.name(found.rank_by)

    def table(digits: int, drop: tuple[str, ...] = ()):
        test = [found.test_name] if found.test_name else []  # beside the ranking split
        columns = ["#", "cell", found.accuracy_name, *test, found.loss_name, "to target",
                   "s/run", f"vs best ({ranked})",
                   *(f"{found.name(m)} vs best" for m in extra)]
        rows = [[str(i) if row.complete else "-", row.shown,
                 row.spread("accuracy", digits) if row.runs else "-",
                 *([row.spread("test", digits) if row.runs else "-"] if test else []),
                 row.spread("loss", digits) if row.runs else "-",
                 report_target(row), _seconds(row.mean_std("seconds")[0]) if row.runs else "-",
                 row.verdict, *(row.verdict_on(m) for m in extra)]
                for i, row in enumerate(found.rows, 1)]
        if found.tuned_lr:
            columns.append("lr")
            for cells, row in zip(rows, found.rows, strict=True):
                cells.append(f"{found.tuned_lr[row.label]:g}")
        columns, rows = without(columns, rows, drop)
        counts = {row.seeds for row in found.rows}
        if len(counts) > 1:  # a deciding compare: cells stop at different seeds
            at = columns.index("cell") + 1
            columns.insert(at, "seeds")
            for cells, row in zip(rows, found.rows, strict=True):
                cells.insert(at, str(row.seeds))
        shown = f"{max(counts, default=0)} seed(s)" if len(counts) <= 1 else \
            f"{min(counts)} to {max(counts)} seeds"
        return grid(f"compare: best first by {ranked}, {shown}", columns, rows)

    def report_target(row) -> str:  # noqa: ANN001 - report.Row
        from actcli.sweep.report import target_cell

        return target_cell(row) if row.runs else "-"

    loss, seconds, test = found.loss_name, "s/run", found.test_name or "-"
    # the digits that margins and verdicts turn on stay: columns give way before them
    console.print(fit(console.width, [
        lambda: table(4), lambda: table(4, (loss,)), lambda: table(4, (loss, seconds)),
        lambda: table(4, (loss, seconds, test)), lambda: table(4, (loss, seconds, test, "#")),
        lambda: table(3, (loss, seconds, test, "#"))]))
    say = [f"target: {found.target.describe()}" if found.target is not None else "",
           *found.ties,
           f"{len(found.complete)} of {found.cells} cells complete: the best is named among "
           "them only" if len(found.complete) < found.cells else "",
           f"verdicts: intervals at {found.coverage:.4%} each ({found.schedule.looks} look(s) "
           "x every pair of cells), all holding together at 95%, each over the seeds a cell "
           "shares with the best (those paired seeds in brackets); report.md says how",
           found.note, found.time_note]
    for line in say:
        if line:
            console.print(line, markup=False, highlight=False)
    for r in found.failures:
        console.print(f"not completed: {r.cell.label}, seed {r.cell.seed}: {r.status}"
                      f"{': ' + r.error if r.error else ''}", markup=False, highlight=False)


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"
