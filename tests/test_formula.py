"""Activation formulas: what is allowed computes what torch computes, the rest is one line.

References are torch's own functions and modules and values worked out by hand, never the
parser's earlier output. Grids are float64, so tolerances are tight: values to 1e-12 and
derivatives to 1e-10 (relative and absolute) unless a case says otherwise.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import pickle
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from actcli.cli.parsing import split_names
from actcli.components import formula as fm
from actcli.components.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE
from actcli.components.formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    Formula,
    FormulaActivation,
    FormulaError,
    builtin_names,
    is_formula,
    parse,
)
from actcli.errors import ConfigError

# [-6, 6] every 0.01, plus the kinks and points beside them exactly
GRID = torch.cat([
    torch.linspace(-6, 6, 1201, dtype=torch.float64),
    torch.tensor([0.0, 1e-7, -1e-7, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0], dtype=torch.float64),
])
VALUES = {"rtol": 1e-12, "atol": 1e-12}
SLOPES = {"rtol": 1e-10, "atol": 1e-10}


def grad_of(fn, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g


def defaults(name):
    return {k: p.default for k, p in ACTIVATIONS.get(name).params.items()}


def torch_builtin(name):
    """The registry's torch module for ``name`` at its defaults, in float64."""
    return ACTIVATIONS.get(name).module(**defaults(name)).double()


# ---------------------------------------------------------------------------------------
# every allowed construct against torch (or math) written out independently

ALLOWED = [
    ("x", lambda x: x),
    ("x + 1.5", lambda x: x + 1.5),
    ("x - 2", lambda x: x - 2),
    ("3 * x", lambda x: 3 * x),
    ("x / 4", lambda x: x / 4),
    ("x ** 2", lambda x: x * x),
    ("x**3 - x", lambda x: x * x * x - x),
    ("2 ** x", lambda x: torch.pow(2.0, x)),
    ("-x", lambda x: -x),
    ("+x", lambda x: x),
    ("-(x - 1) * (x + 1)", lambda x: -(x - 1) * (x + 1)),
    ("1 / (1 + x ** 2)", lambda x: 1 / (1 + x * x)),
    ("abs(x) ** 0.5", lambda x: torch.sqrt(torch.abs(x))),
    ("x ** -2 * 0 + x", lambda x: torch.pow(x, -2.0) * 0 + x),  # nan at 0, as torch gives
    ("0x10 * x + 1_000", lambda x: 16 * x + 1000),
    ("1e-3 * x", lambda x: 0.001 * x),
    ("exp(x)", torch.exp),
    ("log(abs(x) + 1)", lambda x: torch.log(torch.abs(x) + 1)),
    ("log1p(abs(x))", lambda x: torch.log1p(torch.abs(x))),
    ("sqrt(abs(x))", lambda x: torch.sqrt(torch.abs(x))),
    ("abs(x)", torch.abs),
    ("sign(x)", torch.sign),
    ("sin(x)", torch.sin),
    ("cos(x)", torch.cos),
    ("tanh(x)", torch.tanh),
    ("sigmoid(x)", torch.sigmoid),
    ("softplus(x)", F.softplus),
    ("softplus(10 * x)", lambda x: F.softplus(10 * x)),  # past torch's threshold of 20
    ("relu(x)", torch.relu),
    ("erf(x)", torch.erf),
    ("min(x, 0.5)", lambda x: torch.clamp(x, max=0.5)),
    ("max(x, -1)", lambda x: torch.clamp(x, min=-1)),
    ("max(-2, x)", lambda x: torch.clamp(x, min=-2)),
    ("max(x, -x)", torch.abs),
    ("min(sin(x), cos(x))", lambda x: torch.minimum(torch.sin(x), torch.cos(x))),
    ("clamp(x, -1, 2)", lambda x: torch.clamp(x, -1, 2)),
    ("clamp(x, -x, 1)", lambda x: torch.minimum(torch.maximum(x, -x), torch.tensor(1.0))),
    ("clamp(2, 1, x)", lambda x: torch.minimum(torch.tensor(2.0), x)),
    ("clamp(0.5, x, 1)", lambda x: torch.clamp(x, min=0.5).clamp(max=1)),
    ("pi * x", lambda x: math.pi * x),
    ("e ** x", lambda x: torch.pow(math.e, x)),
    ("exp(1) * x + sqrt(2)", lambda x: math.e * x + math.sqrt(2)),
    ("where(x > 0, x, 0)", torch.relu),
    ("where(x >= 1, 1, x)", lambda x: torch.where(x >= 1, torch.ones_like(x), x)),
    ("where(x < 0, -x, 2 * x)", lambda x: torch.where(x < 0, -x, 2 * x)),
    ("where(x <= 0, 0, 1)", lambda x: (x > 0).double()),
    ("where(x == 0, 5, x)", lambda x: torch.where(x == 0, torch.full_like(x, 5), x)),
    ("where(x != 0, x, 5)", lambda x: torch.where(x == 0, torch.full_like(x, 5), x)),
    ("where(-1 < x < 1, x, 0)", lambda x: torch.where((x > -1) & (x < 1), x, 0.0)),
    ("where(x < -1 or x > 1, x, 0)", lambda x: torch.where((x < -1) | (x > 1), x, 0.0)),
    ("where(x > -1 and x < 1, 0, x)", lambda x: torch.where((x > -1) & (x < 1), 0.0, x)),
    ("where(not x > 0, 2, 3)", lambda x: torch.where(x > 0, 3.0, 2.0).double()),
    ("where(1 > 0, x, -x)", lambda x: x),  # a constant condition picks its branch
    ("where(1 < 0 or x > 0, x, 0)", torch.relu),
    ("x*tanh(softplus(x))", F.mish),
    ("gelu(x) - silu(x)", lambda x: F.gelu(x) - F.silu(x)),
    ("swish(2 * x)", lambda x: F.silu(2 * x)),
    ("x\n  +\t1", lambda x: x + 1),  # whitespace of a YAML block
]


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize(("text", "reference"), ALLOWED, ids=[t for t, _ in ALLOWED])
def test_allowed_construct_matches_torch(text, reference, fuse):
    f = parse(text, fuse=fuse)
    torch.testing.assert_close(f(GRID), reference(GRID), equal_nan=True, **VALUES)


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_by_name_is_torchs_module(name):
    spec = ACTIVATIONS.get(name)
    f = parse(f"{name}(x)")
    if next(spec.module(**defaults(name)).parameters(), None) is None:
        expected = torch_builtin(name)(GRID)
    else:  # prelu: fixed at its starting slope inside a formula
        expected = spec.fn(GRID, **defaults(name))
    torch.testing.assert_close(f(GRID), expected, **VALUES)
    assert f.uses == (name,)


