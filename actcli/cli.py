"""The command line. Each command parses, calls one library function and prints.

Heavy modules (torch, matplotlib, the registries) are imported inside the commands, so
``actcli --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from actcli import __version__
from actcli.errors import ActcliError

app = typer.Typer(
    name="actcli",
    help="Train and compare activations, losses, initializers and optimizers.\n\n"
    "Examples:\n\n"
    "  actcli train configs/rice_cooker.yaml\n\n"
    "  actcli plot relu gelu silu --grad --range -4 4\n\n"
    "  actcli list activations",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_INTERRUPTED = 130


def _stdout():  # noqa: ANN202 - rich Console, imported lazily
    from rich.console import Console

    return Console(highlight=False)


@contextmanager
def _user_errors() -> Iterator[None]:
    """ActcliError -> one line on stderr and its exit code; never a traceback."""
    try:
        yield
    except ActcliError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"actcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Train and compare activations, losses, initializers and optimizers."""


SetOption = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--set", help="Override a config key, e.g. --set optimizer.lr=0.01 "
                 "(value read as YAML; repeatable)."),
]
OutOption = Annotated[Path, typer.Option("--out", help="Runs root folder.")]


@app.command()
def train(
    config: Annotated[Optional[Path], typer.Argument(help="YAML config file.")] = None,  # noqa: UP045
    resume: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Continue an interrupted run in its folder (no CONFIG then)."),
    ] = None,
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    name: Annotated[Optional[str], typer.Option(help="Run name (folder suffix).")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Training seed (train.seed).")] = None,  # noqa: UP045
    device: Annotated[
        Optional[str], typer.Option(help="auto | cpu | cuda | cuda:N | mps")  # noqa: UP045
    ] = None,
    smoke: Annotated[bool, typer.Option(help="Tiny run in seconds (what CI runs).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    print_config: Annotated[
        bool, typer.Option(help="Print the resolved config and train nothing.")
    ] = False,
    animate: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--animate", help="1-D tasks: save fit.gif, one frame every N epochs.",
                     min=1),
    ] = None,
) -> None:
    """Train one config; write config, metrics, model and plots to OUT/<stamp>-<name>/.

    Examples:

      actcli train configs/rice_cooker.yaml

      actcli train configs/beans.yaml --set optimizer.lr=0.1 --seed 3

      actcli train configs/rice_cooker.yaml --smoke --quiet

      actcli train configs/rice_cooker.yaml --print-config

      actcli train --resume runs/20261122-134501-fashion_mnist

      actcli train configs/rice_cooker.yaml --animate 50
    """
    with _user_errors():
        from actcli import config as config_mod

        if resume is not None:
            if (config is not None or set_ or name or seed is not None or device or smoke
                    or animate):
                raise ActcliError("--resume continues a run as it was configured: give no "
                                  "CONFIG, --set, --name, --seed, --device, --smoke or "
                                  "--animate with it")
            _run(None, out, quiet, resume)
            return
        if config is None:
            raise ActcliError("give a CONFIG file (or --resume RUN_DIR)")

        overrides = list(set_ or [])
        overrides += [f"name={name}"] if name is not None else []
        overrides += [f"train.seed={seed}"] if seed is not None else []
        overrides += [f"device={device}"] if device is not None else []
        cfg = config_mod.load(config, overrides)
        if smoke:
            cfg = config_mod.smoke(cfg)
        if print_config:
            typer.echo(config_mod.dump(cfg), nl=False)
            return
        from actcli import advice

        for line in advice.warnings_for(cfg):
            typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
        _run(cfg, out, quiet, animate=animate)


