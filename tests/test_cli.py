"""The command line as a user meets it: exit codes, exact messages, files made."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import CONFIGS, write


def only_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_train_smoke_writes_a_run_folder(invoke, tmp_path):
    result = invoke("train", CONFIGS / "rice_cooker.yaml", "--smoke", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    assert run.name.endswith("-rice_cooker")
    assert "rice_cooker: completed" in result.stdout and "threshold" in result.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 200


def test_train_options_become_config(invoke, tmp_path):
    result = invoke("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--out", tmp_path,
                    "--name", "mine", "--seed", "5", "--device", "cpu",
                    "--set", "optimizer.lr=0.1", "--set", "model.activation=gelu")
    assert result.exit_code == 0, result.output
    path = only_line(result.stdout)
    assert path.endswith("-mine")
    written = (tmp_path / path.split("/")[-1] / "config.yaml").read_text()
    assert "seed: 5" in written and "lr: 0.1" in written and "device: cpu" in written


def test_print_config_trains_nothing(invoke, tmp_path):
    result = invoke("train", CONFIGS / "rice_cooker.yaml", "--print-config", "--out", tmp_path,
                    "--set", "optimizer.lr=3e-3")
    assert result.exit_code == 0
    assert "lr: 0.003" in result.stdout and result.stdout.startswith("name: rice_cooker")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["missing.yaml"], "error: missing.yaml: config file not found"),
    (["CONFIGS", "--set", "model.activation=relux"],
     "model.activation: unknown activation 'relux' (did you mean 'relu'?)"),
    (["CONFIGS", "--set", "optimizer.lr=fast"], "optimizer.lr: expected float, got 'fast'"),
    (["CONFIGS", "--set", "nokey"], "--set 'nokey': expected KEY=VALUE"),
    (["CONFIGS", "--name", "../up"], "name: '../up' is not a valid run name"),
    (["CONFIGS", "--set", "loss=cross_entropy"], "loss: cross_entropy needs two or more"),
])
def test_bad_input_exits_2_with_one_line_and_no_folder(invoke, tmp_path, args, message):
    args = [str(CONFIGS / "rice_cooker.yaml") if a == "CONFIGS" else a for a in args]
    result = invoke("train", *args, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    line = only_line(result.stderr)
    assert line.startswith("error: ") and message in line
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_bad_yaml_names_line_and_column(invoke, tmp_path):
    path = write(tmp_path / "bad.yaml", "name: x\nmodel: }\n")
    result = invoke("train", path, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert only_line(result.stderr) == f"error: {path}:2:8: invalid YAML: expected the node " \
                                       "content, but found '}'"


def test_absent_device_exits_2(invoke, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = invoke("train", CONFIGS / "beans.yaml", "--device", "cuda:1", "--out", tmp_path)
    assert result.exit_code == 2
    assert "device: 'cuda:1' is not available" in only_line(result.stderr)
    assert not any(tmp_path.iterdir())


def test_diverged_run_exits_1_and_records_it(invoke, tmp_path):
    result = invoke("train", CONFIGS / "beans.yaml", "--quiet", "--out", tmp_path,
                    "--set", "model.output=identity", "--set", "loss=mse",
                    "--set", "optimizer=sgd", "--set", "optimizer.lr=100",
                    "--set", "train.epochs=50")
    assert result.exit_code == 1
    assert "run diverged" in result.stderr and "smaller learning rate" in result.stderr
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"


def test_plot_grad_overlay(invoke, tmp_path):
    out = tmp_path / "acts.png"
    result = invoke("plot", "relu", "gelu", "silu", "--grad", "--range", "-4", "4", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "gelu: max |autograd - formula| derivative gap" in result.stdout


def test_plot_into_a_folder_and_softmax(invoke, tmp_path):
    result = invoke("plot", "sigmoid", "--grad", "--out", tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "sigmoid-grad.png").exists()
    result = invoke("plot", "softmax", "--out", tmp_path)
    assert result.exit_code == 0 and (tmp_path / "softmax.png").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["sigmoidd"], "error: unknown activation 'sigmoidd' (did you mean 'sigmoid'?)"),
    (["relu", "softmax"], "error: softmax is drawn on its own"),
    (["relu", "--range", "3", "1"], "error: --range: LO must be < HI, got 3.0 and 1.0"),
])
def test_plot_bad_input(invoke, tmp_path, args, message):
    result = invoke("plot", *args, "--out", tmp_path)
    assert result.exit_code == 2
    assert only_line(result.stderr).startswith(message)


@pytest.mark.parametrize(("kind", "expected"), [
    ("activations", "hardswish"), ("losses", "bce_with_logits"), ("inits", "kaiming_normal"),
    ("optimizers", "rmsprop"), ("tasks", "rice_cooker"),
])
def test_list(invoke, kind, expected):
    result = invoke("list", kind)
    assert result.exit_code == 0 and expected in result.stdout


def test_list_activations_has_the_learned_ones_and_says_what_else_it_takes(invoke):
    result = invoke("list", "activations")
    assert result.exit_code == 0
    names = [line.split("│")[1].strip() for line in result.stdout.splitlines()
             if line.startswith("│")]
    assert "swish_beta" in names and "rational" in names
    assert result.stdout.strip().splitlines()[-1] == (
        'model.activation also takes a formula ("x * tanh(softplus(x))") or file.py:name')


def test_list_unknown_kind(invoke):
    result = invoke("list", "activatons")
    assert result.exit_code == 2
    assert only_line(result.stderr).startswith(
        "error: unknown kind 'activatons' (did you mean 'activations'?)")


def test_schema(invoke, tmp_path):
    result = invoke("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "actcli config"
    result = invoke("schema", "--out", tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "actcli config"


@pytest.mark.parametrize("command", ["train", "plot", "list", "schema", "eval", "backprop",
                                     "summary", "landscape", "compare"])
def test_every_command_has_help_with_examples(invoke, command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.stdout


def test_help_does_not_import_torch():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "actcli", "--help"],
                         capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines()}
    assert "torch" not in imported and "matplotlib" not in imported
    assert "Usage:" in out.stdout


# issue list of bad input: each through the CLI, one stderr line, exit 2, no run folder
BAD_FILES = [
    ("scalar", "42\n", "the top level must be a mapping of keys (name, task, model, ...), got a "
                       "number"),
    ("list", "- a\n- b\n", "got a list"),
    ("yaml", "model: {hidden: [1, 2}\n", "invalid YAML"),
    ("python_tag", "name: !!python/object/apply:os.system [ls]\n", "invalid YAML: could not "
                                                                    "determine a constructor"),
    ("top_key", "epochs: 3\n", "unknown key 'epochs'; valid keys in top level"),
    ("nested_key", "train: {epoch: 3}\n", "unknown key 'train.epoch' (did you mean 'epochs'?)"),
    ("activation", "model: {activation: rellu}\n", "unknown activation 'rellu'"),
    ("loss", "loss: bcee\n", "unknown loss 'bcee' (did you mean 'bce'?)"),
    ("init", "model: {init: xavier_unifrom}\n", "unknown init 'xavier_unifrom' (did you mean "
                                                "'xavier_uniform'?)"),
    ("optimizer", "optimizer: sgdd\n", "unknown optimizer 'sgdd' (did you mean 'sgd'?)"),
    ("task", "task: beens\n", "unknown task 'beens' (did you mean 'beans'?)"),
    ("lr_type", "optimizer: {name: adam, lr: fast}\n", "optimizer.lr: expected float, got 'fast'"),
    ("epochs_type", "train: {epochs: 1.5}\n", "train.epochs: input should be a valid integer"),
    ("hidden_type", "model: {hidden: 7}\n", "model.hidden: input should be a valid list"),
    ("lr_zero", "optimizer: {name: sgd, lr: 0}\n", "optimizer.lr: must be > 0.0, got 0.0"),
    ("lr_negative", "optimizer: {name: sgd, lr: -0.1}\n", "optimizer.lr: must be > 0.0"),
    ("epochs_zero", "train: {epochs: 0}\n", "train.epochs: input should be greater than or equal"),
    ("batch_zero", "train: {batch_size: 0}\n", "train.batch_size: input should be greater"),
    ("width", "model: {hidden: [4, -2]}\n", "model.hidden[1]: input should be greater than 0"),
    ("dropout", "model: {dropout: 1.0}\n", "model.dropout: input should be less than 1"),
    ("dropout_negative", "model: {dropout: -0.1}\n", "model.dropout: input should be greater"),
    ("ce_on_sigmoid", "loss: cross_entropy\n", "loss: cross_entropy needs two or more classes"),
    ("bce_on_ten", "task: fashion_mnist\nmodel: {output: softmax}\nloss: bce\n",
     "loss: bce is for one output unit (two classes), but the task has 10 classes"),
    ("name_sep", "name: a/b\n", "name: 'a/b' is not a valid run name"),
    ("name_dots", "name: ..\n", "name: '..' is not a valid run name"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_every_kind_of_bad_config_is_one_line(invoke, tmp_path, text, message):
    path = write(tmp_path / "c.yaml", text)
    result = invoke("train", path, "--out", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    line = only_line(result.stderr)
    assert line.startswith(f"error: {path}") and message in line, line
    assert not (tmp_path / "runs").exists()


def test_directory_instead_of_a_file(invoke, tmp_path):
    result = invoke("train", tmp_path, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert only_line(result.stderr) == f"error: {tmp_path}: is a directory, expected a YAML " \
                                       "config file"


@pytest.mark.parametrize("override", ["optimizer.lr", "=1", "a..b=2"])
def test_malformed_set_through_the_cli(invoke, tmp_path, override):
    result = invoke("train", CONFIGS / "beans.yaml", "--set", override, "--out", tmp_path)
    assert result.exit_code == 2
    assert "expected KEY=VALUE" in only_line(result.stderr)


def test_plot_points_table_by_hand(invoke, tmp_path):
    result = invoke("plot", "sigmoid", "relu", "--points", "-1,0,2", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    # sigmoid(0) = 1/2, sigmoid'(0) = 1/4; relu'(0) = 0 (torch's convention), relu(2) = 2
    assert "sigmoid 0 0.5 0.25 0.25" in lines
    assert "sigmoid -1 0.2689414214 0.1966119332 0.1966119332" in lines
    assert "relu 0 0 0 0" in lines and "relu 2 2 1 1" in lines


def test_plot_points_must_be_numbers(invoke, tmp_path):
    result = invoke("plot", "relu", "--points", "1,x", "--out", tmp_path)
    assert result.exit_code == 2
    assert only_line(result.stderr) == ("error: --points: 'x' is not a number; give numbers "
                                        "separated by commas, e.g. --points -1,0,2.5")


def test_plot_analytic_draws_the_formula_over_autograd(tmp_path):
    from actcli import plots
    from actcli.inspection import curves

    curve = curves.evaluate("gelu", -3, 3)
    assert abs(curve.dy - curve.dy_analytic).max() < 1e-12
    fig = plots.activation_curves([curve], grad=True)
    labels = [line.get_label() for line in fig.axes[1].lines]
    assert "gelu' (autograd)" in labels and "gelu' (formula)" in labels
    drawn = curves.draw(["gelu"], grad=False, lo=-3, hi=3, out=tmp_path, analytic=True)
    assert drawn.path.name == "gelu-grad.png" and drawn.path.exists()


def test_a_network_too_big_for_memory_is_refused_before_allocating(invoke, tmp_path,
                                                                    monkeypatch):
    from actcli import devices

    monkeypatch.setattr(devices, "available_memory", lambda device: 16_000_000_000)
    result = invoke("train", CONFIGS / "beans.yaml", "--set", "model.hidden=[60000,60000]",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    line = only_line(result.stderr)
    # (1 + 1) * 60000 + 60001 * 60000 + 60001 = 3,600,240,001 parameters; Adam: 5 float32
    # copies of each, plus 800 samples x 3 x 120,001 activations: 73,156,809,620 bytes
    assert "training this network (3,600,240,001 parameters, adam, batch 800) needs about " \
           "73.2 GB but cpu has 16.0 GB free; make the model or the batch smaller" in line
    assert not (tmp_path / "runs").exists()


def test_free_memory_of_the_cpu_is_read_from_the_system():
    import os

    from actcli import devices

    free = devices.available_memory(devices.torch.device("cpu"))
    assert free is not None
    assert 0 < free <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def test_the_memory_estimate_counts_the_optimizer_state(monkeypatch):
    from actcli import config, devices
    from actcli.training.parts import prepare

    # beans, hidden [10]: (1 + 1) * 10 + (10 + 1) = 31 parameters, 800 training samples a
    # full batch, 3 * (10 + 1) activations a sample; float32:
    # sgd:  4 * (31 * 3 + 800 * 33) = 105,972 bytes (weights, grads, best copy)
    # adam: 4 * (31 * 5 + 800 * 33) = 106,220 bytes (and two moments)
    monkeypatch.setattr(devices, "available_memory", lambda device: 106_000)
    sgd = config.load(CONFIGS / "beans.yaml", ["model.hidden=[10]", "optimizer=sgd"])
    assert prepare(sgd).parts.net is not None
    adam = config.load(CONFIGS / "beans.yaml", ["model.hidden=[10]", "optimizer=adam"])
    with pytest.raises(devices.DeviceError, match=r"^training this network \(31 parameters, "
                       r"adam, batch 800\) needs about 106.2 KB but cpu has 106.0 KB free"):
        prepare(adam)


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    """A small run whose hidden activations learn (what `plot RUN_FOLDER` draws)."""
    from actcli import config as config_mod
    from actcli.training import driver

    cfg = config_mod.load(CONFIGS / "beans.yaml", ["train.epochs=3", "model.hidden=[4]",
                                                   "model.activation=swish_beta"])
    return driver.run(cfg, tmp_path_factory.mktemp("learned"), figures=False).path


@pytest.mark.parametrize("command", ["plot", "plot_formula", "plot_run", "landscape"])
def test_one_out_rule_for_every_picture(invoke, tmp_path, command, request):
    args = {"plot": ["sigmoid"], "plot_formula": ["x * sigmoid(1.702 * x)"],
            "plot_run": [str(request.getfixturevalue("learned_run")) if command == "plot_run"
                         else ""]}.get(command, [str(CONFIGS / "rice_cooker.yaml"), "--steps",
                                                  "5"])
    command = command.split("_")[0]
    bad = invoke(command, *args, "--out", tmp_path / "x.jpg")
    assert bad.exit_code == 2
    assert only_line(bad.stderr) == (f"error: --out: '{tmp_path / 'x.jpg'}' must be a .png "
                                     "file or a folder (an existing one, or a path with no "
                                     "suffix)")
    assert not (tmp_path / "x.jpg").exists()
    assert invoke(command, *args, "--out", tmp_path / "pic.PNG").exit_code == 0
    assert (tmp_path / "pic.PNG").read_bytes()[:4] == b"\x89PNG"
    assert invoke(command, *args, "--out", tmp_path / "new" / "folder").exit_code == 0
    (made,) = (tmp_path / "new" / "folder").iterdir()
    assert made.suffix == ".png"
    (tmp_path / "figs.d").mkdir()
    assert invoke(command, *args, "--out", tmp_path / "figs.d").exit_code == 0
    assert len(list((tmp_path / "figs.d").glob("*.png"))) == 1


@pytest.fixture(scope="module")
def rice_run(tmp_path_factory):
    from actcli import config as config_mod
    from actcli.training import driver

    cfg = config_mod.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=50"])
    return driver.run(cfg, tmp_path_factory.mktemp("rice")).path


def _predict_app():
    """predict registered as cli.py registers it, with runs_commands.PREDICT_SETTINGS."""
    import typer

    from actcli.cli import runs as runs_commands

    app = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
    app.command(context_settings=runs_commands.PREDICT_SETTINGS)(runs_commands.predict)
    app.command()(runs_commands.runs)  # a second command: `predict` stays a subcommand
    return app


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()
            if line.startswith("│")]


def test_predict_reads_negative_inputs_as_numbers_and_options_still_work(rice_run, tmp_path):
    from typer.testing import CliRunner

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    app = _predict_app()
    result = runner.invoke(app, ["predict", str(rice_run), "-40", "125", "-1e1", "-4.5"])
    assert result.exit_code == 0, result.output
    assert [row[0] for row in _rows(result.stdout)] == ["-40", "125", "-10", "-4.5"]
    for flag in ("--help", "-h"):
        helped = runner.invoke(app, ["predict", flag])
        assert helped.exit_code == 0 and "--image" in helped.stdout
    (tmp_path / "x.png").write_bytes(b"not an image")
    image = runner.invoke(app, ["predict", str(rice_run), "--image", str(tmp_path / "x.png")])
    assert image.exit_code == 2  # --image is still an option: the task takes numbers
    assert only_line(image.stderr) == "error: task rice_cooker takes numbers, not --image"
    for typo in ("--imag", "-x"):
        bad = runner.invoke(app, ["predict", str(rice_run), typo, "x.png"])
        assert bad.exit_code == 2
        assert only_line(bad.stderr) == (f"error: no such option: {typo} (options: --image, "
                                         "--help; a negative input is a number such as -40)")


def test_actcli_predict_takes_a_negative_input(rice_run, invoke):
    result = invoke("predict", rice_run, "-40", "125")
    assert result.exit_code == 0, result.output
    assert [row[0] for row in _rows(result.stdout)] == ["-40", "125"]
