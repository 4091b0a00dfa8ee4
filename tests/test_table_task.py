"""The table task end to end: your own CSV, TSV or Parquet file through train, predict,
eval, compare, list and init, every number checked against one computed here."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from actcli import config as config_mod
from actcli.engine import model as model_mod
from actcli.inspection import predict
from actcli.inspection.evaluate import evaluate_run
from actcli.tasks import table_data

from helpers import CONFIGS

IRIS = Path(__file__).resolve().parent / "data" / "iris.csv"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


# -- helpers --------------------------------------------------------------------------


def cli():
    """The CLI in-process, as the ``invoke`` fixture runs it (for module-scoped runs)."""
    from typer.testing import CliRunner

    from actcli.cli.main import app

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def only_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def write_config(folder: Path, task: dict, *, output: str = "softmax",
                 loss: str = "cross_entropy", hidden: tuple[int, ...] = (8,),
                 activation: str = "relu", epochs: int = 2, lr: float = 0.01,
                 name: str = "mine") -> Path:
    """A config of the table task (JSON is YAML) in ``folder``."""
    document = {
        "name": name,
        "task": {"name": "table", **task},
        "model": {"hidden": list(hidden), "activation": activation, "output": output},
        "loss": loss,
        "optimizer": {"name": "adam", "lr": lr},
        "train": {"epochs": epochs, "batch_size": 16, "seed": 0},
        "device": "cpu",
    }
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def train(call, config: object, out: Path, *extra: object) -> Path:
    """Train through the CLI; the one run folder it made under ``out``."""
    result = call("train", config, "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    return run


def summary_of(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def iris_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(x (150, 4) float64, species index by sorted name) read here, not by actcli."""
    header, rows = read_csv(IRIS)
    x = np.array([[float(r[header.index(f)]) for f in FEATURES] for r in rows])
    y = np.array([CLASSES.index(r[header.index("species")]) for r in rows])
    return x, y


def weights(run: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) of each Linear layer of model.pt, in order, as float64."""
    state = torch.load(run / "model.pt", weights_only=True)
    names = sorted({k.rsplit(".", 1)[0] for k in state}, key=lambda n: int(n.split(".")[1]))
    return [(state[f"{n}.weight"].double().numpy(), state[f"{n}.bias"].double().numpy())
            for n in names]


def by_hand(run: Path, x_raw: np.ndarray, hidden=lambda h: np.maximum(h, 0.0)) -> np.ndarray:
    """The network's raw outputs (logits) in numpy: the recorded standardisation, then
    Linear -> ``hidden`` ... -> Linear."""
    found = summary_of(run)["data"]["input_standardize"]
    h = (np.asarray(x_raw, dtype=np.float64) - np.array(found["mean"])) / np.array(found["std"])
    layers = weights(run)
    for w, b in layers[:-1]:
        h = hidden(h @ w.T + b)
    w, b = layers[-1]
    return h @ w.T + b


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of the grids printed (cells stripped)."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in stdout.splitlines() if line.strip().startswith("│")]


def network(run: Path) -> model_mod.Network:
    """model.pt in a network built here with engine.model.build from the run's config."""
    config = config_mod.load(run / "config.yaml")
    table = summary_of(run)["data"]["table"]
    classes = len(table["classes"])
    outputs = 1 if table["kind"] == "regression" or classes == 2 else classes
    net = model_mod.build(config.model, (len(table["features"]),), outputs)
    net.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    return net.eval()


def standardized(run: Path, x_raw: np.ndarray) -> torch.Tensor:
    found = summary_of(run)["data"]["input_standardize"]
    x = (x_raw - np.array(found["mean"])) / np.array(found["std"])
    return torch.from_numpy(x).to(torch.get_default_dtype())