def test_builtin_names_are_the_registry_elementwise_ones_with_aliases():
    names = set(builtin_names())
    elementwise = {s.name for s in ACTIVATIONS if s.elementwise}
    assert elementwise <= names
    assert set(ACTIVATIONS.aliases) <= names
    assert "softmax" not in names
    assert {"gelu", "mish", "leaky_relu", "swish"} <= names


def test_text_is_normalised_and_uses_lists_functions_in_order():
    f = parse("  x *\n sigmoid( beta*x )  + gelu(x) + sigmoid(x) ", {"beta": 1.0})
    assert f.text == "x * sigmoid( beta*x ) + gelu(x) + sigmoid(x)"
    assert f.uses == ("sigmoid", "gelu")
    assert dict(f.params) == {"beta": 1.0}
    assert parse("x") == parse(" x ")
    assert hash(parse("x + 1")) == hash(parse("x  +  1"))
    assert parse("x + 1") != parse("x + 2")
    assert repr(parse("x * b", {"b": 2})) == "Formula('x * b', b=2.0)"


# ---------------------------------------------------------------------------------------
# formulas equal to built-ins give the built-ins' numbers, composed or fused

TWINS = [
    ("relu", "max(x, 0)"),
    ("relu", "max(0, x)"),
    ("relu", "where(x > 0, x, 0)"),
    ("sigmoid", "1/(1+exp(-x))"),
    ("tanh", "(exp(x) - exp(-x)) / (exp(x) + exp(-x))"),
    ("tanh", "2 * sigmoid(2 * x) - 1"),
    ("silu", "x*sigmoid(x)"),
    ("silu", "x / (1 + exp(-x))"),
    ("mish", "x*tanh(softplus(x))"),
    ("gelu", "0.5*x*(1+erf(x/sqrt(2)))"),
    ("gelu", "x * (1 + erf(x / sqrt(2))) / 2"),
    ("elu", "where(x > 0, x, exp(x) - 1)"),
    ("celu", "where(x > 0, x, exp(x) - 1)"),  # alpha 1: celu is elu
    ("selu", f"{SELU_SCALE} * where(x > 0, x, {SELU_ALPHA} * (exp(x) - 1))"),
    ("leaky_relu", "where(x > 0, x, 0.01 * x)"),
    ("prelu", "where(x > 0, x, 0.25 * x)"),
    ("softplus", "softplus(x)"),
    ("softplus", "log(1 + exp(x))"),
    ("softplus", "log1p(exp(x))"),
    ("softsign", "x / (1 + abs(x))"),
    ("hardtanh", "clamp(x, -1, 1)"),
    ("relu6", "min(max(x, 0), 6)"),
    ("relu6", "clamp(x, 0, 6)"),
    ("hard_sigmoid", "clamp(x / 6 + 1/2, 0, 1)"),
    ("hard_sigmoid", "relu6(x + 3) / 6"),
    ("hardswish", "x * clamp(x + 3, 0, 6) / 6"),
    ("hardswish", "x * relu6(x + 3) / 6"),
    ("logsigmoid", "-softplus(-x)"),
    ("logsigmoid", "log(sigmoid(x))"),
    ("identity", "x"),
    ("step", "where(x > 0, 1, 0)"),
]


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize(("name", "text"), TWINS, ids=[f"{n}={t}" for n, t in TWINS])
def test_formula_equals_its_builtin_in_value_and_derivative(name, text, fuse):
    f = parse(text, fuse=fuse)
    module = torch_builtin(name)
    torch.testing.assert_close(f(GRID), module(GRID), **VALUES)
    # torch's float64 hardsigmoid backward uses 1/6 in float32: 3e-8 relative off
    slopes = {"rtol": 1e-7, "atol": 1e-9} if name == "hard_sigmoid" else SLOPES
    torch.testing.assert_close(grad_of(f, GRID), grad_of(module, GRID), **slopes)


