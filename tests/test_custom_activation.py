"""Your own activation (#22): a formula or a Python reference in configs, the learned built-ins
swish_beta and rational, and everything that uses an activation's spec (the dense engine,
stacks, diagnostics). References are torch's own functions, hand formulas and the PAU
paper's own formula and coefficients, never this code's earlier output."""

from __future__ import annotations

import copy
import csv
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actcli import config
from actcli.components import FORMULA, PYTHON, Ref, activations, losses, optimizers
from actcli.components.custom import PythonActivation
from actcli.components.formula import FormulaActivation
from actcli.components.rational import Rational
from actcli.engine import diagnostics, model
from actcli.engine.autograd import AutogradStep
from actcli.engine.stack import StackedMLP, dense_layers
from actcli.engine.stack_optim import StackedOptimizer
from actcli.errors import ConfigError

from helpers import CONFIGS, ROOT, write

DATA = ROOT / "tests" / "data"
USER = DATA / "user_activations.py"


def load(*overrides: str, path=None):
    return config.load(path, list(overrides))


def round_trip(cfg, tmp_path):
    again = config.load(write(tmp_path / "again.yaml", config.dump(cfg)))
    assert again == cfg
    assert config.dump(again) == config.dump(cfg)
    json.dumps(config.to_dict(cfg))  # plain JSON
    return again


# --- config forms --------------------------------------------------------------------------

def test_a_formula_string_is_an_activation_and_round_trips(tmp_path):
    cfg = load("model.hidden=[4]", "model.activation=x *  tanh(softplus(x))")
    ref = cfg.model.activation
    assert ref.name == FORMULA and ref.kwargs["formula"] == "x * tanh(softplus(x))"
    assert config.to_dict(cfg)["model"]["activation"] == "x * tanh(softplus(x))"
    assert str(ref) == "x * tanh(softplus(x))"
    round_trip(cfg, tmp_path)


def test_set_takes_a_formula():
    cfg = load("model.hidden=[3]", 'model.activation="x*sigmoid(x)"')
    assert cfg.model.activation.kwargs["formula"] == "x*sigmoid(x)"


def test_a_formula_mapping_with_parameters_round_trips(tmp_path):
    path = write(tmp_path / "c.yaml", "task: beans\nmodel:\n  hidden: [4, 3]\n  activation:\n"
                 "    - {formula: 'x * sigmoid(beta * x)', params: {beta: 1}, trainable: [beta],"
                 " per_unit: true}\n    - relu\n")
    cfg = config.load(path)
    first, second = cfg.model.activation
    assert first.kwargs == {"formula": "x * sigmoid(beta * x)", "params": (("beta", 1.0),),
                            "trainable": ("beta",), "per_unit": True}
    assert second == Ref("activation", "relu")
    assert config.to_dict(cfg)["model"]["activation"][0] == {
        "formula": "x * sigmoid(beta * x)", "params": {"beta": 1.0}, "trainable": ["beta"],
        "per_unit": True}
    round_trip(cfg, tmp_path)
    # a parameter's start changed by --set; a bare trainable name is a list of one
    more = config.load(path, ["model.activation=[{formula: x * sigmoid(beta * x), params: "
                              "{beta: 1}, trainable: beta}, relu]"])
    assert more.model.activation[0].kwargs["trainable"] == ("beta",)
    tuned = config.load(write(tmp_path / "d.yaml", "task: beans\nmodel:\n  hidden: [4]\n"
                              "  activation: {formula: 'x * sigmoid(beta * x)', params: "
                              "{beta: 1}}\n"), ["model.activation.params.beta=2.5"])
    assert tuned.model.activation.kwargs["params"] == (("beta", 2.5),)


