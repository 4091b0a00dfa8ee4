"""The Playground's 2-D sets as tasks: config, split and standardisation, the decision map
and the unit maps against the network computed by hand, what the Playground teaches,
regression scored by R², the run folder, predict, eval, compare, --smoke."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from actcli import config
from actcli.engine import model as model_mod
from actcli.inspection import predict
from actcli.inspection.evaluate import evaluate_run
from actcli.sweep import compare
from actcli.tasks import TASKS
from actcli.tasks import playground_data as pd
from actcli.training import driver
from actcli.training.parts import prepare

from helpers import write

PNG = b"\x89PNG\r\n\x1a\n"
SETS = ("circle", "xor", "gauss", "spiral", "moons", "reg_plane", "reg_gauss")


def features_by_hand(points: np.ndarray, names) -> np.ndarray:
    """The Playground's seven inputs written out, in the order ``names`` gives."""
    x, y = points[:, 0], points[:, 1]
    table = {"x1": x, "x2": y, "x1^2": x * x, "x2^2": y * y, "x1*x2": x * y,
             "sin(x1)": np.sin(x), "sin(x2)": np.sin(y)}
    return np.stack([table[n] for n in names], axis=1)


def split_by_hand(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): a seeded permutation, the first share held out."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_test = round(n * test_fraction)
    return order[n_test:], order[:n_test]


def forward_by_hand(state: dict, x: torch.Tensor, activation=torch.tanh,
                    output=torch.sigmoid) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """An MLP's output and hidden outputs from its state dict (layers.0, .2, ... Linear)."""
    keys = sorted({int(k.split(".")[1]) for k in state if k.endswith(".weight")})
    h, hidden = x.double(), []
    for n, i in enumerate(keys):
        h = h @ state[f"layers.{i}.weight"].double().T + state[f"layers.{i}.bias"].double()
        if n < len(keys) - 1:
            h = activation(h)
            hidden.append(h)
    return output(h), hidden


def summary_of(run):
    return json.loads((run / "summary.json").read_text())


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, lines
    return lines[0]


def plane_yaml(tmp_path, task: str, extra: str = "", name: str = "plane.yaml"):
    return write(tmp_path / name, f"task: {{name: {task}, count: 120}}\n{extra}")


# --- a trained classification run shared by several tests ------------------------------------