def test_fused_twins_say_so_and_a_kink_convention_at_ties():
    assert parse("x * sigmoid(x)").fused == ("silu",)
    assert parse("x * sigmoid(x)", fuse=False).fused == ()
    assert parse("x * tanh(softplus(x)) + 1").fused == ("mish",)
    assert parse("x * sigmoid(2 * x)").fused == ()  # not a built-in: composed
    # max of two non-constants splits the gradient at a tie, as torch.maximum does;
    # fused, max(x, 0.01 x) is leaky_relu and takes its convention
    x = torch.tensor([0.0], dtype=torch.float64)
    composed = parse("max(x, 0.01 * x)", fuse=False)
    assert grad_of(composed, x).item() == pytest.approx(0.505)
    assert grad_of(parse("max(x, 0.01 * x)"), x).item() == pytest.approx(0.01)
    off = GRID[GRID != 0]
    torch.testing.assert_close(grad_of(composed, off), grad_of(torch_builtin("leaky_relu"), off))


def test_mish_formula_is_torchs_mish_in_float32():
    x = torch.linspace(-30, 30, 6001)
    fused, composed = parse("x * tanh(softplus(x))"), parse("x * tanh(softplus(x))", fuse=False)
    assert torch.equal(fused(x), F.mish(x))
    torch.testing.assert_close(composed(x), F.mish(x), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad_of(composed, x), grad_of(F.mish, x), rtol=1e-5, atol=1e-6)


def test_hand_values():
    assert parse("x * sigmoid(x)")(torch.tensor(1.0)).item() == pytest.approx(
        1 / (1 + math.exp(-1)))
    assert parse("where(x > 0, x, 0.1 * x)")(torch.tensor(-2.0)).item() == pytest.approx(-0.2)
    assert parse("clamp(x, 0, 1) + pi")(torch.tensor(5.0)).item() == pytest.approx(
        1 + math.pi)
    assert parse("x ** 2 / 2")(torch.tensor(3.0)).item() == 4.5


# ---------------------------------------------------------------------------------------
# refused, each with one line naming what is not allowed (and what is)

