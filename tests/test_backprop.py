"""The classic 2-2-2 backprop example against its published hand-computed values."""

from __future__ import annotations

import pytest

from actcli.errors import ConfigError
from actcli.inspection import backprop

# worked out by hand in the classic step-by-step example (9 significant digits)
FORWARD = {"h1": (0.3775, 0.593269992), "h2": (0.3925, 0.596884378),
           "o1": (1.105905967, 0.75136507), "o2": (1.224921404, 0.772928465)}
GRADIENTS = {"w1": 0.000438568, "w2": 0.000877135, "w3": 0.000497713, "w4": 0.000995425,
             "w5": 0.082167041, "w6": 0.082667628, "w7": -0.022602540, "w8": -0.022740242}
UPDATED = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
           "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}


def test_forward_and_loss():
    found = backprop.compute()
    for unit in found.units:
        net, out = FORWARD[unit.name]
        assert unit.net == pytest.approx(net, abs=1e-9)
        assert unit.out == pytest.approx(out, abs=1e-9)
    assert found.loss == pytest.approx(0.298371109, abs=1e-9)


def test_chain_rule_autograd_and_step_match_the_hand_values():
    found = {g.name: g for g in backprop.compute().gradients}
    for name, expected in GRADIENTS.items():
        assert found[name].chain == pytest.approx(expected, abs=1e-9)
        assert found[name].autograd == pytest.approx(found[name].chain, abs=1e-15)
        assert found[name].updated == pytest.approx(UPDATED[name], abs=1e-8)
    w5 = found["w5"]  # the factors shown: -(t - out), out (1 - out), out_h1
    assert (w5.dE_dout, w5.dout_dnet, w5.dnet_dparam) == pytest.approx(
        (0.74136507, 0.186815602, 0.593269992), abs=1e-9)


def test_shared_bias_gradient_is_the_sum_over_units():
    found = {g.name: g for g in backprop.compute().gradients}
    delta_o1 = 0.74136507 * 0.186815602
    delta_o2 = -0.217071535 * 0.175510053
    assert found["b2"].chain == pytest.approx(delta_o1 + delta_o2, abs=1e-8)
    assert found["b2"].autograd == pytest.approx(found["b2"].chain, abs=1e-15)


def test_options_and_bad_counts():
    found = backprop.compute(lr=0.1, targets=(0.5, 0.5))
    assert found.lr == 0.1
    assert all(g.updated == pytest.approx(g.value - 0.1 * g.chain) for g in found.gradients)
    with pytest.raises(ConfigError, match="--hidden-weights: needs 4 numbers, got 3"):
        backprop.compute(hidden_weights=(0.1, 0.2, 0.3))


def test_cli_prints_the_tables(invoke):
    result = invoke("backprop")
    assert result.exit_code == 0
    assert "0.298371109" in result.stdout and "0.082167041" in result.stdout
    assert "0.358916480" in result.stdout
    bad = invoke("backprop", "--inputs", "a,b")
    assert bad.exit_code == 2
    assert "--inputs: 'a' is not a number; give numbers separated by commas" in bad.stderr


@pytest.mark.parametrize("columns", [80, 100, 200])
def test_the_tables_fit_the_terminal_without_wrapping_a_number(columns):
    from typer.testing import CliRunner

    from actcli.cli.main import app

    result = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, ["backprop"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    headers = {cell.strip() for line in lines if line.startswith("┃") for cell in line.split("┃")}
    # every column at every width: the chain rule's factors too
    assert {"value", "dE/dout", "dout/dnet", "dnet/dparam", "chain rule", "autograd",
            "after step"} <= headers
    w5 = " ".join(line for line in lines if line.startswith("│ w5"))
    # every number whole on its line: the textbook's dE/dw5 at 9 decimals, or 6 where that
    # keeps the gradients in one table
    assert ("0.082167 " if columns == 100 else "0.082167041") in w5
    assert "0.358916" in w5 and "0.741365" in w5  # after the step; dE/dout of w5


def test_at_80_columns_the_gradients_go_on_in_a_second_table():
    from typer.testing import CliRunner

    from actcli.cli.main import app

    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, ["backprop"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("│ w5")] == [
        "│ w5    │ 0.400000000 │ 0.741365070  │ 0.186815602 │ 0.593269992 │",
        "│ w5    │ 0.082167041  │ 0.082167041  │ 0.358916480 │"]
    assert "left out" not in result.stdout
