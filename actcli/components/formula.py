"""Activation formulas: ``"x * sigmoid(beta * x)"`` parsed into a torch function, safely.

A formula is never evaluated as Python. Its text (at most :data:`MAX_LENGTH` characters, plain
ASCII) goes through ``ast.parse(..., mode="eval")`` and the tree is checked against a
whitelist while it is turned into a small tree of our own nodes; those are folded (constant
parts become numbers), matched against the built-in activations' formulas (a subtree that *is*
a built-in, such as ``x * sigmoid(x)``, is computed by torch's own fused kernel), and turned
into Python closures once. Calling a :class:`Formula` runs those closures; it never looks at
the text or the AST again.

What a formula may contain:

* the variable ``x``; numbers (finite, at most :data:`MAX_LITERAL` in size); the constants
  ``pi`` and ``e``; named parameters whose defaults are given separately;
* ``+ - * / **``, unary ``-``/``+``, parentheses. A power inside an exponent (``x**x**x``,
  ``x**2**3``) is refused: write the exponent without ``**``;
* the functions ``exp log log1p sqrt abs sign sin cos tanh sigmoid softplus relu erf`` (one
  argument), ``min(a, b)``, ``max(a, b)`` (elementwise), ``clamp(v, lo, hi)`` and
  ``where(cond, a, b)``; a condition is a comparison (``< <= > >= == !=``, chains such as
  ``0 < x < 1`` too) or ``and``/``or``/``not`` of conditions, and is allowed nowhere else;
* every elementwise built-in activation by its registry name (or alias) as a one-argument
  function with its default options: ``gelu(x)``, ``mish(x)``, ``leaky_relu(x)``. ``prelu``
  inside a formula is fixed at its starting slope; write ``where(x > 0, x, a * x)`` with a
  trainable ``a`` to learn one.

Conventions where torch has a choice: ``softplus`` is torch's (beta 1, threshold 20), so
``x * tanh(softplus(x))`` is mish; at a tie with a constant, ``max``/``min``/``clamp`` give
the derivative 0, as torch's relu, relu6 and hardtanh do; ``min``/``max`` of two
non-constant arguments split the gradient at a tie, as ``torch.maximum`` does.

On the command line a list of activations is split on commas outside parentheses only
(``actcli.cli.parsing.split_names``): ``--activations relu,gelu,"max(x, 0.1*x)"`` is
three entries. A formula can only hold a comma inside parentheses; the quotes are for the
shell.

Every refusal is one :class:`FormulaError` (a :class:`~actcli.errors.ConfigError`: one line,
exit 2) that names what is not allowed and what is.
"""

from __future__ import annotations

import ast
import difflib
import functools
import keyword
import math
import operator
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actcli.errors import ConfigError, quote

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_LITERAL",
    "Formula",
    "FormulaActivation",
    "FormulaError",
    "builtin_names",
    "is_formula",
    "parse",
]

MAX_LENGTH = 400  # characters of a formula, checked before anything else
MAX_DEPTH = 40  # levels of nesting of the parsed expression
MAX_LITERAL = 1e12  # largest number written in a formula

CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "e": math.e})

# one-argument functions: name -> torch function
_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "exp": torch.exp,
    "log": torch.log,
    "log1p": torch.log1p,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sign": torch.sign,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,  # torch's: beta 1, threshold 20 (as nn.Softplus and mish)
    "relu": torch.relu,
    "erf": torch.erf,
}
_SIGNATURES = {"min": "min(a, b)", "max": "max(a, b)", "clamp": "clamp(v, lo, hi)",
               "where": "where(cond, a, b)"}
_ARITY = {**dict.fromkeys(_UNARY, 1), "min": 2, "max": 2, "clamp": 3, "where": 3}
FUNCTIONS: tuple[str, ...] = tuple(_ARITY)

_BINOPS: dict[type, str] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
                            ast.Pow: "pow"}
_OPERATOR_SYMBOLS: dict[type, str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~",
}
_COMPARES: dict[type, str] = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge",
                              ast.Eq: "eq", ast.NotEq: "ne"}
_COMPARE_OPS = frozenset(_COMPARES.values())
_CONDITION_OPS = _COMPARE_OPS | {"and", "or", "not"}
_KINDS: dict[type, str] = {  # what a refused node is called in a message
    ast.Lambda: "lambda", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.Tuple: "tuples", ast.List: "lists", ast.Set: "sets", ast.Dict: "dicts",
    ast.NamedExpr: "assignment (:=)", ast.JoinedStr: "strings", ast.FormattedValue: "strings",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Starred: "starred arguments (*x)",
    ast.Slice: "slices",
}
_WHAT_IS_ALLOWED = ("allowed: numbers, x, parameters, pi, e, + - * / **, parentheses and "
                    "calls of the allowed functions")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")

Env = tuple[Any, ...]  # the parameters' values, in the formula's order
Closure = Callable[[Tensor, Env], Any]


class FormulaError(ConfigError):
    """A formula (or a list of activations holding one) that is not allowed. One line."""


def _fail(text: str, message: str) -> FormulaError:
    return FormulaError(f"formula {quote(text, 60)}: {message}")


# ---------------------------------------------------------------------------------------
# the built-in activations, by name (read from the registry when first needed, so that the
# registry may one day import this module)


@dataclass(frozen=True)
class _Builtin:
    name: str  # the registry's own name (an alias resolves to it)
    fn: Callable[[Tensor], Tensor] | None  # None: not elementwise, refused in a formula


@functools.lru_cache(maxsize=1)
def _builtins() -> dict[str, _Builtin]:
    from actcli.components.activations import ACTIVATIONS

    table: dict[str, _Builtin] = {}
    for spec in ACTIVATIONS:
        if not spec.elementwise:
            table[spec.name] = _Builtin(spec.name, None)
            continue
        defaults = {key: p.default for key, p in spec.params.items()}
        module = spec.module(**defaults)
        if next(module.parameters(), None) is None and next(module.buffers(), None) is None:
            fn: Callable[[Tensor], Tensor] = module.forward  # torch's own, without hooks
        else:  # a module holding tensors (prelu): its formula at the default options
            fn = functools.partial(spec.fn, **defaults)
        table[spec.name] = _Builtin(spec.name, _UNARY.get(spec.name, fn))
    for alias, name in ACTIVATIONS.aliases.items():
        if name in table:
            table[alias] = table[name]
    return table


