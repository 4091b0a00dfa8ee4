"""Classic test surfaces f(x, y) and the paths optimizers take on them.

How gradient descent searches for a minimum: a convex bowl, a saddle (where plain gradient
descent stalls), Himmelblau's four minima (where the start decides the end), Rosenbrock's
curved valley (where momentum helps) and Rastrigin's many local minima. Each surface is a
registry entry: its formula, the domain a picture shows, its known minima and saddle points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from actcli.components import Param, Ref, Registry, parse_ref
from actcli.components import optimizers as optimizers_mod
from actcli.engine import updates
from actcli.errors import ConfigError

Point = tuple[float, float]
CONVERGED = 1e-4  # |gradient| below this counts as having arrived
NEAR = 0.05  # an end point this close to a known point "is" there


@dataclass(frozen=True)
class SurfaceSpec:
    name: str
    formula: str
    fn: Callable[[Tensor, Tensor], Tensor]  # elementwise f(x, y)
    domain: tuple[Point, Point]  # ((x_lo, x_hi), (y_lo, y_hi)) the picture shows
    minima: tuple[Point, ...] = ()
    saddles: tuple[Point, ...] = ()
    starts: tuple[Point, ...] = ()  # default start points
    lr: float = 0.01  # default learning rate
    notes: str = ""
    log_levels: bool = True  # contour levels on a log scale (f >= 0 with a deep minimum)
    params: dict[str, Param] = field(default_factory=dict)  # registries share this shape

    @property
    def doc(self) -> str:
        return self.notes


def _rastrigin(x: Tensor, y: Tensor) -> Tensor:
    return 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)


SURFACES: Registry[SurfaceSpec] = Registry("surface", [
    SurfaceSpec("bowl", "f = x^2 + y^2", lambda x, y: x**2 + y**2, ((-2, 2), (-2, 2)),
                minima=((0.0, 0.0),), starts=((1.5, 1.0), (-1.8, -0.5)), lr=0.1,
                notes="convex: every start and every small enough lr reaches the one minimum"),
    SurfaceSpec("saddle", "f = x^2 - y^2", lambda x, y: x**2 - y**2, ((-2, 2), (-2, 2)),
                saddles=((0.0, 0.0),), starts=((1.0, 1e-6), (1.5, 0.3)), lr=0.01,
                notes="a saddle at (0, 0): from near its ridge, plain gradient descent "
                "creeps away; adaptive steps (Adam) leave at once", log_levels=False),
    SurfaceSpec("himmelblau", "f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
                lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, ((-5, 5), (-5, 5)),
                minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                        (3.584428, -1.848126)),
                saddles=((0.086678, 2.884254), (-3.073026, -0.081353), (3.385154, 0.073852),
                         (-0.127961, -1.953715)),
                starts=((-4.0, -4.0), (-4.0, 4.0), (4.0, -4.0), (4.0, 4.0)), lr=0.01,
                notes="four minima of equal depth (f = 0): where descent ends depends on "
                "where it starts"),
    SurfaceSpec("rosenbrock", "f = (1 - x)^2 + 100 (y - x^2)^2",
                lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, ((-2, 2), (-1, 3)),
                minima=((1.0, 1.0),), starts=((-1.5, 2.0), (-1.0, -0.5)), lr=0.001,
                notes="a long curved valley: easy to fall into, slow to follow; momentum "
                "helps"),
    SurfaceSpec("rastrigin", "f = 20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
                _rastrigin, ((-5.12, 5.12), (-5.12, 5.12)), minima=((0.0, 0.0),),
                starts=((3.2, 2.1), (-2.2, 0.9), (0.4, -0.45)), lr=0.002,
                notes="a local minimum near every point of the integer grid; only (0, 0) is "
                "global", log_levels=False),
])


def value_and_gradient(spec: SurfaceSpec, point: Sequence[float] | np.ndarray
                       ) -> tuple[float, np.ndarray]:
    """f and its gradient at ``point`` (float64, autograd)."""
    p = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    f = spec.fn(p[0], p[1])
    (grad,) = torch.autograd.grad(f, p)
    return float(f.detach()), grad.numpy()


def hessian(spec: SurfaceSpec, point: Sequence[float] | np.ndarray) -> np.ndarray:
    p = torch.tensor(point, dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda q: spec.fn(q[0], q[1]), p).numpy()


def refine(spec: SurfaceSpec, point: Sequence[float], steps: int = 50) -> Point:
    """Newton's method on the gradient from ``point``: the critical point nearby."""
    p: np.ndarray = np.asarray(point, dtype=np.float64)
    for _ in range(steps):
        _, grad = value_and_gradient(spec, p)
        if np.linalg.norm(grad) < 1e-12:
            break
        p = p - np.linalg.solve(hessian(spec, p), grad)
    return float(p[0]), float(p[1])