def test_a_python_reference_is_resolved_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = load("model.hidden=[4]", "model.activation=tests/data/user_activations.py:swish")
    ref = cfg.model.activation
    assert ref.name == PYTHON and ref.kwargs["python"] == f"{USER}:swish"  # stored absolute
    assert config.load(None, ["model.hidden=[4]",
                              "model.activation={python: tests/data/user_activations.py:swish}"]
                       ) == cfg
    monkeypatch.chdir(tmp_path)  # the run folder's config.yaml works from anywhere
    round_trip(cfg, tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        load("model.hidden=[4]", "model.activation=tests/data/user_activations.py:swish")


def test_package_module_references():
    fn = load("model.hidden=[2]", "model.activation=torch.nn.functional:silu").model.activation
    cls = load("model.hidden=[2]", "model.activation=torch.nn:SiLU").model.activation
    x = torch.linspace(-5, 5, 11)
    assert torch.equal(activations.make(fn)(x), F.silu(x))
    assert torch.equal(activations.make(cls)(x), F.silu(x))


USER_REF = f"{USER}"
ERRORS = [
    ("x * y", "model.activation: formula 'x * y': unknown name 'y'"),
    ("__import__('os').system('true')", "model.activation: formula"),
    ("log(x)", "model.activation: formula 'log(x)': returns NaN or inf on the probe "
               "torch.linspace(-6, 6, 101) (first at x = -6)"),
    ("{formula: x * sigmoid(b * x), params: {b: 1}, trainable: [beta]}",
     "model.activation.trainable: 'beta' is not a parameter of the formula; its parameters: b"),
    ("{formula: x * sigmoid(b * x), params: {b: 1}, per_unit: true}",
     "model.activation.per_unit: per_unit: true needs trainable parameters"),
    ("{formula: x * sigmoid(b * x), params: {b: 1}, trainabel: [b]}",
     "model.activation: a formula has no option 'trainabel' (did you mean 'trainable'?)"),
    ("{formula: x * sigmoid(b * x), params: 3}", "model.activation.params: expected a mapping"),
    ("missing_file.py:f", "model.activation: python 'missing_file.py:f': file not found: "),
    ("user.py", "model.activation: python 'user.py': name the function or class in the file "
                "too: user.py:name"),
    (f"{DATA}/broken_activations.py:f", "model.activation: python "),
    (f"{USER_REF}:swihs", "model.activation: python "),
    (f"{USER_REF}:NOT_A_FUNCTION", "model.activation: python "),
    (f"{USER_REF}:Plain", "model.activation: python "),
    (f"{USER_REF}:NeedsArguments", "model.activation: python "),
    (f"{USER_REF}:shrink", "model.activation: python "),
    (f"{USER_REF}:logarithm", "model.activation: python "),
    (f"{USER_REF}:as_float", "model.activation: python "),
    (f"{USER_REF}:in_place", "model.activation: python "),
    (f"{USER_REF}:row_softmax", "model.activation: python "),
    (f"{USER_REF}:fails", "model.activation: python "),
    (f"{USER_REF}:to_double", "model.activation: python "),
    ("no_such_package_here:f", "model.activation: python 'no_such_package_here:f': no module "
                               "named 'no_such_package_here'"),
    ("{python: a.py:f, extra: 1}", "model.activation: a python reference has no option 'extra'"),
]
ENDINGS = {  # what the line for each reference of the user's file ends with
    "broken_activations.py:f": "importing broken_activations.py failed: RuntimeError: this "
                               "file is broken on purpose",
    ":swihs": "user_activations.py has no 'swihs' (did you mean 'swish'?)",
    ":NOT_A_FUNCTION": "NOT_A_FUNCTION is a float, not a function of a tensor or an "
                       "nn.Module class",
    ":Plain": "Plain is a class but not an nn.Module",
    ":NeedsArguments": "NeedsArguments() failed (an nn.Module class is built with no "
                       "arguments): TypeError:",
    ":shrink": "changes the shape of its input on the probe torch.linspace(-6, 6, 101): "
               "(101,) in, (51,) out",
    ":logarithm": "returns NaN or inf on the probe torch.linspace(-6, 6, 101) (first at "
                  "x = -6)",
    ":as_float": "returns a float, not a tensor",
    ":in_place": "changes its input in place",
    ":row_softmax": "is not elementwise",
    ":fails": "raised on the probe torch.linspace(-6, 6, 101): ValueError: no luck",
    ":to_double": "changes the dtype of its input",
}


@pytest.mark.parametrize(("value", "message"), ERRORS, ids=[v[:40] for v, _ in ERRORS])
def test_bad_activations_give_one_line_naming_the_key(value, message):
    with pytest.raises(ConfigError) as info:
        load("model.hidden=[4]", f"model.activation={value}")
    line = str(info.value)
    assert "\n" not in line and line.startswith(f"config (after --set): {message}"), line
    for ending, text in ENDINGS.items():
        if value.endswith(ending):
            assert text in line, line
    if "broken" in value:
        assert "second line" not in line


def test_a_per_layer_entry_names_its_index():
    with pytest.raises(ConfigError) as info:
        load("model.hidden=[4, 4]", "model.activation=[relu, x * nope]")
    assert str(info.value).startswith("config (after --set): model.activation[1]: formula ")


def test_bad_input_exits_2_without_a_run_folder(invoke, tmp_path):
    for value in ("x ** x ** x ** x ** x ** 99", "missing_file.py:f", "().__class__"):
        result = invoke("train", CONFIGS / "beans.yaml", "--set", f"model.activation={value}",
                        "--set", "model.hidden=[4]", "--out", tmp_path / "runs")
        assert result.exit_code == 2, result.output
        assert "model.activation" in result.stderr and len(result.stderr.splitlines()) == 1
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_validating_imports_the_file_once_and_draws_no_random_numbers(monkeypatch):
    monkeypatch.chdir(ROOT)
    state = torch.get_rng_state()
    for _ in range(3):
        load("model.hidden=[2]", f"model.activation={USER}:ShiftedRelu")
    assert torch.equal(torch.get_rng_state(), state)
    net = model.build(load("model.hidden=[2]", f"model.activation={USER}:swish").model, (1,), 1)
    module = net.layers[1]
    assert isinstance(module, PythonActivation)
    assert module.fn.__globals__["CALLS"]["imported"] == 1


# --- rational: the safe PAU at the paper's leaky-ReLU fit -----------------------------------

# pau/cuda/python_imp/Pade.py (ml-research/pau), "pade_optimized_leakyrelu"
PAPER_N = [3.35583603e-02, 5.05000375e-01, 1.65343934e+00, 2.01001052e+00, 9.31901999e-01,
           1.52424124e-01]
PAPER_D = [3.30847488e-06, 3.98021568e+00, 5.12471206e-07, 3.01830109e-01]


def paper_pau(x: np.ndarray) -> np.ndarray:
    """ratio_func_abs54 of pau/find_coefficients.ipynb, written as the paper's code does."""
    w, d = PAPER_N, PAPER_D
    p = w[0] + w[1] * x + w[2] * x**2 + w[3] * x**3 + w[4] * x**4 + w[5] * x**5
    q = (1.0 + abs(d[0]) * abs(x) + abs(d[1]) * abs(x**2) + abs(d[2]) * abs(x**3)
         + abs(d[3]) * abs(x**4))
    return p / q


def test_rational_starts_at_the_papers_fit_of_leaky_relu():
    x = torch.linspace(-3, 3, 6001, dtype=torch.float64)
    module = Rational().double()
    y = module(x).detach()
    np.testing.assert_allclose(y.numpy(), paper_pau(x.numpy()), rtol=1e-6, atol=1e-7)
    leaky = F.leaky_relu(x, 0.01)
    gap = (y - leaky).abs()
    # a rational cannot have the kink: about 0.034 off at 0, 0.004 on average
    assert float(gap.mean()) < 1e-2 and float(gap.max()) < 0.035
    assert float(gap[x.abs() > 0.5].max()) < 1e-2
    # it is the fit of slope 0.01: closer to it than to relu or to slope 0.1
    assert float(gap.mean()) < float((y - F.relu(x)).abs().mean())
    assert float(gap.mean()) < float((y - F.leaky_relu(x, 0.1)).abs().mean())
    # a safe PAU has no poles: its denominator is at least 1 everywhere
    far = torch.linspace(-1e3, 1e3, 20001, dtype=torch.float64)
    assert torch.isfinite(module(far)).all()


def test_rational_derivative_matches_autograd_and_the_spec_is_bound():
    module = Rational().double()
    with torch.no_grad():
        module.numerator.add_(torch.linspace(-0.1, 0.1, 6, dtype=torch.float64))
        module.denominator.mul_(-1)  # |b| in the denominator: the same function
    x = torch.linspace(-4, 4, 801, dtype=torch.float64).requires_grad_(True)
    (expected,) = torch.autograd.grad(module(x).sum(), x)
    spec = activations.spec_of(module)
    assert spec is not None and spec.bound and spec.name == "rational"
    torch.testing.assert_close(spec.grad(x.detach()), expected)
    torch.testing.assert_close(diagnostics.slope(module, x.detach()), expected)


# --- swish_beta ---------------------------------------------------------------------------

def test_swish_beta_starts_as_silu_and_learns_per_layer_or_per_unit():
    x = torch.linspace(-6, 6, 121)
    one = activations.make(load("model.activation=swish_beta").model.activation)
    torch.testing.assert_close(one(x), F.silu(x))
    assert one.beta.shape == ()
    two = activations.make(load("model.activation={name: swish_beta, init: 2.0}").model.activation)
    torch.testing.assert_close(two(x), x * torch.sigmoid(2 * x))
    net = model.build(load("model.hidden=[5]", "model.activation={name: swish_beta, "
                           "per_unit: true}").model, (2,), 1)
    beta = net.layers[1].beta
    assert beta.shape == (5,)
    with torch.no_grad():
        beta.copy_(torch.tensor([0.5, 1.0, 1.5, 2.0, 3.0]))
    z = torch.randn(7, 5, generator=torch.Generator().manual_seed(0))
    s = torch.sigmoid(beta.detach() * z)
    hand = s + beta.detach() * z * s * (1 - s)  # d/dz z sigmoid(b z)
    torch.testing.assert_close(diagnostics.slope(net.layers[1], z), hand)


# --- spec_of, dense engine, diagnostics --------------------------------------------------

REFS = ["x * tanh(softplus(x))", "{formula: 'where(x > 0, x, a * x)', params: {a: 0.2}, "
        "trainable: [a], per_unit: true}", f"{USER}:swish", f"{USER}:ShiftedRelu",
        "swish_beta", "rational", "{formula: x * sigmoid(b * x), params: {b: 1.5}}"]


@pytest.mark.parametrize("ref", REFS, ids=[r.rpartition("/")[2][:30] for r in REFS])
def test_every_custom_module_has_a_spec_joins_the_dense_engine_and_counts_its_parameters(ref):
    torch.manual_seed(0)
    net = model.build(load("model.hidden=[6, 3]", f"model.activation={ref}").model, (2,), 1)
    acts = [m for m in net.layers if not isinstance(m, nn.Linear)]
    assert all(activations.spec_of(m) is not None for m in acts)
    assert dense_layers(net) is not None
    cfg = load("model.hidden=[6, 3]", f"model.activation={ref}")
    assert model.parameter_count(cfg.model, (2,), 1) == sum(p.numel() for p in net.parameters())
    # the derivative diagnostics use: torch's autograd through the module, elementwise
    z = torch.linspace(-4, 4, 6 * 9).reshape(9, 6).requires_grad_(True)
    (expected,) = torch.autograd.grad(acts[0](z).sum(), z)
    torch.testing.assert_close(diagnostics.slope(acts[0], z.detach()), expected)


def test_formula_and_python_derivatives_against_hand_formulas():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    formula = activations.make(load("model.activation=x * tanh(softplus(x))").model.activation)
    sp = torch.log1p(torch.exp(x))
    hand_mish = torch.tanh(sp) + x * torch.sigmoid(x) * (1 - torch.tanh(sp) ** 2)
    torch.testing.assert_close(diagnostics.slope(formula.double(), x), hand_mish)
    python = activations.make(load(f"model.activation={USER}:swish").model.activation)
    s = torch.sigmoid(x)
    torch.testing.assert_close(diagnostics.slope(python, x), s * (1 + x * (1 - s)))
    step = activations.make(load(f"model.activation={USER}:step").model.activation)
    assert torch.equal(diagnostics.slope(step, x), torch.zeros_like(x))
    assert diagnostics.params_of(formula) == {} and diagnostics.params_of(python) == {}


def test_dead_units_of_a_formula_relu_and_a_stack_agrees():
    cfg = load("task=beans", "model.hidden=[6]", "model.activation=max(x, 0)")
    net = model.build(cfg.model, (1,), 1)
    with torch.no_grad():
        net.layers[0].bias[:3] = -100.0
    objective = losses.objective(cfg.loss, net.output, 1)
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = (x > 0).float()
    found = diagnostics.measure(net, objective, x, y)
    assert found["dead/layer1"] == 0.5 and found["saturated/layer1"] == 0.5
    stack = StackedMLP([net])
    (stacked,) = stack.diagnose(x, y, losses.stacked(cfg.loss, net.output, 1))
    for key in ("dead/layer1", "saturated/layer1"):
        assert stacked[key] == found[key]


# --- stacks ---------------------------------------------------------------------------------

def _alone(cfg, net, data):
    step = AutogradStep(net, losses.objective(cfg.loss, net.output, 1))
    optimizer = optimizers.build(cfg.optimizer, step.parameters())
    net.train()
    return [float(step(optimizer, x, y)[0]) for x, y in data]


def _stacked(cfgs, nets, data):
    stack = StackedMLP(nets)
    optimizer = StackedOptimizer([c.optimizer for c in cfgs], stack.models())
    loss = losses.stacked(cfgs[0].loss, nets[0].output, 1)
    found = []
    for x, y in data:
        saved = stack.forward(x, training=True)
        found.append(stack.gradients(saved, y.expand(len(nets), *y.shape), loss).tolist())
        optimizer.step()
    return stack, [list(column) for column in zip(*found, strict=True)]


@pytest.mark.parametrize("refs", [
    ["x * sigmoid(x)", "x * sigmoid(x)", "silu", f"{USER}:swish"],
    ["{formula: x * sigmoid(b * x), params: {b: 1}, trainable: [b]}"] * 3,
    ["rational", "rational"],
    ["relu", "{formula: x * sigmoid(b * x), params: {b: 1}, trainable: [b], per_unit: true}",
     "{name: swish_beta, per_unit: true}", "rational", "x * sigmoid(x)", f"{USER}:ShiftedRelu",
     "prelu", "silu", f"{USER}:swish"],
], ids=["fixed", "trainable", "rational", "mixed"])
def test_custom_activations_in_one_stack_train_as_alone(refs):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(32, 2, generator=gen) * 2
    y = (x[:, :1] > 0).float()
    data = [(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]) for i in range(4)]
    cfgs, nets = [], []
    for seed, ref in enumerate(refs):
        cfg = load("model.hidden=[5, 4]", f"model.activation={ref}", f"train.seed={seed}",
                   "optimizer={name: adam, lr: 0.05}")
        torch.manual_seed(seed)
        cfgs.append(cfg)
        nets.append(model.build(cfg.model, (2,), 1))
    twins = [copy.deepcopy(net) for net in nets]
    expected = [_alone(cfg, twin, data) for cfg, twin in zip(cfgs, twins, strict=True)]
    stack, got = _stacked(cfgs, nets, data)
    for k in range(len(nets)):
        assert got[k] == pytest.approx(expected[k], rel=1e-5, abs=1e-7), refs[k]
        for p, q in zip(nets[k].parameters(), twins[k].parameters(), strict=True):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
    groups = [len(layer.groups) for layer in stack.layers]
    if refs[0] == "x * sigmoid(x)":  # the two equal formulas share one call
        assert groups == [3, 3]
    elif refs[0] == "relu":  # with the built-ins: each model its own (none equal another)
        assert groups == [len(refs)] * 2
    else:  # learned: every model its own
        assert groups == [len(refs)] * 2
        alone, stacked = activations.learned(twins[0]), activations.learned(nets[0])
        assert list(alone) == list(stacked) == ["layer1", "layer2"]
        for layer, values in alone.items():
            for name, value in values.items():
                assert stacked[layer][name] == pytest.approx(value, rel=1e-5, abs=1e-6)


