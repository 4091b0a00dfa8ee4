"""Your own activation as Python code: ``path/to/file.py:name`` or ``package.module:name``.

This **runs your code**, as Hydra's ``_target_`` does: the file is imported (executed) when
the config is validated, and the function is called on every forward pass. Only name files
you trust.

``name`` is a function of a tensor (``def mine(x): return x * torch.sigmoid(x)``) or an
``nn.Module`` class built with no arguments (its parameters, if any, are learned with the
weights, one module per layer). A dotted ``name`` (``Outer.inner``) is looked up attribute
by attribute.

A path is taken relative to the **current directory** (also when it is written inside a
config file) and stored absolute in the validated config, so the run folder's config.yaml
names the same file from anywhere (resume, eval, predict). While the file is imported its
own folder is first on ``sys.path``, so it may import its neighbours.

Checked once per process when the config is validated (:func:`check`), each problem one
:class:`~actcli.errors.ConfigError` line: a missing file, a module that fails to import
(with the exception's first line), a name that does not exist, an object that is neither
a callable nor an ``nn.Module`` class, and a function that on the probe
``torch.linspace(-6, 6, 101)`` raises, returns no tensor, changes the shape or dtype of its
input, changes its input in place, is not elementwise, or returns NaN or inf.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from actcli.errors import ConfigError, quote, suggest

__all__ = ["PROBE", "PythonActivation", "check", "check_output", "load", "parameter_count",
           "probe_text"]

PROBE = (-6.0, 6.0, 101)  # torch.linspace(-6, 6, 101): where a function must be finite
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_HOW = "expected path/to/file.py:name or package.module:name"

_files: dict[str, ModuleType] = {}  # absolute path -> the module its import made
_checked: set[str] = set()  # references (as stored) checked already


def probe_text() -> str:
    lo, hi, n = PROBE
    return f"torch.linspace({lo:g}, {hi:g}, {n})"


def _fail(text: str, message: str) -> ConfigError:
    return ConfigError(f"python {quote(text, 80)}: {message}")


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _split(text: str) -> tuple[str, str]:
    target, sep, attr = text.strip().rpartition(":")
    if not sep or not target or not attr or not _MODULE.fullmatch(attr):
        hint = "; a mapping ({formula: ...}) goes in as YAML, not as a string" \
            if text.lstrip().startswith("{") else ""
        raise _fail(text, _HOW + hint)
    return target, attr


def _is_file(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def resolve(text: str) -> str:
    """The reference as stored: a file's path made absolute (from the current directory)."""
    target, attr = _split(text)
    if not _is_file(target):
        if not _MODULE.fullmatch(target):
            raise _fail(text, f"{quote(target, 60)} is neither a .py file nor a module name; "
                              f"{_HOW}")
        return f"{target}:{attr}"
    path = Path(target).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return f"{path.resolve()}:{attr}"


@contextlib.contextmanager
def _first_on_path(folder: str) -> Iterator[None]:
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _import_file(text: str, path: Path) -> ModuleType:
    key = str(path)
    if key in _files:
        return _files[key]
    if not path.is_file():
        where = "is a folder, not a .py file" if path.is_dir() else "not found"
        raise _fail(text, f"file {where}: {quote(str(path), 100)} (a relative path is taken "
                          f"from the current directory, {quote(str(Path.cwd()), 100)})")
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    name = f"actcli_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _fail(text, f"cannot import {quote(str(path), 100)} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        with _first_on_path(str(path.parent)):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        sys.modules.pop(name, None)
        raise _fail(text, f"importing {path.name} failed: {_first_line(err)}") from None
    _files[key] = module
    return module


