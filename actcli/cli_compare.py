"""`actcli compare`: put activations or any config values side by side over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from actcli.cli import (
    EXIT_INTERRUPTED,
    OutOption,
    SetOption,
    _stdout,
    _user_errors,
    app,
)
from actcli.errors import ActcliError


@app.command()
def compare(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config every cell starts from.")  # noqa: UP045
                      ] = None,
    activations: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Comma-separated activations (default: the eleven).")] = None,
    over: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--over", help="KEY=v1,v2 to vary (repeatable: a grid)."),
    ] = None,
    seeds: Annotated[
        Optional[int], typer.Option(help="Seeds 0..N-1 for every cell (default 1).")  # noqa: UP045
    ] = None,
    workers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Worker processes training cells side by side (default: cores / "
                     "threads)."),
    ] = None,
    threads: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Torch threads per cell (default 1); a cell's numbers depend on "
                     "it, never on --workers."),
    ] = None,
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    resume: Annotated[
        Optional[Path], typer.Option(help="Run only the missing cells of this compare folder.")  # noqa: UP045
    ] = None,
    fail_fast: Annotated[bool, typer.Option(help="Stop at the first failing cell.")] = False,
    tune_lr: Annotated[
        bool, typer.Option(help="Give each cell the lr its own range test picks.")
    ] = False,
    backend: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="processes (this machine, the default) | ray (a Ray cluster)"),
    ] = None,
    ray_address: Annotated[
        Optional[str], typer.Option(help="Ray cluster address; none = a local Ray.")  # noqa: UP045
    ] = None,
) -> None:
    """Put activations (or any config values) side by side over seeds; write a report.

    Examples:

      actcli compare configs/beans.yaml --activations relu,tanh,sigmoid --seeds 3

      actcli compare configs/beans.yaml --over model.init=zeros,xavier_uniform,kaiming_normal

      actcli compare configs/beans.yaml --over optimizer.lr=0.01,0.1 --over model.hidden=[4],[8]

      actcli compare configs/beans.yaml --activations relu,sigmoid --tune-lr

      actcli compare configs/compare_beans.yaml --backend ray --ray-address auto

      actcli compare --resume runs/20261122-140000-compare-beans
    """
    with _user_errors():
        from actcli import compare as compare_mod
        from actcli import config as config_mod
        from actcli import report as report_mod

        if resume is not None:
            if config is not None or activations or over or set_ or seeds is not None:
                raise ActcliError("--resume runs a compare as it was planned: give no CONFIG, "
                                  "--activations, --over, --seeds or --set with it")
            folder, (cells, planned_run) = resume, compare_mod.load_plan(resume)
            # the plan's workers, threads and backend, unless the command line says otherwise
            execution = compare_mod.Execution(
                workers if workers is not None else planned_run.workers,
                threads if threads is not None else planned_run.threads,
                backend or planned_run.backend,
                ray_address if ray_address is not None else planned_run.address)
        else:
            if config is None:
                raise ActcliError("give a CONFIG file (or --resume COMPARE_DIR)")
            planned = config_mod.load(config, list(set_ or [])).compare
            settings = compare_mod.settle(planned, over or [], activations, seeds, workers,
                                          threads)
            execution = compare_mod.Execution(settings.workers, settings.threads,
                                              backend or "processes", ray_address)
            folder, cells = compare_mod.create(config, list(set_ or []), settings.grid,
                                               settings.seeds, out, tune_lr=tune_lr,
                                               execution=execution)
        console = _stdout()
        console.print(f"compare folder: {folder} ({len(cells)} runs)", markup=False)

        def done(result: compare_mod.CellResult) -> None:
            extra = f" ({result.error})" if result.error else ""
            console.print(f"  {result.status:<10} {result.cell.label}, seed {result.cell.seed}"
                          f"{extra}", markup=False, highlight=False)

        results = compare_mod.execute(folder, cells, execution, fail_fast=fail_fast,
                                      on_done=done)
        found = report_mod.summarize(results, compare_mod.tuned_lrs(folder))
        report_mod.write(folder, results, found)
        _print_report(console, found)
        typer.echo(str(folder / "report.md"))
        if compare_mod.was_interrupted(results):
            typer.echo(f"interrupted; resume with: actcli compare --resume {folder}", err=True)
            raise typer.Exit(EXIT_INTERRUPTED)
        if found.failures:
            from actcli.errors import RunError

            raise RunError(f"{len(found.failures)} of {len(results)} runs did not complete "
                           f"(listed in {folder / 'report.md'}); rerun them with: actcli "
                           f"compare --resume {folder}")


def _print_report(console, found) -> None:  # noqa: ANN001 - rich Console, report.Report
    from actcli.console import grid

    rows = []
    for i, row in enumerate(found.rows, 1):
        tie = "-" if row.tied is None else ("best" if i == 1 else
                                            f"tied (p={row.p_value:.2f})" if row.tied
                                            else f"worse (p={row.p_value:.2g})")
        rows.append((str(i), row.shown, str(row.seeds),
                     f"{row.accuracy[0]:.4f} ± {row.accuracy[1]:.4f}",
                     f"{row.loss[0]:.4f} ± {row.loss[1]:.4f}", f"{row.seconds:.1f}", tie))
    columns = ["#", "cell", "seeds", found.accuracy_name, found.loss_name, "s/run", "vs best"]
    if found.tuned_lr:
        columns.append("lr")
        rows = [(*row, f"{found.tuned_lr[r.label]:g}") for row, r in zip(rows, found.rows,
                                                                         strict=True)]
    console.print(grid("compare (best first)", columns, rows))
    for r in found.failures:
        console.print(f"not completed: {r.cell.label}, seed {r.cell.seed}: {r.status}"
                      f"{': ' + r.error if r.error else ''}", markup=False, highlight=False)


