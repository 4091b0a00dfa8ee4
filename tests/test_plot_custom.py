"""`actcli plot` with your own activation (#22): a formula, a Python reference or a mapping
wherever a name goes, and `actcli plot RUN_FOLDER`: a run's activations as training left
them beside where they started. References are torch's own functions, hand formulas and
the numbers in model.pt read with torch.load, never this code's earlier output."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from actcli import config as config_mod
from actcli.components import formula
from actcli.errors import ConfigError
from actcli.inspection import curves

from helpers import CONFIGS, ROOT

USER = ROOT / "tests" / "data" / "user_activations.py"
X = torch.linspace(-5, 5, 801, dtype=torch.float64)


def torch_curve(fn, x=X):
    """f and autograd f' of a torch function: the independent reference."""
    leaf = x.clone().requires_grad_(True)
    y = fn(leaf)
    (dy,) = torch.autograd.grad(y.sum(), leaf)
    return y.detach().numpy(), dy.numpy()


def only_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- a formula, a Python reference or a mapping where a name goes --------------------------

@pytest.mark.parametrize(("text", "builtin", "reference"), [
    ("x * tanh(softplus(x))", "mish", F.mish),
    ("x * sigmoid(x)", "silu", F.silu),
    ("max(x, 0)", "relu", torch.relu),
    ("x / (1 + abs(x))", "softsign", F.softsign),
    ("clamp(x, -1, 1)", "hardtanh", F.hardtanh),
])
def test_a_formula_equal_to_a_builtin_plots_on_top_of_it(text, builtin, reference):
    mine, twin = curves.evaluate(text, -5, 5), curves.evaluate(builtin, -5, 5)
    y, dy = torch_curve(reference)
    np.testing.assert_allclose(mine.y, y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine.y, twin.y, rtol=1e-12, atol=1e-12)
    keep = np.abs(mine.x) > 1e-9 if builtin in ("relu", "hardtanh") else slice(None)
    if builtin == "hardtanh":  # the kinks at -1 and 1 are on the grid: off them
        keep = keep & (np.abs(np.abs(mine.x) - 1) > 1e-9)
    np.testing.assert_allclose(mine.dy[keep], dy[keep], rtol=1e-10, atol=1e-12)
    assert mine.label == text


def test_every_form_model_activation_takes_is_drawn_by_its_torch_function():
    x = X
    cases = {
        "x * sigmoid(1.702 * x)": lambda t: t * torch.sigmoid(1.702 * t),
        f"{USER}:swish": lambda t: t * torch.sigmoid(t),
        f"{USER}:ShiftedRelu": lambda t: torch.relu(t - 0.5) + 0.5,
    }
    for value, fn in cases.items():
        found = curves.evaluate(value, -5, 5)
        y, dy = torch_curve(fn)
        np.testing.assert_allclose(found.y, y, rtol=1e-12, atol=1e-12)
        keep = np.abs(x.numpy() - 0.5) > 1e-9  # ShiftedRelu's kink
        np.testing.assert_allclose(found.dy[keep], dy[keep], rtol=1e-10, atol=1e-12)
    mapping = curves.evaluate({"formula": "x * sigmoid(beta * x)", "params": {"beta": 2.0}},
                              -5, 5)
    np.testing.assert_allclose(mapping.y, torch_curve(lambda t: t * torch.sigmoid(2 * t))[0],
                               rtol=1e-12, atol=1e-12)
    assert mapping.label == "x * sigmoid(beta * x) [beta=2]"
    leaky = curves.evaluate({"name": "leaky_relu", "negative_slope": 0.1}, -5, 5)
    y, dy = torch_curve(lambda t: F.leaky_relu(t, 0.1))
    np.testing.assert_allclose(leaky.y, y, atol=1e-15)
    np.testing.assert_allclose(leaky.dy_analytic, dy, atol=1e-15)  # the textbook one
    assert leaky.label == "leaky_relu(negative_slope=0.1)"
    assert curves.evaluate("leaky_relu", -1, 1).label == "leaky_relu"  # defaults unsaid
    assert curves.evaluate("swish", -1, 1).label == "silu"  # an alias: the registry name