REFUSED = [
    ("x.__class__", None, ["attribute access (.__class__) is not allowed", "plain name"]),
    ("().__class__", None, ["attribute access (.__class__) is not allowed"]),
    ("__import__('os').system('ls')", None, ["attribute access (.system) is not allowed"]),
    ("__import__('os')", None, ["unknown function '__import__'", "allowed:", "functions exp"]),
    ("x[0]", None, ["subscripts ([...]) are not allowed"]),
    ("exp(x)[0]", None, ["subscripts"]),
    ("(lambda: x)()", None, ["only functions called by their plain name", "exp(x)"]),
    ("lambda x: x", None, ["lambda is not allowed"]),
    ("[x for x in (1, 2)]", None, ["comprehensions are not allowed"]),
    ("sum(x for x in (1,))", None, ["unknown function 'sum'"]),
    ("{x: 1}", None, ["dicts are not allowed"]),
    ("(x, x)", None, ["tuples are not allowed"]),
    ("x + 'a'", None, ["strings ('a') are not allowed", "allowed: numbers, x"]),
    ("f'{x}'", None, ["strings are not allowed"]),
    ("x + b'a'", None, ["strings"]),
    ("clamp(x, lo=0, hi=1)", None, ["keyword arguments (lo=...) are not allowed", "by position"]),
    ("max(*x)", None, ["starred arguments (*args) are not allowed"]),
    ("sigmod(x)", None, ["unknown function 'sigmod' (did you mean 'sigmoid'?)", "allowed:"]),
    ("x * sigmoid(betta * x)", {"beta": 1.0}, ["unknown name 'betta' (did you mean 'beta'?)",
                                                "parameters beta", "give it a default"]),
    ("y * x", None, ["unknown name 'y'", "allowed: x, constants pi e, functions"]),
    ("max(x)", None, ["max takes 2 arguments (max(a, b)), got 1"]),
    ("clamp(x, 0)", None, ["clamp takes 3 arguments (clamp(v, lo, hi)), got 2"]),
    ("where(x > 0, x)", None, ["where takes 3 arguments (where(cond, a, b)), got 2"]),
    ("exp(x, 2)", None, ["exp takes 1 argument (exp(x)), got 2"]),
    ("gelu(x, 1)", None, ["gelu takes 1 argument (gelu(x)), got 2"]),
    ("softmax(x)", None, ["softmax is not elementwise", "activations allowed: "]),
    ("sigmoid * x", None, ["'sigmoid' is a function: call it, e.g. sigmoid(x)"]),
    ("x(2)", None, ["'x' is not a function"]),
    ("pi(x)", None, ["'pi' is not a function"]),
    ("x" * 100_000, None, ["100000 characters long; at most 400 are allowed"]),
    ("-" * 100 + "x", None, [f"nested more than {MAX_DEPTH} levels deep"]),
    ("exp(" * 60 + "x" + ")" * 60, None, ["nested more than"]),
    ("x**x**x**x**x**99", None, ["a power inside an exponent", "x**8"]),
    ("x ** 2 ** 3", None, ["a power inside an exponent"]),
    ("x ** exp(x ** 2)", None, ["a power inside an exponent"]),
    ("9 ** 9 ** 9 ** 9 * x", None, ["a power inside an exponent"]),
    ("x % 2", None, ["the operator % is not allowed", "allowed operators: + - * / **"]),
    ("x // 2", None, ["the operator // is not allowed"]),
    ("x @ x", None, ["the operator @ is not allowed"]),
    ("x & 1", None, ["the operator & is not allowed"]),
    ("~x", None, ["the operator ~ is not allowed"]),
    ("x if x > 0 else 0", None, ["'a if cond else b' is not allowed; write where(cond, a, b)"]),
    ("x > 0", None, ["only allowed as the condition of where(cond, a, b)"]),
    ("x * (x > 0)", None, ["only allowed as the condition of where"]),
    ("not x", None, ["only allowed as the condition of where"]),
    ("x and 1", None, ["only allowed as the condition of where"]),
    ("where(x, 1, 0)", None, ["the condition of where must be a comparison such as x > 0"]),
    ("where(x is None, 1, x)", None, ["only the comparisons < <= > >= == != are allowed"]),
    ("where(x in (1,), 1, x)", None, ["only the comparisons"]),
    ("where(x > 0 and x, 1, 0)", None, ["the condition of where must be a comparison"]),
    ("1 + 2", None, ["does not use x"]),
    ("exp(beta)", {"beta": 1.0}, ["does not use x"]),
    ("where(1 > 0, 2, x)", None, ["does not depend on x once its constant conditions"]),
    ("where(x < 0 or 1 > 0, beta, x)", {"beta": 1.0}, ["does not depend on x"]),
    ("x + 1e999", None, ["the number '1e999' is too large", "1e+12"]),
    ("1e13 * x", None, ["is too large"]),
    ("9" * 320 + " * x", None, ["is too large"]),
    ("1j * x", None, ["complex numbers (1j) are not allowed"]),
    ("True * x", None, ["True is not allowed; use numbers"]),
    ("None", None, ["None is not allowed"]),
    ("x + ...", None, ["Ellipsis is not allowed"]),
    ("x + log(0)", None, ["the constant part 'log(0)' is -inf; constants must be finite"]),
    ("x + 1 / 0", None, ["the constant part '1 / 0' is inf"]),
    ("x * sqrt(-1)", None, ["is nan"]),
    ("x * exp(1000)", None, ["is inf"]),
    ("clamp(x, 1, -1)", None, ["clamp(v, lo, hi) needs lo <= hi, got 1 and -1"]),
    ("", None, ["empty; write an expression of x"]),
    ("   ", None, ["empty"]),
    ("x +", None, ["not a valid expression", "x * sigmoid(x)"]),
    ("import os", None, ["not a valid expression"]),
    ("x; x", None, ["not a valid expression"]),
    ("x\x00", None, ["the character '\\x00' is not allowed: a formula is plain ASCII"]),
    ("\uff58 + 1", None, ["the character '\uff58' is not allowed"]),  # a fullwidth x
    ("(y := x)", None, ["assignment (:=) is not allowed"]),
    ("x", {"beta": 1.0}, ["the parameter 'beta' is not used in the formula"]),
    ("x * x", {"x": 1.0}, ["the parameter name 'x' is not allowed"]),
    ("x * exp", {"exp": 1.0}, ["the parameter name 'exp' is not allowed"]),
    ("x * gelu", {"gelu": 1.0}, ["the parameter name 'gelu' is not allowed"]),
    ("x * pi", {"pi": 1.0}, ["the parameter name 'pi' is not allowed"]),
    ("x * training", {"training": 1.0}, ["the parameter name 'training' is not allowed",
                                          "nn.Module attribute"]),
    ("x * __class__", {"__class__": 1.0}, ["the parameter name '__class__' is not allowed"]),
    ("x * lambda_", {"lambda": 1.0}, ["the parameter name 'lambda' is not allowed"]),
    ("x * b", {"b": "1.0"}, ["parameter 'b' needs a number as its default, got '1.0'"]),
    ("x * b", {"b": True}, ["needs a number"]),
    ("x * b", {"b": float("nan")}, ["parameter 'b' needs a finite default, got nan"]),
    ("x * b", [("b", 1.0)], ["params must map names to numbers"]),
]


@pytest.mark.parametrize(("text", "params", "fragments"), REFUSED,
                         ids=[repr(t[:40]) for t, _, _ in REFUSED])
