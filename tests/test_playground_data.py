"""The Playground data sets: each checked against the definition in tensorflow/playground's
src/dataset.ts (or sklearn's make_moons), recomputed here independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actcli.tasks import playground_data as pd
from actcli.tasks.playground_data import (
    CLASSIFICATION,
    FEATURES,
    REGRESSION,
    SETS,
    canonical_feature,
    features,
    generate,
)

# which class the odd point goes to (the second class generated), as a 0/1 label
SECOND_CLASS = {"circle": 0.0, "gauss": 0.0, "spiral": 0.0, "moons": 1.0}


def test_names():
    assert SETS == CLASSIFICATION + REGRESSION
    assert set(SETS) == {"circle", "xor", "gauss", "spiral", "moons", "reg_plane", "reg_gauss"}
    assert pd.SPAN == 6.0
    assert len(FEATURES) == 7


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("count", [2, 3, 100, 101])
def test_shape_dtype_count(name, count):
    points, targets = generate(name, count, 0.2, seed=1)
    assert points.shape == (count, 2) and targets.shape == (count,)
    assert points.dtype == np.float64 and targets.dtype == np.float64
    assert np.isfinite(points).all() and np.isfinite(targets).all()
    if name in CLASSIFICATION:
        assert set(np.unique(targets)) <= {0.0, 1.0}
    else:
        assert targets.min() >= -1.0 and targets.max() <= 1.0


@pytest.mark.parametrize("name", ["gauss", "spiral", "moons", "circle"])
@pytest.mark.parametrize("count", [200, 201])
def test_class_balance(name, count):
    noise = 0.0 if name == "circle" else 0.5  # circle's labels come from the noisy point
    _, labels = generate(name, count, noise, seed=3)
    second = int(np.sum(labels == SECOND_CLASS[name]))
    assert second == count - count // 2
    assert len(labels) - second == count // 2


def test_xor_roughly_balanced():
    _, labels = generate("xor", 2000, 0.0, seed=4)
    assert 0.45 < labels.mean() < 0.55


def test_circle_rule():
    points, labels = generate("circle", 1000, 0.0, seed=5)
    r = np.hypot(points[:, 0], points[:, 1])
    inside = r < 2.5
    assert np.array_equal(labels == 1.0, inside)
    ring = r[~inside]
    assert ring.min() >= 3.5 and ring.max() <= 5.0
    assert r[inside].max() < 2.5
    assert r.max() > 4.9 and ring.min() < 3.6  # the ring is filled, not a thin shell


def test_circle_noise_moves_labels_not_points():
    points, labels = generate("circle", 1000, 0.5, seed=5)
    r = np.hypot(points[:, 0], points[:, 1])
    assert r.max() <= 5.0 and not ((r >= 2.5) & (r < 3.5)).any()  # same geometry
    flipped = labels != (r < 2.5)
    assert 0.05 < flipped.mean() < 0.6


def test_xor_rule():
    points, labels = generate("xor", 1000, 0.0, seed=6)
    x, y = points[:, 0], points[:, 1]
    expected = [1.0 if a * b >= 0 else 0.0 for a, b in zip(x, y, strict=True)]
    assert labels.tolist() == expected
    assert np.abs(points).min() >= 0.3 and np.abs(points).max() <= 5.3
    assert np.abs(points).min() < 0.35 and np.abs(points).max() > 5.25


def test_xor_noise_flips_some_labels():
    points, labels = generate("xor", 1000, 0.5, seed=6)
    assert np.abs(points).min() >= 0.3 and np.abs(points).max() <= 5.3
    clean = (points[:, 0] * points[:, 1] >= 0).astype(float)
    assert 0.02 < np.mean(labels != clean) < 0.5


def _class_stats(points, labels, label):
    cls = points[labels == label]
    return cls.mean(axis=0), cls.var(axis=0, ddof=1)


def test_gauss_means_and_variance_at_noise_0():
    points, labels = generate("gauss", 4000, 0.0, seed=7)
    for label, centre in ((1.0, 2.0), (0.0, -2.0)):
        mean, var = _class_stats(points, labels, label)
        assert np.allclose(mean, centre, atol=0.07)
        assert np.allclose(var, 0.5, rtol=0.1)  # the variance scale's 0.5 at noise 0


@pytest.mark.parametrize(("noise", "variance"), [(0.25, 2.25), (0.5, 4.0)])
def test_gauss_variance_grows_with_noise(noise, variance):
    points, labels = generate("gauss", 4000, noise, seed=8)
    for label, centre in ((1.0, 2.0), (0.0, -2.0)):
        mean, var = _class_stats(points, labels, label)
        assert np.allclose(mean, centre, atol=0.2)
        assert np.allclose(var, variance, rtol=0.1)  # d3 scale [0, .5] -> [0.5, 4]


def test_gauss_tails_bounded_for_this_seed():
    points, labels = generate("gauss", 2000, 0.5, seed=9)
    centre = np.where(labels[:, None] == 1.0, 2.0, -2.0)
    assert np.abs(points - centre).max() < 6 * 2.0  # 6 sd, sd = sqrt(4)


@pytest.mark.parametrize("count", [200, 201])
def test_spiral_radii_and_angles(count):
    points, labels = generate("spiral", count, 0.0, seed=10)
    for label, n, delta in ((1.0, count // 2, 0.0), (0.0, count - count // 2, math.pi)):
        arm = points[labels == label]
        r = np.hypot(arm[:, 0], arm[:, 1])
        expected = np.array([5 * i / n for i in range(n)])
        assert np.allclose(np.sort(r), expected, atol=1e-12)
        i = np.rint(r * n / 5)
        t = 1.75 * i / n * 2 * math.pi + delta
        assert np.allclose(arm[:, 0], r * np.sin(t), atol=1e-9)
        assert np.allclose(arm[:, 1], r * np.cos(t), atol=1e-9)


def test_spiral_noise_bounded_jitter():
    clean, clean_labels = generate("spiral", 400, 0.0, seed=11)
    noisy, labels = generate("spiral", 400, 0.4, seed=11)
    assert np.abs(noisy).max() <= 5 + 0.4
    # the same seed shuffles the same way: row k of both is the same spiral point
    assert np.array_equal(clean_labels, labels)
    jitter = np.abs(noisy - clean)
    assert jitter.max() <= 0.4 and jitter.max() > 0.35 and jitter.mean() > 0.1


def test_moons_definition_and_placement():
    count = 302  # 151 per moon: linspace hits s = pi / 2, where the extremes are
    points, labels = generate("moons", count, 0.0, seed=12)
    raw = points / 3 + np.array([0.5, 0.25])  # undo the documented shift-and-scale
    n = count // 2
    s = np.linspace(0, math.pi, n)
    outer = raw[labels == 0.0]
    inner = raw[labels == 1.0]
    expected_outer = sorted(zip(np.cos(s), np.sin(s), strict=True))
    expected_inner = sorted(zip(1 - np.cos(s), 1 - np.sin(s) - 0.5, strict=True))
    assert np.allclose(sorted(map(tuple, outer)), expected_outer, atol=1e-12)
    assert np.allclose(sorted(map(tuple, inner)), expected_inner, atol=1e-12)
    # centred at the origin, spanning [-4.5, 4.5] x [-2.25, 2.25]
    assert np.allclose(points.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(points.min(axis=0), [-4.5, -2.25])
    assert np.allclose(points.max(axis=0), [4.5, 2.25])


def test_moons_noise_is_sd_in_moons_units():
    clean, clean_labels = generate("moons", 4000, 0.0, seed=13)
    noisy, labels = generate("moons", 4000, 0.2, seed=13)
    assert np.array_equal(clean_labels, labels)  # same shuffle
    offsets = noisy - clean
    assert np.allclose(offsets.std(axis=0), 3 * 0.2, rtol=0.05)
    assert np.abs(offsets).max() < 6 * 3 * 0.2


def test_reg_plane_rule():
    points, targets = generate("reg_plane", 1200, 0.0, seed=14)
    expected = [min(1.0, max(-1.0, (x + y) / 10)) for x, y in points]
    assert np.allclose(targets, expected, rtol=0, atol=1e-15)
    assert np.abs(points).max() <= 6.0 and np.abs(points).max() > 5.9
    clipped = np.abs(points.sum(axis=1)) > 10
    assert clipped.any() and np.all(np.abs(targets[clipped]) == 1.0)


def test_reg_plane_noise():
    noise = 0.3
    points, targets = generate("reg_plane", 1200, noise, seed=15)
    clean = np.clip(points.sum(axis=1) / 10, -1, 1)
    diff = np.abs(targets - clean)
    assert np.mean(diff > 1e-9) > 0.95
    assert diff.max() <= 1.2 * noise + 1e-12  # two jitters of at most 6 * noise each, / 10
    assert targets.min() >= -1.0 and targets.max() <= 1.0


def _six_gaussians(x, y):
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    label = 0.0
    for cx, cy, sign in bumps:
        d = math.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        new = sign * min(1.0, max(0.0, 1 - d / 2))  # d3 domain [0, 2] -> [1, 0], clamped
        if abs(new) > abs(label):
            label = new
    return label


def test_reg_gauss_rule():
    points, targets = generate("reg_gauss", 1200, 0.0, seed=16)
    expected = [_six_gaussians(x, y) for x, y in points]
    assert np.allclose(targets, expected, rtol=0, atol=1e-12)
    assert np.abs(points).max() <= 6.0
    assert targets.max() > 0.9 and targets.min() < -0.9 and np.mean(targets == 0) > 0.2


def test_reg_gauss_noise():
    points, targets = generate("reg_gauss", 1200, 0.3, seed=16)
    clean = np.array([_six_gaussians(x, y) for x, y in points])
    assert np.mean(np.abs(targets - clean) > 1e-9) > 0.3


@pytest.mark.parametrize("name", SETS)
def test_determinism(name):
    a = generate(name, 101, 0.25, seed=42)
    b = generate(name, 101, 0.25, seed=42)
    c = generate(name, 101, 0.25, seed=43)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", ["spiral", "moons", "gauss", "circle"])
def test_rows_are_shuffled(name):
    _, labels = generate(name, 400, 0.0, seed=17)
    # generated class by class; after the shuffle both classes appear early and late
    assert 0.3 < labels[:200].mean() < 0.7 and 0.3 < labels[200:].mean() < 0.7


POINTS = np.array([[1.5, -2.0], [0.0, math.pi / 2]])


def test_features_by_hand():
    got = features(POINTS, FEATURES)
    expected = np.array([
        [1.5, -2.0, 2.25, 4.0, -3.0, math.sin(1.5), math.sin(-2.0)],
        [0.0, math.pi / 2, 0.0, math.pi ** 2 / 4, 0.0, 0.0, 1.0],
    ])
    assert got.shape == (2, 7) and got.dtype == np.float64
    assert np.allclose(got, expected, rtol=0, atol=1e-15)


def test_features_order_and_aliases():
    got = features(POINTS, ["sin(x2)", "x1 * x2", "x2**2", "x1"])
    assert np.allclose(got[0], [math.sin(-2.0), -3.0, 4.0, 1.5])
    same = features(POINTS, ["sin( x2 )", "x1x2", "x2 ^ 2", " x1"])
    assert np.array_equal(got, same)
    assert features(POINTS, []).shape == (2, 0)


@pytest.mark.parametrize(("alias", "canonical"), [
    ("x1**2", "x1^2"), ("x2**2", "x2^2"), ("x1 * x2", "x1*x2"), ("x1x2", "x1*x2"),
    ("x1 ** 2", "x1^2"), ("sin (x1)", "sin(x1)"), ("x2", "x2"),
])
def test_canonical_feature(alias, canonical):
    assert canonical_feature(alias) == canonical


@pytest.mark.parametrize("bad", ["x3", "cos(x1)", "X1", "", "x1*x1"])
def test_unknown_feature(bad):
    with pytest.raises(ValueError) as info:
        canonical_feature(bad)
    message = str(info.value)
    assert repr(bad) in message and "\n" not in message
    assert all(f in message for f in FEATURES)
    with pytest.raises(ValueError, match="unknown feature"):
        features(POINTS, ["x1", bad])


def test_features_input_errors():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        features(np.zeros((3, 3)), ["x1"])
    with pytest.raises(ValueError, match="not the string"):
        features(POINTS, "x1")


def test_generate_errors():
    with pytest.raises(ValueError) as info:
        generate("spirals", 10, 0.0, 0)
    message = str(info.value)
    assert "'spirals'" in message and "\n" not in message
    assert all(name in message for name in SETS)
    for count in (1, 0, -5):
        with pytest.raises(ValueError, match=r"count must be an integer >= 2"):
            generate("xor", count, 0.0, 0)
    with pytest.raises(ValueError, match="count"):
        generate("xor", 10.0, 0.0, 0)  # type: ignore[arg-type]
    for noise in (-0.01, 0.51, 50.0, float("nan")):
        with pytest.raises(ValueError, match=r"noise must be in \[0, 0.5\]"):
            generate("circle", 10, noise, 0)
    generate("circle", 10, 0.5, 0)  # the ends are allowed
    generate("circle", 10, 0.0, 0)
