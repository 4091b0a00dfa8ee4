"""Warnings for combinations known to fail: named before training, never errors."""

from __future__ import annotations

import pytest

from actcli import config
from actcli.inspection.advice import warnings_for

from helpers import CONFIGS


def advice(*overrides):
    return warnings_for(config.load(CONFIGS / "beans.yaml", list(overrides)))


def test_shipped_configs_get_no_warning():
    for path in CONFIGS.glob("*.yaml"):
        assert warnings_for(config.load(path)) == [], path


@pytest.mark.parametrize("init", ["zeros", "ones", "{name: constant, value: 5}"])
def test_constant_init_with_hidden_units_warns_of_symmetry(init):
    (line,) = advice("model.hidden=[4]", f"model.init={init}")
    assert "stay identical" in line


def test_constant_init_on_one_neuron_is_fine():
    assert advice("model.init=zeros") == []


def test_kaiming_with_tanh_and_xavier_with_deep_relu():
    (line,) = advice("model.hidden=[8]", "model.activation=tanh", "model.init=kaiming_normal")
    assert "kaiming (He) init with tanh" in line
    (line,) = advice("model.hidden=[8, 8, 8]", "model.activation=relu",
                     "model.init=xavier_uniform")
    assert "xavier (Glorot) init with ReLU-like units in 3 layers" in line
    assert advice("model.hidden=[8]", "model.activation=relu", "model.init=xavier_uniform") == []


def test_the_cli_prints_a_warning_line_and_trains_anyway(invoke, tmp_path):
    result = invoke("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--out", tmp_path,
                    "--set", "model.hidden=[4]", "--set", "model.init=ones")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: model.init: ones gives every unit")