def test_refused_with_one_line(text, params, fragments):
    start = time.perf_counter()
    with pytest.raises(FormulaError) as caught:
        parse(text, params)
    assert time.perf_counter() - start < 1.0  # a generous sanity bound: all take ~1 ms
    message = str(caught.value)
    assert "\n" not in message and len(message) < 1000
    assert message.startswith("formula ")
    for fragment in fragments:
        assert fragment in message
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2


def test_a_huge_formula_is_refused_before_parsing(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("ast.parse was called")

    with monkeypatch.context() as patch:
        patch.setattr(ast, "parse", no_parse)
        with pytest.raises(FormulaError, match="at most 400 are allowed"):
            parse("x+" * 50_000 + "x")
    assert MAX_LENGTH == 400
    with pytest.raises(FormulaError, match="at most 400"):
        parse("x" + " " * 400)  # counted as given, before whitespace is normalised


@pytest.mark.parametrize("error", [RecursionError, MemoryError, ValueError, OverflowError,
                                   SyntaxError("too many nested parentheses")])
def test_parser_failures_become_one_formula_error(monkeypatch, error):
    def failing(*args, **kwargs):
        raise error

    with monkeypatch.context() as patch:  # pytest reads tracebacks with ast.parse
        patch.setattr(ast, "parse", failing)
        with pytest.raises(FormulaError) as caught:
            parse("x + 1")
    assert "\n" not in str(caught.value)
    if error not in (ValueError, OverflowError):
        assert "nested too deeply" in str(caught.value)


def test_parentheses_nested_past_pythons_limit_are_one_error():
    text = "(" * 200 + "x" + ")" * 200
    assert len(text) <= MAX_LENGTH + 1
    with pytest.raises(FormulaError, match="nested too deeply|at most 400"):
        parse(text)
    # python's own limit (200 levels) needs 401 characters: the length bound comes first;
    # ast.parse's errors for it are turned into one FormulaError (the test above)


def test_parsing_never_evaluates_python(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval or exec was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    f = parse("x * sigmoid(beta * x) + where(x > 0, 1, 0)", {"beta": 2.0})
    f(GRID)
    with pytest.raises(FormulaError):
        parse("__import__('os').system('echo hacked')")


def test_calling_does_not_walk_the_text_again(monkeypatch):
    f = parse("x * sigmoid(beta * x) + clamp(x, -1, 1)", {"beta": 1.5})

    def walked(*args, **kwargs):
        raise AssertionError("the formula was parsed again")

    module = FormulaActivation(f).double()
    with monkeypatch.context() as patch:
        patch.setattr(ast, "parse", walked)
        patch.setattr(fm, "_read", walked)
        patch.setattr(fm, "_Reader", walked)
        out, from_module = f(GRID), module(GRID)
    expected = GRID * torch.sigmoid(1.5 * GRID) + torch.clamp(GRID, -1, 1)
    torch.testing.assert_close(out, expected, **VALUES)
    torch.testing.assert_close(from_module, expected, **VALUES)


# ---------------------------------------------------------------------------------------
# fuzzing: anything at all either parses or is one FormulaError

NAMES = ["x", "x", "x", "beta", "pi", "e", "y", "sigmoid", "__class__", "os", "gelu"]
FUNCS = ["exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "relu", "erf", "min", "max",
         "clamp", "where", "gelu", "mish", "leaky_relu", "softmax", "eval", "__import__",
         "open", "sigmod", "abs", "sign", "log1p", "sin", "cos"]
BINARY = ["+", "-", "*", "/", "**", "%", "//", "@", "<", ">=", "==", " and ", " or ", ",", "."]

numbers = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e999", "1j", "0x1f", "1_0", "-0.0", "1e-320", "'s'", "True", "None"]),
)
leaves = st.one_of(st.sampled_from(NAMES), numbers)


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: "".join(t)),
        st.tuples(st.sampled_from(["-", "+", "not ", "~", ""]), children).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(children, st.sampled_from(["<", ">", "<=", "!=", " is "]), children,
                  children, children).map(lambda t: f"where({t[0]}{t[1]}{t[2]}, {t[3]}, {t[4]})"),
        children.map(lambda c: f"{c}[0]"),
        children.map(lambda c: f"({c}).real"),
    )


expressions = st.recursive(leaves, _grow, max_leaves=25)

# mostly well-formed: the allowed names with their arities, so that most examples parse
ONE = ["exp", "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid",
       "softplus", "relu", "erf", "gelu", "mish", "leaky_relu", "elu", "step", "hardswish"]
conditions = st.tuples(st.sampled_from(["x", "beta", "1"]), st.sampled_from(["<", "<=", ">",
                       ">=", "==", "!="]), st.sampled_from(["0", "x", "-1.5", "beta"])).map(
    lambda t: " ".join(t))


def _grow_valid(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"-{c}"),
        st.tuples(st.sampled_from(ONE), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"clamp({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(conditions, st.sampled_from(["and", "or"]), conditions, children,
                  children).map(lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, {t[4]})"),
    )


well_formed = st.recursive(
    st.one_of(st.sampled_from(["x", "x", "beta", "pi", "e"]),
              st.floats(-1e3, 1e3, allow_nan=False).map(repr)),
    _grow_valid, max_leaves=12)


