"""Config: load, defaults, overrides, one-line errors, dump round trip, JSON Schema."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actcli import config
from actcli.errors import ConfigError

from helpers import CONFIGS, ROOT, write


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_point_at_the_schema(path):
    cfg = config.load(path)
    assert cfg.name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schema/actcli.schema.json"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_dump_reads_back_equal(path, tmp_path):
    cfg = config.load(path)
    again = config.load(write(tmp_path / "again.yaml", config.dump(cfg)))
    assert again == cfg
    assert config.dump(again) == config.dump(cfg)


def test_defaults_fill_every_key():
    data = config.to_dict(config.load(None))
    assert data["name"] == "rice_cooker"
    assert data["task"]["name"] == "rice_cooker" and data["task"]["threshold"] == 130.0
    assert data["optimizer"]["name"] == "adam" and data["optimizer"]["lr"] == 0.001
    assert data["train"] == {"epochs": 100, "batch_size": None, "seed": 0,
                             "lr_schedule": "constant", "checkpoint_every": None,
                             "checkpoint_seconds": 30.0,
                             "log_every": None, "precision": "fp32"}
    assert data["device"] == "auto"


def test_rice_cooker_config_is_the_classic():
    cfg = config.load(CONFIGS / "rice_cooker.yaml")
    assert cfg.model.hidden == [] and cfg.model.output == "sigmoid"
    assert cfg.loss.name == "bce" and cfg.optimizer.name == "adam"
    assert cfg.optimizer.kwargs["lr"] == 0.05


def test_overrides_apply_and_are_validated():
    cfg = config.load(CONFIGS / "beans.yaml", ["optimizer.lr=3e-3", "model.hidden=[4, 4]",
                                               "model.activation=gelu", "train.seed=7"])
    assert cfg.optimizer.kwargs["lr"] == 0.003
    assert cfg.model.hidden == [4, 4] and cfg.model.activation.name == "gelu"
    assert cfg.train.seed == 7


def test_override_gives_a_bare_component_its_options():
    cfg = config.load(None, ["model.init=constant", "model.init.value=5"])
    assert cfg.model.init.name == "constant" and cfg.model.init.kwargs == {"value": 5.0}


def test_override_on_a_missing_component_starts_from_its_default():
    cfg = config.load(None, ["optimizer.lr=0.5"])
    assert cfg.optimizer.name == "adam" and cfg.optimizer.kwargs["lr"] == 0.5


def test_per_layer_lists():
    cfg = config.load(None, ["model.hidden=[3, 2]", "model.activation=[relu, tanh]",
                             "model.init=[zeros, ones, {name: constant, value: 2}]"])
    assert [r.name for r in cfg.model.activation] == ["relu", "tanh"]
    assert [r.name for r in cfg.model.init] == ["zeros", "ones", "constant"]


def test_yaml_exponent_without_dot_is_a_float(tmp_path):
    cfg = config.load(write(tmp_path / "c.yaml", "optimizer: {name: sgd, lr: 1e-3}\n"))
    assert cfg.optimizer.kwargs["lr"] == 0.001


ERRORS = [
    ("optimizer: {name: adam, lr: fast}", "c.yaml: optimizer.lr: expected float, got 'fast'"),
    ("optimizer: {name: adam, lr: 0}", "c.yaml: optimizer.lr: must be > 0.0, got 0.0"),
    ("train: {epochs: 1.5}", "c.yaml: train.epochs: input should be a valid integer"),
    ("train: {epochs: 0}", "c.yaml: train.epochs: input should be greater than or equal to 1"),
    ("train: {batch_size: 0}", "c.yaml: train.batch_size: input should be greater than or equal"),
    ("model: {hidden: 7}", "c.yaml: model.hidden: input should be a valid list; got 7"),
    ("model: {hidden: [4, -1]}", "c.yaml: model.hidden[1]: input should be greater than 0"),
    ("model: {activation: relux}", "c.yaml: model.activation: unknown activation 'relux' "
                                   "(did you mean 'relu'?); valid: celu,"),
    ("model: {init: xavier}", "c.yaml: model.init: unknown init 'xavier'"),
    ("loss: crossentropy", "c.yaml: loss: unknown loss 'crossentropy' (did you mean "
                           "'cross_entropy'?)"),
    ("optimizer: adamm", "c.yaml: optimizer: unknown optimizer 'adamm' (did you mean 'adam'?)"),
    ("task: {name: rice_cookr}", "c.yaml: task.name: unknown task 'rice_cookr' (did you mean "
                                 "'rice_cooker'?); valid: beans, circle, fashion_mnist, gauss, "
                                 "moons, reg_gauss, reg_plane, rice_cooker, spiral, table, xor"),
    ("modle: {}", "c.yaml: unknown key 'modle' (did you mean 'model'?); valid keys in top "
                  "level: name, task, model"),
    ("model: {hiden: [3]}", "c.yaml: unknown key 'model.hiden' (did you mean 'hidden'?)"),
    ("task: {name: beans, cout: 3}", "c.yaml: unknown key 'task.cout' (did you mean 'count'?)"),
    ("loss: cross_entropy", "c.yaml: loss: cross_entropy needs two or more classes"),
    ("model: {output: softmax}\nloss: cross_entropy", "c.yaml: model.output: softmax is for "
     "three or more classes; task rice_cooker has two, learned by one sigmoid output"),
    ("model: {output: softmx}", "c.yaml: model.output: 'softmx' is not allowed; valid:"),
    ("model: {activation: softmax, hidden: [3]}",
     "c.yaml: model.activation: softmax is for outputs"),
    ("model: {activation: [relu], hidden: [3, 3]}",
     "c.yaml: model.activation: a list needs one entry"),
    ("model: {activation: {name: leaky_relu, slope: 1}}",
     "c.yaml: model.activation: leaky_relu has no option 'slope'; its options: negative_slope"),
    ("name: ../evil", "c.yaml: name: '../evil' is not a valid run name"),
    ("name: a/b", "c.yaml: name: 'a/b' is not a valid run name"),
    ("device: gpu", "c.yaml: device: 'gpu' is not a device; valid: auto, cpu, cuda"),
    ("task: {name: rice_cooker, t_min: 300}", "c.yaml: task: t_min must be < t_max"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[e[1][8:40] for e in ERRORS])
def test_bad_values_give_one_clear_line(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path / "c.yaml", text + "\n"))
    line = str(info.value).replace(str(tmp_path) + "/", "")
    assert line.startswith(message)
    assert "\n" not in line


def test_file_problems(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        config.load(tmp_path)
    with pytest.raises(ConfigError, match=r"c.yaml:2:8: invalid YAML"):
        config.load(write(tmp_path / "c.yaml", "name: x\nmodel: }\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping.*got a list"):
        config.load(write(tmp_path / "c.yaml", "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="got a string"):
        config.load(write(tmp_path / "c.yaml", "hello\n"))
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        config.load(write(tmp_path / "c.yaml", "name: a\nname: b\n"))
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load(write(tmp_path / "c.yaml", "name: !!python/object:os.system {}\n"))


def test_control_character_in_set_is_one_line():
    with pytest.raises(ConfigError) as info:
        config.load(None, ["name=\x1b"])
    assert str(info.value) == ("--set name: invalid YAML: unacceptable character #x001b: "
                               "special characters are not allowed")


@pytest.mark.parametrize("override", ["optimizer.lr", "=3", "a..b=1", ".x=1"])
def test_malformed_set(override):
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config.load(None, [override])


def test_set_errors_say_they_come_from_set():
    with pytest.raises(ConfigError, match=r"\(after --set\): optimizer.lr: must be > 0"):
        config.load(CONFIGS / "rice_cooker.yaml", ["optimizer.lr=-1"])


def test_smoke_is_an_ordinary_smaller_config():
    cfg = config.smoke(config.load(CONFIGS / "rice_cooker.yaml"))
    assert cfg.train.epochs == 200 and cfg.task.step == 1.0


def test_schema_in_repo_is_current():
    shipped = json.loads((ROOT / "schema" / "actcli.schema.json").read_text(encoding="utf-8"))
    assert shipped == config.json_schema()


def test_schema_lists_registry_names_and_forbids_unknown_keys():
    schema = config.json_schema()
    text = json.dumps(schema)
    assert '"gelu"' in text and '"kaiming_normal"' in text and '"rmsprop"' in text
    assert schema["additionalProperties"] is False


# arbitrary YAML documents and overrides: only clean ConfigErrors may come out
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "task", "model", "hidden", "activation", "lr",
                                       "optimizer", "train", "epochs", "init", "loss",
                                       "output", "device", "x"]), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=yaml_values, overrides=st.lists(st.text(max_size=20), max_size=3))
def test_arbitrary_input_gives_clean_errors(tmp_path_factory, document, overrides):
    path = tmp_path_factory.mktemp("h") / "c.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        config.load(path, overrides)
    except ConfigError as err:
        assert str(err) and "\n" not in str(err)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60))
def test_arbitrary_text_gives_clean_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("t") / "c.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        config.load(path)
    except ConfigError as err:
        assert str(err)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n", "{}\n",
                                  "---\n"])
def test_an_empty_config_is_refused(tmp_path, text):
    path = write(tmp_path / "x.yaml", text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value) == (f"{path} is empty: a config needs at least task: "
                               "(e.g. task: rice_cooker)")


def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines)


def test_a_yaml_alias_bomb_fails_at_once_with_one_short_line(tmp_path):
    import time

    # nine levels of anchors, each alias repeated ten times: 10^9 values once expanded
    body = "\n".join(f"  {line}" for line in _alias_bomb().splitlines())
    path = write(tmp_path / "bomb.yaml", f"task: beans\nbomb:\n{body}\n"
                 "model:\n  hidden: *a8\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert time.perf_counter() - start < 5  # generous: it takes milliseconds
    line = str(info.value)
    assert "aliases expand to over 100,000 values" in line and len(line) < 200


def test_small_aliases_still_work(tmp_path):
    path = write(tmp_path / "a.yaml", "task: beans\nmodel:\n  hidden: &w [4, 4]\n"
                 "compare:\n  over:\n    model.hidden: [*w, [8]]\n")
    assert config.load(path).compare.over["model.hidden"] == [[4, 4], [8]]


def test_an_error_quotes_at_most_80_characters_of_a_bad_value(tmp_path):
    huge = "[" + ", ".join(["x"] * 5000) + "]"
    for text in (f"model:\n  hidden: {huge}\n", f"name: {'a/' * 3000}\n",
                 f"device: {'gpu' * 3000}\n"):
        with pytest.raises(ConfigError) as info:
            config.load(write(tmp_path / "c.yaml", text))
        assert len(str(info.value)) < 250, str(info.value)[:300]
    with pytest.raises(ConfigError) as info:
        config.load(None, ["model.activation=" + "relux" * 1000])
    assert len(str(info.value).split("; valid:")[0]) < 200


def test_quote_cuts_long_values_and_keeps_short_ones():
    from actcli.errors import quote

    assert quote("relux") == "'relux'" and quote([1, 2]) == "[1, 2]"
    assert len(quote("x" * 10_000)) <= 80 and quote("x" * 10_000).startswith("'xxx")
    nested = [[list(range(100))] * 100] * 100  # shared lists, as an alias bomb gives
    assert len(quote(nested)) <= 80


def test_naming_another_component_drops_the_options_it_lacks_and_says_so(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: beans\noptimizer: {name: adam, lr: 0.1, beta1: 0.8}\n"
                    "model: {hidden: [4], activation: {name: softplus, beta: 2}}\n")
    notes: list[str] = []
    cfg = config.load(path, ["optimizer.name=sgd", "model.activation.name=elu"], notes)
    assert cfg.optimizer.name == "sgd" and cfg.optimizer.kwargs["lr"] == 0.1
    assert "beta1" not in cfg.optimizer.kwargs
    assert str(cfg.model.activation) == "elu(alpha=1.0)"
    assert notes == ["optimizer.name=sgd: dropped beta1 (sgd has no such option)",
                     "model.activation.name=elu: dropped beta (elu has no such option)"]
    # the same name again changes nothing; an unknown name is still refused by validation
    assert config.load(path, ["optimizer.name=adam"]).optimizer.kwargs["beta1"] == 0.8
    with pytest.raises(ConfigError, match="unknown optimizer 'sgdd'"):
        config.load(path, ["optimizer.name=sgdd"])


def test_a_config_too_large_is_refused_before_it_is_parsed(tmp_path):
    from actcli.config import yamlio

    big = tmp_path / "big.yaml"
    big.write_text("task: beans\njunk: [" + "1, " * (yamlio.MAX_BYTES // 3) + "1]\n")
    with pytest.raises(ConfigError, match=r"bytes is too large for a config \(at most "):
        config.load(big)
    with pytest.raises(ConfigError, match="too large for a config value"):
        config.load(None, ["name=" + "x" * (yamlio.MAX_BYTES + 1)])


def test_many_values_without_aliases_are_not_called_an_alias_bomb(tmp_path):
    many = tmp_path / "many.yaml"
    many.write_text("task: beans\njunk: [" + ", ".join(["1"] * 100_001) + "]\n")
    with pytest.raises(ConfigError) as info:
        config.load(many)
    assert "it holds over 100,000 values" in str(info.value)
    assert "YAML aliases" not in str(info.value)


def test_a_long_name_is_refused_and_echoed_short():
    with pytest.raises(ConfigError) as info:
        config.load(None, ["name=" + "x" * 5000])
    assert "is not a valid run name" in str(info.value) and len(str(info.value)) < 300
