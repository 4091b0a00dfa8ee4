"""actcli summary: layer rows and parameter counts against counts worked out by hand."""

from __future__ import annotations

import pytest

from actcli import config
from actcli.inspection.summary import summarize

from helpers import CONFIGS, ROOT


def test_mlp_counts():
    found = summarize(config.load(CONFIGS / "fashion_mnist.yaml", ["model.dropout=0.2"]))
    # 784*256 + 256, 256*128 + 128, 128*10 + 10
    assert found.total == found.trainable == 200_960 + 32_896 + 1_290
    linears = [r for r in found.rows if r.layer.startswith("Linear")]
    assert [r.parameters for r in linears] == [200_960, 32_896, 1_290]
    assert [r.output_shape for r in linears] == [(256,), (128,), (10,)]
    assert any(r.note == "dropout p=0.2" for r in found.rows)


def test_cnn_shapes_and_counts():
    found = summarize(config.load(CONFIGS / "fashion_mnist_cnn.yaml"))
    rows = {r.layer: r for r in found.rows}
    assert rows["Conv2d(1 -> 32, 3x3)"].parameters == 1 * 32 * 9 + 32
    assert rows["Conv2d(32 -> 64, 3x3)"].parameters == 32 * 64 * 9 + 64
    assert rows["Conv2d(32 -> 64, 3x3)"].output_shape == (64, 14, 14)
    assert rows["Flatten"].output_shape == (64 * 7 * 7,)
    assert rows["Linear(3136 -> 128)"].parameters == 3136 * 128 + 128
    assert found.total == 320 + 18_496 + 401_536 + 1_290
    assert rows["Conv2d(1 -> 32, 3x3)"].note == "init kaiming_uniform"


def test_one_neuron_and_batch_norm():
    found = summarize(config.load(CONFIGS / "rice_cooker.yaml"))
    assert found.total == 2 and found.rows[-1].layer == "output: sigmoid"
    found = summarize(config.load(CONFIGS / "beans.yaml", ["model.hidden=[4]",
                                                           "model.batch_norm=true"]))
    assert found.total == (1 * 4 + 4) + (4 + 4) + (4 + 1)  # linear, batch norm (2 per unit), out
    assert [r.note for r in found.rows][:3] == ["init xavier_uniform", "batch norm", "activation"]


def test_cli(invoke):
    result = invoke("summary", CONFIGS / "fashion_mnist_cnn.yaml")
    assert result.exit_code == 0
    assert "total parameters: 421,642 (trainable 421,642)" in result.stdout
    bad = invoke("summary", CONFIGS / "beans.yaml", "--set", "model.kind=cnn")
    assert bad.exit_code == 2 and "cnn needs image input" in bad.stderr


# --- your own activation (#22): shown as the config names it, learned parameters counted ---

USER = ROOT / "tests" / "data" / "user_activations.py"
TRAINABLE = ("{formula: 'x * sigmoid(beta * x)', params: {beta: 1.0}, trainable: [beta], "
             "per_unit: true}")


def _activation_rows(found):
    return [(r.layer, r.output_shape, r.parameters, r.note) for r in found.rows
            if r.note.startswith("activation")]


@pytest.mark.parametrize(("activation", "shown", "learned"), [
    ("x * tanh(softplus(x))", "x * tanh(softplus(x))", (0, 0)),
    (TRAINABLE, "x * sigmoid(beta * x)", (4, 3)),  # one beta per unit
    ("rational", "rational", (10, 10)),  # a0..a5, b1..b4 in each layer
    ("swish_beta", "swish_beta", (1, 1)),
    # past 40 characters a reference keeps its end: the file's name and the function
    (f"{USER}:ShiftedRelu", "user_activations.py:ShiftedRelu", (1, 1)),
    (f"{USER}:swish", "tests/data/user_activations.py:swish", (0, 0)),
    ("{name: leaky_relu, negative_slope: 0.1}", "leaky_relu(negative_slope=0.1)", (0, 0)),
    ("leaky_relu", "leaky_relu", (0, 0)),  # default options are not repeated
])
def test_own_activations_are_shown_as_written_and_their_parameters_counted(
        activation, shown, learned, monkeypatch):
    monkeypatch.chdir(ROOT)  # a file's reference is shown relative to here
    found = summarize(config.load(CONFIGS / "beans.yaml", [
        "model.hidden=[4,3]", f"model.activation={activation}"]))
    notes = tuple("activation, learned" if n else "activation" for n in learned)
    assert _activation_rows(found) == [(shown, (4,), learned[0], notes[0]),
                                       (shown, (3,), learned[1], notes[1])]
    # Linear 1->4, 4->3, 3->1 by hand, plus what the activations learn
    assert found.total == found.trainable == (1 * 4 + 4) + (4 * 3 + 3) + (3 + 1) + sum(learned)


def test_summary_cli_shows_a_formula_and_a_long_one_shortened(invoke):
    result = invoke("summary", CONFIGS / "beans.yaml", "--set", "model.hidden=[2]", "--set",
                    f"model.activation={TRAINABLE}")
    assert result.exit_code == 0, result.output
    assert "x * sigmoid(beta * x)" in result.stdout and "activation, learned" in result.stdout
    assert "total parameters: 9 (trainable 9)" in result.stdout  # 4 + 2 betas + 3
    long = "x * sigmoid(x) + 0.1 * tanh(x) + 0.01 * sin(x) + 0.001 * erf(x)"
    found = summarize(config.load(CONFIGS / "beans.yaml", ["model.hidden=[2]",
                                                           f"model.activation={long}"]))
    (row,) = _activation_rows(found)
    assert row[0] == long[:39] + "…"