# --- learned values, model.pt, faithful runs ------------------------------------------------

def test_learned_lists_every_layers_learned_parameters():
    cfg = load("model.hidden=[4, 3, 2, 2, 2]", "model.activation=[prelu, {name: swish_beta, "
               "per_unit: true}, rational, {formula: c * x + a * relu(x), params: {a: 0.5, c: "
               "0.1}, trainable: [a]}, relu]")
    net = model.build(cfg.model, (1,), 1)
    found = activations.learned(net)
    assert list(found) == ["layer1", "layer2", "layer3", "layer4"]
    assert found["layer1"] == {"slope": 0.25}
    assert found["layer2"] == {"beta": [1.0, 1.0, 1.0]}
    assert found["layer3"]["numerator"] == pytest.approx(PAPER_N, rel=1e-6)
    assert found["layer3"]["denominator"] == pytest.approx(PAPER_D, rel=1e-6)
    assert found["layer4"] == {"a": 0.5}
    json.dumps(found, allow_nan=False)
    cfg_py = load("model.hidden=[3]", f"model.activation={USER}:ShiftedRelu")
    assert activations.learned(model.build(cfg_py.model, (1,), 1)) == {"layer1": {"shift": 0.5}}


def _first_loss(result) -> float:
    with open(result.path / "metrics.csv", newline="") as f:
        return float(next(csv.DictReader(f))["train_loss"])