def test_a_formula_derivative_is_autograd_and_sympy_agrees_with_the_hand_formula():
    found = curves.evaluate("x * sigmoid(1.702 * x)", -5, 5)
    s = 1 / (1 + np.exp(-1.702 * found.x))
    by_hand = s + 1.702 * found.x * s * (1 - s)
    np.testing.assert_allclose(found.dy, by_hand, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(found.dy_analytic, by_hand, rtol=1e-12, atol=1e-14)
    constant = curves.evaluate("2 * x", -1, 1)  # sympy says 2: no x in it
    assert np.all(constant.dy_analytic == 2) and np.all(constant.dy == 2)
    python = curves.evaluate(f"{USER}:swish", -1, 1)
    assert python.dy_analytic is None  # Python code has no formula to differentiate


def test_labels_are_as_written_and_shortened_in_legends(tmp_path):
    from actcli import plots

    long = "x * sigmoid(x) + 0.1 * tanh(x) + 0.01 * sin(x) + 0.001 * erf(x)"
    found = curves.evaluate(long, -1, 1)
    assert len(found.label) == 40 and found.label.endswith("…")
    assert found.label[:-1] == long[:39]
    fig = plots.activation_curves([curves.evaluate("x*sigmoid(1.702*x)", -1, 1), found],
                                  grad=False)
    shown = [t.get_text() for t in fig.legends[0].get_texts()]
    assert shown == ["x*sigmoid(1.702*x)", found.label]
    ref = curves.choose(f"{USER}:swish")
    assert ref.label.endswith("user_activations.py:swish") and len(ref.label) <= 40


def test_plot_a_formula_prints_its_symbolic_derivative(invoke, tmp_path):
    result = invoke("plot", "x * sigmoid(1.702 * x)", "--grad", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    (line,) = [li for li in lines if li.startswith("d/dx ")]
    head, derivative = line.split(" = ", 1)
    assert head == "d/dx x * sigmoid(1.702 * x)"
    d = formula.parse(derivative)  # a formula again, equal to the hand derivative
    x = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64)
    s = torch.sigmoid(1.702 * x)
    torch.testing.assert_close(d(x), s + 1.702 * x * s * (1 - s))
    path = tmp_path / lines[-1].rsplit("/", 1)[-1]
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert " " not in path.name and "*" not in path.name and path.name.endswith("-grad.png")
    again = invoke("plot", "x*sigmoid(1.702*x)", "--out", tmp_path)  # stable, distinct names
    other = invoke("plot", "x*sigmoid(1.7*x)", "--out", tmp_path)
    assert again.stdout.strip() != other.stdout.strip()
    assert invoke("plot", "x*sigmoid(1.702*x)", "--out", tmp_path).stdout == again.stdout


def test_plot_points_of_a_name_and_a_formula_by_hand(invoke, tmp_path):
    result = invoke("plot", "gelu", "x*sigmoid(1.702*x)", "--grad", "--points", "-1,0,1",
                    "--out", tmp_path)
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    gelu1 = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # gelu(1) = Phi(1)
    s = 1 / (1 + math.exp(-1.702))
    assert f"gelu 1 {gelu1:.10g}" in " ".join(lines)
    row = next(line for line in lines if line.startswith("x*sigmoid(1.702*x) 1 "))
    value, autograd, symbolic = (float(v) for v in row.split()[2:5])
    assert value == pytest.approx(s, rel=1e-9)
    assert autograd == pytest.approx(s + 1.702 * s * (1 - s), rel=1e-9)
    assert symbolic == pytest.approx(autograd, rel=1e-9)
    assert "x*sigmoid(1.702*x) 0 0 0.5 0.5" in lines
    assert "x*sigmoid(1.702*x): max |autograd - formula| derivative gap" in result.stdout


def test_plot_a_python_function_and_a_mapping(invoke, tmp_path):
    result = invoke("plot", f"{USER}:swish", "{name: leaky_relu, negative_slope: 0.1}",
                    "--points", "-1", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    s = 1 / (1 + math.exp(1))
    assert any(line.endswith(f"-1 {-s:.10g} {s * (1 - 1 * (1 - s)):.10g} -") for line in lines)
    assert "leaky_relu(negative_slope=0.1) -1 -0.1 0.1 0.1" in lines


@pytest.mark.parametrize(("args", "message"), [
    (["__import__('os').system('ls')"], "error: formula "),
    (["x.__class__"], "error: formula 'x.__class__': "),
    (["x**x**x**x**x**99"], "error: formula 'x**x**x**x**x**99': a power inside an exponent"),
    (["x + " * 25_000 + "x"], "error: formula 'x + x + x"),
    (["x/" * 50_000 + "x"], "error: formula 'x/x/x/x"),
    (["x * nosuch(x)"], "error: formula 'x * nosuch(x)': "),
    (["relu", "softmax"], "error: softmax is drawn on its own"),
    ([f"{USER}:nothing"], "error: python "),
    (["{name: leaky_relu, slope: 1}"], "error: leaky_relu has no option 'slope'"),
])
def test_a_bad_activation_is_one_line_exit_2_and_no_picture(invoke, tmp_path, args, message):
    result = invoke("plot", *args, "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert only_line(result.stderr).startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_formula_is_a_config_error():
    with pytest.raises(ConfigError):
        curves.evaluate("x +* 1", -1, 1)


# --- actcli plot RUN_FOLDER -----------------------------------------------------------------

ACTS = ("[swish_beta, {formula: 'x * sigmoid(b * x)', params: {b: 1.0}, trainable: [b], "
        "per_unit: true}, relu]")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from actcli.training import driver

    cfg = config_mod.load(CONFIGS / "beans.yaml", [
        "train.epochs=40", "model.hidden=[6,5,4]", f"model.activation={ACTS}",
        "optimizer.lr=0.5"])
    return driver.run(cfg, tmp_path_factory.mktemp("learned"), figures=False).path


def test_a_runs_activations_at_the_end_are_model_pt_s_and_at_the_start_the_seeds(run):
    state = torch.load(run / "model.pt", weights_only=True)
    beta = float(state["layers.1.beta"])
    b = state["layers.3.b"].double()  # one b per unit of layer 2
    assert b.shape == (5,) and float(b.std()) > 1e-4  # the units learned apart
    found = curves.run_activations(curves.load_run(run), -4, 4, points=81)
    x = found.x.double()

    def close(mine, expected):  # the network computes in float32
        torch.testing.assert_close(mine.double(), expected, rtol=1e-5, atol=1e-6)

    first, second, third = found.layers
    assert (first.k, first.text, first.learned) == (1, "swish_beta", True)
    close(first.start[:, 0], x * torch.sigmoid(x))
    close(first.end[:, 0], x * torch.sigmoid(beta * x))
    assert second.end.shape == (81, 5)
    close(second.end, x[:, None] * torch.sigmoid(b * x[:, None]))
    close(second.start, (x * torch.sigmoid(x))[:, None].expand(81, 5))
    s = torch.sigmoid(b * x[:, None])
    close(second.d_end, s + b * x[:, None] * s * (1 - s))
    assert (third.text, third.learned) == ("relu", False)
    assert torch.equal(third.start, third.end) and torch.equal(third.end[:, 0], torch.relu(found.x))
    # the start is where training started: what the run itself recorded then
    recorded = json.loads((run / "summary.json").read_text())["learned_activations"]
    assert first.values_start == recorded["start"]["layer1"]
    assert second.values_start == recorded["start"]["layer2"]
    assert first.values_end == pytest.approx(recorded["end"]["layer1"])
    assert second.values_end["b"] == pytest.approx(recorded["end"]["layer2"]["b"])


def test_the_run_figure_has_a_pair_per_learned_layer_and_fixed_ones_once(run):
    found = curves.run_activations(curves.load_run(run), -4, 4)
    fig = curves.run_figure(found, grad=True)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == ["layer 1: swish_beta", "layer 2: x * sigmoid(b * x)",
                          "layer 3: relu (fixed)"]
    assert "dashed: at the start (untrained)" in labels
    assert "thin: each unit; bold: their mean" in labels
    value, slope = fig.axes[0], fig.axes[1]
    data = [line for line in value.lines if line.get_transform() == value.transData]
    assert len(data) == 2 + 2 + 1  # start and end of two learned layers, relu once
    assert len(value.collections) == 1 and len(value.collections[0].get_segments()) == 5
    mean = data[3].get_ydata()  # layer 2 at the end: the mean over its units
    np.testing.assert_allclose(mean, found.layers[1].end.double().mean(dim=1).numpy())
    assert len(slope.lines) == len(value.lines)


def test_plot_run_folder_through_the_cli(run, invoke, tmp_path):
    result = invoke("plot", run, "--grad", "--points", "0,1", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.strip().splitlines()[-1] == str(tmp_path / f"activations-{run.name}-grad.png")
    assert (tmp_path / f"activations-{run.name}-grad.png").read_bytes()[:4] == b"\x89PNG"
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "layer 3: relu 1 1 1 1 1" in lines and "layer 3: relu 0 0 0 0 0" in lines
    assert any(line.startswith("layer 2: x * sigmoid(b * x) * 1 0.731059 ") for line in lines)
    assert "learned activation parameters" in out
    beta = float(torch.load(run / "model.pt", weights_only=True)["layers.1.beta"])
    assert f"layer 1: swish_beta beta 1 {beta:.4g}" in lines
    assert "5 values, all 1" in out


def test_plot_run_folder_refusals_are_one_line(run, invoke, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished)
    (unfinished / "model.pt").unlink()
    cases = [
        ([unfinished], f"error: {unfinished}: no model.pt (run status: completed)"),
        ([tmp_path], f"error: {tmp_path}: not a run folder (no summary.json)"),
        ([run, "relu"], "error: a run folder is drawn on its own"),
        ([run, "--analytic"], "error: --analytic draws the textbook derivative"),
        ([tmp_path / "nothing"], f"error: {tmp_path / 'nothing'}: no such run folder"),
    ]
    compare = tmp_path / "a-compare"
    compare.mkdir()
    (compare / "plan.json").write_text("{}")
    cases.append(([compare], f"error: {compare}: a compare folder, not a run"))
    for args, message in cases:
        result = invoke("plot", *args, "--out", tmp_path / "pictures")
        assert result.exit_code == 2, (args, result.output)
        assert only_line(result.stderr).startswith(message), result.stderr
    assert not (tmp_path / "pictures").exists()


def test_a_folder_named_like_an_activation_does_not_hide_it(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relu").mkdir()
    result = invoke("plot", "relu", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "relu.png").exists()


def test_a_run_without_hidden_layers_has_no_activation_to_draw(invoke, tmp_path):
    from actcli.training import driver

    cfg = config_mod.load(CONFIGS / "beans.yaml", ["train.epochs=2", "model.hidden=[]"])
    path = driver.run(cfg, tmp_path, figures=False).path
    result = invoke("plot", path, "--out", tmp_path)
    assert result.exit_code == 2
    assert only_line(result.stderr) == (f"error: {path}: its network has no hidden layers, so "
                                        "no hidden activation to draw (its output is sigmoid)")
