"""The TensorFlow Neural Network Playground's data sets and input features, plus two moons.

Pure, deterministic generators: same ``(name, count, noise, seed)`` -> identical arrays.

Sources (read at tensorflow/playground commit 02469bd, 2022-06-06):

* ``circle``, ``xor``, ``gauss``, ``spiral``, ``reg_plane``, ``reg_gauss``: ``src/dataset.ts``
  (``classifyCircleData``, ``classifyXORData``, ``classifyTwoGaussData``,
  ``classifySpiralData``, ``regressPlane``, ``regressGaussian``). Radii, paddings, the
  variance scale, the label rules and the regression label scales are ported unchanged.
* ``FEATURES``: the ``INPUTS`` table of ``src/playground.ts`` (x, y, x², y², xy, sin x,
  sin y, there labelled X_1, X_2, X_1^2, X_2^2, X_1X_2, sin(X_1), sin(X_2)).
* ``SPAN``, the noise convention and the Playground's defaults (``PLAYGROUND_*`` below):
  ``src/playground.ts`` (``xDomain = [-6, 6]``, ``NUM_SAMPLES_CLASSIFY = 500``,
  ``NUM_SAMPLES_REGRESS = 1200``, ``generator(numSamples, state.noise / 100)``, shuffle,
  then the first ``percTrainData`` % as training data), ``src/state.ts`` (``noise = 0``,
  ``percTrainData = 50``) and ``index.html`` (noise slider 0..50, step 5).
* ``moons``: scikit-learn's ``sklearn.datasets.make_moons`` (not a Playground set), moved
  into the Playground's plane as described at ``_moons``.

Where this differs from the Playground, on purpose:

* Random numbers come from ``numpy.random.default_rng(seed)`` (vectorised draws), not the
  Playground's seedrandom ``Math.random``: same distributions, different streams.
* Classification labels are 0/1: the Playground's +1 -> 1 and -1 -> 0.
* Exactly ``count`` points. Where the Playground loops ``i < numSamples / 2`` once per
  class (circle, gauss, spiral), an odd ``numSamples`` gives ceil(n/2) points to *each*
  class (n + 1 in all); here the first class generated gets ``count // 2`` and the second
  ``count - count // 2`` (the extra point goes to the second class, as make_moons does).
  For the spiral, ``n`` in ``r = 5 i / n`` is that class's own point count.
* ``reg_plane`` targets are clipped to [-1, 1]. The Playground's label scale
  (d3 ``linear().domain([-10, 10]).range([-1, 1])``, i.e. (x + y) / 10) is *not* clamped
  there, so its labels reach ±1.2 at noise 0 (x + y spans [-12, 12]) and ±1.8 at noise 0.5.
  The clip keeps every regression target in [-1, 1]; it changes about 2.8 % of the labels
  at noise 0. (``reg_gauss``'s scale is clamped in the Playground too: nothing changes.)
* Points come back shuffled by the same generator, as ``generateData`` shuffles before it
  splits: taking the first rows is a random split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("reg_plane", "reg_gauss")
SETS = CLASSIFICATION + REGRESSION
SPAN = 6.0  # the plane the Playground draws: [-6, 6] x [-6, 6]
MAX_NOISE = 0.5  # the noise slider's 50 %, as the generators receive it (slider / 100)

# The Playground's own settings (src/playground.ts, src/state.ts), for callers that want them.
PLAYGROUND_COUNT_CLASSIFY = 500
PLAYGROUND_COUNT_REGRESS = 1200
PLAYGROUND_NOISE = 0.0
PLAYGROUND_TRAIN_FRACTION = 0.5

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")  # the seven inputs
_ALIASES = {"x1**2": "x1^2", "x2**2": "x2^2", "x1x2": "x1*x2"}  # spaces are ignored too
_FEATURE_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x, y: x,
    "x2": lambda x, y: y,
    "x1^2": lambda x, y: x * x,
    "x2^2": lambda x, y: y * y,
    "x1*x2": lambda x, y: x * y,
    "sin(x1)": lambda x, y: np.sin(x),
    "sin(x2)": lambda x, y: np.sin(y),
}

# reg_gauss: (centre x, centre y, sign) of the six bumps, as in regressGaussian
_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
          (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))

# moons: sklearn's coordinates -> the Playground's plane: (p - _MOONS_CENTRE) * _MOONS_SCALE
_MOONS_SCALE = 3.0
_MOONS_CENTRE = (0.5, 0.25)

Data = tuple[np.ndarray, np.ndarray]


def _split(count: int) -> tuple[int, int]:
    """(first class, second class) sizes: the odd point goes to the second class."""
    return count // 2, count - count // 2


def _circle(rng: np.random.Generator, count: int, noise: float) -> Data:
    """classifyCircleData: radius 5; +1 (-> 1) r ~ U(0, 2.5), -1 (-> 0) r ~ U(3.5, 5).

    The label is recomputed from the point plus noise U(-5, 5) * noise per coordinate:
    1 when that noisy point lies within 2.5 of the origin. The point itself is noise-free.
    """
    radius = 5.0
    parts = []
    for n, (low, high) in zip(_split(count), ((0.0, radius * 0.5), (radius * 0.7, radius)),
                              strict=True):
        r = rng.uniform(low, high, n)
        angle = rng.uniform(0.0, 2 * np.pi, n)
        parts.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
    points = np.concatenate(parts)
    noisy = points + rng.uniform(-radius, radius, points.shape) * noise
    labels = (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.float64)
    return points, labels


def _xor(rng: np.random.Generator, count: int, noise: float) -> Data:
    """classifyXORData: x, y ~ U(-5, 5) pushed 0.3 away from the axes (x > 0 ? +0.3 : -0.3).

    Label 1 when (x + nx) (y + ny) >= 0 with nx, ny ~ U(-5, 5) * noise; the point is kept
    noise-free.
    """
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (count, 2))
    points += np.where(points > 0, padding, -padding)
    noisy = points + rng.uniform(-5.0, 5.0, points.shape) * noise
    labels = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.float64)
    return points, labels


def _gauss(rng: np.random.Generator, count: int, noise: float) -> Data:
    """classifyTwoGaussData: centres (2, 2) -> 1 and (-2, -2) -> 0, per-coordinate variance
    linear in noise from 0.5 (noise 0) to 4 (noise 0.5): 0.5 + 7 noise."""
    variance = 0.5 + (4.0 - 0.5) * noise / MAX_NOISE
    n_pos, n_neg = _split(count)
    centres = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n_pos, n_neg], axis=0)
    points = centres + rng.normal(0.0, np.sqrt(variance), (count, 2))
    labels = np.repeat([1.0, 0.0], [n_pos, n_neg])
    return points, labels


def _spiral(rng: np.random.Generator, count: int, noise: float) -> Data:
    """classifySpiralData: point i of n has r = 5 i / n, t = 1.75 (i / n) 2 pi + delta,
    (x, y) = (r sin t, r cos t) + U(-1, 1) * noise each; delta = 0 -> 1, delta = pi -> 0."""
    parts, labels = [], []
    for n, delta, label in zip(_split(count), (0.0, np.pi), (1.0, 0.0), strict=True):
        i = np.arange(n, dtype=np.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * np.pi + delta
        xy = np.column_stack([r * np.sin(t), r * np.cos(t)])
        parts.append(xy + rng.uniform(-1.0, 1.0, xy.shape) * noise)
        labels.append(np.full(n, label))
    return np.concatenate(parts), np.concatenate(labels)


def _moons(rng: np.random.Generator, count: int, noise: float) -> Data:
    """sklearn make_moons, moved into the Playground's plane.

    As make_moons: the outer moon (label 0, ``count // 2`` points) is
    (cos s, sin s), the inner moon (label 1, the rest) is (1 - cos s, 1 - sin s - 0.5), s over
    ``linspace(0, pi, n)`` of each moon's own n, plus gaussian noise of sd ``noise`` per
    coordinate, in these (sklearn's) units. Then every coordinate is shifted by
    (-0.5, -0.25) and multiplied by 3: the noise-free set spans [-4.5, 4.5] x [-2.25, 2.25],
    centred at the origin (its mean is exactly the origin for an even count), and the
    noise's sd in the plane is 3 * noise.
    """
    n_out, n_in = _split(count)
    s_out = np.linspace(0.0, np.pi, n_out)
    s_in = np.linspace(0.0, np.pi, n_in)
    points = np.column_stack([
        np.concatenate([np.cos(s_out), 1 - np.cos(s_in)]),
        np.concatenate([np.sin(s_out), 1 - np.sin(s_in) - 0.5]),
    ])
    points += rng.normal(0.0, noise, points.shape)
    points = (points - np.array(_MOONS_CENTRE)) * _MOONS_SCALE
    labels = np.repeat([0.0, 1.0], [n_out, n_in])
    return points, labels


def _plane_label(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """regressPlane's label, (x + y) / 10, clipped to [-1, 1] (the Playground doesn't clip)."""
    return np.clip((x + y) / 10.0, -1.0, 1.0)


def _gauss_label(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """regressGaussian's label: of the six bumps sign * clamp(1 - d / 2, 0, 1), d the distance
    to the bump's centre, the one largest in absolute value (the first on a tie)."""
    values = np.stack([sign * np.clip(1.0 - np.hypot(x - cx, y - cy) / 2.0, 0.0, 1.0)
                       for cx, cy, sign in _BUMPS], axis=1)
    best = np.argmax(np.abs(values), axis=1)
    return values[np.arange(len(values)), best]


def _regression(label: Callable[[np.ndarray, np.ndarray], np.ndarray]
                ) -> Callable[[np.random.Generator, int, float], Data]:
    def draw(rng: np.random.Generator, count: int, noise: float) -> Data:
        """x, y ~ U(-6, 6); the target is taken at the point plus U(-6, 6) * noise each."""
        points = rng.uniform(-SPAN, SPAN, (count, 2))
        noisy = points + rng.uniform(-SPAN, SPAN, points.shape) * noise
        return points, label(noisy[:, 0], noisy[:, 1])
    return draw


_GENERATORS: dict[str, Callable[[np.random.Generator, int, float], Data]] = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "reg_plane": _regression(_plane_label),
    "reg_gauss": _regression(_gauss_label),
}