def _run(cfg, out: Path, quiet: bool, resume: Path | None = None,  # noqa: ANN001
         animate: int | None = None) -> None:
    """Train ``cfg`` (a Config) or resume the run in ``resume``; print the outcome."""
    from actcli import experiment
    from actcli.console import ProgressReporter, key_values
    from actcli.errors import RunError

    console = _stdout()
    label = cfg.name if cfg is not None else str(resume.name if resume else "")
    reporter = None if quiet else ProgressReporter(console, label)
    try:
        if resume is not None:
            if not resume.is_dir():
                raise ActcliError(f"--resume: {resume} is not a run folder")
            result = experiment.resume(resume, reporter=reporter)
        else:
            result = experiment.run(cfg, out, reporter=reporter, animate_every=animate)
    except (ActcliError, KeyboardInterrupt):
        raise
    except Exception as err:  # a crash while training: one line, status "failed" recorded
        if os.environ.get("ACTCLI_DEBUG"):
            raise
        raise RunError(f"run failed: {type(err).__name__}: {err} "
                       "(set ACTCLI_DEBUG=1 for the traceback)") from None
    if not quiet:
        console.print(key_values(f"{label}: {result.status}", {
            "run folder": str(result.path), **result.metrics,
            "epochs": result.epochs, "seconds": round(result.seconds, 2),
        }))
    else:
        typer.echo(str(result.path))
    if result.status == "interrupted":
        typer.echo(f"interrupted: {result.reason}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if result.status == "diverged":
        lr = _lr_of(result.path)
        raise RunError(f"run diverged ({result.reason}); try a smaller learning rate, "
                       f"e.g. --set optimizer.lr={lr / 10:g}")


def _lr_of(run: Path) -> float:
    from actcli import config as config_mod

    return float(config_mod.load(run / "config.yaml").optimizer.kwargs["lr"])


@app.command("eval")
def eval_(
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by actcli train.")],
) -> None:
    """Re-load a run's saved model (weights only) and re-compute its test metrics.

    Examples:

      actcli eval runs/20261122-134501-fashion_mnist
    """
    with _user_errors():
        from actcli import experiment
        from actcli.console import grid

        if not run_dir.is_dir():
            raise ActcliError(f"{run_dir}: not a folder")
        found = experiment.evaluate_run(run_dir)
        rows = [(name, f"{value:.6g}", _fmt(found["recorded"].get(name)))
                for name, value in found["measured"].items()]
        _stdout().print(grid(str(run_dir), ("metric", "measured now", "recorded"), rows))


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@app.command()
def plot(
    names: Annotated[list[str], typer.Argument(help="Activation names (actcli list activations).")],
    grad: Annotated[bool, typer.Option("--grad", help="Add the derivatives beside.")] = False,
    range_: Annotated[
        tuple[float, float], typer.Option("--range", help="x range: LO HI.")
    ] = (-5.0, 5.0),
    out: Annotated[Path, typer.Option("--out", help="PNG file, or a folder for it.")] = Path(
        "runs"
    ),
    analytic: Annotated[
        bool, typer.Option("--analytic", help="Also draw the textbook derivative (dashed).")
    ] = False,
    points: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--points", help="Print f(x) and f'(x) at these x, e.g. -1,0,2.5."),
    ] = None,
) -> None:
    """Draw activation curves (and derivatives) into a PNG; print its path.

    Examples:

      actcli plot sigmoid --grad

      actcli plot relu gelu silu --grad --range -4 4 --out acts.png

      actcli plot tanh --analytic --points -2,0,0.5

      actcli plot softmax
    """
    with _user_errors():
        from actcli import curves

        if points is not None:
            from actcli.console import grid

            rows = curves.at_points(list(names), curves.parse_points(points))
            _stdout().print(grid("values", ("name", "x", "f(x)", "f'(x) autograd",
                                            "f'(x) formula"), rows))
        drawn = curves.draw(list(names), grad=grad, lo=range_[0], hi=range_[1], out=out,
                            analytic=analytic)
        if grad or analytic:
            for name, gap in drawn.max_gap.items():
                typer.echo(f"{name}: max |autograd - formula| derivative gap {gap:.2g}")
        typer.echo(str(drawn.path))


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
        Optional[int], typer.Option(help="Worker processes sharing the cores (default 1).")  # noqa: UP045
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
        str, typer.Option(help="processes (this machine) | ray (a Ray cluster)")
    ] = "processes",
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
            folder, cells = resume, compare_mod.load_plan(resume)
        else:
            if config is None:
                raise ActcliError("give a CONFIG file (or --resume COMPARE_DIR)")
            planned = config_mod.load(config, list(set_ or [])).compare
            grid = compare_mod.parse_over(list(over or []))
            if not grid and activations is None and planned is not None:
                grid = dict(planned.over)
            if activations is not None or not grid:
                names = activations.split(",") if activations else list(compare_mod.ELEVEN)
                grid = {"model.activation": names, **grid}
            if seeds is None:
                seeds = planned.seeds if planned is not None else 1
            if workers is None and planned is not None:
                workers = planned.workers
            folder, cells = compare_mod.create(config, list(set_ or []), grid, seeds, out,
                                               tune_lr=tune_lr)
        console = _stdout()
        console.print(f"compare folder: {folder} ({len(cells)} runs)", markup=False)

        def done(result: compare_mod.CellResult) -> None:
            extra = f" ({result.error})" if result.error else ""
            console.print(f"  {result.status:<10} {result.cell.label}, seed {result.cell.seed}"
                          f"{extra}", markup=False, highlight=False)

        results = compare_mod.execute(folder, cells, workers=workers or 1, fail_fast=fail_fast,
                                      on_done=done, backend=backend, address=ray_address)
        found = report_mod.summarize(results, compare_mod.tuned_lrs(folder))
        report_mod.write(folder, results, found)
        _print_report(console, found)
        typer.echo(str(folder / "report.md"))
        if any(r.status == "interrupted" for r in results):
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