@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    """xor, hidden [4, 3] tanh, 3 features; what decision.png and units.png were drawn
    from is kept (the plots' inputs, captured on the way)."""
    from actcli import plots

    drawn: dict[str, object] = {}
    real_map, real_units = plots.decision_map, plots.unit_maps

    def decision_map(grid, values, *args, **kwargs):
        drawn["decision"] = (grid, np.array(values))
        return real_map(grid, values, *args, **kwargs)

    def unit_maps(grid, layers, **kwargs):
        drawn["units"] = (grid, [np.array(layer) for layer in layers])
        return real_units(grid, layers, **kwargs)

    cfg = config.load(None, ["task.name=xor", "task.count=160", "task.noise=0.1",
                             "task.features=[x1, x2, x1*x2]", "model.hidden=[4,3]",
                             "model.activation=tanh", "optimizer={name: adam, lr: 0.05}",
                             "train.epochs=60"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "decision_map", decision_map)
        patch.setattr(plots, "unit_maps", unit_maps)
        result = driver.run(cfg, tmp_path_factory.mktemp("xor"))
    assert result.status == "completed"
    return result.path, cfg, drawn


# --- config ---------------------------------------------------------------------------------

def test_an_unknown_feature_is_one_line_listing_the_allowed(invoke, tmp_path):
    path = plane_yaml(tmp_path, "circle", "model: {hidden: [2]}\n")
    result = invoke("train", path, "--set", "task.features=[x1, x3]", "--out", tmp_path / "r")
    line = one_line(result)
    assert "task.features" in line and "x3" in line
    assert all(name in line for name in pd.FEATURES)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("features", ["[x1, x1]", "[x1^2, x1**2]", "[x1*x2, x1x2, x2]"])
def test_a_feature_given_twice_is_one_line_exit_2(invoke, tmp_path, features):
    path = plane_yaml(tmp_path, "circle")
    result = invoke("train", path, "--set", f"task.features={features}", "--out", tmp_path / "r")
    assert "twice" in one_line(result)
    assert not (tmp_path / "r").exists()


def test_aliases_are_recorded_canonically_and_set_the_input_width(invoke, tmp_path):
    path = plane_yaml(tmp_path, "circle", "model: {hidden: [5]}\ntrain: {epochs: 2}\n")
    result = invoke("train", path, "--set", 'task.features=["x1**2", "x2 ** 2", x1x2]',
                    "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    recorded = config.load(run / "config.yaml")
    assert list(recorded.task.features) == ["x1^2", "x2^2", "x1*x2"]
    assert "x1**2" not in (run / "config.yaml").read_text()
    assert summary_of(run)["data"]["input_standardize"]["features"] == ["x1^2", "x2^2", "x1*x2"]
    state = torch.load(run / "model.pt", weights_only=True)
    assert tuple(state["layers.0.weight"].shape) == (5, 3)


@pytest.mark.parametrize("features", [["x2"], ["sin(x1)", "x1"], list(pd.FEATURES)])
def test_the_network_takes_one_input_per_feature(features):
    cfg = config.load(None, ["task.name=spiral", "task.count=50", "model.hidden=[]",
                             f"task.features={json.dumps(features)}"])
    p = prepare(cfg)
    assert tuple(p.parts.net.layers[0].weight.shape) == (1, len(features))
    assert tuple(p.train.x.shape) == (50 - round(50 * 0.5), len(features))


# --- split and standardisation ---------------------------------------------------------------

@pytest.mark.parametrize(("task", "count", "test_fraction", "noise", "seed"), [
    ("moons", 150, 0.3, 0.2, 4), ("reg_gauss", 101, 0.25, 0.1, 0), ("circle", 90, 0.5, 0.0, 7)])
def test_the_standardisation_is_the_training_splits_mean_and_std(task, count, test_fraction,
                                                                 noise, seed):
    names = list(pd.FEATURES)
    cfg = config.load(None, [f"task.name={task}", f"task.count={count}", f"task.noise={noise}",
                             f"task.test_fraction={test_fraction}", f"task.seed={seed}",
                             f"task.features={json.dumps(names)}", "model.output=identity",
                             "loss=mse"])
    points, targets = pd.generate(task, count, noise, seed)
    train, test = split_by_hand(count, test_fraction, seed)
    raw = features_by_hand(points, names)
    mean, std = raw[train].mean(axis=0), raw[train].std(axis=0)
    data = TASKS.get(task).task.load(cfg.task)
    recorded = data.info["input_standardize"]
    assert recorded["features"] == names
    np.testing.assert_allclose(recorded["mean"], mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(recorded["std"], std, rtol=1e-12)
    assert data.info["train_samples"] == len(train) and data.info["test_samples"] == len(test)
    # the splits are those points, standardised with those numbers
    np.testing.assert_allclose(data.train.x.numpy(), (raw[train] - mean) / std, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(data.test.x.numpy(), (raw[test] - mean) / std, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(data.train.y.numpy()[:, 0], targets[train], atol=1e-7)
    np.testing.assert_allclose(data.test.y.numpy()[:, 0], targets[test], atol=1e-7)
    # the test split does not take part: its own mean differs from what is recorded
    assert np.abs(raw[test].mean(axis=0) - mean).max() > 1e-3


def test_scale_none_feeds_the_raw_features():
    cfg = config.load(None, ["task.name=gauss", "task.count=60", "task.scale=none",
                             "task.features=[x1, x1^2]"])
    data = TASKS.get("gauss").task.load(cfg.task)
    assert data.info["input_standardize"]["mean"] == [0.0, 0.0]
    assert data.info["input_standardize"]["std"] == [1.0, 1.0]
    points, _ = pd.generate("gauss", 60, 0.0, 0)
    train, _ = split_by_hand(60, 0.5, 0)
    np.testing.assert_allclose(data.train.x.numpy(),
                               features_by_hand(points[train], ["x1", "x1^2"]), rtol=1e-6)


def test_the_recorded_standardisation_is_that_of_the_run(xor_run):
    run, cfg, _ = xor_run
    points, _ = pd.generate("xor", 160, 0.1, 0)
    train, _ = split_by_hand(160, 0.5, 0)
    raw = features_by_hand(points[train], ["x1", "x2", "x1*x2"])
    recorded = summary_of(run)["data"]["input_standardize"]
    np.testing.assert_allclose(recorded["mean"], raw.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(recorded["std"], raw.std(axis=0), rtol=1e-12)


# --- the decision map and the unit maps ------------------------------------------------------

def grid_inputs(xs, ys, recorded) -> tuple[torch.Tensor, np.ndarray]:
    """The network's inputs at every (xs[j], ys[i]), row i * len(xs) + j, by hand; and the
    points themselves."""
    plane = np.array([[x, y] for y in ys for x in xs])
    raw = features_by_hand(plane, recorded["features"])
    inputs = (raw - np.array(recorded["mean"])) / np.array(recorded["std"])
    return torch.from_numpy(inputs), plane


def test_the_decision_map_is_the_saved_model_over_the_grid(xor_run):
    run, cfg, drawn = xor_run
    state = torch.load(run / "model.pt", weights_only=True)
    recorded = summary_of(run)["data"]["input_standardize"]
    task = TASKS.get("xor").task
    data = task.load(cfg.task)
    loaded = predict.load(run)

    def model(x):
        with torch.inference_mode():
            return loaded.score(loaded.net(x))

    picture = task.picture(cfg.task, data, model)
    xs, ys, values = picture.xs, picture.ys, picture.values
    # the grid: the Playground's [-6, 6] at least, every point inside it, evenly spaced
    assert len(xs) == len(ys) == 80 and values.shape == (80, 80)
    assert xs[0] <= min(-6.0, picture.train_x[:, 0].min()) and xs[-1] >= 6.0
    np.testing.assert_allclose(np.diff(xs), np.full(79, xs[1] - xs[0]), rtol=1e-9)
    inputs, _ = grid_inputs(xs, ys, recorded)
    np.testing.assert_allclose(picture.inputs.double().numpy(), inputs.numpy(), rtol=1e-5,
                               atol=1e-5)
    out, _ = forward_by_hand(state, inputs)
    want = out[:, 0].numpy().reshape(80, 80)
    np.testing.assert_allclose(values, want, rtol=0, atol=1e-6)
    # orientation: values[i, j] is the output at x1 = xs[j], x2 = ys[i]
    for i, j in [(0, 79), (79, 0), (10, 60), (55, 3)]:
        point = np.array([[xs[j], ys[i]]])
        x = (features_by_hand(point, recorded["features"]) - recorded["mean"]) / recorded["std"]
        assert values[i, j] == pytest.approx(float(forward_by_hand(state, torch.from_numpy(x))
                                                   [0][0, 0]), abs=1e-6)
    assert np.abs(values - values.T).max() > 0.05  # a transposed map would not pass
    # decision.png was drawn from these values on this grid, and values() agrees
    grid, shown = drawn["decision"]
    np.testing.assert_array_equal(grid.xs, xs)
    np.testing.assert_allclose(shown, values, atol=1e-6)
    np.testing.assert_allclose(task.values(cfg.task, data, model), values, atol=1e-7)
    # the decision map shows the points: train and test split as drawn by hand
    points, targets = pd.generate("xor", 160, 0.1, 0)
    train, test = split_by_hand(160, 0.5, 0)
    np.testing.assert_array_equal(picture.train_x, points[train])
    np.testing.assert_array_equal(picture.test_y, targets[test])


def test_units_png_shows_each_hidden_units_output_over_the_grid(xor_run):
    run, _, drawn = xor_run
    state = torch.load(run / "model.pt", weights_only=True)
    recorded = summary_of(run)["data"]["input_standardize"]
    grid, layers = drawn["units"]
    inputs, _ = grid_inputs(grid.xs, grid.ys, recorded)
    _, hidden = forward_by_hand(state, inputs)
    assert [layer.shape for layer in layers] == [(4, 80, 80), (3, 80, 80)]
    for layer, h in zip(layers, hidden, strict=True):
        # unit u's map [i, j] is its output at (xs[j], ys[i])
        want = h.numpy().T.reshape(-1, 80, 80)
        np.testing.assert_allclose(layer, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("activation", "dropout", "batch_norm"), [
    ("tanh", 0.0, False), ("[tanh, relu]", 0.4, False), ("relu", 0.0, True)])
def test_hidden_outputs_are_linear_then_activation_by_hand(activation, dropout, batch_norm):
    cfg = config.load(None, ["task.name=circle", "model.hidden=[4,3]",
                             f"model.activation={activation}", f"model.dropout={dropout}",
                             f"model.batch_norm={str(batch_norm).lower()}"])
    torch.manual_seed(5)
    net = model_mod.build(cfg.model, (2,), 1)
    x = torch.randn(17, 2, generator=torch.Generator().manual_seed(1)) * 3
    acts = {"tanh": [torch.tanh] * 2, "[tanh, relu]": [torch.tanh, torch.relu],
            "relu": [torch.relu] * 2}[activation]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    if batch_norm:  # non-trivial running statistics, as after training
        for norm in norms:
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
    net.train()  # hidden_outputs must switch to eval itself (no dropout, running stats)
    got = model_mod.hidden_outputs(net, x)
    h, want = x, []
    for depth in range(2):
        with torch.no_grad():
            h = h @ linears[depth].weight.T + linears[depth].bias
            if batch_norm:
                norm = norms[depth]
                h = (h - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) \
                    * norm.weight + norm.bias
            h = acts[depth](h)
        want.append(h)
    assert [tuple(g.shape) for g in got] == [(17, 4), (17, 3)]
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-6)


# --- what the Playground teaches ---------------------------------------------------------------

def lesson(tmp_path, task, overrides, grid):
    base = config.load(None, [f"task.name={task}", "loss=bce", *overrides])
    found = compare.run(base=base, grid=grid, seeds=2, workers=1, out=tmp_path)
    assert not found.report.failures
    by_cell: dict[str, list[float]] = {}
    for r in found.results:
        assert r.status == "completed"
        by_cell.setdefault(r.cell.label, []).append(r.metrics["accuracy"])
    return found, by_cell


def test_the_spiral_needs_a_nonlinear_activation(tmp_path):
    # measured (spiral, 1000 points, half held out; [8, 8], adam lr 0.01, 1200 full-batch
    # epochs), seeds 0-3: identity 0.64 every seed; relu 0.994-0.998; tanh 0.992-0.998
    found, acc = lesson(tmp_path, "spiral", ["task.count=1000", "model.hidden=[8,8]",
                                             "optimizer={name: adam, lr: 0.01}",
                                             "train.epochs=1200"],
                        {"model.activation": ["identity", "relu", "tanh"]})
    linear, relu, tanh = (acc[k] for k in acc)
    assert max(linear) < 0.7 and min(relu) > 0.9 and min(tanh) > 0.9, acc
    assert {r.stack for r in found.results} == {6}  # one stack of all six cells
    assert "decision_maps.png" in found.files
    assert (found.folder / "decision_maps.png").read_bytes()[:8] == PNG


def test_xor_needs_a_hidden_layer(tmp_path):
    # measured (xor, 400 points; tanh, adam lr 0.03, 1000 epochs), seeds 0-3: hidden []
    # 0.50 every seed (a line cannot split it); hidden [4] 0.965-0.985
    _, acc = lesson(tmp_path, "xor", ["task.count=400", "model.activation=tanh",
                                      "optimizer={name: adam, lr: 0.03}", "train.epochs=1000"],
                    {"model.hidden": [[], [4]]})
    none, four = acc.values()
    assert max(none) < 0.7 and min(four) > 0.9, acc


def test_the_circle_needs_squares_not_layers(tmp_path):
    # measured (circle, 200 points; hidden [], adam lr 0.05, 300 epochs), seeds 0-3:
    # features [x1, x2] 0.42 every seed; [x1^2, x2^2] 1.00 every seed
    _, acc = lesson(tmp_path, "circle", ["task.count=200", "model.hidden=[]",
                                         "optimizer={name: adam, lr: 0.05}", "train.epochs=300"],
                    {"task.features": [["x1", "x2"], ["x1^2", "x2^2"]]})
    plain, squares = acc.values()
    assert max(plain) < 0.7 and min(squares) > 0.95, acc


# --- regression ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plane_run(tmp_path_factory):
    cfg = config.load(None, ["task.name=reg_plane", "task.count=200", "task.noise=0.05",
                             "task.test_fraction=0.4", "task.seed=2", "model.hidden=[]",
                             "model.output=identity", "loss=mse",
                             "optimizer={name: adam, lr: 0.05}", "train.epochs=200"])
    result = driver.run(cfg, tmp_path_factory.mktemp("reg"))
    assert result.status == "completed"
    return result


def test_a_regression_is_scored_by_r2_computed_by_hand(plane_run):
    run = plane_run.path
    metrics = summary_of(run)["metrics"]
    assert set(metrics) == {"loss", "r2"} and plane_run.metrics["r2"] == metrics["r2"]
    assert metrics["r2"] > 0.95
    state = torch.load(run / "model.pt", weights_only=True)
    recorded = summary_of(run)["data"]["input_standardize"]
    points, targets = pd.generate("reg_plane", 200, 0.05, 2)
    _, test = split_by_hand(200, 0.4, 2)
    x = (features_by_hand(points[test], ["x1", "x2"]) - recorded["mean"]) / recorded["std"]
    w, b = state["layers.0.weight"].double().numpy(), state["layers.0.bias"].double().numpy()
    prediction = x @ w.T[:, 0] + b[0]
    y = targets[test]
    sse, sst = ((y - prediction) ** 2).sum(), ((y - y.mean()) ** 2).sum()
    assert metrics["r2"] == pytest.approx(1 - sse / sst, abs=1e-5)
    assert metrics["loss"] == pytest.approx(sse / len(y), rel=1e-4)


def test_a_regressions_metrics_have_r2_columns_and_no_accuracy(plane_run):
    with open(plane_run.path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header == ["epoch", "train_loss", "train_r2", "test_loss", "r2"]
    assert not any("accuracy" in name for name in header)
    assert float(rows[-1]["r2"]) == pytest.approx(summary_of(plane_run.path)["metrics"]["r2"],
                                                  abs=1e-6)
    assert float(rows[-1]["train_r2"]) > 0.9


def test_eval_and_predict_of_a_regression(plane_run, invoke):
    found = evaluate_run(plane_run.path)
    assert found["measured"]["r2"] == pytest.approx(found["recorded"]["r2"], abs=1e-7)
    state = torch.load(plane_run.path / "model.pt", weights_only=True)
    recorded = summary_of(plane_run.path)["data"]["input_standardize"]
    x = (np.array([1.5, -2.0]) - recorded["mean"]) / recorded["std"]
    want = float(x @ state["layers.0.weight"].double().numpy()[0] + float(state["layers.0.bias"]))
    (answer,) = predict.ask_rows(predict.load(plane_run.path), [{"x1": 1.5, "x2": -2.0}])
    assert answer.label is None and answer.value == pytest.approx(want, abs=1e-6)
    result = invoke("predict", plane_run.path, "--set", "x1=1.5", "--set", "x2=-2")
    assert result.exit_code == 0, result.output
    assert f"{want:.6g}" in result.stdout and "prediction" in result.stdout


@pytest.mark.parametrize(("override", "words"), [
    ("loss=bce", "regression"), ("loss=bce_with_logits", "regression"),
    ("loss=cross_entropy", "regression"), ("model.output=softmax", "softmax")])
def test_a_loss_or_output_for_classes_on_a_regression_is_one_line_exit_2(invoke, tmp_path,
                                                                         override, words):
    path = write(tmp_path / "reg.yaml", "task: {name: reg_gauss, count: 100}\n"
                 "model: {hidden: [], output: identity}\nloss: mse\n")
    result = invoke("train", path, "--set", override, "--out", tmp_path / "r")
    line = one_line(result)
    assert words in line
    assert not (tmp_path / "r").exists()


# --- the run folder ----------------------------------------------------------------------------

def test_decision_png_and_units_png_are_real_pngs(xor_run):
    run, _, _ = xor_run
    for name in ("decision.png", "units.png"):
        data = (run / name).read_bytes()
        assert data[:8] == PNG
        with Image.open(run / name) as image:
            image.load()
            assert image.format == "PNG" and min(image.size) > 100


def test_no_units_png_without_hidden_layers(plane_run):
    assert (plane_run.path / "decision.png").read_bytes()[:8] == PNG
    assert not (plane_run.path / "units.png").exists()


def test_animate_writes_a_decision_gif_of_several_frames(invoke, tmp_path):
    path = plane_yaml(tmp_path, "moons", "model: {hidden: [3]}\ntrain: {epochs: 12}\n")
    result = invoke("train", path, "--animate", "5", "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    assert not (run / "fit.gif").exists()
    with Image.open(run / "decision.gif") as gif:
        assert gif.format == "GIF"
        assert gif.n_frames > 1
        gif.seek(gif.n_frames - 1)  # every frame decodes
        gif.load()


# --- predict -------------------------------------------------------------------------------------

def test_predict_set_prints_the_models_own_class_and_probability(xor_run, invoke):
    run, _, _ = xor_run
    state = torch.load(run / "model.pt", weights_only=True)
    recorded = summary_of(run)["data"]["input_standardize"]
    x = (features_by_hand(np.array([[1.0, 2.0]]), recorded["features"]) - recorded["mean"]) \
        / recorded["std"]
    p = float(forward_by_hand(state, torch.from_numpy(x))[0][0, 0])
    label, probability = ("1", p) if p > 0.5 else ("0", 1 - p)
    (answer,) = predict.ask_rows(predict.load(run), [{"x1": 1.0, "x2": 2.0}])
    assert answer.label == label and answer.value == pytest.approx(probability, abs=1e-6)
    result = invoke("predict", run, "--set", "x1=1", "--set", "x2=2")
    assert result.exit_code == 0, result.output
    row = [line for line in result.stdout.splitlines() if re.search(r"\b1\b.*\b2\b", line)
           and "x1" not in line]
    assert len(row) == 1, result.stdout
    cells = [c.strip() for c in re.split(r"[│|]", row[0]) if c.strip()]
    assert cells[:3] == ["1", "2", label] and float(cells[3]) == pytest.approx(probability,
                                                                               abs=5e-5)


@pytest.mark.parametrize(("args", "words"), [
    (["--set", "x1=1"], "no value for x2"),
    (["--set", "x1=1", "--set", "x3=2"], "x3"),
    (["--set", "x1=1", "--set", "x2=abc"], "not a finite number"),
    (["--set", "x1=1", "--set", "x2=nan"], "not a finite number"),
    (["--set", "x1=1", "--set", "x1=2", "--set", "x2=0"], "twice"),
    (["3"], "--set"), (["3", "4"], "--set"),
])
def test_predict_with_bad_named_inputs_is_one_line_exit_2(xor_run, invoke, args, words):
    run, _, _ = xor_run
    assert words in one_line(invoke("predict", run, *args))


def test_predict_rows_reads_named_columns_and_names_a_bad_cell(xor_run, invoke, tmp_path):
    run, _, _ = xor_run
    loaded = predict.load(run)
    good = write(tmp_path / "rows.csv", "label,x2,note,x1\n1,2,a,1\n0,-0.5,b,3.25\n")
    result = invoke("predict", run, "--rows", good)
    assert result.exit_code == 0, result.output
    want = predict.ask_rows(loaded, [{"x1": 1.0, "x2": 2.0}, {"x1": 3.25, "x2": -0.5}])
    for answer in want:
        assert f"{answer.value:.4f}" in result.stdout
    assert "3.25" in result.stdout and "-0.5" in result.stdout
    bad = write(tmp_path / "bad.csv", "x1,x2\n1,2\n0.5,oops\n")
    line = one_line(invoke("predict", run, "--rows", bad))
    assert "line 3" in line and "'x2'" in line and "oops" in line
    missing = write(tmp_path / "missing.csv", "x1,y\n1,2\n")
    assert "x2" in one_line(invoke("predict", run, "--rows", missing))


# --- eval, summary, runs, TensorBoard -----------------------------------------------------------

def test_eval_reproduces_the_recorded_accuracy(xor_run, invoke):
    run, _, _ = xor_run
    found = evaluate_run(run)
    assert found["measured"]["accuracy"] == pytest.approx(found["recorded"]["accuracy"],
                                                          abs=1e-9)
    assert found["measured"]["loss"] == pytest.approx(found["recorded"]["loss"], rel=1e-6)
    assert found["measured_on"] == "the test split"
    result = invoke("eval", run)
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.stdout and "the test split" in result.stdout


def test_summary_of_a_2d_config(invoke, tmp_path):
    path = plane_yaml(tmp_path, "spiral", "model: {hidden: [4]}\n")
    result = invoke("summary", path, "--set", "task.features=[x1, x2, sin(x1)]")
    assert result.exit_code == 0, result.output
    assert "input (3,)" in result.stdout and "Linear(3 -> 4)" in result.stdout
    assert "total parameters: 21" in result.stdout  # (3 + 1) * 4 + (4 + 1) * 1


def test_runs_lists_a_2d_run(xor_run, invoke):
    run, _, _ = xor_run
    result = invoke("runs", run.parent, "--format", "json")
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.stdout)
    assert run.name in json.dumps(listed) and "xor" in json.dumps(listed)


def test_tensorboard_writes_an_event_file(invoke, tmp_path):
    pytest.importorskip("tensorboard")
    path = plane_yaml(tmp_path, "gauss", "model: {hidden: [2]}\ntrain: {epochs: 3}\n")
    result = invoke("train", path, "--tensorboard", "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    events = list(run.glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


# --- compare -----------------------------------------------------------------------------------

def test_compare_on_a_2d_task_writes_decision_maps_from_one_stack(invoke, tmp_path):
    path = plane_yaml(tmp_path, "circle", "model: {hidden: [3]}\ntrain: {epochs: 5}\n")
    result = invoke("compare", path, "--activations", "relu,tanh", "--seeds", "1",
                    "--workers", "1", "--out", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "runs").iterdir())
    assert (folder / "decision_maps.png").read_bytes()[:8] == PNG
    cells = sorted((folder / "cells").iterdir())
    assert len(cells) == 2
    assert [summary_of(cell)["stack"] for cell in cells] == [2, 2]


def test_a_regression_compares_best_cell_reaches_its_own_default_target(tmp_path):
    # 30 epochs at a small rate: every R² is far below 0 (measured -1.80 tanh, -2.27 relu);
    # "99 % of the best cell's final r2" (-1.786) is then above the best cell's own final
    # value, so the best cell never reaches the target its own result set
    base = config.load(None, ["task.name=reg_plane", "task.count=200", "model.hidden=[4]",
                              "model.output=identity", "loss=mse", "train.epochs=30",
                              "optimizer={name: adam, lr: 0.001}"])
    found = compare.run(base=base, activations=["relu", "tanh"], seeds=1, workers=1,
                        out=tmp_path)
    best = found.report.rows[0]
    assert all(run.accuracy < 0 for row in found.report.rows for run in row.runs.values())
    assert "decision_maps.png" in found.files
    assert best.reached == best.seeds, (found.report.target, best.mean_std("accuracy"))


# --- bad splits, resume ------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "test_fraction"), [(10, 0.95), (10, 0.99), (100, 0.999)])
def test_a_split_that_leaves_no_training_point_is_one_line_exit_2(invoke, tmp_path, count,
                                                                   test_fraction):
    # round(10 * 0.95) = round(9.5) = 10 (and round(9.9), round(99.9)): every point is held
    # out, nothing is left to train on
    path = plane_yaml(tmp_path, "circle", "model: {hidden: [2]}\ntrain: {epochs: 2}\n")
    result = invoke("train", path, "--set", f"task.count={count}", "--set",
                    f"task.test_fraction={test_fraction}", "--out", tmp_path / "runs")
    line = one_line(result)
    assert "test_fraction" in line, line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("task", ["moons", "reg_gauss"])
def test_an_interrupted_2d_run_with_a_penalty_resumes_to_the_same_numbers(tmp_path, monkeypatch,
                                                                          task):
    from actcli.engine import checkpoints

    from helpers import stop_requested_at

    extra = ["model.output=identity", "loss=mse"] if task.startswith("reg") else []
    cfg = config.load(None, [f"task.name={task}", "task.count=200", "model.hidden=[4]",
                             "task.features=[x1, x2, x1*x2]", "train.batch_size=20",
                             "train.epochs=6", "train.log_every=1", *extra,
                             "optimizer={name: adam, lr: 0.02, l1: 0.001, l2: 0.01}"])
    straight = driver.run(cfg, tmp_path / "a", figures=False)
    real = stop_requested_at(monkeypatch, 25)  # during the 3rd of 6 epochs (5 steps each)
    stopped = driver.run(cfg, tmp_path / "b", figures=False)
    assert stopped.status == "interrupted" and (stopped.path / "checkpoint.pt").exists()
    monkeypatch.setattr(checkpoints, "StopRequests", real)
    resumed = driver.resume(stopped.path)
    assert resumed.status == "completed"
    assert (resumed.path / "metrics.csv").read_text() == \
        (straight.path / "metrics.csv").read_text()
    want = torch.load(straight.path / "model.pt", weights_only=True)
    got = torch.load(resumed.path / "model.pt", weights_only=True)
    assert all(torch.equal(got[k], want[k]) for k in want)


# --- --smoke ------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", SETS)
def test_smoke_trains_every_2d_task(invoke, tmp_path, task):
    from actcli.config import shipped

    # a shipped config of the set when there is one (spiral.yaml, ...), else one written here
    if task in shipped.names():
        path = shipped.resolve(task)
    else:
        extra = "model: {hidden: [3], output: identity}\nloss: mse\n" \
            if task.startswith("reg") else "model: {hidden: [3]}\n"
        path = write(tmp_path / f"{task}.yaml", f"task: {{name: {task}}}\n{extra}"
                     "train: {epochs: 500}\n")
    want = config.smoke(config.load(path))
    result = invoke("train", task if task in shipped.names() else path, "--smoke", "--quiet",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    summary = summary_of(run)
    assert summary["status"] == "completed" and summary["epochs"] == want.train.epochs
    assert want.train.epochs <= TASKS.get(task).task.smoke_epochs
    assert summary["data"]["samples"] == 100
    score = "r2" if task.startswith("reg") else "accuracy"
    assert math.isfinite(summary["metrics"][score])
    assert (run / "decision.png").read_bytes()[:8] == PNG


def test_the_shipped_compare_spiral_runs_as_one_stack_and_draws_every_cells_map(tmp_path):
    from actcli.config import shipped

    found = compare.run(shipped.resolve("compare_spiral"),
                        ["train.epochs=2", "task.count=60", "train.batch_size=null"], seeds=1,
                        workers=1, out=tmp_path)
    assert len(found.results) == 12  # identity and the eleven
    assert all(r.status == "completed" for r in found.results)
    assert {r.stack for r in found.results} == {12}
    assert "decision_maps.png" in found.files
    with Image.open(found.plan.folder / "decision_maps.png") as image:
        assert image.size[0] > image.size[1] > 300  # 4 columns of 3 rows
    assert "decision_maps.png" in (found.plan.folder / "report.md").read_text()


def test_a_compare_over_the_data_draws_each_cells_own_points_and_plane(tmp_path, monkeypatch):
    from actcli import plots
    from actcli.config import shipped

    seen = {}
    real = plots.decision_grid

    def spy(grids, maps, titles, points, **kwargs):
        seen.update(grids=grids, points=points, titles=titles)
        return real(grids, maps, titles, points, **kwargs)

    monkeypatch.setattr(plots, "decision_grid", spy)
    found = compare.run(shipped.resolve("moons"), ["train.epochs=2", "task.count=60"],
                        grid={"task.noise": [0.0, 0.5]}, seeds=1, workers=1, out=tmp_path)
    assert "decision_maps.png" in found.files
    by_noise = {}
    for title, grid, points in zip(seen["titles"], seen["grids"], seen["points"], strict=True):
        noise = float(title.split()[0])
        data = pd.generate("moons", 60, noise, 0)[0]
        # each panel's points are its own cell's (a subset of that cell's set) ...
        assert all(any(np.allclose(p, q) for q in data) for p in points.x)
        by_noise[noise] = grid
    # ... on its own plane: noise 0.5 scatters the moons beyond the Playground's [-6, 6]
    assert by_noise[0.0].xs[-1] == pd.SPAN < by_noise[0.5].xs[-1]