def builtin_names() -> list[str]:
    """The built-in activations a formula may call (names and aliases), sorted."""
    return sorted(name for name, b in _builtins().items() if b.fn is not None)


def _reserved() -> set[str]:
    return {"x", *_ARITY, *CONSTANTS, *_builtins()}


@functools.lru_cache(maxsize=1)
def _module_attributes() -> frozenset[str]:
    """Names a parameter cannot have: FormulaActivation keeps parameters as attributes."""
    return frozenset({*dir(FormulaActivation), "training", "formula", "trainable"})


# ---------------------------------------------------------------------------------------
# the parsed tree


@dataclass(frozen=True, eq=False)
class _Node:
    op: str  # num x param add sub mul div pow neg fn min max clamp where lt.. and or not
    args: tuple[_Node, ...] = ()
    value: Any = 0.0  # num: the number (bool for a folded condition); param: its index
    name: str = ""  # fn: the function or activation; param: its name; num: pi or e
    src: str = ""  # the text it came from, for messages
    has_x: bool = False
    has_p: bool = False


def _node(op: str, args: tuple[_Node, ...] = (), value: Any = 0.0, name: str = "",
          src: str = "") -> _Node:
    return _Node(op, args, value, name, src, any(a.has_x for a in args),
                 any(a.has_p for a in args))


_X = _Node("x", has_x=True)


def _num(value: Any, name: str = "", src: str = "") -> _Node:
    return _Node("num", (), value, name, src)