def write_rows(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# -- bad input: one line, exit 2, no folder ------------------------------------------

THREE = "a,b,species\n1,2,x\n3,4,y\n5,6,z\n7,8,y\n9,1,x\n2,2,z\n"  # 6 rows, 3 classes


def _with_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


BAD = [  # id, file name, content (None: absent, "/": a folder), task options, output,
    # loss, what the one line says ({p}: the file)
    ("missing file", "data.csv", None, {}, "softmax", "cross_entropy", ["{p}: no such file"]),
    ("a directory", "data.csv", "/", {}, "softmax", "cross_entropy",
     ["{p} is a directory, not a table file"]),
    ("empty file", "data.csv", "", {}, "softmax", "cross_entropy", ["{p} is empty"]),
    ("header only", "data.csv", "a,b,species\n", {}, "softmax", "cross_entropy",
     ["{p} has a header line but no data rows"]),
    ("no target column", "data.csv", THREE, {"target": "kind"}, "softmax", "cross_entropy",
     ["{p}: no target column 'kind'"]),
    ("no feature column", "data.csv", THREE, {"features": ["a", "zz"]}, "softmax",
     "cross_entropy", ["{p}: no feature column 'zz'"]),
    ("text in a feature", "data.csv", _with_line(THREE, 3, "3,oops,y"),
     {"features": ["a", "b"]}, "softmax", "cross_entropy",
     ["{p} line 3, column 'b': 'oops' is not a number"]),
    ("empty feature cell", "data.csv", _with_line(THREE, 4, ",6,z"), {}, "softmax",
     "cross_entropy", ["{p} line 4, column 'a' is empty"]),
    ("empty target cell", "data.csv", _with_line(THREE, 3, "3,4,"), {}, "softmax",
     "cross_entropy", ["{p} line 3, column 'species' is empty"]),
    ("NaN cell", "data.csv", _with_line(THREE, 5, "7,NaN,y"), {}, "softmax",
     "cross_entropy", ["{p} line 5, column 'b': 'NaN' is not a finite number"]),
    ("inf cell", "data.csv", _with_line(THREE, 6, "inf,1,x"), {}, "softmax",
     "cross_entropy", ["{p} line 6, column 'a': 'inf' is not a finite number"]),
    ("-Infinity cell", "data.csv", _with_line(THREE, 2, "1,-Infinity,x"), {}, "softmax",
     "cross_entropy", ["{p} line 2, column 'b': '-Infinity' is not a finite number"]),
    ("a row of too few cells", "data.csv", _with_line(THREE, 4, "5,6"), {}, "softmax",
     "cross_entropy", ["{p} line 4 has 2 cells, the header 3"]),
    ("one class", "data.csv", "a,b,species\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n", {}, "sigmoid",
     "bce", ["{p}: column 'species' has one class ('x')"]),
    ("text target of a regression", "data.csv", THREE, {"kind": "regression"}, "identity",
     "mse", ["{p} line 2, column 'species': 'x' is not a number"]),
    ("fewer rows than the splits", "data.csv", "a,b,species\n1,2,x\n3,4,y\n", {}, "sigmoid",
     "bce", ["{p} has 2 data rows: a table needs at least 3"]),
    ("no training rows", "data.csv", THREE, {"val_fraction": 0.5, "test_fraction": 0.45},
     "softmax", "cross_entropy",
     ["{p}: 6 rows leave none for training after 3 for validation and 3 for test"]),
    ("unknown suffix", "data.xlsx", THREE, {}, "softmax", "cross_entropy",
     ["{p}: suffix '.xlsx': a table file must end in one of .csv, .tsv, .parquet, .pq"]),
]


@pytest.mark.parametrize(("name", "content", "task", "output", "loss", "says"),
                         [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_data_is_one_line_exit_2_and_no_folder(invoke, tmp_path, name, content, task,
                                                   output, loss, says):
    data = tmp_path / name
    if content == "/":
        data.mkdir()
    elif content is not None:
        data.write_text(content, encoding="utf-8")
    config = write_config(tmp_path, {"path": str(data), **task}, output=output, loss=loss)
    result = invoke("train", config, "--out", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    line = only_line(result.stderr)
    assert line.startswith("error: ")
    for part in says:
        assert part.format(p=data) in line, line
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


# -- iris: the shipped config --------------------------------------------------------

IRIS_EPOCHS = 100


@pytest.fixture(scope="module")
def iris(tmp_path_factory) -> Path:
    return train(cli(), "iris", tmp_path_factory.mktemp("iris") / "runs",
                 "--set", f"train.epochs={IRIS_EPOCHS}")


def test_iris_trains_to_a_sensible_accuracy(iris):
    summary = summary_of(iris)
    assert summary["status"] == "completed" and summary["task"] == "table"
    assert summary["epochs"] == IRIS_EPOCHS
    assert summary["measured_on"] == "the test split"
    assert summary["metrics"]["accuracy"] > 0.9  # 0.967 on this build (29 of 30)
    table = summary["data"]["table"]
    assert table["features"] == FEATURES
    assert table["classes"] == CLASSES == sorted(CLASSES)
    assert table["kind"] == "classification" and table["target"] == "species"
    assert Path(table["path"]).resolve() == (CONFIGS / "iris.csv").resolve()
    assert (iris / "confusion_matrix.png").is_file()


def test_iris_splits_and_standardisation_are_the_training_rows(iris):
    data = summary_of(iris)["data"]
    x, _ = iris_arrays()
    n = len(x)
    n_val, n_test = round(n * 0.15), round(n * 0.2)
    assert (n_val, n_test) == (22, 30)  # Python's round: 22.5 -> 22
    assert (data["samples"], data["val_samples"], data["test_samples"]) == (n, n_val, n_test)
    assert data["train_samples"] == n - n_val - n_test == 98
    train_idx, val_idx, test_idx = table_data.split_indices(n, 0.15, 0.2, 0)
    # the split is default_rng(seed)'s permutation: validation first, then test
    order = np.random.default_rng(0).permutation(n)
    assert set(val_idx) == set(order[:n_val]) and set(test_idx) == set(order[n_val:n_val
                                                                            + n_test])
    assert sorted([*train_idx, *val_idx, *test_idx]) == list(range(n))
    rows = x[train_idx]
    found = data["input_standardize"]
    assert found["names"] == FEATURES
    assert found["mean"] == pytest.approx(rows.mean(axis=0).tolist(), rel=1e-12)
    assert found["std"] == pytest.approx(rows.std(axis=0, ddof=0).tolist(), rel=1e-12)
    # population std, not the sample one
    assert found["std"] != pytest.approx(rows.std(axis=0, ddof=1).tolist(), rel=1e-6)


def test_iris_best_epoch_on_validation_and_final_figures_on_test(iris):
    metrics = summary_of(iris)["metrics"]
    header, logged = read_csv(iris / "metrics.csv")
    assert len(logged) == IRIS_EPOCHS
    val = [float(r[header.index("val_accuracy")]) for r in logged]
    assert metrics["val_accuracy"] == pytest.approx(max(val), abs=1e-12)
    assert metrics["best_epoch"] == int(logged[int(np.argmax(val))][0])  # first best

    x, y = iris_arrays()
    train_idx, val_idx, test_idx = table_data.split_indices(len(x), 0.15, 0.2, 0)
    net = network(iris)
    with torch.inference_mode():
        test_logits = net(standardized(iris, x[test_idx])).double()
        val_logits = net(standardized(iris, x[val_idx])).double()
    accuracy = float((test_logits.argmax(dim=1).numpy() == y[test_idx]).mean())
    assert metrics["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    # the model.pt is the best epoch's: its validation accuracy is the recorded one
    assert float((val_logits.argmax(dim=1).numpy() == y[val_idx]).mean()) == \
        pytest.approx(metrics["val_accuracy"], abs=1e-12)
    # the loss is the test split's cross entropy (numpy, float64)
    assert metrics["loss"] == pytest.approx(cross_entropy(iris, x[test_idx], y[test_idx]),
                                            rel=1e-4)
    # and model.pt is the best epoch's state, not the last one's: its validation loss is
    # the one metrics.csv logged at best_epoch
    val_loss = [float(r[header.index("val_loss")]) for r in logged]
    if metrics["best_epoch"] < IRIS_EPOCHS:  # (epoch 18 on this build)
        assert val_loss[metrics["best_epoch"] - 1] != pytest.approx(val_loss[-1], rel=1e-3)
    assert cross_entropy(iris, x[val_idx], y[val_idx]) == pytest.approx(
        val_loss[metrics["best_epoch"] - 1], rel=1e-4)


def cross_entropy(run: Path, x: np.ndarray, y: np.ndarray) -> float:
    z = by_hand(run, x)
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def test_predict_set_is_the_softmax_by_hand(iris, invoke):
    args = [a for name, v in SETOSA.items() for a in ("--set", f"{name}={v}")]
    result = invoke("predict", iris, *args)
    assert result.exit_code == 0, result.output
    (row,) = table_rows(result.stdout)
    assert row[:4] == ["5.1", "3.5", "1.4", "0.2"] and row[4] == "setosa"
    p = softmax(by_hand(iris, np.array([list(SETOSA.values())])))[0]
    assert CLASSES[int(p.argmax())] == "setosa"
    assert float(row[5]) == pytest.approx(p.max(), abs=6e-5)  # printed to 4 decimals
    (answer,) = predict.ask_rows(predict.load(iris), [SETOSA])
    assert answer.label == "setosa" and answer.value == pytest.approx(p.max(), rel=1e-5)


def test_predict_rows_answers_every_row_and_ignores_other_columns(iris, invoke, tmp_path):
    header, rows = read_csv(IRIS)
    picked = [rows[0], rows[50], rows[100], rows[77]]
    # columns in another order, the species and a note beside them
    columns = ["note", "petal_width", "species", "sepal_length", "petal_length",
               "sepal_width"]
    file = write_rows(tmp_path / "new.csv", columns, [
        [f"flower {i}", *(r[header.index(c)] for c in columns[1:])]
        for i, r in enumerate(picked)])
    result = invoke("predict", iris, "--rows", file)
    assert result.exit_code == 0, result.output
    answered = table_rows(result.stdout)
    assert len(answered) == len(picked)
    x = np.array([[float(r[header.index(f)]) for f in FEATURES] for r in picked])
    p = softmax(by_hand(iris, x))
    for line, r, probabilities in zip(answered, picked, p, strict=True):
        assert line[:4] == [f"{float(r[header.index(f)]):g}" for f in FEATURES]
        assert line[4] == CLASSES[int(probabilities.argmax())]
        assert float(line[5]) == pytest.approx(probabilities.max(), abs=6e-5)
    assert answered[0][4] == "setosa"


@pytest.mark.parametrize(("args", "says"), [
    (["--set", "sepal_length=5.1"],
     "--set: no value for sepal_width, petal_length, petal_width"),
    (["--set", "sepal_length=abc", "--set", "sepal_width=3.5", "--set", "petal_length=1.4",
      "--set", "petal_width=0.2"], "--set sepal_length=abc: not a finite number"),
    (["--set", "sepal_length=nan", "--set", "sepal_width=3.5", "--set", "petal_length=1.4",
      "--set", "petal_width=0.2"], "--set sepal_length=nan: not a finite number"),
    (["--set", "petal=1"], "--set 'petal=1': expected NAME=VALUE with NAME one of: "
     "sepal_length, sepal_width, petal_length, petal_width"),
    (["--set", "sepal_length"], "--set 'sepal_length': expected NAME=VALUE"),
    (["--set", "sepal_length=1", "--set", "sepal_length=2"],
     "--set: sepal_length is given twice"),
    (["--rows", "NOFILE"], "--rows: NOFILE: no such file"),
    (["--rows", "NOCOLUMN"], "--rows: NOCOLUMN has no column 'petal_width'"),
    (["--rows", "BADCELL"],
     "--rows: BADCELL line 3, column 'sepal_width': 'wide' is not a finite number"),
    (["--rows", "HEADER"], "--rows: HEADER needs a header line and at least one row"),
    (["--rows", "BADCELL", "--set", "sepal_length=1"],
     "give one of: inputs, --image, --set NAME=VALUE ..., --rows"),
    (["5.1", "3.5"], "task table takes named inputs: use --set sepal_length=VALUE"),
])
def test_bad_predict_input_is_one_line_exit_2(iris, invoke, tmp_path, args, says):
    files = {
        "NOFILE": tmp_path / "absent.csv",
        "NOCOLUMN": write_rows(tmp_path / "nocolumn.csv", FEATURES[:3], [[1, 2, 3]]),
        "BADCELL": write_rows(tmp_path / "badcell.csv", FEATURES,
                              [[5.1, 3.5, 1.4, 0.2], [5.0, "wide", 1.4, 0.2]]),
        "HEADER": write_rows(tmp_path / "header.csv", FEATURES, []),
    }
    result = invoke("predict", iris, *[str(files.get(a, a)) for a in args])
    assert result.exit_code == 2, result.output
    line = only_line(result.stderr)
    for key, file in files.items():
        says = says.replace(key, str(file))
    assert line.startswith("error: ") and says in line, line
    assert "Traceback" not in result.output


@pytest.mark.parametrize("gone", ["deleted", "moved"])
def test_predict_answers_after_the_data_file_is_gone(invoke, tmp_path, gone):
    data = tmp_path / "flowers.csv"
    data.write_bytes(IRIS.read_bytes())
    run = train(invoke, write_config(tmp_path, {"path": str(data)}, epochs=20),
                tmp_path / "runs")
    args = [a for name, v in SETOSA.items() for a in ("--set", f"{name}={v}")]
    before = invoke("predict", run, *args)
    assert before.exit_code == 0, before.output
    if gone == "deleted":
        data.unlink()
    else:
        data.rename(tmp_path / "elsewhere.csv")
    after = invoke("predict", run, *args)
    assert after.exit_code == 0, after.output  # summary.json holds all predict needs
    assert after.stdout == before.stdout
    assert table_rows(after.stdout)[0][4] == "setosa"


def test_eval_reproduces_the_recorded_metrics(iris, invoke):
    found = evaluate_run(iris)
    assert found["measured_on"] == "the test split"
    assert set(found["measured"]) == {"loss", "accuracy"}
    for name, value in found["measured"].items():
        assert value == pytest.approx(found["recorded"][name], rel=1e-9, abs=1e-12)
    result = invoke("eval", iris)
    assert result.exit_code == 0, result.output
    assert ["accuracy", *[f"{found['recorded']['accuracy']:.6g}"] * 2] in \
        table_rows(result.stdout)


# -- two classes ---------------------------------------------------------------------


def test_two_text_classes_train_one_sigmoid_and_predict_names_the_class(invoke, tmp_path):
    rng = np.random.default_rng(2)
    ab = rng.normal(0.0, 1.0, (120, 2))
    labels = np.where(ab.sum(axis=1) > 0, "yes", "no")
    data = write_rows(tmp_path / "two.csv", ["a", "b", "label"],
                      [[f"{a:.5f}", f"{b:.5f}", s] for (a, b), s in zip(ab, labels,
                                                                        strict=True)])
    task = {"path": str(data), "target": "label"}
    # the shipped config's softmax is refused for two classes
    refused = invoke("train", write_config(tmp_path, task, name="soft"), "--out",
                     tmp_path / "none")
    assert refused.exit_code == 2
    assert "softmax is for three or more classes" in only_line(refused.stderr)
    assert not (tmp_path / "none").exists()

    run = train(invoke, write_config(tmp_path, task, output="sigmoid", loss="bce",
                                     epochs=30, lr=0.02), tmp_path / "runs")
    summary = summary_of(run)
    config = config_mod.load(run / "config.yaml")
    assert config.model.output == "sigmoid" and config.loss.name == "bce"
    assert summary["data"]["table"]["classes"] == ["no", "yes"]
    assert summary["data"]["table"]["kind"] == "classification"
    assert weights(run)[-1][0].shape == (1, 8)  # one output unit
    assert summary["metrics"]["accuracy"] > 0.8
    # 'yes' is class 1: the test accuracy by hand with that mapping
    _, _, test_idx = table_data.split_indices(120, 0.15, 0.2, 0)
    z = by_hand(run, ab[test_idx])[:, 0]
    assert summary["metrics"]["accuracy"] == pytest.approx(
        float(((z > 0) == (labels[test_idx] == "yes")).mean()), abs=1e-12)
    for a, b in [(2.0, 1.0), (-2.0, -1.0)]:
        result = invoke("predict", run, "--set", f"a={a}", "--set", f"b={b}")
        assert result.exit_code == 0, result.output
        (row,) = table_rows(result.stdout)
        p = 1 / (1 + np.exp(-by_hand(run, np.array([[a, b]]))[0, 0]))
        assert row[2] == ("yes" if p > 0.5 else "no")
        assert float(row[3]) == pytest.approx(max(p, 1 - p), abs=6e-5)
    assert table_rows(invoke("predict", run, "--set", "a=2", "--set", "b=1").stdout)[0][2] \
        == "yes"


# -- regression ----------------------------------------------------------------------


def regression_file(path: Path, offset: float = 0.0) -> tuple[Path, np.ndarray]:
    """200 rows of y = offset + 2a - b + small noise; the (200, 3) array written."""
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-2, 2, 200), rng.uniform(-2, 2, 200)
    y = offset + 2 * a - b + rng.normal(0.0, 0.05, 200)
    values = np.round(np.column_stack([a, b, y]), 6)
    write_rows(path, ["a", "b", "y"], [[f"{v:.6f}" for v in r] for r in values])
    return path, values


@pytest.fixture(scope="module")
def regression(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("regression")
    data, values = regression_file(folder / "plane.csv")
    config = write_config(folder, {"path": str(data), "target": "y"}, output="identity",
                          loss="mse", hidden=(16,), activation="tanh", epochs=60, name="reg")
    return train(cli(), config, folder / "runs"), config, values


def test_regression_is_inferred_and_scored_by_r2(regression):
    run, _, values = regression
    summary = summary_of(run)
    config = config_mod.load(run / "config.yaml")
    assert config.model.output == "identity" and config.loss.name == "mse"
    assert config.task.kind == "auto"
    table = summary["data"]["table"]
    assert table["kind"] == "regression" and table["classes"] == []
    assert table["features"] == ["a", "b"]
    metrics = summary["metrics"]
    assert "accuracy" not in metrics and {"r2", "best_epoch", "val_r2"} <= set(metrics)
    assert metrics["r2"] > 0.9
    _, val_idx, test_idx = table_data.split_indices(200, 0.15, 0.2, 0)

    def r2_and_mse(rows: np.ndarray) -> tuple[float, float]:
        y = values[rows, 2]
        predicted = by_hand(run, values[rows, :2], np.tanh)[:, 0]
        sse, sst = ((y - predicted) ** 2).sum(), ((y - y.mean()) ** 2).sum()
        return 1 - sse / sst, sse / len(y)

    r2, mse = r2_and_mse(test_idx)
    assert metrics["r2"] == pytest.approx(r2, rel=1e-4)
    assert metrics["loss"] == pytest.approx(mse, rel=1e-3)
    # the best epoch's R² on the validation rows, of the model.pt kept
    assert metrics["val_r2"] == pytest.approx(r2_and_mse(val_idx)[0], rel=1e-4)
    header, logged = read_csv(run / "metrics.csv")
    val = [float(r[header.index("val_r2")]) for r in logged]
    assert metrics["val_r2"] == pytest.approx(max(val), abs=1e-12)
    assert metrics["best_epoch"] == int(logged[int(np.argmax(val))][0])


def test_regression_predict_prints_the_number(regression, invoke):
    run, _, _ = regression
    result = invoke("predict", run, "--set", "a=1", "--set", "b=0.5")
    assert result.exit_code == 0, result.output
    (row,) = table_rows(result.stdout)
    assert row[:2] == ["1", "0.5"]
    value = float(row[2])
    assert value == pytest.approx(2 * 1 - 0.5, abs=0.25)
    assert value == pytest.approx(by_hand(run, np.array([[1.0, 0.5]]), np.tanh)[0, 0],
                                  rel=1e-5)


def test_eval_of_a_regression_reproduces_r2(regression):
    found = evaluate_run(regression[0])
    assert set(found["measured"]) == {"loss", "r2"}
    for name, value in found["measured"].items():
        assert value == pytest.approx(found["recorded"][name], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("setting", "says"), [
    ("loss=bce", "loss: bce is for classes, but the task is a regression"),
    ("model.output=softmax", "model.output: softmax is for classes, but task table is a "
     "regression"),
])
def test_a_classes_loss_on_a_regression_is_refused(regression, invoke, tmp_path, setting,
                                                  says):
    _, config, _ = regression
    result = invoke("train", config, "--set", setting, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert says in only_line(result.stderr)
    assert not (tmp_path / "runs").exists()


def test_a_regression_far_from_fitting_still_keeps_its_best_epoch(invoke, tmp_path):
    """R² has no floor: epochs whose validation R² is below -1 are still compared."""
    data, _ = regression_file(tmp_path / "far.csv", offset=100.0)
    config = write_config(tmp_path, {"path": str(data), "target": "y"}, output="identity",
                          loss="mse", epochs=3, lr=0.001, name="far")
    run = train(invoke, config, tmp_path / "runs")
    metrics = summary_of(run)["metrics"]
    header, logged = read_csv(run / "metrics.csv")
    val = [float(r[header.index("val_r2")]) for r in logged]
    assert max(val) < -1  # the case: every epoch's R² is below -1
    assert "best_epoch" in metrics and "val_r2" in metrics, metrics
    assert metrics["best_epoch"] == int(logged[int(np.argmax(val))][0])


# -- compare, list, init -------------------------------------------------------------


def test_compare_on_a_table_is_one_stack(invoke, tmp_path):
    result = invoke("compare", "iris", "--activations", "relu,tanh", "--seeds", "1",
                    "--set", "train.epochs=3", "--workers", "1", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    plan = json.loads((folder / "plan.json").read_text())
    assert plan["stacks"] == [["activation=relu__seed0", "activation=tanh__seed0"]]
    header, rows = read_csv(folder / "summary.csv")
    assert len(rows) == 2
    for row in rows:
        cell = dict(zip(header, row, strict=True))
        assert cell["status"] == "completed" and cell["stack"] == "2"
        summary = summary_of(folder / "cells" / cell["cell"])
        assert float(cell["accuracy"]) == pytest.approx(summary["metrics"]["accuracy"])
        assert summary["data"]["table"]["classes"] == CLASSES


def test_list_tasks_shows_table(invoke):
    result = invoke("list", "tasks")
    assert result.exit_code == 0, result.output
    (row,) = [r for r in table_rows(result.stdout) if r[0] == "table"]
    assert "your own data" in row[1] and "path=iris.csv" in row[3]


def test_init_iris_then_train_it_where_it_was_copied(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("init", "iris")
    assert result.exit_code == 0, result.output
    first, *rest = (tmp_path / "iris.yaml").read_text().splitlines()
    # the schema line points at the copy written beside it; the rest is the shipped text
    assert first == "# yaml-language-server: $schema=actcli.schema.json"
    assert (tmp_path / "actcli.schema.json").is_file()
    assert rest == (CONFIGS / "iris.yaml").read_text().splitlines()[1:]
    assert not (tmp_path / "iris.csv").exists()
    run = train(invoke, "iris.yaml", tmp_path / "runs", "--smoke")
    summary = summary_of(run)
    assert summary["status"] == "completed" and summary["epochs"] == 5
    assert Path(summary["data"]["table"]["path"]).resolve() == (CONFIGS / "iris.csv").resolve()
    assert summary["data"]["samples"] == 150
    # a file of that name where it runs comes first: every other row of iris
    header, rows = read_csv(IRIS)
    write_rows(tmp_path / "iris.csv", header, rows[::2])
    run = train(invoke, "iris.yaml", tmp_path / "runs2", "--smoke")
    table = summary_of(run)["data"]
    assert table["samples"] == 75 and Path(table["table"]["path"]).resolve() == \
        (tmp_path / "iris.csv").resolve()


# -- other formats -------------------------------------------------------------------


def _same_as_csv(run: Path, iris_run: Path) -> None:
    summary, reference = summary_of(run), summary_of(iris_run)
    assert summary["status"] == "completed"
    assert summary["data"]["table"]["features"] == FEATURES
    assert summary["data"]["table"]["classes"] == CLASSES
    # the same rows, the same split: the same standardisation as the CSV's
    assert summary["data"]["input_standardize"] == reference["data"]["input_standardize"]
    assert summary["data"]["samples"] == 150


def test_a_tsv_trains(invoke, tmp_path, iris):
    header, rows = read_csv(IRIS)
    data = tmp_path / "iris.tsv"
    data.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n",
                    encoding="utf-8")
    run = train(invoke, write_config(tmp_path, {"path": str(data)}, epochs=3),
                tmp_path / "runs")
    _same_as_csv(run, iris)


def test_a_parquet_file_trains(invoke, tmp_path, iris):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    header, rows = read_csv(IRIS)
    columns = {name: [r[j] if name == "species" else float(r[j]) for r in rows]
               for j, name in enumerate(header)}
    data = tmp_path / "iris.parquet"
    pq.write_table(pa.table(columns), data)
    run = train(invoke, write_config(tmp_path, {"path": str(data)}, epochs=3),
                tmp_path / "runs")
    _same_as_csv(run, iris)
    args = [a for name, v in SETOSA.items() for a in ("--set", f"{name}={v}")]
    result = invoke("predict", run, *args)
    assert result.exit_code == 0, result.output


def test_a_relative_path_is_recorded_as_the_file_it_named(invoke, tmp_path, monkeypatch):
    # trained from one folder, measured and retrained from another: the same file
    data = tmp_path / "here"
    data.mkdir()
    shutil.copy(IRIS, data / "flowers.csv")
    monkeypatch.chdir(data)
    config = write_config(data, {"path": "flowers.csv", "target": "species"})
    run = train(invoke, config, tmp_path / "runs")
    recorded = yaml.safe_load((run / "config.yaml").read_text())["task"]["path"]
    assert recorded == str(data / "flowers.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "flowers.csv").write_text("species,a\nx,1\ny,2\nx,3\n")  # another file
    monkeypatch.chdir(elsewhere)
    measured = invoke("eval", run)
    assert measured.exit_code == 0, measured.output
    assert summary_of(run)["data"]["table"]["path"] == str(data / "flowers.csv")


def test_rows_of_a_tsv_file_are_read_by_tabs(invoke, iris, tmp_path):
    rows = tmp_path / "rows.tsv"
    rows.write_text("sepal_length\tsepal_width\tpetal_length\tpetal_width\n"
                    "5.1\t3.5\t1.4\t0.2\n", encoding="utf-8")
    answered = invoke("predict", iris, "--rows", rows)
    assert answered.exit_code == 0, answered.output
    assert "setosa" in answered.stdout
    semicolons = tmp_path / "rows.csv"
    semicolons.write_text("sepal_length;sepal_width;petal_length;petal_width\n5;3;1;0\n")
    refused = invoke("predict", iris, "--rows", semicolons)
    assert refused.exit_code == 2
    assert "must be separated by commas" in only_line(refused.stderr)


def test_named_inputs_for_a_one_dimensional_run_are_one_line(invoke, tmp_path):
    run = train(invoke, "rice_cooker", tmp_path / "runs", "--smoke")
    for given in (["--set", "temperature=125"], ["--rows", IRIS]):
        refused = invoke("predict", run, *given)
        assert refused.exit_code == 2, refused.output
        assert only_line(refused.stderr).startswith(
            "error: task rice_cooker takes no named inputs: give numbers")