@cache
def known_points(name: str) -> tuple[tuple[Point, str], ...]:
    """(point, "minimum"/"saddle") of a surface. Rastrigin's local minima (one near each
    point of the integer grid in its domain) are found by Newton's method."""
    spec = SURFACES.get(name)
    found = [(p, "minimum") for p in spec.minima] + [(p, "saddle") for p in spec.saddles]
    if name == "rastrigin":
        lo, hi = (math.ceil(spec.domain[0][0]), math.floor(spec.domain[0][1]))
        found = [(refine(spec, (float(i), float(j))), "minimum")
                 for i in range(lo, hi + 1) for j in range(lo, hi + 1)]
    return tuple(found)


def nearest(name: str, point: Sequence[float] | np.ndarray, tolerance: float = NEAR) -> str:
    """``minimum (3, 2)`` / ``saddle (0, 0)`` for the known point within ``tolerance`` of
    ``point``, or ``none``."""
    best, label = math.inf, "none"
    for (x, y), kind in known_points(name):
        distance = math.hypot(point[0] - x, point[1] - y)
        if distance < best:
            best, label = distance, f"{kind} ({x:.4g}, {y:.4g})"
    return label if best <= tolerance else "none"


ALIASES = {"momentum": {"name": "sgd", "momentum": 0.9},
           "nesterov": {"name": "sgd", "momentum": 0.9, "nesterov": True}}


@dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer for :func:`search`: a registry name or one of :data:`ALIASES`, its
    keyword values (an ``lr`` among them overrides the search's), and the label its paths
    carry (the name unless given)."""

    name: str
    kwargs: Mapping[str, object] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)


DEFAULT_OPTIMIZERS = (OptimizerChoice("sgd"), OptimizerChoice("momentum"),
                      OptimizerChoice("adam"))


def optimizer_ref(choice: OptimizerChoice, lr: float) -> Ref:
    """``choice`` checked against the optimizer registry (an alias expanded), at learning
    rate ``lr`` unless its kwargs give one; ConfigError naming ``--optimizers``."""
    document: dict[str, object] = {**ALIASES.get(choice.name, {"name": choice.name}),
                                   "lr": lr, **choice.kwargs}
    try:
        return parse_ref(optimizers_mod.OPTIMIZERS, document, optimizers_mod.check_params)
    except ConfigError as err:
        hint = "" if choice.name in optimizers_mod.OPTIMIZERS or choice.name in ALIASES \
            else f" (or {', '.join(ALIASES)})"
        raise ConfigError(f"--optimizers: {err}{hint}") from None


@dataclass(frozen=True)
class Path2D:
    optimizer: str
    start: Point
    points: np.ndarray  # (steps + 1, 2), the start included; shorter when it diverged
    values: np.ndarray  # f along the path
    gradient: float  # |gradient| at the end
    converged_at: int | None  # first step with |gradient| < CONVERGED
    nearest: str
    diverged: bool = False

    @property
    def end(self) -> Point:
        return float(self.points[-1, 0]), float(self.points[-1, 1])


def descend(spec: SurfaceSpec, start: Point, label: str, ref: Ref, steps: int) -> Path2D:
    """``steps`` steps of the optimizer ``ref`` from ``start`` (float64), full gradient."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    if any(optimizers_mod.penalty_rates(ref)):
        raise ConfigError(f"{ref}: l1 and l2 regularise a network's weights; a surface's "
                          "path has none (leave them out)")
    # torch's kernels without torch.optim's import of its compiler (engine.updates)
    optimizer = updates.make(ref, [p])
    points, values, converged_at, diverged, norm = [], [], None, False, math.inf
    for step in range(steps + 1):
        optimizer.zero_grad()
        f = spec.fn(p[0], p[1])
        f.backward()
        assert p.grad is not None
        norm = float(p.grad.norm())
        if not (math.isfinite(float(f.detach())) and math.isfinite(norm)):
            diverged = True
            break
        points.append(p.detach().numpy().copy())
        values.append(float(f.detach()))
        if converged_at is None and norm < CONVERGED:
            converged_at = step
        if step < steps:
            optimizer.step()
    track = np.array(points)
    end = track[-1] if len(track) else np.array(start)
    return Path2D(label, start, track, np.array(values), norm, converged_at,
                  "none" if diverged else nearest(spec.name, end), diverged)


@dataclass(frozen=True)
class Search:
    spec: SurfaceSpec
    paths: list[Path2D]
    lr: float
    steps: int
    x: np.ndarray  # (points,) grid
    y: np.ndarray
    f: np.ndarray  # (points, points): f[i, j] at (x[j], y[i])


def search(name: str, *, optimizers: Sequence[OptimizerChoice] = DEFAULT_OPTIMIZERS,
           starts: Sequence[Point] = (), lr: float | None = None, steps: int = 100,
           points: int = 201) -> Search:
    """Every optimizer from every start on the surface ``name``, and the surface on a grid."""
    spec = SURFACES.get(name)
    if steps < 1:
        raise ConfigError(f"--steps: must be >= 1, got {steps}")
    if lr is not None and not lr > 0:
        raise ConfigError(f"--lr: must be > 0, got {lr}")
    lr = spec.lr if lr is None else lr
    chosen = [(choice.label, optimizer_ref(choice, lr)) for choice in optimizers]
    if not chosen:
        raise ConfigError("--optimizers: name at least one optimizer")
    paths = [descend(spec, start, label, ref, steps)
             for label, ref in chosen for start in (list(starts) or list(spec.starts))]
    (x_lo, x_hi), (y_lo, y_hi) = spec.domain
    x, y = np.linspace(x_lo, x_hi, points), np.linspace(y_lo, y_hi, points)
    grid_x, grid_y = torch.meshgrid(torch.from_numpy(x), torch.from_numpy(y), indexing="xy")
    with torch.no_grad():
        f = spec.fn(grid_x, grid_y).numpy()
    return Search(spec, paths, lr, steps, x, y, f)


def rows(found: Search) -> list[dict[str, object]]:
    """One row per path, for the table and ``--format json``."""
    return [{"optimizer": p.optimizer, "start": list(p.start), "end": list(p.end),
             "f": float(p.values[-1]) if len(p.values) else None,
             "gradient": p.gradient if math.isfinite(p.gradient) else None,
             "converged_at": p.converged_at, "nearest": p.nearest, "diverged": p.diverged}
            for p in found.paths]


COLUMNS = ("optimizer", "start", "end", "f", "|grad|", "|grad|<1e-4 at", "nearest")


def by_start(found: Search) -> list[tuple[Point, list[Path2D]]]:
    """The paths grouped by their start point (first seen first): a table per start
    names its start in its title, so no row is left without it when a narrow terminal
    drops the start column."""
    groups: dict[Point, list[Path2D]] = {}
    for p in found.paths:
        groups.setdefault(p.start, []).append(p)
    return list(groups.items())


def number_text(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def point_text(point: Sequence[float], digits: int) -> str:
    return f"({number_text(point[0], digits)}, {number_text(point[1], digits)})"


def table_cells(paths: Sequence[Path2D], digits: int) -> list[list[str]]:
    """One row of text per path, in :data:`COLUMNS` order, numbers to ``digits``."""
    return [[p.optimizer, point_text(p.start, digits),
             "diverged" if p.diverged else point_text(p.end, digits),
             number_text(float(p.values[-1]) if len(p.values) else None, digits),
             number_text(p.gradient if math.isfinite(p.gradient) else None, digits),
             "never" if p.converged_at is None else f"step {p.converged_at}",
             p.nearest.replace("minimum", "min")] for p in paths]


def draw(found: Search, out: Path, animate: bool = False) -> list[Path]:
    """The contour picture (and with ``animate`` a GIF beside it); returns the files."""
    from actcli import folders, plots

    spec = found.spec
    path = folders.picture_path(out, f"surface-{spec.name}.png")
    tracks = [(p.optimizer, p.points) for p in found.paths if len(p.points)]
    title = f"{spec.name}: lr {found.lr:g}, {found.steps} steps"
    minima = [p for p, kind in known_points(spec.name) if kind == "minimum"]
    args = (found.x, found.y, found.f, spec.log_levels, minima, list(spec.saddles), tracks,
            title)
    folders.save_figure(plots.surface_paths(*args), path)
    files = [path]
    if animate:
        gif = path.with_suffix(".gif")
        folders.write_bytes(gif, plots.surface_animation(*args))
        files.append(gif)
    return files