def _run(tmp_path, activation: str, *extra: str):
    from actcli.training import driver

    cfg = config.load(CONFIGS / "beans.yaml", ["train.epochs=2", "model.hidden=[8]",
                                               f"model.activation={activation}", *extra])
    return driver.run(cfg, tmp_path, figures=False)


def test_a_formula_equal_to_a_builtin_gives_its_numbers(tmp_path):
    mish = _first_loss(_run(tmp_path, "mish"))
    formula = _first_loss(_run(tmp_path, "x * tanh(softplus(x))"))
    assert formula == pytest.approx(mish, rel=1e-5)
    silu = _first_loss(_run(tmp_path, "silu"))
    python = _first_loss(_run(tmp_path, f"{USER}:swish"))
    assert python == pytest.approx(silu, rel=1e-5)


def test_a_trainable_formula_learns_and_model_pt_keeps_it(tmp_path):
    from actcli import folders

    activation = "{formula: x * sigmoid(beta * x), params: {beta: 1.0}, trainable: [beta]}"
    result = _run(tmp_path, activation, "train.epochs=30")
    assert result.status == "completed"
    cfg = config.load(result.path / "config.yaml")
    assert cfg.model.activation.kwargs["trainable"] == ("beta",)
    net = model.build(cfg.model, (1,), 1)
    assert net.layers[1].beta.item() == 1.0
    folders.load_weights(net, result.path / "model.pt")
    learned = net.layers[1].beta.item()
    assert abs(learned - 1.0) > 1e-3  # it moved under training
    assert activations.learned(net) == {"layer1": {"beta": pytest.approx(learned)}}
    assert isinstance(net.layers[1], FormulaActivation)
    assert math.isfinite(learned)