def generate(name: str, count: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (count, 2) float64, targets (count,) float64) of the data set ``name``.

    Classification targets are 0/1 (the Playground's -1 -> 0, +1 -> 1); regression targets
    lie in [-1, 1]. ``noise`` in [0, 0.5] is the Playground's noise slider / 100; for
    ``moons`` it is the gaussian sd in make_moons' own units, before the x3 scaling.
    Exactly ``count`` points: where the Playground makes count/2 per class and ``count`` is
    odd, the second class generated gets the extra point (circle: the outer ring; gauss:
    (-2, -2); spiral: the pi-shifted arm; moons: the inner moon). As in the Playground,
    noise moves the *points* of spiral, gauss and moons, but only the *labels* of circle,
    xor, reg_plane and reg_gauss (the label is computed at a jittered copy of the point).

    Where the points lie: circle within radius 5; xor 0.3 <= |x|, |y| <= 5.3; spiral
    |x|, |y| <= 5 + noise; reg_plane, reg_gauss in [-6, 6]^2; gauss and moons have gaussian
    tails (no hard bound; noise-free moons span [-4.5, 4.5] x [-2.25, 2.25]).

    Same seed -> identical arrays. The rows are in a seeded shuffled order, so taking the
    first rows is a random split.
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown data set {name!r}; allowed: {', '.join(SETS)}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 2:
        raise ValueError(f"count must be an integer >= 2, got {count!r}")
    if not 0.0 <= noise <= MAX_NOISE:  # also refuses NaN
        raise ValueError(f"noise must be in [0, {MAX_NOISE}] (the Playground's noise slider "
                         f"/ 100), got {noise!r}")
    rng = np.random.default_rng(seed)
    points, targets = _GENERATORS[name](rng, int(count), float(noise))
    order = rng.permutation(len(points))
    return (np.ascontiguousarray(points[order], dtype=np.float64),
            np.ascontiguousarray(targets[order], dtype=np.float64))


def _allowed_features() -> str:
    aliases = ", ".join(f"{a} for {c}" for a, c in _ALIASES.items())
    return f"allowed: {', '.join(FEATURES)} (also {aliases}; spaces are ignored)"


def canonical_feature(name: str) -> str:
    """The name in ``FEATURES`` that ``name`` stands for: spaces ignored, and the aliases
    'x1**2', 'x2**2', 'x1x2' accepted. ValueError on anything else."""
    key = "".join(str(name).split())
    key = _ALIASES.get(key, key)
    if key not in _FEATURE_FUNCS:
        raise ValueError(f"unknown feature {name!r}; {_allowed_features()}")
    return key


def features(points: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(N, len(names)) float64: the Playground's input features of ``points`` (N, 2), one
    column per name, in the order given (names as accepted by ``canonical_feature``)."""
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of feature names, not the string "
                         f"{names!r}; {_allowed_features()}")
    keys = [canonical_feature(n) for n in names]
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    x, y = pts[:, 0], pts[:, 1]
    if not keys:
        return np.empty((len(pts), 0), dtype=np.float64)
    return np.column_stack([_FEATURE_FUNCS[k](x, y) for k in keys]).astype(np.float64)