@app.command()
def summary(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
) -> None:
    """Show the model a config builds: each layer's output shape, parameters, init, activation.

    Examples:

      actcli summary configs/fashion_mnist_cnn.yaml

      actcli summary configs/beans.yaml --set model.hidden=[8,8]
    """
    with _user_errors():
        from actcli import config as config_mod
        from actcli import summary as summary_mod
        from actcli.console import grid

        found = summary_mod.summarize(config_mod.load(config, list(set_ or [])))
        console = _stdout()
        console.print(grid(f"input {tuple(found.input_shape)}",
                           ("layer", "output shape", "parameters", "init / role"),
                           [(r.layer, str(r.output_shape), f"{r.parameters:,}", r.note)
                            for r in found.rows]))
        console.print(f"total parameters: {found.total:,} (trainable {found.trainable:,})",
                      markup=False)


@app.command()
def landscape(
    config: Annotated[Path, typer.Argument(help="YAML config of a one-neuron 1-D task.")],
    set_: SetOption = None,
    steps: Annotated[int, typer.Option(help="Full-batch steps of each optimizer.")] = 200,
    lr: Annotated[
        Optional[float], typer.Option(help="Learning rate of all three (default: the config's).")  # noqa: UP045
    ] = None,
    momentum: Annotated[float, typer.Option(help="Momentum of the second SGD.")] = 0.9,
    out: Annotated[Path, typer.Option("--out", help="PNG file, or a folder for it.")] = Path(
        "runs"
    ),
) -> None:
    """Draw the loss over (a, b) for sigmoid(a x + b) and the paths of SGD, momentum and Adam.

    Examples:

      actcli landscape configs/rice_cooker.yaml

      actcli landscape configs/beans.yaml --lr 0.5 --steps 100 --out beans-landscape.png
    """
    with _user_errors():
        from actcli import config as config_mod
        from actcli import landscape as landscape_mod
        from actcli import plots, runs
        from actcli.console import grid

        cfg = config_mod.load(config, list(set_ or []))
        found = landscape_mod.compute(cfg, steps=steps, lr=lr, momentum=momentum)
        path = out if out.suffix.lower() == ".png" else out / f"landscape-{cfg.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure = plots.loss_landscape(found.a, found.b, found.loss,
                                      [(t.name, t.a, t.b) for t in found.paths],
                                      f"{cfg.name}: {cfg.loss.name} over (a, b), lr {found.lr:g}, "
                                      f"{steps} steps")
        runs.save_figure(figure, path)
        _stdout().print(grid("after the last step", ("optimizer", "a", "b", "loss"),
                             [(t.name, f"{t.a[-1]:.4g}", f"{t.b[-1]:.4g}", f"{t.loss[-1]:.4g}")
                              for t in found.paths]))
        typer.echo(str(path))