def _import_module(text: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as err:
        missing = err.name or target
        raise _fail(text, f"no module named {quote(missing, 60)} (a file is written "
                          f"path/to/file.py:name)") from None
    except (Exception, SystemExit) as err:
        raise _fail(text, f"importing {target} failed: {_first_line(err)}") from None


def load(text: str) -> Any:
    """The object a reference names (importing its file or module once per process)."""
    target, attr = _split(text)
    if _is_file(target):
        module = _import_file(text, Path(resolve(text).rpartition(":")[0]))
        where = Path(target).name
    else:
        module = _import_module(text, target)
        where = target
    obj: Any = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            hint = suggest(part, names)
            extra = f" (did you mean '{hint}'?)" if hint else ""
            inside = where if i == 0 else ".".join(attr.split(".")[:i])
            raise _fail(text, f"{inside} has no {quote(part, 40)}{extra}")
        obj = getattr(obj, part)
    if isinstance(obj, type):
        if not issubclass(obj, nn.Module):
            raise _fail(text, f"{attr} is a class but not an nn.Module; give a function of a "
                              "tensor or an nn.Module class")
        return obj
    if isinstance(obj, nn.Module):
        raise _fail(text, f"{attr} is an nn.Module instance; name its class (built with no "
                          "arguments, one per layer) or a function")
    if not callable(obj):
        raise _fail(text, f"{attr} is a {type(obj).__name__}, not a function of a tensor or "
                          "an nn.Module class")
    return obj


def _instance(text: str, cls: type[nn.Module]) -> nn.Module:
    try:
        return cls()
    except (Exception, SystemExit) as err:
        raise _fail(text, f"{cls.__name__}() failed (an nn.Module class is built with no "
                          f"arguments): {_first_line(err)}") from None


def check_output(text: str, fn: Callable[[Tensor], Any], fail: Callable[[str, str], Exception]
                 ) -> None:
    """Call ``fn`` on the probe and refuse what an activation must not do (``fail`` makes the
    error)."""
    lo, hi, n = PROBE
    probe = torch.linspace(lo, hi, n)
    given = probe.clone()
    where = f"on the probe {probe_text()}"
    try:
        with torch.no_grad():
            out = fn(given)
            column = fn(probe.reshape(-1, 1).clone())
    except (Exception, SystemExit) as err:
        raise fail(text, f"raised {where}: {_first_line(err)}") from None
    if not isinstance(out, Tensor):
        raise fail(text, f"returns a {type(out).__name__}, not a tensor, {where}")
    if out.shape != probe.shape:
        raise fail(text, f"changes the shape of its input {where}: {tuple(probe.shape)} in, "
                         f"{tuple(out.shape)} out; an activation acts on each number alone")
    if out.dtype != probe.dtype:
        raise fail(text, f"changes the dtype of its input {where}: {probe.dtype} in, "
                         f"{out.dtype} out")
    if not torch.equal(given, probe):
        raise fail(text, f"changes its input in place {where}; return a new tensor instead")
    bad = ~torch.isfinite(out)
    if bool(bad.any()):
        at = float(probe[bad.nonzero()[0, 0]])
        raise fail(text, f"returns NaN or inf {where} (first at x = {at:g})")
    if not isinstance(column, Tensor) or column.shape != (n, 1) or not torch.allclose(
            column.reshape(-1), out, rtol=1e-5, atol=1e-6):
        raise fail(text, "is not elementwise: its value at a number depends on the other "
                         "numbers (the probe as a row and as a column differ); an activation "
                         "acts on each number alone")


def check(text: str) -> str:
    """Check a Python reference (import it, probe it); return it as stored (a file's path
    absolute). Raises one ConfigError line."""
    if not isinstance(text, str):
        raise _fail(str(text), _HOW)
    stored = resolve(text)  # a relative path depends on the current directory
    if stored in _checked:
        return stored
    obj = load(text)
    with torch.random.fork_rng(devices=[]):  # validating draws no numbers a run would
        fn = _instance(text, obj) if isinstance(obj, type) else obj
        check_output(text, fn, _fail)
    _checked.add(stored)
    return stored


def parameter_count(text: str) -> int:
    """Learned parameters one layer of this activation has (an nn.Module class's own)."""
    obj = load(text)
    if not isinstance(obj, type):
        return 0
    with torch.random.fork_rng(devices=[]):
        return sum(p.numel() for p in _instance(text, obj).parameters())


class PythonActivation(nn.Module):
    """A Python reference as a layer: the function, or an instance of the nn.Module class
    (a submodule ``inner``: its parameters are learned and saved as the network's).

    ``repr`` is the reference; a module holding parameters or buffers adds its ``id``, so
    that two models' modules are never taken for one another.
    """

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        obj = load(reference)
        self.fn: Callable[[Tensor], Tensor] | None = None
        if isinstance(obj, type):
            self.inner = _instance(reference, obj)
        else:
            self.fn = obj

    def forward(self, x: Tensor) -> Tensor:
        from actcli.components.formula import _ZeroGradient

        out = self.fn(x) if self.fn is not None else self.inner(x)
        if not out.requires_grad and x.requires_grad and torch.is_grad_enabled():
            out = _ZeroGradient.apply(out, x)  # flat in x (a step): a zero gradient
        return out

    def extra_repr(self) -> str:
        own = next(self.parameters(), None) is not None or next(self.buffers(), None) is not None
        return f"{self.reference}, id={id(self):#x}" if own else self.reference

    def __repr__(self) -> str:  # the inner module's own repr would hide the reference
        return f"{type(self).__name__}({self.extra_repr()})"
