"""Seeing inside: `actcli summary`, `actcli landscape`, `actcli backprop`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from actcli.cli import completion, parsing
from actcli.cli.shared import SetOption, config_argument, config_path, stdout, user_errors
from actcli.errors import ActcliError, quote


def summary(
    config: Annotated[Path, config_argument()],
    set_: SetOption = None,
) -> None:
    """Show the model a config builds: each layer's output shape, parameters, init, activation.

    Examples:

      actcli summary configs/fashion_mnist_cnn.yaml

      actcli summary configs/beans.yaml --set model.hidden=[8,8]
    """
    with user_errors():
        from actcli import config as config_mod
        from actcli.console import grid
        from actcli.inspection import summary as summary_mod

        found = summary_mod.summarize(config_mod.load(config_path(config), list(set_ or [])))
        console = stdout()
        console.print(grid(f"input {tuple(found.input_shape)}",
                           ("layer", "output shape", "parameters", "init / role"),
                           [(r.layer, str(r.output_shape), f"{r.parameters:,}", r.note)
                            for r in found.rows]))
        console.print(f"total parameters: {found.total:,} (trainable {found.trainable:,})",
                      markup=False)


def landscape(
    config: Annotated[Path | None, config_argument(
        "YAML config of a one-neuron 1-D task, or a shipped config's name (not with "
        "--surface).")] = None,
    surface: Annotated[str | None, typer.Option(
        help="A classic surface instead (actcli list surfaces): bowl, saddle, himmelblau, "
        "rosenbrock, rastrigin.", autocompletion=completion.complete_surface)] = None,
    start: Annotated[list[str] | None, typer.Option(
        "--from", help="--surface: start point X,Y (repeatable; default: the surface's).")
    ] = None,
    optimizers: Annotated[str, typer.Option(
        help="--surface: comma-separated optimizers, with options as name:key=value, e.g. "
        "sgd,momentum,adam,sgd:momentum=0.5:nesterov=true")] = "sgd,momentum,adam",
    set_: SetOption = None,
    steps: Annotated[int | None, typer.Option(
        help="Full-batch steps of each optimizer (default 200; --surface: 100).")] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate of every optimizer (default: the "
                                   "config's; --surface: the surface's).")
    ] = None,
    momentum: Annotated[float, typer.Option(help="Momentum of the second SGD (CONFIG).")] = 0.9,
    animate: Annotated[bool, typer.Option(
        "--animate", help="--surface: also a GIF of the paths as they go.")] = False,
    format_: Annotated[str, typer.Option("--format", help="--surface: table | json")] = "table",
    out: Annotated[Path, typer.Option("--out", help="PNG file, or a folder for it.")] = Path(
        "runs"
    ),
) -> None:
    """Draw a loss surface and the paths optimizers take on it: the one-neuron loss over
    (a, b) for a CONFIG, or a classic surface with its minima and saddle points.

    Examples:

      actcli landscape configs/rice_cooker.yaml

      actcli landscape configs/beans.yaml --lr 0.5 --steps 100 --out beans-landscape.png

      actcli landscape --surface saddle --from 1,1e-6 --optimizers sgd,adam --lr 0.01

      actcli landscape --surface himmelblau --from -4,-4 --from 4,4 --from -4,4 --from 4,-4

      actcli landscape --surface rosenbrock --optimizers sgd,momentum --steps 2000 --animate

      actcli landscape --surface rastrigin --format json
    """
    with user_errors():
        from actcli.console import grid
        from actcli.inspection import landscape as landscape_mod

        if surface is not None:
            if config is not None or set_:
                raise ActcliError("--surface draws a classic surface: give no CONFIG or --set "
                                  "with it")
            _surface(surface, start, optimizers, steps, lr, animate, format_, out)
            return
        if config is None:
            raise ActcliError("give a CONFIG (a one-neuron 1-D task) or --surface NAME")
        if start or animate or format_ != "table":
            raise ActcliError("--from, --animate and --format go with --surface")
        from actcli import config as config_mod

        cfg = config_mod.load(config_path(config), list(set_ or []))
        found = landscape_mod.compute(cfg, steps=steps or 200, lr=lr, momentum=momentum)
        path = landscape_mod.draw(cfg, found, out)
        stdout().print(grid("after the last step", ("optimizer", "a", "b", "loss"),
                            [(t.name, f"{t.a[-1]:.4g}", f"{t.b[-1]:.4g}", f"{t.loss[-1]:.4g}")
                             for t in found.paths]))
        typer.echo(str(path))


def _surface(name: str, start: list[str] | None, optimizers: str, steps: int | None,
             lr: float | None, animate: bool, format_: str, out: Path) -> None:
    """`landscape --surface`: search, draw, print the table (or JSON) and the files."""
    import json
    from functools import partial

    from actcli.console import fit, grid, without
    from actcli.inspection import surfaces

    if format_ not in ("table", "json"):
        raise ActcliError(f"--format: {quote(format_)} is not allowed; valid: table, json")
    found = surfaces.search(name, optimizers=parsing.optimizers(optimizers),
                            starts=[parsing.start_point(p) for p in start or []], lr=lr,
                            steps=steps or 100)
    files = surfaces.draw(found, out, animate)
    if format_ == "json":
        typer.echo(json.dumps({"surface": found.spec.name, "lr": found.lr,
                               "steps": found.steps, "rows": surfaces.rows(found),
                               "files": [str(f) for f in files]}, indent=2))
        return

    heading = f"{found.spec.name}: {found.spec.formula}; lr {found.lr:g}, {found.steps} steps"
    groups = surfaces.by_start(found)

    def table(origin: tuple[float, float], paths: list[surfaces.Path2D], digits: int,
              drop: tuple[str, ...] = ()) -> Any:
        # a table per start, its title says which: no row loses its start when the
        # terminal is too narrow for a start column
        where = f"from {surfaces.point_text(origin, 4)}"
        return grid(f"{heading}; {where}" if len(groups) == 1 else where,
                    *without(list(surfaces.COLUMNS), surfaces.table_cells(paths, digits),
                             ("start", *drop)))

    stdout_console = stdout()
    if len(groups) > 1:
        stdout_console.print(heading, markup=False, highlight=False)
    for origin, paths in groups:
        stdout_console.print(fit(stdout_console.width, [
            partial(table, origin, paths, 4), partial(table, origin, paths, 3),
            partial(table, origin, paths, 2, ("|grad|",))]))
    for file in files:
        typer.echo(str(file))


def backprop(
    inputs: Annotated[str | None, typer.Option(help="i1,i2 (default 0.05,0.10)")] = None,
    targets: Annotated[str | None, typer.Option(help="t1,t2 (default 0.01,0.99)")] = None,
    hidden_weights: Annotated[
        str | None, typer.Option(help="w1,w2,w3,w4 (default 0.15,0.20,0.25,0.30)")
    ] = None,
    output_weights: Annotated[
        str | None, typer.Option(help="w5,w6,w7,w8 (default 0.40,0.45,0.50,0.55)")
    ] = None,
    biases: Annotated[str | None, typer.Option(help="b1,b2 (default 0.35,0.60)")] = None,
    lr: Annotated[float, typer.Option(help="SGD learning rate for the step.")] = 0.5,
) -> None:
    """Backpropagation by hand on the classic 2-2-2 sigmoid network, beside autograd.

    Examples:

      actcli backprop

      actcli backprop --lr 0.1 --targets 0.5,0.5
    """
    with user_errors():
        from actcli.console import fit, grid, width_of
        from actcli.inspection import backprop as bp

        numbers = parsing.optional_numbers
        given = {"inputs": numbers("--inputs", inputs, "0.05,0.10"),
                 "targets": numbers("--targets", targets, "0.01,0.99"),
                 "hidden_weights": numbers("--hidden-weights", hidden_weights,
                                           "0.15,0.20,0.25,0.30"),
                 "output_weights": numbers("--output-weights", output_weights,
                                           "0.40,0.45,0.50,0.55"),
                 "biases": numbers("--biases", biases, "0.35,0.60")}
        found = bp.compute(**{k: v for k, v in given.items() if v is not None}, lr=lr)
        console = stdout()
        console.print(grid("forward pass (out = sigmoid(net))", ("unit", "net", "out"),
                           [(u.name, f"{u.net:.9f}", f"{u.out:.9f}") for u in found.units]))
        console.print(f"E = 1/2 sum (target - out)^2 = {found.loss:.9f}", markup=False)

        def gradients(digits: int):
            def cell(value: float | None) -> str:
                return "-" if value is None else f"{value:.{digits}f}"

            columns = ["param", "value", "dE/dout", "dout/dnet", "dnet/dparam", "chain rule",
                       "autograd", "after step"]
            rows = [[g.name, cell(g.value), cell(g.dE_dout), cell(g.dout_dnet),
                     cell(g.dnet_dparam), cell(g.chain), cell(g.autograd), cell(g.updated)]
                    for g in found.gradients]
            return grid(f"gradients (dE/dout * dout/dnet * dnet/dparam) and one SGD step, "
                        f"lr {found.lr:g}", columns, rows)

        # nine decimals show the textbook's figures, six where that keeps one table; where
        # not even six fit, the grid goes on in a second table, and then at nine again
        table = fit(console.width, [lambda: gradients(9), lambda: gradients(6)])
        console.print(table if width_of(table) <= console.width else gradients(9))
        console.print("b1, b2 are shared by two units each: their gradient is the sum of "
                      "dE/dnet over those units.", markup=False)
        gap = max(abs(g.chain - g.autograd) for g in found.gradients)
        console.print(f"max |chain rule - autograd| = {gap:.2g}", markup=False)