def _numbers(option: str, text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(item) for item in text.split(","))
    except ValueError:
        raise ActcliError(f"{option}: {text!r} must be numbers separated by commas") from None


@app.command()
def backprop(
    inputs: Annotated[Optional[str], typer.Option(help="i1,i2 (default 0.05,0.10)")] = None,  # noqa: UP045
    targets: Annotated[Optional[str], typer.Option(help="t1,t2 (default 0.01,0.99)")] = None,  # noqa: UP045
    hidden_weights: Annotated[
        Optional[str], typer.Option(help="w1,w2,w3,w4 (default 0.15,0.20,0.25,0.30)")  # noqa: UP045
    ] = None,
    output_weights: Annotated[
        Optional[str], typer.Option(help="w5,w6,w7,w8 (default 0.40,0.45,0.50,0.55)")  # noqa: UP045
    ] = None,
    biases: Annotated[Optional[str], typer.Option(help="b1,b2 (default 0.35,0.60)")] = None,  # noqa: UP045
    lr: Annotated[float, typer.Option(help="SGD learning rate for the step.")] = 0.5,
) -> None:
    """Backpropagation by hand on the classic 2-2-2 sigmoid network, beside autograd.

    Examples:

      actcli backprop

      actcli backprop --lr 0.1 --targets 0.5,0.5
    """
    with _user_errors():
        from actcli import backprop as bp
        from actcli.console import grid

        given = {"inputs": _numbers("--inputs", inputs), "targets": _numbers("--targets", targets),
                 "hidden_weights": _numbers("--hidden-weights", hidden_weights),
                 "output_weights": _numbers("--output-weights", output_weights),
                 "biases": _numbers("--biases", biases)}
        found = bp.compute(**{k: v for k, v in given.items() if v is not None}, lr=lr)
        console = _stdout()
        console.print(grid("forward pass (out = sigmoid(net))", ("unit", "net", "out"),
                           [(u.name, f"{u.net:.9f}", f"{u.out:.9f}") for u in found.units]))
        console.print(f"E = 1/2 sum (target - out)^2 = {found.loss:.9f}", markup=False)

        def cell(value: float | None) -> str:
            return "-" if value is None else f"{value:.9f}"

        console.print(grid(
            f"gradients (dE/dout * dout/dnet * dnet/dparam) and one SGD step, lr {found.lr:g}",
            ("param", "value", "dE/dout", "dout/dnet", "dnet/dparam", "chain rule", "autograd",
             "after step"),
            [(g.name, f"{g.value:.9f}", cell(g.dE_dout), cell(g.dout_dnet), cell(g.dnet_dparam),
              f"{g.chain:.9f}", f"{g.autograd:.9f}", f"{g.updated:.9f}")
             for g in found.gradients]))
        console.print("b1, b2 are shared by two units each: their gradient is the sum of "
                      "dE/dnet over those units.", markup=False)
        gap = max(abs(g.chain - g.autograd) for g in found.gradients)
        console.print(f"max |chain rule - autograd| = {gap:.2g}", markup=False)


@app.command("list")
def list_(
    kind: Annotated[
        str, typer.Argument(help="activations | losses | inits | optimizers | tasks")
    ] = "activations",
) -> None:
    """List the components of one kind with formulas and options.

    Examples:

      actcli list activations

      actcli list losses
    """
    with _user_errors():
        from actcli import catalog
        from actcli.console import grid

        found = catalog.table(kind)
        _stdout().print(grid(found.title, found.columns, found.rows))


@app.command()
def schema(
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Write to this file instead of stdout.")  # noqa: UP045
    ] = None,
) -> None:
    """Print the config's JSON Schema (for editors: yaml-language-server).

    Examples:

      actcli schema --out schema/actcli.schema.json
    """
    with _user_errors():
        import json

        from actcli import config as config_mod
        from actcli import runs

        text = json.dumps(config_mod.json_schema(), indent=2) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            runs.write_text(out, text)
            typer.echo(str(out))


def main() -> None:
    """Console entry point."""
    sys.exit(app())
