"""The command line. Each command parses, calls one library function and prints.

Heavy modules (torch, matplotlib, the registries) are imported inside the commands, so
``actcli --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from actcli import __version__, collector
from actcli.cli import compare as compare_commands
from actcli.cli import completion, parsing
from actcli.cli import inside as inside_commands
from actcli.cli import runs as runs_commands
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
from actcli.errors import ActcliError

app = typer.Typer(
    name="actcli",
    help="Train and compare activations, losses, initializers and optimizers.\n\n"
    "Examples:\n\n"
    "  actcli train configs/rice_cooker.yaml\n\n"
    "  actcli plot relu gelu silu --grad --range -4 4\n\n"
    "  actcli list activations",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

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


@app.command(short_help="Train one config into a run folder, or --resume one.")
def train(
    config: Annotated[Path | None, config_argument()] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue an interrupted run in its folder (no CONFIG then)."),
    ] = None,
    set_: SetOption = None,
    out: OutOption = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run name (folder suffix).")] = None,
    seed: Annotated[int | None, typer.Option(help="Training seed (train.seed).")] = None,
    device: Annotated[
        str | None, typer.Option(help="auto | cpu | cuda | cuda:N | mps")
    ] = None,
    smoke: Annotated[bool, typer.Option(help="Tiny run in seconds (what CI runs).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    print_config: Annotated[
        bool, typer.Option(help="Print the resolved config and train nothing.")
    ] = False,
    tensorboard: Annotated[bool, typer.Option(
        "--tensorboard", help='Also write TensorBoard event files (log.tensorboard; pip '
        'install "actcli[tensorboard]").')] = False,
    animate: Annotated[
        int | None,
        typer.Option("--animate", help="1-D tasks: save fit.gif; 2-D tasks: decision.gif; "
                     "one frame every N epochs.", min=1),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="Torch threads (default: torch's, one per "
                     "core); fewer on a shared machine. The numbers depend on it: the run "
                     "records it, and a resume uses it again unless told otherwise."),
    ] = None,
) -> None:
    """Train one config; write config, metrics, model and plots to OUT/<stamp>-<name>/.

    Examples:

      actcli train configs/rice_cooker.yaml

      actcli train rice_cooker                 (a shipped config, from anywhere)

      actcli train fashion_mnist --smoke

      actcli train configs/beans.yaml --set optimizer.lr=0.1 --seed 3

      actcli train configs/rice_cooker.yaml --smoke --quiet

      actcli train configs/rice_cooker.yaml --print-config

      actcli train --resume runs/20261122-134501-fashion_mnist

      actcli train configs/rice_cooker.yaml --animate 50

      actcli train configs/beans.yaml --tensorboard

      actcli train fashion_mnist --threads 1
    """
    with user_errors():
        from actcli import config as config_mod

        if resume is not None:
            if (config is not None or set_ or name or seed is not None or device or smoke
                    or animate or tensorboard):
                raise ActcliError("--resume continues a run as it was configured: give no "
                                  "CONFIG, --set, --name, --seed, --device, --smoke, "
                                  "--tensorboard or --animate with it")
            _run(None, out, quiet, resume, threads=threads)
            return
        if config is None:
            raise ActcliError("give a CONFIG file (or --resume RUN_DIR)")

        overrides = list(set_ or [])
        overrides += [f"name={name}"] if name is not None else []
        overrides += [f"train.seed={seed}"] if seed is not None else []
        overrides += [f"device={device}"] if device is not None else []
        overrides += ["log.tensorboard=true"] if tensorboard else []
        config = config_path(config)
        notes: list[str] = []
        cfg = config_mod.load(config, overrides, notes)
        print_notes(notes)
        if smoke:
            cfg = config_mod.smoke(cfg)
        if print_config:
            typer.echo(config_mod.dump(cfg), nl=False)
            return
        from actcli.inspection import advice

        for line in advice.warnings_for(cfg, config_mod.written_keys(config, overrides)):
            typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
        _run(cfg, out, quiet, animate=animate, threads=threads)


def _run(cfg, out: Path, quiet: bool, resume: Path | None = None,  # noqa: ANN001
         animate: int | None = None, threads: int | None = None) -> None:
    """Train ``cfg`` (a Config) or resume the run in ``resume``; print the outcome."""
    import torch

    from actcli.training import driver

    if threads is None and resume is not None:  # the threads the run was trained with
        threads = driver.recorded_threads(resume)
    if threads is not None:
        torch.set_num_threads(threads)
    from actcli.console import ProgressReporter, key_values
    from actcli.errors import RunError

    console = stdout()
    label = cfg.name if cfg is not None else _run_name(resume) if resume else ""
    reporter = None if quiet else ProgressReporter(console, label)
    try:
        if resume is not None:
            if not resume.is_dir():
                raise ActcliError(f"--resume: {resume} is not a run folder")
            result = driver.resume(resume, reporter=reporter)
        else:
            result = driver.run(cfg, out, reporter=reporter, animate_every=animate)
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
    if result.stopped:  # Ctrl-C after training: the run is whole, some pictures may not be
        left_out = (f"; not drawn: {', '.join(result.figures_skipped)}"
                    if result.figures_skipped else "")
        typer.echo(f"interrupted while writing the run folder: the run is {result.status} "
                   f"(model.pt, metrics and summary.json written){left_out}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if result.status == "diverged":
        lr = _lr_of(result.path)
        raise RunError(f"run diverged ({result.reason}); try a smaller learning rate, "
                       f"e.g. --set optimizer.lr={lr / 10:g}")


def _run_name(run: Path) -> str:
    """What a resumed run is called on the console: its name, as its first start said it
    (summary.json), else its folder's name."""
    import json

    try:
        name = json.loads((run / "summary.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else run.name


def _lr_of(run: Path) -> float:
    from actcli import config as config_mod

    return float(config_mod.load(run / "config.yaml").optimizer.kwargs["lr"])


@app.command("eval", short_help="Compute a run's final metrics again from its model.")
def eval_(
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by actcli train.")],
) -> None:
    """Re-load a run's saved model (weights only) and re-compute its final metrics (on the
    test split, or on the training data where the task holds nothing out).

    Examples:

      actcli eval runs/20261122-134501-fashion_mnist
    """
    with user_errors():
        from actcli.console import format_value, grid
        from actcli.inspection.evaluate import evaluate_run

        if not run_dir.is_dir():
            raise ActcliError(f"{run_dir}: not a folder")
        found = evaluate_run(run_dir)
        rows = [(name, format_value(value), format_value(found["recorded"].get(name)))
                for name, value in found["measured"].items()]
        stdout().print(grid(f"{run_dir}: measured on {found['measured_on']}",
                            ("metric", "measured now", "recorded"), rows))


@app.command(short_help="Draw activations and their derivatives as a PNG.")
def plot(
    names: Annotated[list[str], typer.Argument(
        help="Activations: names (actcli list activations), formulas in x such as "
        "\"x * sigmoid(1.702 * x)\", or path/to/file.py:function. Or one run folder: "
        "its hidden activations as training left them beside where they started.",
        autocompletion=completion.complete_activation)],
    grad: Annotated[bool, typer.Option("--grad", help="Add the derivatives beside.")] = False,
    range_: Annotated[
        tuple[float, float], typer.Option("--range", help="x range: LO HI.")
    ] = (-5.0, 5.0),
    out: Annotated[Path, typer.Option("--out", help="PNG file, or a folder for it.")] = Path(
        "runs"
    ),
    analytic: Annotated[
        bool, typer.Option("--analytic", help="Also draw the textbook derivative (dashed); "
                           "for a formula, its symbolic derivative.")
    ] = False,
    points: Annotated[
        str | None,
        typer.Option("--points", help="Print f(x) and f'(x) at these x, e.g. -1,0,2.5."),
    ] = None,
) -> None:
    """Draw activation curves (and derivatives) into a PNG; print its path.

    An activation is anything model.activation takes: a name, a formula in x (quoted for
    the shell), or your Python function as path/to/file.py:name (this runs that file).
    With --grad a formula's symbolic derivative is printed too. A run folder instead draws
    the run's hidden activations at the end of training beside where they started.

    Examples:

      actcli plot sigmoid --grad

      actcli plot relu gelu silu --grad --range -4 4 --out acts.png

      actcli plot tanh --analytic --points -2,0,0.5

      actcli plot "x * sigmoid(1.702 * x)" --grad

      actcli plot gelu "x*sigmoid(1.702*x)" --grad --points -1,0,1

      actcli plot my_activations.py:swish silu

      actcli plot runs/20261122-205633-beans --grad

      actcli plot softmax
    """
    with user_errors():
        at = None if points is None else parsing.plot_points(points)
        from actcli.inspection import curves

        if any(curves.is_run_folder(name) for name in names):
            if len(names) > 1:
                raise ActcliError("a run folder is drawn on its own (its activations at the "
                                  "start and the end of training): actcli plot RUN_FOLDER; "
                                  "plot activations by name separately")
            if analytic:
                raise ActcliError("--analytic draws the textbook derivative of an activation "
                                  "by name; a run's derivatives are autograd's: use --grad")
            _plot_run(Path(names[0]), grad, range_, out, at)
            return
        chosen = [_activation(curves, name) for name in names]
        if at is not None:
            from actcli.console import grid

            rows = curves.at_points(chosen, at)
            stdout().print(grid("values", ("name", "x", "f(x)", "f'(x) autograd",
                                            "f'(x) formula"), rows))
        drawn = curves.draw(chosen, grad=grad, lo=range_[0], hi=range_[1], out=out,
                            analytic=analytic)
        if grad or analytic:
            for text, derivative in drawn.derivatives:
                typer.echo(f"d/dx {text} = {derivative}")
            for name, gap in drawn.max_gap.items():
                typer.echo(f"{name}: max |autograd - formula| derivative gap {gap:.2g}")
        typer.echo(str(drawn.path))


def _activation(curves, text: str):  # noqa: ANN001 - inspection.curves, Chosen
    """A ``plot`` argument as an activation (a mapping with options as YAML text, e.g.
    ``{name: leaky_relu, negative_slope: 0.1}``); a path to a folder that does not exist
    says so rather than what is wrong with it as a formula."""
    from actcli.errors import ConfigError, quote

    value: object = text
    if text.lstrip().startswith("{"):  # a mapping, as a config writes one
        import yaml

        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"{quote(text, 60)}: not a YAML mapping; write e.g. "
                              "\"{name: leaky_relu, negative_slope: 0.1}\"") from None
    try:
        return curves.choose(value)
    except ConfigError:
        parent = Path(text).parent
        if ("/" in text or os.sep in text) and ":" not in text and \
                str(parent) not in ("", ".") and _is_folder(parent):
            raise ActcliError(f"{text}: no such run folder (nor an activation: a formula "
                              "in x, a name, or path/to/file.py:name)") from None
        raise


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system
        return False


def _plot_run(run: Path, grad: bool, range_: tuple[float, float], out: Path,
              at: list[float] | None) -> None:
    """`plot RUN_FOLDER`: the run's hidden activations at the start and at the end."""
    from actcli.console import grid
    from actcli.inspection import curves

    nets = curves.load_run(run)
    console = stdout()
    if at is not None:
        rows, means = curves.run_points(nets, at)
        title = f"{run}: activations at the start and the end of training"
        console.print(grid(title + ("; * the mean over a layer's units" if means else ""),
                           ("layer", "x", "f start", "f end", "f' start", "f' end"), rows))
    path, found = curves.draw_run(nets, grad=grad, lo=range_[0], hi=range_[1], out=out)
    learned = curves.learned_rows(found)
    if learned:
        console.print(grid("learned activation parameters", ("layer", "parameter", "start",
                                                               "end"), learned))
    else:
        typer.echo("no hidden activation of this run learns anything: each drawn once")
    typer.echo(str(path))


@app.command("list", short_help="List the components of one kind, with formulas and options.")
def list_(
    kind: Annotated[
        str, typer.Argument(help="activations | losses | inits | optimizers | tasks | surfaces "
                            "| configs", autocompletion=completion.complete_kind)
    ] = "activations",
) -> None:
    """List the components of one kind with formulas and options. Besides the activations
    listed, model.activation takes a formula in x or your own Python function.

    Examples:

      actcli list activations

      actcli list losses
    """
    with user_errors():
        from actcli.console import grid
        from actcli.inspection import catalog

        found = catalog.table(kind)
        table = grid(found.title, found.columns, found.rows, prose=True)
        table.note = found.note
        stdout().print(table)


@app.command(short_help="Copy a shipped config here to edit, with its JSON Schema.")
def init(
    name: Annotated[str, typer.Argument(help="A shipped config (actcli list configs).",
                                        autocompletion=completion.complete_config)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where the copy goes (default ./NAME.yaml; a folder: NAME.yaml in it).")
    ] = None,
) -> None:
    """Copy a shipped config here for editing, with the schema beside it for editors.

    Examples:

      actcli init beans

      actcli init rice_cooker --out my_kettle.yaml

      actcli init compare_beans --out experiments/
    """
    with user_errors():
        from actcli.config import shipped

        copy, schema_written = shipped.init(name, out)
        typer.echo(str(copy))
        if schema_written is not None:
            typer.echo(str(schema_written))


@app.command(short_help="Print the config's JSON Schema (for editors).")
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the config's JSON Schema (for editors: yaml-language-server).

    Examples:

      actcli schema --out schema/actcli.schema.json
    """
    with user_errors():
        import json

        from actcli import config as config_mod
        from actcli import folders

        text = json.dumps(config_mod.json_schema(), indent=2) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            folders.write_text(folders.writable(out), text)
            typer.echo(str(out))


# every command of the other modules, registered here in one place
app.command(short_help="Put activations or any config values side by side over seeds.")(
    compare_commands.compare)
app.command(short_help="Show the network a config builds, layer by layer.")(
    inside_commands.summary)
app.command(short_help="Draw a loss surface and the paths optimizers take on it.")(
    inside_commands.landscape)
app.command(short_help="Backpropagation by hand on the classic 2-2-2 network.")(
    inside_commands.backprop)
app.command(short_help="List the runs under ROOT as one table (or diff two).")(
    runs_commands.runs)
app.command(context_settings=runs_commands.PREDICT_SETTINGS,
            short_help="Ask a trained model about new inputs.")(runs_commands.predict)


def main() -> None:
    """Console entry point (the collector is held while it starts: actcli.collector)."""
    collector.hold()
    sys.exit(app())