def _check_anything(text, params):
    try:
        f = parse(text, params)
    except FormulaError as e:
        assert "\n" not in str(e)
        return
    assert isinstance(f, Formula)
    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    out = f(x)  # a parsed formula runs: no exception, x's shape and dtype
    assert out.shape == x.shape and out.dtype == x.dtype
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.sampled_from([None, {"beta": 0.5}]))
def test_fuzz_grammar_only_formula_errors(text, params):
    _check_anything(text, params)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(well_formed)
def test_fuzz_well_formed_formulas_parse_and_run(text):
    params = {"beta": 0.5} if "beta" in text else None
    _check_anything(text, params)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from([None, {"beta": 0.5}]))
def test_fuzz_any_text_only_formula_errors(text, params):
    _check_anything(text, params)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="x()+-*/.,0123456789 e<>=wherclamp", max_size=60))
def test_fuzz_formula_alphabet_only_formula_errors(text):
    _check_anything(text, None)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.floats(), st.text(max_size=3)),
                       max_size=3))
def test_fuzz_params_only_formula_errors(params):
    _check_anything("x + " + " + ".join(params) if params else "x", params)


# ---------------------------------------------------------------------------------------
# parameters


def test_parameters_default_and_override():
    f = parse("x * sigmoid(beta * x) + offset", {"beta": 1, "offset": 0.0})
    assert dict(f.params) == {"beta": 1.0, "offset": 0.0}
    assert type(f.params["beta"]) is float
    torch.testing.assert_close(f(GRID), GRID * torch.sigmoid(GRID), **VALUES)
    torch.testing.assert_close(f(GRID, beta=2.0), GRID * torch.sigmoid(2 * GRID), **VALUES)
    beta = torch.tensor(3.0, dtype=torch.float64)
    torch.testing.assert_close(f(GRID, beta=beta, offset=1.0),
                               GRID * torch.sigmoid(3 * GRID) + 1, **VALUES)
    per_unit = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)  # broadcasts with x
    x = torch.ones(4, 3, dtype=torch.float64)
    torch.testing.assert_close(f(x, beta=per_unit), torch.sigmoid(per_unit).expand(4, 3))
    with pytest.raises(FormulaError, match="unknown parameter 'gamma'; its parameters: beta"):
        f(GRID, gamma=1.0)


def test_parameter_only_parts_run_in_torch_not_python_floats():
    # 1 / b and b ** 1000 on Python floats would raise ZeroDivisionError / OverflowError
    f = parse("x * (1 / b) + x * b ** 1000 + where(b > 0, x, -x) + exp(b) * x", {"b": 1.0})
    out = f(torch.tensor([1.0]), b=0.0)
    assert torch.isinf(out).all() or torch.isnan(out).all()
    torch.testing.assert_close(f(torch.tensor([2.0], dtype=torch.float64)),
                               torch.tensor([2 + 2 + 2 + 2 * math.e], dtype=torch.float64))
    g = parse("x * where(b > 0, 1, 2)", {"b": -1.0})
    assert g(torch.tensor([3.0], dtype=torch.float64)).item() == 6.0
    assert g(torch.tensor([3.0], dtype=torch.float64)).dtype == torch.float64


