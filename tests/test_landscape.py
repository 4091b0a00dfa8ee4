"""The (a, b) loss landscape of the one-neuron model and the optimizers' paths."""

from __future__ import annotations

import numpy as np
import pytest

from actcli import config
from actcli.errors import ConfigError
from actcli.inspection.landscape import compute
from actcli.tasks import TASKS

from helpers import CONFIGS


def bce(a, b, x, y):
    p = 1 / (1 + np.exp(-(a * x + b)))
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@pytest.fixture(scope="module")
def beans():
    cfg = config.load(CONFIGS / "beans.yaml")
    data = TASKS.get("beans").task.load(cfg.task)
    found = compute(cfg, steps=20, points=21)
    return found, data.train.x[:, 0].double().numpy(), data.train.y[:, 0].double().numpy()


def test_paths_start_together_and_losses_follow_the_formula(beans):
    found, x, y = beans
    starts = {(t.a[0], t.b[0]) for t in found.paths}
    assert len(starts) == 1 and len(found.paths) == 3
    for t in found.paths:
        for k in (0, 10, 20):
            assert t.loss[k] == pytest.approx(bce(t.a[k], t.b[k], x, y), rel=1e-5)


def test_first_sgd_step_is_minus_lr_times_the_gradient(beans):
    found, x, y = beans
    sgd = found.paths[0]
    p = 1 / (1 + np.exp(-(sgd.a[0] * x + sgd.b[0])))
    grad_a, grad_b = np.mean((p - y) * x), np.mean(p - y)  # d BCE / d(a, b)
    assert sgd.a[1] == pytest.approx(sgd.a[0] - found.lr * grad_a, rel=1e-5)
    assert sgd.b[1] == pytest.approx(sgd.b[0] - found.lr * grad_b, rel=1e-5)


def test_grid_is_the_loss_at_each_point(beans):
    found, x, y = beans
    for i, j in ((0, 0), (10, 5), (20, 20)):
        assert found.loss[i, j] == pytest.approx(bce(found.a[j], found.b[i], x, y), rel=1e-5)
    for t in found.paths:  # the grid covers every path
        assert found.a[0] <= t.a.min() and t.a.max() <= found.a[-1]
        assert found.b[0] <= t.b.min() and t.b.max() <= found.b[-1]


def test_needs_one_neuron():
    with pytest.raises(ConfigError, match="landscape needs a one-neuron model"):
        compute(config.load(CONFIGS / "beans.yaml", ["model.hidden=[3]"]))


def test_cli_writes_the_picture(invoke, tmp_path):
    result = invoke("landscape", CONFIGS / "rice_cooker.yaml", "--steps", "30",
                    "--out", tmp_path / "l.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"
    assert "sgd momentum 0.9" in result.stdout
    bad = invoke("landscape", CONFIGS / "rice_cooker.yaml", "--lr", "0")
    assert bad.exit_code == 2 and "--lr: must be > 0" in bad.stderr


def test_log_colour_bar_of_the_real_landscape_has_several_plain_ticks():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from actcli import plots

    found = compute(config.load(CONFIGS / "beans.yaml", ["optimizer.lr=0.5"]), steps=30,
                    points=21)
    positive = found.loss[found.loss > 0]
    assert positive.max() / positive.min() > 50  # drawn with log levels
    fig = plots.loss_landscape(found.a, found.b, found.loss,
                               [(t.name, t.a, t.b) for t in found.paths], "beans")
    FigureCanvasAgg(fig).draw()
    bar = fig.axes[-1]
    lo, hi = bar.get_ylim()
    ticks = [t for t in bar.get_yticks() if lo <= t <= hi]
    labels = [label.get_text() for label in bar.get_yticklabels()]
    assert len(ticks) >= 3
    assert [float(text) for text in labels] == pytest.approx(ticks, rel=1e-2)


# --- your own activation (#22): a one-neuron model has no hidden activation ----------------

@pytest.mark.parametrize("activation", [
    "x * tanh(softplus(x))",
    "{formula: 'x * sigmoid(beta * x)', params: {beta: 1.0}, trainable: [beta]}",
    "rational",
    "tests/data/user_activations.py:swish",
])
def test_a_config_with_its_own_activation_draws_the_same_landscape(activation, monkeypatch):
    from helpers import ROOT

    monkeypatch.chdir(ROOT)
    plain = compute(config.load(CONFIGS / "rice_cooker.yaml"), steps=5, points=5)
    mine = compute(config.load(CONFIGS / "rice_cooker.yaml", [f"model.activation={activation}"]),
                   steps=5, points=5)
    np.testing.assert_array_equal(mine.loss, plain.loss)
    for a, b in zip(mine.paths, plain.paths, strict=True):
        np.testing.assert_array_equal(a.a, b.a)


def test_cli_with_a_formula_activation(invoke, tmp_path):
    result = invoke("landscape", CONFIGS / "beans.yaml", "--set",
                    "model.activation=x*sigmoid(1.702*x)", "--steps", "3", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "landscape-beans.png").exists()
    bad = invoke("landscape", CONFIGS / "beans.yaml", "--set", "model.activation=x.real",
                 "--out", tmp_path)
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1
