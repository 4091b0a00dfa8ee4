"""Activation curves for ``actcli plot``: values, autograd and textbook derivatives; and a
run's activations as it ended beside where they started.

What may be drawn is anything ``model.activation`` takes (:func:`choose`): a registry name,
a mapping with options (``{name: leaky_relu, negative_slope: 0.1}``), a formula in x (text
or ``{formula: ..., params: ...}``) or a Python reference (``file.py:name``). Its curve is
its torch module's (a formula's compiled torch function, the user's function); the
derivative is autograd's. The "formula" derivative beside it is the registry's textbook one
for a name, sympy's symbolic derivative for a formula (:meth:`Formula.derivative_text`,
where it can say one), and none for Python code.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from actcli import folders, plots
from actcli.components import FORMULA, PYTHON, Ref, activations
from actcli.components import formula as formula_mod
from actcli.components.texts import (
    SHORT,
    activation_text,
    reference_text,
    short_activation,
    short_reference,
    shorten,
)
from actcli.errors import ActcliError, ConfigError

EXAMPLE_LOGITS = (1.0, 2.0, 0.5, -1.0, 3.0)  # what `plot softmax` shows


@dataclass(frozen=True)
class Drawn:
    path: Path
    max_gap: dict[str, float]  # label -> max |autograd - formula derivative| on the grid
    # (formula as written, its symbolic derivative) of each formula sympy can differentiate
    derivatives: list[tuple[str, str]]


@dataclass(frozen=True)
class Chosen:
    """One activation to draw: what the config would hold, and how it is shown."""

    ref: Ref
    text: str  # in full: the formula or reference as written, the name with its options
    label: str  # shortened for a legend or a table cell (about 40 characters)
    slug: str  # a filesystem-safe part of the picture's file name


def _slug(text: str, custom: bool) -> str:
    """A file-name part: letters, digits and ``_.=-``; a formula or a reference (whose
    operators would all become ``_``) or a long text is cut and gets 8 hex digits of the
    text's hash, so that ``x*x`` and ``x+x`` get distinct names, the same every time."""
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")
    if not custom and len(safe) <= 40:
        return safe
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{safe[:32].strip('_') or 'formula'}-{digest}"


def choose(value: Any) -> Chosen:
    """What ``model.activation`` takes (a name, a mapping with options, a formula, a Python
    reference, or a Ref) as an activation to draw. Raises one ConfigError line (a
    FormulaError for a bad formula)."""
    ref = activations.parse(value)
    if ref.name == FORMULA:
        text = str(ref.kwargs["formula"])
        params = ", ".join(f"{k}={v:g}" for k, v in ref.kwargs["params"])
        shown = f"{text} [{params}]" if params else text
        return Chosen(ref, text, shorten(shown), _slug(shown, True))
    if ref.name == PYTHON:
        given = value.get("python", value.get("name")) if isinstance(value, dict) else value
        text = " ".join(given.split()) if isinstance(given, str) else activation_text(ref)
        stored = str(ref.kwargs["python"])
        target, _, name = stored.rpartition(":")
        digest = hashlib.sha1(stored.encode()).hexdigest()[:8]
        base = Path(target).stem if target.endswith(".py") else target.rsplit(".", 1)[-1]
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{base}-{name}")[:32]
        short = text if len(text) <= SHORT else short_reference(reference_text(stored))
        return Chosen(ref, text, short, f"{slug}-{digest}")
    text = activation_text(ref)
    return Chosen(ref, text, shorten(text), _slug(text, False))


def _module(ref: Ref) -> nn.Module:
    """The activation's module in float64, its parameters at their starting values (the
    random numbers a Python module's own init may draw do not touch the global stream)."""
    with torch.random.fork_rng(devices=[]):
        return activations.make(ref).double()


def _derivative_formula(ref: Ref) -> tuple[str | None, formula_mod.Formula | None]:
    """A formula's symbolic derivative: its text (sympy's) and, where it is a formula again
    that can be evaluated, the parsed derivative; (None, None) for anything else."""
    if ref.name != FORMULA:
        return None, None
    return _symbolic(str(ref.kwargs["formula"]), tuple(ref.kwargs["params"]))