def test_trainable_parameters_are_learned():
    torch.manual_seed(0)
    act = FormulaActivation("x * sigmoid(beta * x) + shift", {"beta": 1.0, "shift": 0.5},
                            trainable=["beta"])
    assert [name for name, _ in act.named_parameters()] == ["beta"]
    assert [name for name, _ in act.named_buffers()] == ["shift"]
    assert isinstance(act.beta, nn.Parameter) and act.beta.shape == ()
    assert set(act.state_dict()) == {"beta", "shift"}
    x = torch.linspace(-4, 4, 200)
    target = x * torch.sigmoid(2.0 * x) + 0.5
    optimizer = torch.optim.SGD(act.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = ((act(x) - target) ** 2).mean()
        loss.backward()
        assert act.beta.grad is not None and act.beta.grad.item() != 0
        optimizer.step()
        losses.append(loss.item())
    assert act.beta.item() > 1.2  # moved towards 2
    assert losses[-1] < losses[0] / 2
    assert act.shift.item() == 0.5  # a buffer: not learned
    assert act.values()["beta"] == act.beta.item()

    restored = FormulaActivation("x * sigmoid(beta * x) + shift",
                                 {"beta": 1.0, "shift": 0.5}, trainable=["beta"])
    restored.load_state_dict(act.state_dict())
    torch.testing.assert_close(restored(x), act(x))


def test_gradient_reaches_a_parameter_inside_every_function():
    for text in ["min(x, a)", "max(a, x)", "clamp(x, a, 2)", "clamp(x, -2, a)", "x * exp(a)",
                 "where(x > 0, a, x)", "a ** x", "x ** a", "x / a", "gelu(a * x)",
                 "where(a > 0, a * x, x)"]:
        act = FormulaActivation(text, {"a": 0.5}, trainable=["a"])
        act(torch.linspace(0.1, 3, 30)).sum().backward()
        assert act.a.grad is not None and act.a.grad.item() != 0, text


def test_module_params_override_and_refusals():
    f = parse("x * sigmoid(beta * x)", {"beta": 1.0})
    act = FormulaActivation(f, {"beta": 2.0})
    assert act.beta.item() == 2.0 and act.formula.params["beta"] == 2.0
    torch.testing.assert_close(act(torch.tensor([1.0])), torch.tensor([torch.sigmoid(
        torch.tensor(2.0)).item()]))
    with pytest.raises(FormulaError, match="cannot train 'gamma': not a parameter"):
        FormulaActivation(f, trainable=["gamma"])
    with pytest.raises(FormulaError, match="unknown parameter 'gamma'"):
        FormulaActivation(f, {"gamma": 1.0})
    assert FormulaActivation(f, trainable="beta").trainable == ("beta",)


def test_repr_equal_for_equal_fixed_modules_and_per_instance_for_trainable():
    a = FormulaActivation("x * sigmoid(beta * x)", {"beta": 0.1})
    b = FormulaActivation(parse("x * sigmoid(beta * x)", {"beta": 0.1}))
    assert repr(a) == repr(b) == "FormulaActivation(x * sigmoid(beta * x), beta=0.1)"
    assert repr(a) != repr(FormulaActivation("x * sigmoid(beta * x)", {"beta": 0.2}))
    assert repr(FormulaActivation("x*sigmoid(x)")) == "FormulaActivation(x*sigmoid(x))"
    t1 = FormulaActivation("x * sigmoid(beta * x)", {"beta": 0.1}, trainable=["beta"])
    t2 = FormulaActivation("x * sigmoid(beta * x)", {"beta": 0.1}, trainable=["beta"])
    assert "beta=0.1 (trainable)" in repr(t1)
    assert repr(t1) != repr(t2)  # never grouped as one module


def test_formula_and_module_pickle_and_copy():
    f = parse("x * sigmoid(beta * x)", {"beta": 1.5})
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert g == f
        torch.testing.assert_close(g(GRID), GRID * torch.sigmoid(1.5 * GRID), **VALUES)
    act = FormulaActivation(f, trainable=["beta"])
    clone = pickle.loads(pickle.dumps(act))
    torch.testing.assert_close(clone(GRID.float()), act(GRID.float()))
    assert isinstance(clone.beta, nn.Parameter)


# ---------------------------------------------------------------------------------------
# dtype and device


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("text", ["x * sigmoid(beta * x)", "where(x > 0, 1, 0)",
                                  "where(x > 0, beta, 2)", "max(x, beta)", "clamp(x, -1, 1)",
                                  "x * 0 + exp(beta)", "gelu(x)", "x"])
def test_dtype_is_kept(text, dtype):
    params = {"beta": 0.5} if "beta" in text else None
    x = torch.linspace(-2, 2, 9, dtype=dtype)
    assert parse(text, params)(x).dtype == dtype
    assert parse(text, params)(x, **({"beta": torch.tensor(0.5)} if params else {})).dtype == dtype
    module = FormulaActivation(text, params)
    assert module(x).dtype == dtype  # float32 buffers do not promote x
    assert module.double()(x).dtype == dtype


def test_formula_of_steps_gives_a_zero_gradient_not_none():
    x = GRID.clone().requires_grad_(True)
    for f in (parse("where(x > 0, 1, 0)", fuse=False), parse("sign(x) * 0 + where(x < 1, 2, 0)")):
        (g,) = torch.autograd.grad(f(x).sum(), x)
        assert torch.equal(g, torch.zeros_like(GRID))


def _devices():
    found = ["meta"]
    if torch.cuda.is_available():
        found.append("cuda")
    return found


@pytest.mark.parametrize("device", _devices())
def test_device_is_kept(device):
    x = torch.linspace(-2, 2, 9, device=device)
    for text in ["x * sigmoid(beta * x)", "where(x > 0, beta, 2)", "max(x, beta)",
                 "x * tanh(softplus(x))", "prelu(x) + leaky_relu(x)"]:
        params = {"beta": 0.5} if "beta" in text else None
        assert parse(text, params)(x).device == x.device
        assert FormulaActivation(text, params).to(device)(x).device == x.device


# ---------------------------------------------------------------------------------------
# the --activations list (cli.parsing.split_names) and is_formula


@pytest.mark.parametrize(("text", "expected"), [
    ("relu", ["relu"]),
    ("relu,gelu", ["relu", "gelu"]),
    ("relu, gelu ,mish", ["relu", "gelu", "mish"]),
    ('relu,gelu,max(x, 0.1*x)', ["relu", "gelu", "max(x, 0.1*x)"]),
    ("clamp(x, -1, 1),where(x > 0, x, min(x, 0.1)),x*sigmoid(x)",
     ["clamp(x, -1, 1)", "where(x > 0, x, min(x, 0.1))", "x*sigmoid(x)"]),
])
def test_split_names_splits_on_commas_outside_parentheses(text, expected):
    assert split_names(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("relu,max(x, 0.1*x", "1 '(' not closed"),
    ("relu,max(x, 0.1*x))", "a ')' without its '('"),
    ("relu),(gelu", "a ')' without its '('"),
    ("relu,,gelu", "empty entry"),
    ("relu,", "empty entry"),
])
def test_split_names_refusals_say_how_to_write_a_comma(text, fragment):
    with pytest.raises(ConfigError) as caught:
        split_names(text)
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert "commas only inside parentheses" in message and "quote it" in message
    assert '--activations relu,"max(x, 0.1*x)"' in message