def test_a_compare_stacks_formulas_with_built_ins_as_the_runs_alone(tmp_path, invoke):
    # a comma inside a formula's parentheses is part of the formula, not of the list
    fast = ["--set", "model.hidden=[6]", "--set", "train.epochs=4", "--seeds", "1"]
    result = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path / "c",
                    "--activations", "relu,max(x, 0.1*x),x*x,x+x", *fast)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "c").iterdir()
    plan = json.loads((folder / "plan.json").read_text())
    ids = [cell["id"] for cell in plan["cells"]]
    assert len(set(ids)) == 4  # x*x and x+x would meet without their hash
    assert all(all(c.isalnum() or c in "_.=-" for c in i) for i in ids)
    assert plan["stacks"] == [ids] or sorted(plan["stacks"][0]) == sorted(ids)  # one stack
    assert "max(x, 0.1*x)" in (folder / "report.md").read_text()
    for cell in plan["cells"]:  # each cell is the run its config describes, alone
        summary = json.loads((folder / "cells" / cell["id"] / "summary.json").read_text())
        assert summary["stack"] == 4
        alone = invoke("train", folder / "cells" / cell["id"] / "config.yaml",
                       "--out", tmp_path / "alone")
        assert alone.exit_code == 0, alone.output
        (run,) = sorted((tmp_path / "alone").iterdir(), key=lambda p: p.stat().st_mtime)[-1:]
        mine = json.loads((run / "summary.json").read_text())["metrics"]
        assert mine["loss"] == pytest.approx(summary["metrics"]["loss"], rel=1e-5)


def test_summary_json_records_learned_activation_values(tmp_path):
    from actcli.training import driver

    cfg = load("model.hidden=[5]", "train.epochs=3",
               "model.activation={formula: 'x * sigmoid(beta * x)', params: {beta: 1.5}, "
               "trainable: [beta]}")
    result = driver.run(cfg, tmp_path, figures=False)
    learned = json.loads((result.path / "summary.json").read_text())["learned_activations"]
    assert learned["start"] == {"layer1": {"beta": 1.5}}
    end = learned["end"]["layer1"]["beta"]
    assert end != 1.5
    state = torch.load(result.path / "model.pt", weights_only=True)
    (saved,) = [v for k, v in state.items() if k.endswith("beta")]
    assert float(saved) == pytest.approx(end)