@functools.lru_cache(maxsize=64)
def _symbolic(formula_text: str, pairs: tuple[tuple[str, float], ...]
              ) -> tuple[str | None, formula_mod.Formula | None]:
    """:func:`_derivative_formula` once per formula (sympy takes a moment)."""
    params = dict(pairs)
    text = formula_mod.parse(formula_text, params).derivative_text()
    if text is None:
        return None, None
    used = {k: v for k, v in params.items() if re.search(rf"\b{re.escape(k)}\b", text)}
    for candidate in (text, f"0 * x + ({text})"):  # a constant derivative (2, beta) too
        try:
            return text, formula_mod.parse(candidate, used)
        except ConfigError:
            continue
    return text, None


def _values(chosen: Chosen, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """f(x) by the module, f'(x) by autograd, and f'(x) by a formula: the textbook one of
    a registry name, the symbolic one of a formula, None for Python code (x float64)."""
    module = _module(chosen.ref)
    with torch.no_grad():
        y = module(x.detach())
    dy = activations.autograd_slope(module, x)
    if chosen.ref.custom:
        derivative = _derivative_formula(chosen.ref)[1]
        return y, dy, None if derivative is None else derivative(x.detach())
    spec = activations.ACTIVATIONS.get(chosen.ref.name)
    return y, dy, spec.grad(x.detach(), **chosen.ref.kwargs)


def evaluate(value: Any, lo: float, hi: float, points: int = 801) -> plots.Curve:
    """f, autograd f' and the formula's f' (None where there is none) of an activation on
    [lo, hi] (float64). ``value``: anything ``model.activation`` takes, see :func:`choose`."""
    chosen = value if isinstance(value, Chosen) else choose(value)
    x = torch.linspace(lo, hi, points, dtype=torch.float64)
    y, dy, analytic = _values(chosen, x)
    return plots.Curve(chosen.label, x.numpy(), y.numpy(), dy.numpy(),
                       None if analytic is None else analytic.numpy())


def softmax_example(logits: tuple[float, ...] = EXAMPLE_LOGITS) -> dict[str, np.ndarray]:
    """Probabilities, torch's autograd Jacobian and the textbook one for example logits."""
    spec = activations.ACTIVATIONS.get("softmax")
    x = torch.tensor(logits, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(spec.module(), x)
    return {"logits": x.numpy(), "probabilities": spec.module()(x).numpy(),
            "jacobian": jacobian.numpy(), "jacobian_analytic": spec.grad(x).numpy()}


def default_path(names: Sequence[Any], grad: bool) -> str:
    slugs = [n.slug if isinstance(n, Chosen) else choose(n).slug for n in names]
    return "-".join(slugs) + ("-grad" if grad else "") + ".png"


def _number(value: float) -> str:
    return f"{value:.10g}"


def at_points(names: Sequence[Any], points: list[float]) -> list[tuple[str, ...]]:
    """Rows (label, x, f(x), f'(x) by autograd, f'(x) by the formula) at the given points;
    the last is "-" where there is no formula (Python code, a formula sympy cannot
    differentiate).

    For softmax the points are one logit vector: rows give each probability and the
    diagonal of its Jacobian, d s_i / d x_i = s_i (1 - s_i).
    """
    rows: list[tuple[str, ...]] = []
    x = torch.tensor(points, dtype=torch.float64)
    for name in names:
        chosen = name if isinstance(name, Chosen) else choose(name)
        if chosen.ref.name == "softmax":
            example = softmax_example(tuple(points))
            for i, xi in enumerate(points):
                rows.append((chosen.label, f"{xi:g}", _number(example["probabilities"][i]),
                             _number(example["jacobian"][i, i]),
                             _number(example["jacobian_analytic"][i, i])))
            continue
        y, dy, analytic = _values(chosen, x)
        for i, xi in enumerate(points):
            rows.append((chosen.label, f"{xi:g}", _number(float(y[i])), _number(float(dy[i])),
                         "-" if analytic is None else _number(float(analytic[i]))))
    return rows


def _check_range(lo: float, hi: float) -> None:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"--range: LO and HI must be finite numbers, got {lo} and {hi}")
    if not lo < hi:
        raise ConfigError(f"--range: LO must be < HI, got {lo} and {hi}")


def draw(names: Sequence[Any], *, grad: bool, lo: float, hi: float, out: Path,
         analytic: bool = False) -> Drawn:
    """Draw the activations (and their derivatives) into a PNG; return where.

    ``names``: anything ``model.activation`` takes (see :func:`choose`). ``out`` is a .png
    file, or a folder the file is put in. ``softmax`` is a function of a whole vector, so
    it is drawn on its own: a stem plot of example logits.
    """
    chosen = [n if isinstance(n, Chosen) else choose(n) for n in names]
    _check_range(lo, hi)
    if any(c.ref.name == "softmax" for c in chosen) and len(chosen) > 1:
        raise ConfigError("softmax is drawn on its own (example logits); plot it separately")
    grad = grad or analytic  # the textbook derivative is drawn in the derivative panel
    path = folders.picture_path(out, default_path(chosen, grad))
    if chosen[0].ref.name == "softmax":
        example = softmax_example()
        gap = float(np.abs(example["jacobian"] - example["jacobian_analytic"]).max())
        figure = plots.softmax_stem(example["logits"], example["probabilities"],
                                    example["jacobian"] if grad else None)
        folders.save_figure(figure, path)
        return Drawn(path, {"softmax": gap}, [])
    curves = [evaluate(c, lo, hi) for c in chosen]
    gaps = {c.label: float(np.abs(c.dy - c.dy_analytic).max()) for c in curves
            if c.dy is not None and c.dy_analytic is not None}
    derivatives = []
    if grad:
        for c in chosen:
            text = _derivative_formula(c.ref)[0]
            if text is not None:
                derivatives.append((c.text, text))
    shown = [plots.Curve(c.label, c.x, c.y, c.dy, c.dy_analytic if analytic else None)
             for c in curves]
    folders.save_figure(plots.activation_curves(shown, grad), path)
    return Drawn(path, gaps, derivatives)


# ---------------------------------------------------------------------------------------
# a run's activations: where they started and where training left them


def is_run_folder(text: str) -> bool:
    """Does a ``plot`` argument name a run folder rather than an activation: an existing
    folder holding a run's files, named as a path, or not an activation's name or formula
    (so that a folder called ``relu`` beside you does not hide relu)."""
    path = Path(text)
    try:
        if not path.is_dir():
            return False
        if any((path / name).exists() for name in (folders.SUMMARY, "config.yaml",
                                                    "model.pt")):
            return True
    except OSError:  # a name too long for the file system (a long formula): no folder
        return False
    if "/" in text or os.sep in text:  # a path (a formula dividing is no folder)
        return True
    return not (text in activations.ACTIVATIONS or text in activations.ACTIVATIONS.aliases
                or formula_mod.is_formula(text))


@dataclass(frozen=True)
class RunLayer:
    """One hidden layer's activation, at the start of training and at its end."""

    k: int  # after the k-th weight layer (diagnostics' layerK)
    text: str  # the activation as the config names it, shortened (40 characters)
    units: int
    learned: bool
    start: Tensor  # (points, units) in the run's dtype
    end: Tensor
    d_start: Tensor
    d_end: Tensor
    values_start: dict[str, activations.LearnedValue]
    values_end: dict[str, activations.LearnedValue]


@dataclass(frozen=True)
class RunActivations:
    run: Path
    x: Tensor
    layers: list[RunLayer]


@dataclass(frozen=True)
class RunNetworks:
    """A run's network twice: as its config and seed built it, and as model.pt holds it."""

    run: Path
    refs: tuple[Ref, ...]  # the hidden layers' activations, as the config names them
    start: nn.Module
    end: nn.Module


def load_run(run: Path) -> RunNetworks:
    """The untrained and the trained network of the run in ``run``, or one ActcliError line
    (not a run folder, no model.pt, weights of another network than config.yaml builds)."""
    from actcli.engine import model as model_mod
    from actcli.inspection import predict

    if run.is_dir() and not (run / folders.SUMMARY).exists() and (run / "plan.json").exists():
        raise ActcliError(f"{run}: a compare folder, not a run: plot one of its cells, "
                          f"e.g. actcli plot {run / 'cells'}/<id>")
    loaded = predict.load(run)  # checks summary.json, config.yaml, model.pt and the weights
    model = loaded.config.model
    if not model.hidden_layers:
        raise ActcliError(f"{run}: its network has no hidden layers, so no hidden activation "
                          f"to draw (its output is {model.output})")
    with torch.random.fork_rng(devices=[]):  # seeded as training built it (build_parts)
        torch.manual_seed(loaded.config.train.seed)
        start = model_mod.build(model, loaded.input_shape, loaded.n_outputs).eval()
    return RunNetworks(run, model_mod.per_layer(model.activation, model.hidden_layers), start,
                       loaded.net)


def _hidden(net: nn.Module) -> list[tuple[int, tuple[int, ...], nn.Module]]:
    """(k, the shape of one value per unit, module) of each hidden activation, in order."""
    found: list[tuple[int, tuple[int, ...], nn.Module]] = []
    k = 0
    shape: tuple[int, ...] = ()
    for module in net.layers:  # type: ignore[union-attr]
        if isinstance(module, nn.Linear):
            k, shape = k + 1, (module.out_features,)
        elif isinstance(module, nn.Conv2d):
            k, shape = k + 1, (int(module.out_channels), 1, 1)
        elif k and activations.spec_of(module) is not None:
            found.append((k, shape, module))
    return found


def _unit_curves(module: nn.Module, shape: tuple[int, ...], x: Tensor) -> tuple[Tensor, Tensor]:
    """f and f' of every unit of a layer at ``x``: the module applied to inputs of one
    value per unit that all run over ``x``, so that a per-unit parameter gives each unit
    its own curve. (points, units)."""
    points = len(x)
    grid = x.reshape(points, *[1] * len(shape)).expand(points, *shape).contiguous()
    with torch.no_grad():
        y = module(grid)
    dy = activations.autograd_slope(module, grid)
    return y.reshape(points, -1), dy.reshape(points, -1)


def _layers(nets: RunNetworks, x: Tensor) -> list[RunLayer]:
    layers = []
    for ref, (k, shape, before), (_, _, after) in zip(nets.refs, _hidden(nets.start),
                                                     _hidden(nets.end), strict=True):
        y0, d0 = _unit_curves(before, shape, x)
        y1, d1 = _unit_curves(after, shape, x)
        values = activations.learned_values(after)
        layers.append(RunLayer(k, short_activation(ref), y1.shape[1], bool(values), y0, y1,
                               d0, d1, activations.learned_values(before), values))
    return layers


def run_activations(nets: RunNetworks, lo: float, hi: float,
                    points: int = 401) -> RunActivations:
    """A run's hidden activations at the start and at the end of training on [lo, hi]
    (in the network's dtype)."""
    _check_range(lo, hi)
    x = torch.linspace(lo, hi, points, dtype=torch.get_default_dtype())
    return RunActivations(nets.run, x, _layers(nets, x))


def _per_unit(curves: Tensor) -> bool:
    return curves.shape[1] > 1 and not torch.equal(curves, curves[:, :1].expand_as(curves))


def _array(curves: Tensor) -> np.ndarray:
    """(points,) when every unit has the same curve, else (points, units), float64."""
    return (curves if _per_unit(curves) else curves[:, 0]).double().numpy()


def _fixed_groups(layers: list[RunLayer]) -> list[tuple[list[int], RunLayer]]:
    """The layers whose activation learns nothing, those of one text together (one curve)."""
    groups: dict[str, tuple[list[int], RunLayer]] = {}
    for layer in layers:
        if not layer.learned:
            groups.setdefault(layer.text, ([], layer))[0].append(layer.k)
    return list(groups.values())


def _layers_label(ks: list[int], text: str) -> str:
    where = f"layer {ks[0]}" if len(ks) == 1 else f"layers {', '.join(map(str, ks))}"
    return f"{where}: {text}"


def run_figure(found: RunActivations, grad: bool) -> Any:  # a matplotlib Figure
    """The figure of :func:`run_activations`: a curve pair (start dashed, end solid) per
    layer with a learned activation, each unit's curve thin where the units differ; the
    fixed activations once."""
    from actcli.plots.activations import LayerCurves, learned_activations

    shown = []  # (the first layer, its curves), in the network's order
    for layer in found.layers:
        if layer.learned:
            shown.append((layer.k, LayerCurves(
                _layers_label([layer.k], layer.text), _array(layer.end), _array(layer.start),
                _array(layer.d_end) if grad else None,
                _array(layer.d_start) if grad else None)))
    for ks, layer in _fixed_groups(found.layers):
        shown.append((ks[0], LayerCurves(_layers_label(ks, layer.text) + " (fixed)",
                                         _array(layer.end), None,
                                         _array(layer.d_end) if grad else None)))
    shown.sort(key=lambda pair: pair[0])
    return learned_activations(found.x.double().numpy(), [c for _, c in shown], grad,
                               f"{found.run.resolve().name}: hidden activations")


def draw_run(nets: RunNetworks, *, grad: bool, lo: float, hi: float, out: Path,
             points: int = 401) -> tuple[Path, RunActivations]:
    """Draw a run's activations as it ended beside where they started into a PNG (``out``:
    a .png file or a folder, as for every picture)."""
    found = run_activations(nets, lo, hi, points)
    name = f"activations-{_slug(nets.run.resolve().name, False)}{'-grad' if grad else ''}.png"
    path = folders.picture_path(out, name)
    folders.save_figure(run_figure(found, grad), path)
    return path, found


def _mean(curves: Tensor, i: int) -> str:
    return f"{float(curves[i].double().mean()):.6g}"


def run_points(nets: RunNetworks, points: list[float]) -> tuple[list[tuple[str, ...]], bool]:
    """Rows (layer, x, f(x) start, f(x) end, f'(x) start, f'(x) end) of a run's hidden
    activations at the given points, and whether some are means: where a layer's units
    differ, its label ends in ``*`` and the values are the mean over its units."""
    x = torch.tensor(points, dtype=torch.get_default_dtype())
    rows: list[tuple[str, ...]] = []
    means = False
    for layer in _layers(nets, x):
        curves = (layer.start, layer.end, layer.d_start, layer.d_end)
        label = _layers_label([layer.k], layer.text)
        if any(_per_unit(c) for c in curves):
            label, means = label + " *", True
        for i, xi in enumerate(points):
            rows.append((label, f"{xi:g}", *(_mean(c, i) for c in curves)))
    return rows, means


def _shown_value(value: activations.LearnedValue) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return f"{value:.4g}"
    finite = [v for v in value if v is not None]
    if len(value) <= 4:
        return "[" + ", ".join("nan" if v is None else f"{v:.3g}" for v in value) + "]"
    if not finite:
        return f"{len(value)} values, none finite"
    if len(finite) == len(value) and min(finite) == max(finite):
        return f"{len(value)} values, all {finite[0]:.4g}"
    return (f"{len(value)} values, mean {sum(finite) / len(finite):.4g}, "
            f"{min(finite):.3g} to {max(finite):.3g}")


def learned_rows(found: RunActivations) -> list[tuple[str, str, str, str]]:
    """Rows (layer, parameter, start, end) of every learned activation parameter."""
    rows = []
    for layer in found.layers:
        for name, end in layer.values_end.items():
            rows.append((_layers_label([layer.k], layer.text), name,
                         _shown_value(layer.values_start.get(name)), _shown_value(end)))
    return rows
