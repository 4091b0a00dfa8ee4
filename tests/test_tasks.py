"""Task data against the task definitions, and the threshold crossing."""

from __future__ import annotations

import pytest
import torch

from actcli import config
from actcli.tasks import TASKS
from actcli.tasks.base import Scaling, crossing


def load(*overrides):
    cfg = config.load(None, list(overrides))
    return TASKS.get(cfg.task.name).task.load(cfg.task), cfg


def test_rice_cooker_temperatures_and_labels():
    data, _ = load()
    raw, labels = data.context["raw"], data.context["labels"]
    assert len(raw) == 2001 and raw[0] == 0 and raw[-1] == pytest.approx(200)
    assert raw[1300].item() == pytest.approx(130.0)
    # 130.1 ... 200.0 are above the switch: 700 temperatures
    assert int(labels.sum()) == 700 and labels[1300] == 0 and labels[1301] == 1
    assert len(data.train) == len(data.test) == 2001  # the classic: the full set


def test_rice_cooker_standard_scaling():
    data, _ = load()
    x = data.train.x[:, 0].double()
    assert x.mean().item() == pytest.approx(0, abs=1e-6)
    assert x.std().item() == pytest.approx(1, abs=1e-6)
    shift = data.info["input_scaling"]["shift"]
    assert shift == pytest.approx(100.0)


def test_minmax_and_none_scaling():
    data, _ = load("task.scale=minmax")
    assert data.train.x.min() == 0 and data.train.x.max() == 1
    data, _ = load("task.scale=none")
    assert data.train.x.max().item() == pytest.approx(200)


def test_rice_cooker_options():
    data, _ = load("task.threshold=50", "task.t_max=100", "task.step=0.5")
    assert len(data.context["raw"]) == 201
    assert int(data.context["labels"].sum()) == 100  # 50.5 ... 100


def test_beans_follow_the_rule_outside_the_noise_band():
    data, cfg = load("task=beans")
    x, toxic = data.context["raw"], data.context["labels"].bool()
    assert len(x) == 1000 and ((x >= 0) & (x < 1)).all()
    # the jitter moves the score by at most 0.01: outside that band the label is certain
    assert not toxic[0.7 * x + 0.5 < 0.8 - 0.01].any()
    assert toxic[0.7 * x + 0.5 > 0.8 + 0.01].all()
    assert len(data.train) == 800 and len(data.test) == 200


def test_beans_noise_zero_is_the_exact_rule():
    data, _ = load("task=beans", "task.noise=0")
    x, toxic = data.context["raw"], data.context["labels"].bool()
    assert torch.equal(toxic, 0.7 * x + 0.5 > 0.8)


def test_beans_split_is_disjoint_and_seeded():
    a, _ = load("task=beans")
    b, _ = load("task=beans")
    c, _ = load("task=beans", "task.seed=1")
    assert torch.equal(a.train.x, b.train.x)
    assert not torch.equal(a.train.x, c.train.x)
    assert len(set(a.train.x[:, 0].tolist()) & set(a.test.x[:, 0].tolist())) == 0


def test_crossing_interpolates_linearly():
    x = torch.tensor([0.0, 1.0, 2.0, 3.0])
    assert crossing(x, torch.tensor([0.0, 0.2, 0.8, 1.0])) == pytest.approx(1.5)
    assert crossing(x, torch.tensor([0.0, 0.5, 0.8, 1.0])) == pytest.approx(1.0)
    assert crossing(x, torch.tensor([0.1, 0.2, 0.3, 0.4])) is None


def test_crossing_of_a_sigmoid_is_minus_b_over_a():
    t = torch.linspace(0, 200, 20001, dtype=torch.float64)
    assert crossing(t, torch.sigmoid(0.3 * t - 39.0)) == pytest.approx(130.0, abs=1e-6)


def test_scaling_maps_back():
    s = Scaling.fit(torch.tensor([0.0, 10.0]), "minmax")
    assert s(torch.tensor([5.0])).item() == 0.5
