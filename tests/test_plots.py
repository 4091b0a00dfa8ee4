"""Figures are pure: data in, Figure out; saving gives a real PNG."""

from __future__ import annotations

import numpy as np

from actcli import plots, runs

PNG = b"\x89PNG\r\n\x1a\n"


def test_learning_curves_has_loss_and_accuracy_panels(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "test_loss": 1.1 / e, "accuracy": 1 - 1 / e}
               for e in range(1, 11)]
    fig = plots.learning_curves(history, "t")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == 2
    path = runs.save_figure(fig, tmp_path / "c.png")
    assert path.read_bytes()[:8] == PNG


def test_fit_curve_draws_before_after_and_threshold():
    x = np.linspace(0, 1, 5)
    before = plots.Curve("before training", x, x * 0 + 0.5)
    after = plots.Curve("after training", x, x)
    fig = plots.fit_curve(x, (x > 0.5).astype(float), before, after, 0.5, "size")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert "before training" in labels and "after training" in labels
    assert ax.get_xlabel() == "size"


def test_activation_curves_with_grad_has_two_panels():
    x = np.linspace(-1, 1, 3)
    fig = plots.activation_curves([plots.Curve("relu", x, np.maximum(x, 0), (x > 0) * 1.0)],
                                  grad=True)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "derivative"


def test_softmax_stem_title_shows_the_sum():
    fig = plots.softmax_stem(np.array([1.0, 2.0]), np.array([0.25, 0.75]))
    assert "sum = 1.000000" in fig.axes[1].get_title()
