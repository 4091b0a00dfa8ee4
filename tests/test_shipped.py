"""Installed like a tool: shipped configs by name, init, list configs, completion, a wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from actcli.cli import completion
from actcli.config import shipped
from actcli.errors import ConfigError

from helpers import CONFIGS, ROOT


def test_the_repositorys_configs_are_the_packages():
    assert CONFIGS.resolve() == shipped.folder().resolve()
    assert shipped.names() == sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    assert {"rice_cooker", "beans", "compare_beans", "fashion_mnist"} <= set(shipped.names())
    assert shipped.schema_file().exists()
    first = (shipped.folder() / "beans.yaml").read_text().splitlines()[0]
    schema = first.split("$schema=")[1]
    assert (shipped.folder() / schema).resolve() == shipped.schema_file().resolve()


def test_a_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped.resolve("rice_cooker") == shipped.folder() / "rice_cooker.yaml"
    assert shipped.resolve("rice_cooker.yaml") == shipped.folder() / "rice_cooker.yaml"
    Path("rice_cooker").write_text("task: beans\n")
    assert shipped.resolve("rice_cooker") == Path("rice_cooker")
    with pytest.raises(ConfigError, match="nosuch: config file not found, and no shipped "
                       "config is named 'nosuch'; shipped: beans, circle, compare_beans, "
                       "compare_fashion_mnist, compare_spiral, fashion_mnist"):
        shipped.resolve("nosuch")
    with pytest.raises(ConfigError, match="named without a folder: beans"):
        shipped.resolve("elsewhere/beans.yaml")


def test_train_a_shipped_config_by_name_from_anywhere(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", "rice_cooker", "--smoke", "--quiet")
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    bad = invoke("train", "rice_coker")
    assert bad.exit_code == 2 and "shipped: beans" in bad.stderr
    assert invoke("summary", "beans").exit_code == 0
    assert invoke("landscape", "rice_cooker", "--steps", "3").exit_code == 0


def test_compare_with_no_config_runs_compare_beans(invoke, tmp_path):
    result = invoke("compare", "--activations", "relu,tanh", "--seeds", "1", "--set",
                    "train.epochs=3", "--no-until-decided", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    plan = json.loads((folder / "plan.json").read_text())
    assert Path(plan["config"]).name == "compare_beans.yaml" and "compare_beans" in folder.name


def test_init_copies_with_a_schema_that_exists_and_never_overwrites(invoke, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("init", "beans")
    assert result.exit_code == 0, result.output
    copy = tmp_path / "beans.yaml"
    first = copy.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=actcli.schema.json"
    assert json.loads((tmp_path / "actcli.schema.json").read_text())["title"] == "actcli config"
    assert copy.read_text().splitlines()[1:] == \
        (shipped.folder() / "beans.yaml").read_text().splitlines()[1:]
    copy.write_text(copy.read_text() + "# mine\n")
    again = invoke("init", "beans")
    assert again.exit_code == 2 and again.stderr.strip() == (
        "error: init: beans.yaml exists; it is never overwritten (choose another --out, or "
        "remove it)")
    assert copy.read_text().endswith("# mine\n")
    assert invoke("init", "rice_cooker", "--out", tmp_path / "sub" / "k.yaml").exit_code == 0
    assert (tmp_path / "sub" / "k.yaml").exists() and (tmp_path / "sub" / "actcli.schema.json"
                                                        ).exists()
    unknown = invoke("init", "bens")
    assert unknown.exit_code == 2 and "'bens' is not a shipped config" in unknown.stderr
    trained = invoke("train", "beans.yaml", "--smoke", "--quiet")
    assert trained.exit_code == 0, trained.output


def test_list_configs_says_what_and_how_long(invoke):
    result = invoke("list", "configs")
    assert result.exit_code == 0
    for name in shipped.names():
        assert name in result.stdout
    about = shipped.about("rice_cooker")
    assert about.what.startswith("The classic: a kettle switches at 130")
    assert about.takes == "about 5 s on 2 CPU cores"


def test_completion_names_match_the_registries():
    from actcli import config
    from actcli.components.activations import ACTIVATIONS
    from actcli.components.initializers import INITIALIZERS
    from actcli.components.losses import LOSSES
    from actcli.components.optimizers import OPTIMIZERS
    from actcli.inspection.surfaces import SURFACES
    from actcli.tasks import TASKS

    assert completion.ACTIVATIONS == tuple(ACTIVATIONS.names())
    assert completion.LOSSES == tuple(LOSSES.names())
    assert completion.INITS == tuple(INITIALIZERS.names())
    assert completion.OPTIMIZERS == tuple(OPTIMIZERS.names())
    assert completion.TASKS == tuple(TASKS.names())
    assert completion.SURFACES == tuple(SURFACES.names())
    from actcli.inspection.catalog import KINDS

    assert completion.LIST_KINDS == KINDS
    for key in completion.KEYS:  # every key it offers is one --set takes
        value = {"model.hidden": "[4]", "model.channels": "[4]", "task.name": "beans",
                 "task": "beans"}.get(key, completion.VALUES.get(key, ("1",))[0])
        task = "fashion_mnist" if key.split(".")[-1] in (
            "data_dir", "download", "val_size", "normalize", "limit_train", "limit_test") \
            else "beans" if key in ("task.count", "task.noise") \
            else "spiral" if key == "task.features" \
            else "table" if key in ("task.path", "task.target", "task.kind",
                                    "task.val_fraction") else "rice_cooker"
        value = {"task.features": "[x1]", "task.path": "iris.csv", "task.target": "species",
                 "task.kind": "auto", "task.val_fraction": "0.1"}.get(key, value)
        overrides = [f"task={task}"] if key.startswith("task.") else []
        overrides += ["optimizer=sgd"] if key == "optimizer.momentum" else []
        if key in ("task.data_dir",):
            value = "/tmp"
        if task in ("fashion_mnist", "table"):
            overrides += ["model.output=softmax", "loss=cross_entropy"]
        if key == "model.output" or key == "loss":
            continue  # their values depend on each other; checked by the schema tests
        try:
            config.load(None, [*overrides, f"{key}={value}"])
        except ConfigError as err:
            assert "unknown key" not in str(err) and "has no option" not in str(err), key


def test_complete_set_offers_keys_then_values():
    assert "model.activation=" in completion.complete_set("model.act")
    assert completion.complete_set("model.activation=re") == ["model.activation=relu",
                                                         "model.activation=relu6"]
    assert completion.complete_set("optimizer=ad") == ["optimizer=adam", "optimizer=adamw"]


def complete(words: str, cword: int, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "_ACTCLI_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(cword)}
    script = Path(sys.executable).parent / "actcli"  # the installed command, as a shell runs it
    return subprocess.run([sys.executable, "-X", "importtime", str(script)], env=env,
                          capture_output=True, text=True, cwd=cwd, check=True)


def test_completion_answers_without_importing_torch(tmp_path):
    (tmp_path / "mine.yaml").write_text("task: beans\n")
    answers = [complete("actcli train ", 2, tmp_path), complete("actcli plot si", 2, tmp_path),
               complete("actcli landscape --surface r", 3, tmp_path)]
    assert set(answers[0].stdout.split()) == {*shipped.names(), "mine.yaml"}
    assert answers[1].stdout.split() == ["sigmoid", "silu"]
    assert answers[2].stdout.split() == ["rosenbrock", "rastrigin"]
    for found in answers:  # a config's name too: the config package imports torch
        imported = {line.split("|")[-1].strip() for line in found.stderr.splitlines()}
        assert "torch" not in imported and "matplotlib" not in imported


def test_completion_inside_a_formula_offers_what_a_formula_may_call():
    from actcli.components import formula
    from actcli.components.activations import ACTIVATIONS

    assert completion.FORMULA_FUNCTIONS == formula.FUNCTIONS
    offered = [c.removeprefix("x * (") for c in completion.complete_activation("x * (")]
    hidden = [s.name for s in ACTIVATIONS if s.elementwise]
    assert offered == list(dict.fromkeys([*formula.FUNCTIONS, *hidden]))
    calls = {"min": "min(x, 0)", "max": "max(x, 0)", "clamp": "clamp(x, 0, 1)",
             "where": "where(x > 0, x, 0)"}
    for name in offered:  # each is something a formula may call
        formula.parse(calls.get(name, f"{name}(x)"))
    assert completion.complete_activation("x * tanh(soft") == ["x * tanh(softplus",
                                                               "x * tanh(softsign"]
    assert completion.complete_activation("x*sigmoid(1.702*x) + gel") == [
        "x*sigmoid(1.702*x) + gelu"]
    assert completion.complete_activation("max(x, 0.1*x") == []  # x is no function
    assert completion.complete_activation("si") == ["sigmoid", "silu"]  # names as before
    assert completion.complete_set("model.activation=x*tanh(softp") == [
        "model.activation=x*tanh(softplus"]


def test_completion_inside_a_formula_imports_no_torch(tmp_path):
    found = complete("actcli plot 'x * tanh(soft", 2, tmp_path)
    assert found.stdout.splitlines() == ["x * tanh(softplus", "x * tanh(softsign"]
    imported = {line.split("|")[-1].strip() for line in found.stderr.splitlines()}
    assert not imported & {"torch", "matplotlib", "sympy"}


def test_install_completion_is_offered(invoke):
    result = invoke("--help")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


@pytest.mark.slow
def test_the_wheel_installed_outside_the_checkout(tmp_path):
    """Build the wheel, install it into a fresh venv that borrows this one's packages (torch
    included) but not the checkout, and use it from an empty folder."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("actcli-*.whl")
    import zipfile

    listed = zipfile.ZipFile(wheel).namelist()
    assert "actcli/configs/rice_cooker.yaml" in listed
    assert "actcli/schema/actcli.schema.json" in listed
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    borrowed = [p for p in sys.path if p.endswith("site-packages")]
    Path(site.stdout.strip(), "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    actcli = env_dir / "bin" / "actcli"

    def run(*args: str) -> str:
        done = subprocess.run([str(actcli), *args], cwd=empty, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run([str(python), "-c", "import actcli; print(actcli.__file__)"],
                           cwd=empty, env=env, capture_output=True, text=True, check=True)
    assert str(ROOT) not in where.stdout  # the installed copy, not the checkout
    run("train", "rice_cooker", "--smoke", "--quiet")
    run("init", "beans")
    assert (empty / "actcli.schema.json").exists()
    run("train", "beans.yaml", "--smoke", "--quiet")
    assert len(list((empty / "runs").iterdir())) == 2
