"""The config schema, ``load(path, overrides)`` and ``dump``.

A config is parsed once into frozen typed objects; nothing below this module sees a raw
dict. ``--set key=value`` edits the raw document before validation, so an override is
checked exactly like the file. Every problem becomes one ConfigError line naming the
file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import yaml
from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from actcli.components import activations, initializers, losses, optimizers
from actcli.config.errors import display_loc, format_error
from actcli.config.types import Activations, Inits, LossRef, OptimizerRef
from actcli.config.yamlio import parse_yaml, read_document
from actcli.errors import ConfigError, quote
from actcli.strict import Strict
from actcli.tasks import TASKS

__all__ = ["Config", "dump", "json_schema", "load", "parse_yaml", "read_document", "smoke",
           "to_dict", "validate", "written_keys"]


# --- sections ----------------------------------------------------------------------------

def _task_name_first(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


if TYPE_CHECKING:  # the union the registry builds below, spelled out for the type checker
    from actcli.tasks.beans import BeansOptions
    from actcli.tasks.fashion_mnist import FashionMnistOptions
    from actcli.tasks.rice_cooker import RiceCookerOptions

    TaskOptions = RiceCookerOptions | BeansOptions | FashionMnistOptions
else:
    TaskOptions = Annotated[
        Union[tuple(spec.task.options for spec in TASKS)],  # noqa: UP007
        Field(discriminator="name"),
        BeforeValidator(_task_name_first),
    ]


def _default_task() -> Any:  # raw data, validated into the task's options
    return {"name": "rice_cooker"}


def _output_alias(value: object) -> object:
    return "identity" if value in ("none", "linear", None) else value


class ModelConfig(Strict):
    kind: Literal["mlp", "cnn"] = Field(
        "mlp", description="mlp = fully connected; cnn = conv layers (channels), then hidden"
    )
    channels: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: [32, 64],
        description="cnn only: output channels of each 3x3 conv layer (each followed by "
        "the activation and 2x2 max pooling)",
    )
    hidden: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=list,
        description="widths of hidden layers; [] = one neuron: output(a*x + b)",
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0,
                           description="dropout probability after each hidden layer")
    batch_norm: bool = Field(False, description="batch norm before each hidden activation")
    activation: Activations = Field("relu")
    output: Annotated[
        Literal["sigmoid", "softmax", "identity"], BeforeValidator(_output_alias)
    ] = Field("sigmoid", description="output activation: sigmoid | softmax | identity (none)")
    init: Inits = Field("xavier_uniform")

    @property
    def hidden_layers(self) -> int:
        """Layers followed by an activation: conv layers (cnn) and hidden dense layers."""
        return len(self.hidden) + (len(self.channels) if self.kind == "cnn" else 0)

    @model_validator(mode="after")
    def _per_layer(self) -> ModelConfig:
        n = self.hidden_layers
        acts = self.activation if isinstance(self.activation, tuple) else (self.activation,) * n
        if isinstance(self.activation, tuple) and len(self.activation) != n:
            raise PydanticCustomError(
                "actcli", f"activation: a list needs one entry per hidden layer, conv "
                f"layers first ({n}), "
                f"got {len(self.activation)}",
            )
        for ref in acts:
            if not activations.is_hidden(ref):
                raise PydanticCustomError(
                    "actcli", f"activation: {ref.name} is for outputs only; "
                    f"use model.output: {ref.name}",
                )
        if isinstance(self.init, tuple) and len(self.init) != n + 1:
            raise PydanticCustomError(
                "actcli", f"init: a list needs one entry per layer, hidden and output "
                f"({n + 1}), got {len(self.init)}",
            )
        return self


class TrainConfig(Strict):
    epochs: int = Field(100, ge=1, description="passes over the training set")
    batch_size: int | None = Field(None, ge=1, description="samples per step; null = full batch")
    seed: int = Field(0, ge=0, description="seed of initialisation and batch order")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate over epochs: constant, or cosine = decays "
        "from optimizer.lr to 0 along half a cosine, stepped once per epoch",
    )
    checkpoint_every: int | None = Field(
        None, ge=1, description="save checkpoint.pt every N epochs (protects against a killed "
        "process; Ctrl-C and SIGTERM always checkpoint); null = only on interruption",
    )
    checkpoint_seconds: float | None = Field(
        30.0, gt=0, description="also save checkpoint.pt after this many seconds of training "
        "since the last one (mid-epoch too), so a killed process loses at most about that "
        "much; null = never by time",
    )
    log_every: int | None = Field(
        None, ge=1, description="epochs between rows of metrics.csv; null = about 200 rows"
    )
    precision: Literal["fp32", "tf32", "bf16"] = Field(
        "fp32", description="matrix products in float32 (fp32); TF32 tensor cores (tf32: "
        "an NVIDIA GPU, Ampere or later); or bfloat16 (bf16: products and activations' "
        "inputs rounded to bfloat16, weights, gradients and the optimizer in float32), on a "
        "GPU or a CPU; changes the numbers: compare with fp32"
    )


class CompareConfig(Strict):
    over: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="config key -> values to compare (a grid over several keys); empty = "
        "the eleven activations on model.activation",
    )
    seeds: int = Field(1, ge=1, description="seeds 0..N-1 for every cell")
    workers: int | None = Field(
        None, ge=1, description="worker processes training cells side by side; null = the "
        "cores divided by threads",
    )
    threads: int = Field(
        1, ge=1, description="torch threads each cell trains with; a cell's numbers depend "
        "on this (sums split across threads round differently), never on workers",
    )
    rank_by: Literal["accuracy", "loss", "epochs_to_target", "seconds_to_target"] = Field(
        "accuracy", description="what ranks the cells (on the validation split where there "
        "is one): accuracy (a regression's R²), loss, or the epochs or seconds each takes to "
        "reach the target",
    )
    margins: dict[Literal["accuracy", "loss", "epochs_to_target", "seconds_to_target"],
                  Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="metric -> equivalence margin: a cell is "
        "equivalent to the best when its difference lies inside ±margin (with the "
        "report's confidence); a metric named here is judged besides rank_by",
    )
    until_decided: bool = Field(
        False, description="add seeds in rounds to the cells still undecided until each is "
        "worse, equivalent or tied, or max_seeds or the budget is reached",
    )
    max_seeds: int = Field(20, ge=2, description="a deciding compare's most seeds per cell")
    step: int = Field(2, ge=1, description="seeds a deciding compare adds to each open "
                      "cell per round")
    budget: str | None = Field(
        None, pattern=r"^\s*\d+(\.\d+)?\s*[smh]?\s*$",
        description="a deciding compare's time budget, e.g. 50s, 10m, 1.5h; it starts no "
        "round that would end past it (null: none)",
    )


class LogConfig(Strict):
    tensorboard: bool = Field(
        False, description="also write TensorBoard event files into the run folder (needs "
        'pip install "actcli[tensorboard]")',
    )


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # at most 100: it names a folder


class Config(Strict):
    name: str | None = Field(
        None, description="run name, used in the run folder's name; default: the task's name"
    )
    task: TaskOptions = Field(default_factory=_default_task,
                              description="the task and its options")
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossRef = Field("bce")
    optimizer: OptimizerRef = Field("adam")
    train: TrainConfig = Field(default_factory=TrainConfig)
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    log: LogConfig = Field(default_factory=LogConfig, description="what a run writes besides "
                           "its own files")
    compare: CompareConfig | None = Field(
        None, description="what `actcli compare` varies when the command line does not say; "
        "`actcli train` ignores it",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Config:
        if self.name is None:
            object.__setattr__(self, "name", self.task.name)
        if not _NAME.match(self.name or "") or ".." in (self.name or ""):
            raise PydanticCustomError(
                "actcli", f"name: {quote(self.name)} is not a valid run name: 1-100 letters, "
                "digits, '-', '_', '.' (no '/' or '..')",
            )
        if not _DEVICE.match(self.device):
            raise PydanticCustomError(
                "actcli", f"device: {quote(self.device)} is not a device; valid: auto, cpu, cuda, "
                "cuda:N, mps",
            )
        task = TASKS.get(self.task.name).task
        if not (info.context or {}).get("data", True) and hasattr(task, "recorded_shape"):
            return self  # a trained run's config: what it trained on is recorded, not read
        try:
            input_shape, n_outputs = task.shape(self.task)
            regression = task.regression(self.task)
        except ValueError as err:  # the task's data cannot be read: one line
            raise PydanticCustomError("actcli", str(err).replace("{", "(").replace("}", ")")
                                      ) from None
        if self.model.kind == "cnn" and len(input_shape) != 3:
            raise PydanticCustomError(
                "actcli", f"model.kind: cnn needs image input, but task {self.task.name} has "
                f"{input_shape[0]} number(s) per sample; use mlp",
            )
        if self.model.output == "softmax" and regression:
            raise PydanticCustomError(
                "actcli", f"model.output: softmax is for classes, but task {self.task.name} "
                "is a regression (it predicts a number); use identity",
            )
        if self.model.output == "softmax" and n_outputs < 2:
            raise PydanticCustomError(
                "actcli", f"model.output: softmax is for three or more classes; task "
                f"{self.task.name} has two, learned by one sigmoid output: use model.output: "
                "sigmoid with loss: bce (or bce_with_logits)",
            )
        try:
            losses.check_fit(self.loss, self.model.output, n_outputs, regression)
        except ConfigError as err:
            raise PydanticCustomError("actcli", f"loss: {err}") from None
        return self


# --- overrides -----------------------------------------------------------------------------

def _options_of(path: Sequence[str], name: object) -> set[str] | None:
    """The option keys the component (or task) ``name`` at ``path`` takes; None when
    ``path`` is no component or ``name`` is not a known one (validation says so later)."""
    registries: dict[tuple[str, ...], Any] = {
        ("optimizer",): optimizers.OPTIMIZERS, ("loss",): losses.LOSSES,
        ("model", "activation"): activations.ACTIVATIONS,
        ("model", "init"): initializers.INITIALIZERS}
    if not isinstance(name, str):
        return None
    if tuple(path) == ("task",):
        if name not in TASKS:
            return None
        return set(TASKS.get(name).task.options.model_fields)
    registry = registries.get(tuple(path))
    if registry is None or name not in registry:
        return None
    return set(registry.get(name).params)


def apply_override(document: dict[str, Any], override: str,
                   notes: list[str] | None = None) -> tuple[str, ...]:
    """Apply ``a.b.c=value`` (value parsed as YAML) to ``document`` in place; return the path.

    Naming another component (``optimizer.name=sgd`` over adam's options) drops the options
    the new one does not take; each drop is described in ``notes`` when it is given.
    """
    key, sep, text = override.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(path):
        raise ConfigError(
            f"--set {quote(override)}: expected KEY=VALUE with a dotted key, e.g. optimizer.lr=0.01"
        )
    value = parse_yaml(text, f"--set {key}") if text.strip() else None
    node: Any = document
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            # start a missing component or task from its default name, so that
            # `--set optimizer.lr=0.01` tunes the default optimizer
            default = _default_at(path[: i + 1])
            if isinstance(default, dict) and "name" in default:
                default = default["name"]
            child = node[part] = {"name": default} if isinstance(default, str) else {}
        elif isinstance(child, str):  # a component named by a bare string gains options
            child = node[part] = {"name": child}
        elif not isinstance(child, dict):
            where = ".".join(path[: i + 1])
            raise ConfigError(f"--set {quote(override)}: {where} is {quote(child)}, not a mapping")
        node = child
    if path[-1] == "name" and node.get("name") != value:
        keep = _options_of(path[:-1], value)
        dropped = [key for key in node if key != "name" and keep is not None
                   and key not in keep]
        for key in dropped:
            del node[key]
        if dropped and notes is not None:
            notes.append(f"{'.'.join(path)}={value}: dropped {', '.join(dropped)} "
                         f"({value} has no such option)")
    node[path[-1]] = value
    return path


def _default_at(path: Sequence[str]) -> Any:
    """The default config's value at ``path``, or None."""
    node: Any = to_dict(Config())
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --- public API ----------------------------------------------------------------------------

def validate(document: dict[str, Any], source: str = "config",
             overridden: Sequence[tuple[str, ...]] = (), *, data: bool = True) -> Config:
    """A raw mapping -> Config, or ConfigError with the first problem in one line.
    ``data=False``: a trained run's config, whose data need not be readable any more (a
    table's file): the checks that read the data are left out."""
    try:
        return Config.model_validate(document, context={"data": data})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(display_loc(first["loc"]).replace("[", ".").replace("]", "").split("."))
        if any(loc[: len(path)] == path or path[: len(loc)] == loc for path in overridden
               if loc):
            source = f"{source} (after --set)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(format_error(Config, first, source) + more) from None


def load(path: str | Path | None, overrides: Sequence[str] = (),
         notes: list[str] | None = None, *, data: bool = True) -> Config:
    """Read, override and validate a config. ``path=None`` starts from the defaults.
    ``notes`` collects what the overrides changed besides their own key (options dropped
    when a component is renamed). ``data=False``: as :func:`validate`."""
    document = read_document(Path(path)) if path is not None else {}
    source = str(path) if path is not None else "config"
    changed = [apply_override(document, item, notes) for item in overrides]
    return validate(document, source, changed, data=data)


def written_keys(path: str | Path | None, overrides: Sequence[str] = ()) -> set[str]:
    """The dotted keys a config file and its ``--set`` overrides set to something other
    than the default (a resolved config.yaml writes every default: those say nothing)."""
    document = read_document(Path(path)) if path is not None else {}
    defaults = to_dict(Config())

    def walk(node: Any, default: Any, prefix: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                below = default.get(key) if isinstance(default, dict) else None
                if value != below and not _same_component(value, below):
                    yield f"{prefix}{key}"
                yield from walk(value, below, f"{prefix}{key}.")

    return {*walk(document, defaults, ""),
            *(item.partition("=")[0].strip() for item in overrides)}


def _same_component(value: Any, default: Any) -> bool:
    """``relu`` and ``{name: relu}`` name the same default component."""
    def name(v: Any) -> Any:
        return v.get("name") if isinstance(v, dict) and len(v) == 1 else v
    return name(value) == name(default)


def smoke(config: Config) -> Config:
    """The same config made tiny: the task's smoke options and at most its smoke epochs.

    The result is an ordinary config, so the run's config.yaml reproduces the smoke run.
    """
    document = to_dict(config)
    task = TASKS.get(config.task.name).task
    document["task"].update(task.smoke)
    document["train"]["epochs"] = min(config.train.epochs, task.smoke_epochs)
    document["train"]["log_every"] = None
    return validate(document, "--smoke")


def to_dict(config: Config) -> dict[str, Any]:
    """The resolved config as plain data: every default filled in."""
    data = config.model_dump(mode="json")
    data["task"] = {"name": data["task"].pop("name"), **data["task"]}  # name first
    return data


def dump(config: Config, schema: str | None = None) -> str:
    """The resolved config as YAML that :func:`load` reads back to an equal Config."""
    head = f"# yaml-language-server: $schema={schema}\n" if schema else ""
    return head + yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config, for editors (yaml-language-server) and `actcli schema`."""
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **schema, "title": "actcli config"}