@pytest.mark.parametrize(("text", "expected"), [
    ("relu", False), ("leaky_relu", False), (" gelu ", False), ("relux", False),
    ("x", True), ("x * sigmoid(x)", True), ("max(x, 0)", True), ("-x", True), ("2*x", True),
    ("path/to/acts.py:my_act", False), ("mypkg.acts:swish", False), ("", False),
    (None, False), (3, False),
])
def test_is_formula(text, expected):
    assert is_formula(text) is expected


# ---------------------------------------------------------------------------------------
# the symbolic derivative


def _evaluate_derivative(f, x, **params):
    text = f.derivative_text()
    assert text is not None
    assert "\n" not in text and len(text) <= MAX_LENGTH
    # the text is itself a formula (of the same parameters); it may be constant in x
    derivative = fm._build(fm._fold(fm._read(text, dict(f.params))[1], text))
    if callable(derivative):
        derivative = derivative(x, tuple(params.get(n, d) for n, d in f.params.items()))
    return torch.as_tensor(derivative, dtype=x.dtype).expand_as(x), text


def test_derivative_text_of_swish_is_the_hand_derivative():
    f = parse("x * sigmoid(x)")
    s = torch.sigmoid(GRID)
    value, _ = _evaluate_derivative(f, GRID)
    torch.testing.assert_close(value, s * (1 + GRID * (1 - s)), **SLOPES)


@pytest.mark.parametrize(("text", "params", "hand"), [
    ("x ** 3", None, lambda x: 3 * x ** 2),
    ("sin(x)", None, torch.cos),
    ("softplus(x)", None, torch.sigmoid),
    ("exp(2 * x)", None, lambda x: 2 * torch.exp(2 * x)),
    ("log1p(x ** 2)", None, lambda x: 2 * x / (1 + x ** 2)),
    ("x * sigmoid(beta * x)", {"beta": 1.702},
     lambda x: torch.sigmoid(1.702 * x) * (1 + 1.702 * x * (1 - torch.sigmoid(1.702 * x)))),
    ("tanh(x)", None, lambda x: 1 - torch.tanh(x) ** 2),
    ("where(x > 0, x, 0.1 * x)", None,
     lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.1))),
    ("abs(x) + sign(x)", None, torch.sign),
    ("2 * x + 1", None, lambda x: torch.full_like(x, 2.0)),
    ("erf(x / sqrt(2))", None, lambda x: torch.exp(-x ** 2 / 2) * math.sqrt(2 / math.pi)),
])
def test_derivative_text_against_hand_derivatives(text, params, hand):
    f = parse(text, params)
    x = GRID[(GRID.abs() > 1e-3)]  # off the kinks, where conventions differ
    value, printed = _evaluate_derivative(f, x)
    torch.testing.assert_close(value, hand(x), **SLOPES)


def test_short_derivative_texts():
    assert parse("x ** 3").derivative_text() == "3*x**2"
    assert parse("sin(x)").derivative_text() == "cos(x)"
    assert parse("softplus(x)").derivative_text() == "sigmoid(x)"
    assert parse("2 * x + 1").derivative_text() == "2"


@pytest.mark.parametrize("name", ["silu", "mish", "gelu", "elu", "selu", "softsign", "leaky_relu",
                                  "logsigmoid", "softplus", "hardswish", "tanh", "sigmoid"])
def test_derivative_text_of_builtins_matches_autograd(name):
    f = parse(f"{name}(x)")
    kinks = torch.tensor([0.0, 3.0, -3.0], dtype=torch.float64)
    x = GRID[~torch.isin(GRID, kinks) & (GRID.abs() > 1e-6)]
    value, _ = _evaluate_derivative(f, x)
    torch.testing.assert_close(value, grad_of(torch_builtin(name), x), rtol=1e-9, atol=1e-9)


def test_derivative_text_is_none_without_sympy(monkeypatch):
    monkeypatch.setattr(fm, "_sympy", lambda: None)
    assert parse("x * sigmoid(x)").derivative_text() is None


def test_derivative_text_is_none_for_a_function_without_a_sympy_form(monkeypatch):
    monkeypatch.setattr(fm, "_sympy_builtins", lambda *args: {})
    assert parse("gelu(x)").derivative_text() is None
    assert parse("x * sigmoid(x)").derivative_text() is not None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.sampled_from(["x", "x", "2", "0.5", "beta"]), _grow, max_leaves=6))
def test_fuzz_derivative_text_is_none_or_a_formula(text):
    try:
        f = parse(text, {"beta": 0.5} if "beta" in text else None)
    except FormulaError:
        return
    printed = f.derivative_text()
    if printed is not None:
        fm._read(printed, dict(f.params))
