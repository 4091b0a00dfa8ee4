"""actcli predict: a trained run answers in the task's units, or classifies an image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actcli import config as config_mod
from actcli.inspection import predict
from actcli.training import driver
from actcli.training.parts import prepare

from helpers import CONFIGS, ROOT
from test_fashion_mnist import REAL, fake_dataset


@pytest.fixture(scope="module")
def rice(tmp_path_factory):
    cfg = config_mod.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=300"])
    return driver.run(cfg, tmp_path_factory.mktemp("rice")).path


def test_answers_are_the_neuron_on_the_scaled_input(rice, invoke):
    import json

    state = torch.load(rice / "model.pt", weights_only=True)
    (a,), b = state["layers.0.weight"][0].tolist(), float(state["layers.0.bias"])
    scaling = json.loads((rice / "summary.json").read_text())["data"]["input_scaling"]
    loaded = predict.load(rice)
    for t, answer in zip([125.0, 131.5], predict.ask(loaded, [125.0, 131.5]), strict=True):
        expected = 1 / (1 + np.exp(-(a * (t - scaling["shift"]) / scaling["scale"] + b)))
        assert answer.probability == pytest.approx(expected, rel=1e-5)
        assert answer.label == ("above the switch point" if expected > 0.5
                                else "below the switch point")
    result = invoke("predict", rice, "125", "135")
    assert result.exit_code == 0, result.output
    assert "temperature (°C)" in result.stdout and "125" in result.stdout


def test_the_threshold_it_reports_is_where_the_answer_turns(rice):
    import json

    threshold = json.loads((rice / "summary.json").read_text())["metrics"]["threshold"]
    below, above = predict.ask(predict.load(rice), [threshold - 0.5, threshold + 0.5])
    assert below.probability < 0.5 < above.probability


@pytest.mark.parametrize(("args", "message"), [
    (["NOTARUN", "3"], "not a run folder"),
    (["RUN", "12x"], "input '12x' is not a number"),
    (["RUN", "nan"], "input 'nan' is not a number"),
    (["RUN"], "give one or more inputs"),
    (["RUN", "--image", "IMG"], "takes numbers, not --image"),
])
def test_bad_input_is_one_line_exit_2(rice, invoke, tmp_path, args, message):
    (tmp_path / "img.png").write_bytes(b"not really")
    args = [str(rice) if a == "RUN" else str(tmp_path) if a == "NOTARUN" else
            str(tmp_path / "img.png") if a == "IMG" else a for a in args]
    result = invoke("predict", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_a_run_without_a_model(rice, tmp_path, invoke):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(rice, copy)
    (copy / "model.pt").unlink()
    result = invoke("predict", copy, "120")
    assert result.exit_code == 2 and "no model.pt" in result.stderr


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    data = REAL or fake_dataset(tmp_path_factory.mktemp("data"))
    cfg = config_mod.smoke(config_mod.load(CONFIGS / "fashion_mnist.yaml",
                                           [f"task.data_dir={data}"]))
    return driver.run(cfg, tmp_path_factory.mktemp("fm")).path, data


def test_an_image_file_is_read_as_the_training_images_are(fmnist, tmp_path):
    from PIL import Image

    run, data = fmnist
    prepared = prepare(config_mod.load(run / "config.yaml"))
    raw = prepared.data.context["test_images"][0].numpy()  # uint8 (28, 28), as in the file
    Image.fromarray(raw).save(tmp_path / "garment.png")
    Image.fromarray(255 - raw).save(tmp_path / "on_white.png")  # a dark garment on white
    Image.fromarray(np.kron(raw, np.ones((4, 4), dtype=np.uint8))).save(tmp_path / "big.jpg",
                                                                         quality=95)
    assert predict.image_tensor(tmp_path / "garment.png").numpy() == pytest.approx(raw / 255)
    assert predict.image_tensor(tmp_path / "on_white.png").numpy() == pytest.approx(raw / 255)
    resized = predict.image_tensor(tmp_path / "big.jpg").numpy()
    assert np.abs(resized - raw / 255).mean() < 0.05

    loaded = predict.load(run)
    found = predict.classify(loaded, tmp_path / "garment.png")
    prepared.parts.net.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    expected = prepared.parts.predict(prepared.test.x[:1])[0].double()
    from actcli.tasks.fashion_mnist import CLASSES

    assert [name for name, _ in found] == [CLASSES[int(i)] for i in
                                           torch.argsort(expected, descending=True)[:3]]
    assert [p for _, p in found] == pytest.approx(sorted(expected.tolist(), reverse=True)[:3],
                                                  rel=1e-5)


def test_image_cli_and_its_errors(fmnist, invoke, tmp_path):
    from PIL import Image

    run, _ = fmnist
    Image.new("L", (40, 30), 200).save(tmp_path / "plain.png")
    result = invoke("predict", run, "--image", tmp_path / "plain.png")
    assert result.exit_code == 0, result.output
    assert "the three most likely classes" in result.stdout
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    for args, message in [(["--image", tmp_path / "broken.jpg"], "cannot be read as an image"),
                          (["--image", tmp_path / "none.png"], "no such file"),
                          (["3"], "takes images: use --image FILE")]:
        result = invoke("predict", run, *args)
        assert result.exit_code == 2 and message in result.stderr, result.output


# --- your own activation (#22): the trained network by hand from model.pt ------------------

USER = ROOT / "tests" / "data" / "user_activations.py"
TRAINABLE = ("{formula: 'x * sigmoid(beta * x)', params: {beta: 1.0}, trainable: [beta], "
             "per_unit: true}")


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _rational(h, a, b):  # the safe PAU: P(h) / (1 + sum_j |b_j| |h|^j)
    p = sum(a[i] * h ** i for i in range(6))
    q = 1 + sum(abs(b[j - 1]) * np.abs(h) ** j for j in range(1, 5))
    return p / q


HIDDEN = {  # the hidden activation by hand, from model.pt's tensors
    TRAINABLE: lambda h, s: h * _sigmoid(s["layers.1.beta"] * h),
    "rational": lambda h, s: _rational(h, s["layers.1.numerator"], s["layers.1.denominator"]),
    f"{USER}:ShiftedRelu": lambda h, s: np.maximum(h - s["layers.1.inner.shift"], 0)
    + s["layers.1.inner.shift"],
    "x * tanh(softplus(x))": lambda h, s: h * np.tanh(np.log1p(np.exp(h))),
}


@pytest.mark.parametrize("activation", list(HIDDEN))
def test_predict_with_your_own_activation_is_the_network_by_hand(activation, tmp_path, invoke):
    import json

    cfg = config_mod.load(CONFIGS / "beans.yaml", ["train.epochs=20", "model.hidden=[3]",
                                                   f"model.activation={activation}"])
    run = driver.run(cfg, tmp_path, figures=False).path
    state = {k: v.double().numpy() for k, v in
             torch.load(run / "model.pt", weights_only=True).items()}
    scaling = json.loads((run / "summary.json").read_text())["data"]["input_scaling"]
    sizes = [0.2, 0.45, 0.7]
    x = (np.array(sizes) - scaling["shift"]) / scaling["scale"]
    h = x[:, None] * state["layers.0.weight"][:, 0] + state["layers.0.bias"]  # (3 inputs, 3 units)
    z = HIDDEN[activation](h, state) @ state["layers.2.weight"][0] + state["layers.2.bias"][0]
    answers = predict.ask(predict.load(run), sizes)
    assert [a.probability for a in answers] == pytest.approx(_sigmoid(z), rel=1e-5)
    result = invoke("predict", run, "0.45")
    assert result.exit_code == 0, result.output
    assert f"{_sigmoid(z[1]):.4f}" in result.stdout


def test_predict_a_python_activation_whose_file_is_gone_is_one_line(tmp_path):
    import shutil

    mine = tmp_path / "mine.py"
    shutil.copy(USER, mine)
    cfg = config_mod.load(CONFIGS / "beans.yaml", ["train.epochs=2", "model.hidden=[3]",
                                                   f"model.activation={mine}:swish"])
    run = driver.run(cfg, tmp_path / "runs", figures=False).path
    mine.unlink()
    import subprocess
    import sys

    # a new process, as a user runs it (this one keeps the file it imported)
    result = subprocess.run([sys.executable, "-m", "actcli", "predict", str(run), "0.45"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "file not found" in lines[0] and str(mine) in lines[0]