class _Reader:
    """Turns a checked Python AST into :class:`_Node` s, refusing what is not allowed."""

    def __init__(self, text: str, params: Mapping[str, float]) -> None:
        self.text = text
        self.index = {name: i for i, name in enumerate(params)}
        self.uses: list[str] = []  # functions and activations, in order of first use
        self.used_params: set[str] = set()
        self.builtins = _builtins()

    def fail(self, message: str) -> FormulaError:
        return _fail(self.text, message)

    def segment(self, node: ast.AST) -> str:
        return quote(ast.get_source_segment(self.text, node) or "", 40)

    def enter(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} "
                            "are allowed")

    # a number-valued expression
    def number(self, node: ast.AST, depth: int = 0, exponent: bool = False) -> _Node:
        self.enter(node, depth)
        src = ast.get_source_segment(self.text, node) or ""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.operator(node.op)
            if op == "pow" and exponent:
                raise self.fail("a power inside an exponent (a ** b ** c, as in x**x**x) is "
                                "not allowed; write the exponent without ** (x**8, not x**2**3)")
            left = self.number(node.left, depth + 1, exponent)
            right = self.number(node.right, depth + 1, exponent or op == "pow")
            return _node(op, (left, right), src=src)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                raise self.comparison_outside(node)
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise self.operator(node.op)
            inner = self.number(node.operand, depth + 1, exponent)
            return inner if isinstance(node.op, ast.UAdd) else _node("neg", (inner,), src=src)
        if isinstance(node, ast.Call):
            return self.call(node, depth, exponent)
        if isinstance(node, ast.Compare | ast.BoolOp):
            raise self.comparison_outside(node)
        raise self.refuse(node)

    # a condition: comparisons, and/or/not of them
    def condition(self, node: ast.AST, depth: int, exponent: bool) -> _Node:
        self.enter(node, depth)
        src = ast.get_source_segment(self.text, node) or ""
        if isinstance(node, ast.Compare):
            if not all(type(op) in _COMPARES for op in node.ops):  # is, is not, in, not in
                raise self.fail("only the comparisons < <= > >= == != are allowed, not "
                                "'is' or 'in'")
            operands = [self.number(node.left, depth + 1, exponent)]
            operands += [self.number(c, depth + 1, exponent) for c in node.comparators]
            parts = [_node(_COMPARES[type(op)], (a, b), src=src)
                     for op, a, b in zip(node.ops, operands, operands[1:], strict=False)]
            result = parts[0]
            for part in parts[1:]:  # 0 < x < 1 is (0 < x) and (x < 1)
                result = _node("and", (result, part), src=src)
            return result
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            values = [self.condition(v, depth + 1, exponent) for v in node.values]
            result = values[0]
            for value in values[1:]:
                result = _node(op, (result, value), src=src)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return _node("not", (self.condition(node.operand, depth + 1, exponent),), src=src)
        if isinstance(node, ast.Constant | ast.Name | ast.BinOp | ast.UnaryOp | ast.Call):
            raise self.fail(f"the condition of where must be a comparison such as x > 0, "
                            f"not {self.segment(node)}")
        raise self.refuse(node)

    def constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"{value!r} is not allowed; use numbers (and comparisons only "
                            "inside where)")
        if isinstance(value, complex):
            raise self.fail("complex numbers (1j) are not allowed; use real numbers")
        if isinstance(value, str | bytes):
            raise self.fail(f"strings ({quote(value, 30)}) are not allowed; "
                            f"{_WHAT_IS_ALLOWED}")
        if not isinstance(value, int | float):
            raise self.refuse(node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not abs(number) <= MAX_LITERAL:  # also catches inf and nan
            raise self.fail(f"the number {self.segment(node)} is too large; numbers up to "
                            f"{MAX_LITERAL:g} in size are allowed")
        return _num(number, src=ast.get_source_segment(self.text, node) or "")

    def name(self, node: ast.Name) -> _Node:
        name = node.id
        if name == "x":
            return _X
        if name in self.index:
            self.used_params.add(name)
            return _Node("param", (), self.index[name], name, name, has_p=True)
        if name in CONSTANTS:
            return _num(CONSTANTS[name], name, name)
        if name in _ARITY or name in self.builtins:
            raise self.fail(f"'{name}' is a function: call it, e.g. {name}(x)")
        raise self.fail(self.unknown("name", name))

    def unknown(self, what: str, name: str) -> str:
        functions = [*FUNCTIONS, *builtin_names()]
        candidates = ["x", *self.index, *CONSTANTS, *functions]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        params = f", parameters {' '.join(self.index)}" if self.index else ""
        extra = "" if what == "function" else "; to add a parameter, give it a default"
        return (f"unknown {what} {quote(name, 40)}{hint}; allowed: x{params}, constants pi e, "
                f"functions {' '.join(FUNCTIONS)}, activations {' '.join(builtin_names())}"
                f"{extra}")

    def call(self, node: ast.Call, depth: int, exponent: bool) -> _Node:
        src = ast.get_source_segment(self.text, node) or ""
        func = node.func
        if isinstance(func, ast.Attribute):
            raise self.refuse(func)
        if not isinstance(func, ast.Name):
            raise self.fail(f"only functions called by their plain name are allowed, e.g. "
                            f"exp(x), not a call of {self.segment(func)}")
        name = func.id
        if name == "x" or name in self.index or name in CONSTANTS:
            raise self.fail(f"'{name}' is not a function; call one of: "
                            f"{' '.join(FUNCTIONS)} or an activation")
        if node.keywords:
            key = node.keywords[0].arg or "**"
            raise self.fail(f"keyword arguments ({key}=...) are not allowed; pass arguments "
                            f"by position, e.g. clamp(x, -1, 1)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail("starred arguments (*args) are not allowed; pass each argument "
                            "by position")
        builtin = self.builtins.get(name)
        if name not in _ARITY and builtin is None:
            raise self.fail(self.unknown("function", name))
        if name not in _ARITY and builtin is not None and builtin.fn is None:
            raise self.fail(f"{name} is not elementwise, so it cannot be used in a formula; "
                            f"activations allowed: {' '.join(builtin_names())}")
        arity = _ARITY.get(name, 1)
        if len(node.args) != arity:
            signature = _SIGNATURES.get(name, f"{name}(x)")
            raise self.fail(f"{name} takes {arity} argument{'s' if arity > 1 else ''} "
                            f"({signature}), got {len(node.args)}")
        if name not in self.uses:
            self.uses.append(name)
        if name == "where":
            cond = self.condition(node.args[0], depth + 1, exponent)
            a, b = (self.number(arg, depth + 1, exponent) for arg in node.args[1:])
            return _node("where", (cond, a, b), src=src)
        args = tuple(self.number(arg, depth + 1, exponent) for arg in node.args)
        if name in ("min", "max", "clamp"):
            return _node(name, args, src=src)
        return _node("fn", args, name=name, src=src)

    def operator(self, op: ast.AST) -> FormulaError:
        symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
        return self.fail(f"the operator {symbol} is not allowed; allowed operators: + - * / ** "
                         "and comparisons inside where(cond, a, b)")

    def comparison_outside(self, node: ast.AST) -> FormulaError:
        return self.fail(f"a comparison or and/or/not ({self.segment(node)}) is only allowed as "
                         "the condition of where(cond, a, b)")

    def refuse(self, node: ast.AST) -> FormulaError:
        if isinstance(node, ast.Attribute):
            return self.fail(f"attribute access (.{quote(node.attr, 30)[1:-1]}) is not allowed; "
                             "call functions by their plain name, e.g. exp(x)")
        if isinstance(node, ast.Subscript):
            return self.fail("subscripts ([...]) are not allowed; a formula works on each "
                             "element of x")
        if isinstance(node, ast.IfExp):
            return self.fail("'a if cond else b' is not allowed; write where(cond, a, b)")
        if isinstance(node, ast.Lambda):
            return self.fail("lambda is not allowed; write the expression of x itself, e.g. "
                             "x * sigmoid(x)")
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
            return self.fail(f"{_KINDS[type(node)]} are not allowed: a formula is one "
                             f"expression of x; {_WHAT_IS_ALLOWED}")
        kind = _KINDS.get(type(node), type(node).__name__)
        verb = "are" if kind.split(" (")[0].endswith("s") else "is"
        return self.fail(f"{kind} {verb} not allowed; {_WHAT_IS_ALLOWED}")


def _read(text: str, params: Mapping[str, float]) -> tuple[str, _Node, _Reader]:
    """Check the text, parse it and read it into nodes. Returns the normalised text too."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula is a string, got {quote(text)}")
    if len(text) > MAX_LENGTH:
        raise _fail(text, f"{len(text)} characters long; at most {MAX_LENGTH} are allowed")
    normalised = " ".join(text.split())
    odd = next((c for c in normalised if not " " <= c <= "~"), None)
    if odd is not None:
        raise _fail(text, f"the character {odd!r} is not allowed: a formula is plain ASCII; "
                          f"{_WHAT_IS_ALLOWED}")
    if not normalised:
        raise _fail(text, "empty; write an expression of x, e.g. x * sigmoid(x)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings (1 is 1, "\d") are not ours
            tree = ast.parse(normalised, mode="eval")
    except SyntaxError as e:
        if "nested" in str(e.msg):  # too many nested parentheses
            raise _fail(normalised, f"nested too deeply ({e.msg}); at most {MAX_DEPTH} levels "
                                    "are allowed") from None
        raise _fail(normalised, f"not a valid expression ({e.msg}); write an expression of "
                                f"x such as x * sigmoid(x)") from None
    except (RecursionError, MemoryError):
        raise _fail(normalised, f"nested too deeply; at most {MAX_DEPTH} levels are "
                                f"allowed") from None
    except (ValueError, OverflowError) as e:
        raise _fail(normalised, f"not a valid expression ({e}); write an expression of x "
                                f"such as x * sigmoid(x)") from None
    reader = _Reader(normalised, params)
    return normalised, reader.number(tree.body), reader


def _check_params(text: str, params: Mapping[str, Any] | None) -> dict[str, float]:
    checked: dict[str, float] = {}
    if params is None:
        return checked
    if not isinstance(params, Mapping):
        raise _fail(text, f"params must map names to numbers, got {quote(params)}")
    reserved = _reserved()
    for name, value in params.items():
        if (not isinstance(name, str) or not _PARAM_NAME.fullmatch(name)
                or keyword.iskeyword(name) or name in reserved
                or name in _module_attributes()):
            raise _fail(text, f"the parameter name {quote(name, 40)} is not allowed: a "
                              "parameter is a plain name (letters, digits, _; up to 32) that "
                              "is not x, a function, a constant, an activation or an nn.Module "
                              "attribute")
        try:
            if isinstance(value, bool | str | bytes):
                raise TypeError
            number = float(value)
        except (TypeError, ValueError, RuntimeError):
            raise _fail(text, f"parameter '{name}' needs a number as its default, got "
                              f"{quote(value, 40)}") from None
        if not math.isfinite(number):
            raise _fail(text, f"parameter '{name}' needs a finite default, got {number}")
        checked[name] = number
    return checked


# ---------------------------------------------------------------------------------------
# folding: every part without x and parameters becomes a number


def _tensor(value: Any, x: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else torch.tensor(value, dtype=x.dtype,
                                                                device=x.device)


def _min(a: Tensor, b: Tensor) -> Tensor:
    return torch.minimum(a, b)


def _max(a: Tensor, b: Tensor) -> Tensor:
    return torch.maximum(a, b)


_IMPL: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "neg": operator.neg, "min": _min, "max": _max,
    "clamp": lambda v, lo, hi: _min(_max(v, lo), hi), "where": torch.where,
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne, "and": operator.and_, "or": operator.or_,
    "not": torch.logical_not,
}


def _function(name: str) -> Callable[[Tensor], Tensor]:
    fn = _UNARY.get(name) or _builtins()[name].fn
    assert fn is not None  # the reader refused the rest
    return fn


def _fold(node: _Node, text: str) -> _Node:
    """``node`` with every part that has neither x nor parameters computed (in float64)."""
    if not node.args:
        return node
    args = tuple(_fold(a, text) for a in node.args)
    op = node.op
    consts = [a.op == "num" for a in args]
    if op == "where" and args[0].op == "num":
        return args[1] if args[0].value else args[2]
    if op in ("and", "or") and any(consts):
        const, other = (args[0], args[1]) if consts[0] else (args[1], args[0])
        if bool(const.value) == (op == "or"):
            return const  # True or c, False and c
        return other
    if op == "clamp" and consts[1] and consts[2] and not args[1].value <= args[2].value:
        raise _fail(text, f"clamp(v, lo, hi) needs lo <= hi, got {args[1].value:g} and "
                          f"{args[2].value:g}")
    if all(consts):
        values = [torch.tensor(a.value, dtype=torch.float64) for a in args]
        fn = _function(node.name) if op == "fn" else _IMPL[op]
        result = fn(*values).item()
        if not isinstance(result, bool) and not math.isfinite(result):
            raise _fail(text, f"the constant part {quote(node.src, 40)} is {result}; "
                              "constants must be finite")
        return _num(result, src=node.src)
    return _node(op, args, node.value, node.name, node.src)


# ---------------------------------------------------------------------------------------
# fusing: a part equal to a built-in activation's formula runs torch's kernel for it


def _round(value: float) -> float:
    return float(f"{value:.12g}") + 0.0  # + 0.0: -0.0 is 0.0


def _mul_key(coef: float, factors: Iterable[Any]) -> Any:
    flat: list[Any] = []
    for f in factors:
        if f[0] == "c":
            coef *= f[1]
        elif f[0] == "mul":
            coef *= f[1]
            flat.extend(f[2])
        else:
            flat.append(f)
    if coef == 0 or not flat:
        return ("c", _round(coef))
    if _round(coef) == 1 and len(flat) == 1:
        return flat[0]
    return ("mul", _round(coef), tuple(sorted(flat, key=repr)))


def _add_key(const: float, terms: Iterable[Any]) -> Any:
    flat: list[Any] = []
    for t in terms:
        if t[0] == "c":
            const += t[1]
        elif t[0] == "add":
            const += t[1]
            flat.extend(t[2])
        else:
            flat.append(t)
    if not flat:
        return ("c", _round(const))
    if _round(const) == 0 and len(flat) == 1:
        return flat[0]
    return ("add", _round(const), tuple(sorted(flat, key=repr)))


_FLIP = {"lt": "gt", "le": "ge"}


def _key(node: _Node) -> Any:
    """A canonical form: equal keys, equal functions (constants to 12 digits)."""
    op = node.op
    if op == "num":
        return ("c", _round(float(node.value)))
    if op == "x":
        return ("x",)
    if op == "param":
        return ("p", node.name)
    keys = [_key(a) for a in node.args]
    if op == "add":
        return _add_key(0.0, keys)
    if op == "sub":
        return _add_key(0.0, [keys[0], _mul_key(-1.0, [keys[1]])])
    if op == "neg":
        return _mul_key(-1.0, keys)
    if op == "mul":
        return _mul_key(1.0, keys)
    if op == "div" and keys[1][0] == "c" and keys[1][1] != 0:
        return _mul_key(1.0 / keys[1][1], [keys[0]])
    if op in ("min", "max"):
        a, b = keys
        inner, const = (a, b) if b[0] == "c" else (b, a)
        if const[0] == "c" and inner[0] == ("max" if op == "min" else "min"):
            # min(max(v, lo), hi) and max(min(v, hi), lo) are clamp(v, lo, hi)
            v, c = inner[1]
            if c[0] != "c":
                v, c = c, v
            lo, hi = (c, const) if op == "min" else (const, c)
            if c[0] == "c" and lo[1] <= hi[1]:
                return ("clamp", v, lo, hi)
        return (op, tuple(sorted(keys, key=repr)))
    if op in _FLIP:
        return (_FLIP[op], keys[1], keys[0])
    if op in ("eq", "ne", "and", "or"):
        return (op, tuple(sorted(keys, key=repr)))
    if op == "fn":
        builtin = _builtins().get(node.name)
        return ("fn", builtin.name if builtin else node.name, *keys)
    return (op, *keys)


def _templates() -> dict[str, list[str]]:
    from actcli.components.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE

    def default(name: str, key: str) -> float:
        return float(ACTIVATIONS.get(name).params[key].default)

    slope, beta = default("leaky_relu", "negative_slope"), default("softplus", "beta")
    alpha, celu = default("elu", "alpha"), default("celu", "alpha")
    lo, hi = default("hardtanh", "min_val"), default("hardtanh", "max_val")
    return {
        "sigmoid": ["1 / (1 + exp(-x))"],
        "tanh": ["(exp(x) - exp(-x)) / (exp(x) + exp(-x))", "2 * sigmoid(2 * x) - 1"],
        "relu": ["max(x, 0)", "where(x > 0, x, 0)"],
        "relu6": ["clamp(x, 0, 6)"],
        "hardtanh": [f"clamp(x, {lo!r}, {hi!r})"],
        "hard_sigmoid": ["clamp(x / 6 + 1 / 2, 0, 1)", "relu6(x + 3) / 6"],
        "leaky_relu": [f"where(x > 0, x, {slope!r} * x)", f"max(x, {slope!r} * x)"],
        "elu": [f"where(x > 0, x, {alpha!r} * (exp(x) - 1))"],
        "celu": [f"max(x, 0) + min({celu!r} * (exp(x / {celu!r}) - 1), 0)"],
        "selu": [f"{SELU_SCALE!r} * where(x > 0, x, {SELU_ALPHA!r} * (exp(x) - 1))"],
        "gelu": ["0.5 * x * (1 + erf(x / sqrt(2)))"],
        "silu": ["x * sigmoid(x)", "x / (1 + exp(-x))"],
        "mish": ["x * tanh(softplus(x))"],
        "softplus": [f"log(1 + exp({beta!r} * x)) / {beta!r}",
                     f"log1p(exp({beta!r} * x)) / {beta!r}"],
        "softsign": ["x / (1 + abs(x))"],
        "hardswish": ["x * clamp(x + 3, 0, 6) / 6", "x * relu6(x + 3) / 6"],
        "logsigmoid": ["-softplus(-x)", "log(sigmoid(x))"],
        "step": ["where(x > 0, 1, 0)"],
    }


@functools.lru_cache(maxsize=1)
def _template_keys() -> dict[Any, str]:
    table = _builtins()
    keys: dict[Any, str] = {}
    for name, texts in _templates().items():
        if name not in table or table[name].fn is None:
            continue
        for text in texts:
            _, tree, _ = _read(text, {})
            keys[_key(_fold(tree, text))] = name
    return keys


def _fuse(node: _Node, fused: list[str]) -> _Node:
    """Replace the largest parts of x alone that equal a built-in by a call of it."""
    if node.has_x and not node.has_p and node.op not in {"x", "num"} | _CONDITION_OPS:
        name = _template_keys().get(_key(node))
        if name is not None and not (node.op == "fn" and node.name == name):
            fused.append(name)
            return _Node("fn", (_X,), 0.0, name, node.src, True, False)
    if not node.args:
        return node
    return _Node(node.op, tuple(_fuse(a, fused) for a in node.args), node.value, node.name,
                 node.src, node.has_x, node.has_p)


# ---------------------------------------------------------------------------------------
# closures: built once, each a few Python operations around one torch call


def _leaf(node: _Node) -> Closure:
    if node.op == "x":
        return lambda x, env: x
    i = node.value
    return lambda x, env: _tensor(env[i], x)  # a parameter where a tensor is needed


def _build(node: _Node) -> Any:
    """A closure ``f(x, env)`` for ``node``, or a float for a number."""
    op = node.op
    if op == "num":
        return float(node.value)
    if op == "x":
        return _leaf(node)
    if op == "param":
        i = node.value
        return lambda x, env: env[i]  # float or tensor: fine beside a tensor of x
    # a parameter in a part without x is made a tensor first, so that no Python float
    # arithmetic (1 / 0, overflow, complex powers) happens when the formula runs
    args = [_leaf(a) if a.op == "param" and (op == "where" or not node.has_x) else _build(a)
            for a in node.args]
    if op in _BINOPS.values() or op in _COMPARE_OPS or op in ("and", "or"):
        return _binary(_IMPL[op], args[0], args[1], node.args[0].op == "x",
                       node.args[1].op == "x")
    if op in ("neg", "not", "fn"):
        fn = _IMPL[op] if op != "fn" else _function(node.name)
        return _unary(fn, args[0], node.args[0].op == "x")
    if op in ("min", "max"):
        return _minmax(op, args[0], args[1])
    if op == "clamp":
        v, lo, hi = args
        if isinstance(lo, float) and isinstance(hi, float):
            v = _as_closure(v)
            return lambda x, env: F.hardtanh(v(x, env), lo, hi)
        return _minmax("min", _minmax("max", v, lo), hi)
    if op == "where":
        return _where(*args)
    raise AssertionError(f"unknown node {op}")  # pragma: no cover - the reader refuses it


def _as_closure(value: Any) -> Closure:
    if callable(value):
        return value
    return lambda x, env: torch.full_like(x, value)


def _unary(fn: Callable[[Any], Any], a: Closure, is_x: bool) -> Closure:
    if is_x:
        return lambda x, env: fn(x)
    return lambda x, env: fn(a(x, env))


def _binary(fn: Callable[[Any, Any], Any], a: Any, b: Any, a_is_x: bool,
            b_is_x: bool) -> Closure:
    if not callable(a):  # a number
        if b_is_x:
            return lambda x, env: fn(a, x)
        return lambda x, env: fn(a, b(x, env))
    if not callable(b):
        if a_is_x:
            return lambda x, env: fn(x, b)
        return lambda x, env: fn(a(x, env), b)
    if a_is_x and b_is_x:
        return lambda x, env: fn(x, x)
    if a_is_x:
        return lambda x, env: fn(x, b(x, env))
    if b_is_x:
        return lambda x, env: fn(a(x, env), x)
    return lambda x, env: fn(a(x, env), b(x, env))


def _minmax(op: str, a: Any, b: Any) -> Any:
    if not callable(a) and not callable(b):  # two numbers of a clamp: clamp(2, 1, x)
        return max(a, b) if op == "max" else min(a, b)
    if not callable(a):
        a, b = b, a
    if not callable(b):  # a constant: the derivative at a tie is 0, as relu's and relu6's
        c = float(b)
        if op == "max":
            return lambda x, env: F.threshold(_tensor(a(x, env), x), c, c)
        return lambda x, env: torch.clamp(_tensor(a(x, env), x), max=c)
    fn = torch.maximum if op == "max" else torch.minimum
    return lambda x, env: fn(_tensor(a(x, env), x), _tensor(b(x, env), x))


def _where(cond: Closure, a: Any, b: Any) -> Closure:
    if callable(a) and callable(b):
        return lambda x, env: torch.where(cond(x, env), a(x, env), b(x, env))
    if callable(a):
        return lambda x, env: torch.where(cond(x, env), a(x, env), b)
    if callable(b):
        return lambda x, env: torch.where(cond(x, env), a, b(x, env))
    if (a, b) == (1.0, 0.0):  # a step
        return lambda x, env: cond(x, env).to(x.dtype)
    if (a, b) == (0.0, 1.0):
        return lambda x, env: torch.logical_not(cond(x, env)).to(x.dtype)
    # two numbers: torch.where of two Python floats would give the default dtype
    return lambda x, env: torch.where(cond(x, env), _tensor(a, x), b)


class _ZeroGradient(torch.autograd.Function):
    """Passes ``out`` through and gives ``x`` a zero gradient (a formula flat in x)."""

    @staticmethod
    def forward(ctx: Any, out: Tensor, x: Tensor) -> Tensor:
        ctx.shape, ctx.dtype, ctx.device = x.shape, x.dtype, x.device
        return out.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device)


def _run(fn: Closure, x: Tensor, env: Env) -> Tensor:
    out = fn(x, env)
    if out.dtype != x.dtype:  # only where parameters of another dtype meet no x
        out = out.to(x.dtype)
    if not out.requires_grad and x.requires_grad and torch.is_grad_enabled():
        out = _ZeroGradient.apply(out, x)
    return out


# ---------------------------------------------------------------------------------------
# the public face


@dataclass(frozen=True)
class Formula:
    """A parsed activation formula. Make one with :func:`parse`.

    ``text``: the formula as written, whitespace normalised. ``params``: name -> default.
    ``uses``: the functions and activations it calls, in order of first use. ``fused``: the
    built-ins whose formula a part of it is, computed by torch's kernel for them.
    """

    text: str
    params: Mapping[str, float]
    uses: tuple[str, ...]
    fused: tuple[str, ...] = ()
    _tree: _Node = field(default=_X, repr=False, compare=False)
    _fn: Closure = field(default=_leaf(_X), repr=False, compare=False)
    _fuse: bool = field(default=True, repr=False, compare=False)
    _defaults: Env = field(default=(), repr=False, compare=False)
    _cache: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, x: Tensor, **params: Any) -> Tensor:
        """The formula applied to ``x``; ``params`` override the defaults (floats or tensors
        that broadcast with x). Keeps x's dtype and device."""
        if not isinstance(x, Tensor):
            x = torch.as_tensor(x, dtype=torch.get_default_dtype())
        if params:
            unknown = [name for name in params if name not in self.params]
            if unknown:
                given = ", ".join(self.params) or "none"
                raise _fail(self.text, f"unknown parameter {quote(unknown[0], 40)}; its "
                                       f"parameters: {given}")
            env = tuple(params.get(name, d) for name, d in self.params.items())
        else:
            env = self._defaults
        return _run(self._fn, x, env)

    def __hash__(self) -> int:
        return hash((self.text, tuple(self.params.items())))

    def __repr__(self) -> str:
        params = "".join(f", {name}={value!r}" for name, value in self.params.items())
        return f"Formula({self.text!r}{params})"

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as its text: closures do not pickle
        return (_rebuild, (self.text, dict(self.params), self._fuse))

    def derivative_text(self) -> str | None:
        """d/dx of the formula as a short formula (one :func:`parse` accepts, given the same
        parameters), from sympy; None when sympy is missing or cannot say it.

        The sympy expression is built from the parsed tree, never from the text. The
        derivative of sign (and of steps) is taken as 0, as autograd does.
        """
        if "d" not in self._cache:
            self._cache["d"] = _derivative_text(self)
        return self._cache["d"]


def _rebuild(text: str, params: dict[str, float], fuse: bool) -> Formula:
    return parse(text, params, fuse=fuse)


def parse(text: str, params: Mapping[str, float] | None = None, *, fuse: bool = True) -> Formula:
    """Parse ``text``, a formula in x, with parameter defaults ``params``.

    ``fuse`` (default on): parts equal to a built-in activation's formula (``x * sigmoid(x)``)
    run torch's kernel for it. Raises :class:`FormulaError` for anything not allowed.
    """
    checked = _check_params(text if isinstance(text, str) else "", params)
    normalised, tree, reader = _read(text, checked)
    if not tree.has_x:
        raise _fail(normalised, "it does not use x; a formula is a function of x, e.g. "
                                "x * sigmoid(x)")
    unused = [name for name in checked if name not in reader.used_params]
    if unused:
        raise _fail(normalised, f"the parameter '{unused[0]}' is not used in the formula")
    folded = _fold(tree, normalised)
    if not folded.has_x:  # where(1 > 0, 2, x): x only in a branch never taken
        raise _fail(normalised, "it does not depend on x once its constant conditions are "
                                "decided; a formula is a function of x, e.g. x * sigmoid(x)")
    fused: list[str] = []
    if fuse:
        folded = _fuse(folded, fused)
    fn = _build(folded)
    return Formula(normalised, MappingProxyType(checked), tuple(reader.uses), tuple(fused),
                   tree, fn, fuse, tuple(checked.values()))


def is_formula(text: object) -> bool:
    """True when ``text`` is an expression (``x * sigmoid(x)``), False for a plain name
    (``relu``, an unknown identifier) and for a ``module:function`` reference."""
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    if not stripped or ":" in stripped:
        return False
    if _IDENT.fullmatch(stripped):
        return stripped == "x"
    return True


class FormulaActivation(nn.Module):
    """A formula as a layer. Parameters named in ``trainable`` are scalar ``nn.Parameter`` s
    learned with the weights; the others are buffers (saved in the state dict, moved with
    ``.to``). ``params`` overrides the defaults.

    ``repr`` shows the formula and the parameters' values: two modules with the same formula
    and fixed parameters have the same repr (they compute alike). A module with trainable
    parameters adds its ``id``, so two of them are never taken for one another.

    ``shape`` (default ``()``, one value per layer): the shape of each trainable parameter,
    e.g. ``(units,)`` after a dense layer or ``(channels, 1, 1)`` after a conv layer for one
    value per unit; it must broadcast with x. Fixed parameters stay scalars.
    """

    def __init__(self, formula: Formula | str, params: Mapping[str, float] | None = None,
                 trainable: Iterable[str] = (), shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        if isinstance(formula, str):
            formula = parse(formula, params)
        elif params:
            unknown = [name for name in params if name not in formula.params]
            if unknown:
                raise _fail(formula.text, f"unknown parameter {quote(unknown[0], 40)}; its "
                                          f"parameters: {', '.join(formula.params) or 'none'}")
            formula = parse(formula.text, {**formula.params, **params}, fuse=formula._fuse)
        if isinstance(trainable, str):
            trainable = [trainable]
        learned = tuple(dict.fromkeys(trainable))
        for name in learned:
            if name not in formula.params:
                raise _fail(formula.text, f"cannot train {quote(name, 40)}: not a parameter; "
                                          f"its parameters: {', '.join(formula.params) or 'none'}")
        self.formula = formula
        self.trainable = learned
        for name, value in formula.params.items():
            tensor = torch.tensor(value, dtype=torch.get_default_dtype())
            if name in learned:
                if shape:
                    tensor = torch.full(tuple(shape), value, dtype=tensor.dtype)
                self.register_parameter(name, nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)
        self._slots = tuple((name, name in learned) for name in formula.params)

    def forward(self, x: Tensor) -> Tensor:
        learned, fixed = self._parameters, self._buffers
        env = tuple(learned[name] if is_learned else fixed[name]
                    for name, is_learned in self._slots)
        return _run(self.formula._fn, x, env)

    def _value(self, name: str, is_learned: bool) -> Tensor:
        tensor = (self._parameters if is_learned else self._buffers)[name]
        assert tensor is not None
        return tensor

    def values(self) -> dict[str, float | list[float]]:
        """Each parameter's current value (a flat list for one value per unit)."""
        found: dict[str, float | list[float]] = {}
        for name, is_learned in self._slots:
            value = self._value(name, is_learned).detach()
            found[name] = float(value) if value.dim() == 0 else value.reshape(-1).tolist()
        return found

    def extra_repr(self) -> str:
        parts = [self.formula.text]
        for name, is_learned in self._slots:
            mark = " (trainable)" if is_learned else ""
            value = self._value(name, is_learned)
            shown = _show(value) if value.dim() == 0 else f"<{tuple(value.shape)} per unit>"
            parts.append(f"{name}={shown}{mark}")
        if self.trainable:
            parts.append(f"id={id(self):#x}")
        return ", ".join(parts)


def _show(tensor: Tensor) -> str:
    """The shortest text that gives back this value in its own dtype (0.1, not 0.100000001)."""
    value = tensor.detach().cpu()
    if value.dtype not in (torch.float16, torch.float32, torch.float64):
        value = value.float()
    return str(value.numpy()[()])


# ---------------------------------------------------------------------------------------
# the symbolic derivative (sympy, imported only here)


@functools.lru_cache(maxsize=1)
def _sympy() -> Any:
    try:
        import sympy  # type: ignore[import-untyped]
        from sympy.printing.str import StrPrinter  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - sympy comes with torch
        return None

    class sigmoid(sympy.Function):  # lower case: printed as the formula's name
        def fdiff(self, argindex: int = 1) -> Any:
            s = sigmoid(self.args[0])
            return s * (1 - s)

    class softplus(sympy.Function):
        def fdiff(self, argindex: int = 1) -> Any:
            return sigmoid(self.args[0])

    class Printer(StrPrinter):
        """sympy's text, in the formula language."""

        def _print_Float(self, expr: Any) -> str:
            return repr(float(expr))

        def _print_Exp1(self, expr: Any) -> str:
            return "e"

        def _print_Abs(self, expr: Any) -> str:
            return f"abs({self._print(expr.args[0])})"

        def _nest(self, name: str, args: tuple[Any, ...]) -> str:
            if len(args) == 1:
                return str(self._print(args[0]))
            return f"{name}({self._print(args[0])}, {self._nest(name, args[1:])})"

        def _print_Max(self, expr: Any) -> str:
            return self._nest("max", expr.args)

        def _print_Min(self, expr: Any) -> str:
            return self._nest("min", expr.args)

        def _print_Heaviside(self, expr: Any) -> str:
            return f"where({self._print(expr.args[0])} > 0, 1, 0)"

        def _print_Piecewise(self, expr: Any) -> str:
            *pieces, (last, cond) = expr.args
            if cond is not sympy.true:
                raise ValueError("a piecewise without an otherwise")
            text = str(self._print(last))
            for value, c in reversed(pieces):
                text = f"where({self._print(c)}, {self._print(value)}, {text})"
            return text

        def _print_Relational(self, expr: Any) -> str:
            return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"

        def _print_And(self, expr: Any) -> str:
            return " and ".join(f"({self._print(a)})" for a in expr.args)

        def _print_Or(self, expr: Any) -> str:
            return " or ".join(f"({self._print(a)})" for a in expr.args)

        def _print_Not(self, expr: Any) -> str:
            return f"not ({self._print(expr.args[0])})"

    return sympy, sigmoid, softplus, Printer()


def _sympy_number(sympy: Any, value: float) -> Any:
    if value == int(value) and abs(value) < 1e15:
        return sympy.Integer(int(value))
    fraction = sympy.Rational(repr(value))
    return fraction if fraction.q <= 100 else sympy.Float(value)


def _sympy_builtins(sympy: Any, sigmoid: Any, softplus: Any) -> dict[str, Callable[[Any], Any]]:
    from actcli.components.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE

    def default(name: str, key: str) -> Any:
        return _sympy_number(sympy, float(ACTIVATIONS.get(name).params[key].default))

    slope, init = default("leaky_relu", "negative_slope"), default("prelu", "init")
    alpha, celu = default("elu", "alpha"), default("celu", "alpha")
    lo, hi, beta = default("hardtanh", "min_val"), default("hardtanh", "max_val"), \
        default("softplus", "beta")
    scale, selu_alpha = sympy.Float(SELU_SCALE), sympy.Float(SELU_ALPHA)
    Max, Min, Pw, exp = sympy.Max, sympy.Min, sympy.Piecewise, sympy.exp
    return {
        "step": lambda a: Pw((1, a > 0), (0, True)),
        "identity": lambda a: a,
        "sigmoid": sigmoid,
        "hard_sigmoid": lambda a: Min(Max(a / 6 + sympy.Rational(1, 2), 0), 1),
        "tanh": sympy.tanh,
        "hardtanh": lambda a: Min(Max(a, lo), hi),
        "relu": lambda a: Max(a, 0),
        "relu6": lambda a: Min(Max(a, 0), 6),
        "leaky_relu": lambda a: Pw((a, a > 0), (slope * a, True)),
        "prelu": lambda a: Pw((a, a > 0), (init * a, True)),
        "elu": lambda a: Pw((a, a > 0), (alpha * (exp(a) - 1), True)),
        "celu": lambda a: Max(a, 0) + Min(celu * (exp(a / celu) - 1), 0),
        "selu": lambda a: scale * Pw((a, a > 0), (selu_alpha * (exp(a) - 1), True)),
        "gelu": lambda a: a / 2 * (1 + sympy.erf(a / sympy.sqrt(2))),
        "silu": lambda a: a * sigmoid(a),
        "mish": lambda a: a * sympy.tanh(softplus(a)),
        "softplus": lambda a: softplus(beta * a) / beta,
        "softsign": lambda a: a / (1 + sympy.Abs(a)),
        "hardswish": lambda a: a * Min(Max(a + 3, 0), 6) / 6,
        "logsigmoid": lambda a: -softplus(-a),
    }


def _to_sympy(node: _Node, env: tuple[Any, ...]) -> Any:
    sympy, sigmoid, softplus, _ = env[0]
    symbols, builtins = env[1], env[2]
    op = node.op
    if op == "num":
        if node.name == "pi":
            return sympy.pi
        if node.name == "e":
            return sympy.E
        return _sympy_number(sympy, float(node.value))
    if op == "x":
        return symbols["x"]
    if op == "param":
        return symbols[node.name]
    a = [_to_sympy(arg, env) for arg in node.args]
    simple = {
        "add": lambda: a[0] + a[1], "sub": lambda: a[0] - a[1], "mul": lambda: a[0] * a[1],
        "div": lambda: a[0] / a[1], "pow": lambda: a[0] ** a[1], "neg": lambda: -a[0],
        "min": lambda: sympy.Min(a[0], a[1]), "max": lambda: sympy.Max(a[0], a[1]),
        "clamp": lambda: sympy.Min(sympy.Max(a[0], a[1]), a[2]),
        "where": lambda: sympy.Piecewise((a[1], a[0]), (a[2], True)),
        "lt": lambda: sympy.Lt(a[0], a[1]), "le": lambda: sympy.Le(a[0], a[1]),
        "gt": lambda: sympy.Gt(a[0], a[1]), "ge": lambda: sympy.Ge(a[0], a[1]),
        "eq": lambda: sympy.Eq(a[0], a[1]), "ne": lambda: sympy.Ne(a[0], a[1]),
        "and": lambda: sympy.And(a[0], a[1]), "or": lambda: sympy.Or(a[0], a[1]),
        "not": lambda: sympy.Not(a[0]),
    }
    if op in simple:
        return simple[op]()
    functions = {
        "exp": sympy.exp, "log": sympy.log, "log1p": lambda v: sympy.log(1 + v),
        "sqrt": sympy.sqrt, "abs": sympy.Abs, "sign": sympy.sign, "sin": sympy.sin,
        "cos": sympy.cos, "tanh": sympy.tanh, "sigmoid": sigmoid, "softplus": softplus,
        "relu": lambda v: sympy.Max(v, 0), "erf": sympy.erf,
    }
    if node.name in functions:
        return functions[node.name](a[0])
    builtin = _builtins().get(node.name)
    form = builtins.get(builtin.name) if builtin else None
    if form is None:
        raise LookupError(f"no sympy form for {node.name}")
    return form(a[0])


def _derivative_text(formula: Formula) -> str | None:
    tools = _sympy()
    if tools is None:  # pragma: no cover - sympy comes with torch
        return None
    sympy, sigmoid, softplus, printer = tools
    try:
        symbols = {name: sympy.Symbol(name, real=True) for name in ("x", *formula.params)}
        env = (tools, symbols, _sympy_builtins(sympy, sigmoid, softplus))
        expr = _to_sympy(formula._tree, env)
        d = sympy.diff(expr, symbols["x"])
        d = d.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
        candidates = [d]
        if sympy.count_ops(d) <= 40:
            candidates.append(sympy.simplify(d))
    except Exception:  # sympy may fail in many ways: then there is no text
        return None
    best: str | None = None
    for candidate in candidates:
        try:
            text = printer.doprint(candidate)
            _read(text, dict(formula.params))  # it must be a formula again
        except Exception:  # a form the formula language cannot say (cosh, oo)
            continue
        if best is None or len(text) < len(best):
            best = text
    return best
