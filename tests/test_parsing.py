"""Command-line text -> typed values (actcli.cli.parsing): what each parser gives, and the
exact message for text it refuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from actcli.cli import parsing
from actcli.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1.0), (" -2.5 ", -2.5), ("1e-6", 1e-6), ("0", 0.0),
    ("x", None), ("", None), ("nan", None), ("inf", None), ("-inf", None)])
def test_number_is_a_finite_number_or_none(text, expected):
    assert parsing.number(text) == expected


def test_numbers_split_on_commas_and_name_the_bad_item():
    assert parsing.numbers("--x", "-1, 0,2.5", "1,2") == [-1.0, 0.0, 2.5]
    with pytest.raises(ConfigError) as err:
        parsing.numbers("--x", "1, y ,3", "1,2")
    assert str(err.value) == ("--x: 'y' is not a number; give numbers separated by commas, "
                              "e.g. --x 1,2")
    with pytest.raises(ConfigError, match="'nan' is not a number"):
        parsing.numbers("--x", "1,nan", "1,2")
    with pytest.raises(ConfigError) as err:
        parsing.numbers("--x", "1,2,3", "1,2", count=2)
    assert str(err.value) == "--x: '1,2,3' must be 2 numbers, e.g. --x 1,2"


def test_optional_numbers_is_a_tuple_or_none():
    assert parsing.optional_numbers("--inputs", None, "0.05,0.10") is None
    assert parsing.optional_numbers("--inputs", "0.5,1", "0.05,0.10") == (0.5, 1.0)
    with pytest.raises(ConfigError, match="--inputs: 'a' is not a number"):
        parsing.optional_numbers("--inputs", "a,b", "0.05,0.10")


def test_plot_points():
    assert parsing.plot_points("-1,0,2.5") == [-1.0, 0.0, 2.5]
    with pytest.raises(ConfigError) as err:
        parsing.plot_points("1,x")
    assert str(err.value) == ("--points: 'x' is not a number; give numbers separated by "
                              "commas, e.g. --points -1,0,2.5")


def test_start_point_is_two_numbers():
    assert parsing.start_point("1,1e-6") == (1.0, 1e-6)
    assert parsing.start_point("-4, 4") == (-4.0, 4.0)
    with pytest.raises(ConfigError) as err:
        parsing.start_point("1")
    assert str(err.value) == "--from: '1' must be 2 numbers, e.g. --from 1,1e-6"
    with pytest.raises(ConfigError, match="--from: 'y' is not a number"):
        parsing.start_point("1,y")


def test_optimizer_reads_its_options_as_yaml_and_keeps_the_text_as_label():
    choice = parsing.optimizer(" adam:lr=0.5:beta1=0.8 ")
    assert (choice.name, dict(choice.kwargs), choice.label) == (
        "adam", {"lr": 0.5, "beta1": 0.8}, "adam:lr=0.5:beta1=0.8")
    choice = parsing.optimizer("sgd:momentum=0.5:nesterov=true")
    assert dict(choice.kwargs) == {"momentum": 0.5, "nesterov": True}
    choice = parsing.optimizer("momentum")  # an alias: the library expands it
    assert (choice.name, dict(choice.kwargs), choice.label) == ("momentum", {}, "momentum")
    assert dict(parsing.optimizer("sgd:lr=[1").kwargs) == {"lr": "[1"}  # not YAML: the text


@pytest.mark.parametrize("text", ["sgd:momentum", "sgd:=0.5", "adam:"])
def test_optimizer_options_go_as_key_value(text):
    with pytest.raises(ConfigError) as err:
        parsing.optimizer(text)
    assert str(err.value) == (f"--optimizers: '{text}': options go as name:key=value, e.g. "
                              "sgd:momentum=0.5")


def test_optimizers_split_on_commas_and_pass_over_blanks():
    found = parsing.optimizers("sgd, momentum,,adam:lr=0.1,")
    assert [(c.name, c.label) for c in found] == [
        ("sgd", "sgd"), ("momentum", "momentum"), ("adam", "adam:lr=0.1")]
    assert parsing.optimizers(" , ") == []


def test_the_parsed_optimizers_are_what_the_search_runs():
    from actcli.inspection import surfaces

    (choice,) = parsing.optimizers("sgd:momentum=0.5")
    ref = surfaces.optimizer_ref(choice, 0.1)
    assert ref.name == "sgd" and ref.kwargs["momentum"] == 0.5 and ref.kwargs["lr"] == 0.1


def test_inputs_name_the_bad_one_and_the_units():
    assert parsing.inputs(["125", "-40", "1e1"], "temperature (°C)") == [125.0, -40.0, 10.0]
    assert parsing.inputs([], "bean size") == []
    for bad in ("12x", "nan", "inf"):
        with pytest.raises(ConfigError) as err:
            parsing.inputs(["125", bad], "temperature (°C)")
        assert str(err.value) == (f"input '{bad}' is not a number; give numbers in the "
                                  "task's units (temperature (°C))")


def test_predict_arguments_refuse_unknown_options_but_not_negative_numbers():
    parsing.check_predict_arguments(["runs/x", "-40", "-1e1", "-4.5", "-", "125"])
    for typo in ("--imag", "-x"):
        with pytest.raises(ConfigError) as err:
            parsing.check_predict_arguments(["runs/x", typo])
        assert str(err.value) == (f"no such option: {typo} (options: --image, --help; a "
                                  "negative input is a number such as -40)")


def test_parsing_imports_neither_torch_nor_matplotlib():
    code = ("import sys; import actcli.cli.parsing; "
            "print(any(m.split('.')[0] in ('torch', 'matplotlib') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
