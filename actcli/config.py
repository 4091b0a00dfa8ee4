"""The config schema, ``load(path, overrides)`` and ``dump``.

A config is parsed once into frozen typed objects; nothing below this module sees a raw
dict. ``--set key=value`` edits the raw document before validation, so an override is
checked exactly like the file. Every problem becomes one ConfigError line naming the
file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from actcli.components import (
    Ref,
    Registry,
    activations,
    initializers,
    losses,
    optimizers,
    parse_ref,
)
from actcli.errors import ActcliError, ConfigError, suggest, unknown_name_message
from actcli.strict import Strict
from actcli.tasks import TASKS

SCHEMA_URL = "../schema/actcli.schema.json"  # relative to configs/, for yaml-language-server


# --- components named in a config --------------------------------------------------------

def _custom(err: ActcliError) -> PydanticCustomError:
    """Carry our error through pydantic, keeping the key it is about."""
    key = getattr(err, "key", None)
    detail = getattr(err, "detail", str(err))
    return PydanticCustomError("actcli", "{detail}", {"detail": detail, "key": key or ""})


def _ref_schema(registry: Registry[Any]) -> dict[str, Any]:
    names = {"enum": registry.names() + sorted(registry.aliases)}
    return {
        "anyOf": [
            {"type": "string", **names},
            {"type": "object", "required": ["name"], "properties": {"name": names}},
        ]
    }


def _ref_type(registry: Registry[Any], check: Callable[..., None] | None, doc: str) -> Any:  # noqa: ANN401
    def validate(value: object) -> Ref:
        try:
            return parse_ref(registry, value, check)
        except ActcliError as err:
            raise _custom(err) from None

    return Annotated[
        Ref,
        PlainValidator(validate, json_schema_input_type=Any),
        PlainSerializer(lambda ref: ref.dump()),
        Field(json_schema_extra={**_ref_schema(registry), "description": doc}),
    ]


def _layers_type(registry: Registry[Any], check: Callable[..., None] | None, doc: str) -> Any:  # noqa: ANN401
    """One component for every layer, or a list with one per layer."""

    def validate(value: object) -> Ref | tuple[Ref, ...]:
        try:
            if isinstance(value, list | tuple):
                refs = []
                for i, item in enumerate(value):
                    try:
                        refs.append(parse_ref(registry, item, check))
                    except ConfigError as err:
                        key = f"[{i}].{err.key}" if err.key else f"[{i}]"
                        raise ConfigError(err.detail, key) from None
                return tuple(refs)
            return parse_ref(registry, value, check)
        except ActcliError as err:
            raise _custom(err) from None

    def serialize(value: Ref | tuple[Ref, ...]) -> Any:  # noqa: ANN401
        return [r.dump() for r in value] if isinstance(value, tuple) else value.dump()

    one = _ref_schema(registry)
    return Annotated[
        Union[Ref, tuple[Ref, ...]],  # noqa: UP007
        PlainValidator(validate, json_schema_input_type=Any),
        PlainSerializer(serialize),
        Field(json_schema_extra={"anyOf": [one, {"type": "array", "items": one}],
                                 "description": doc}),
    ]


Activations = _layers_type(
    activations.ACTIVATIONS, activations.check_params,
    "hidden activation: a name, {name: ..., option: value}, or a list with one per layer",
)
Inits = _layers_type(
    initializers.INITIALIZERS, initializers.check_params,
    "weight initializer: a name, {name: constant, value: 5}, or a list with one per layer "
    "(hidden layers, then the output layer)",
)
LossRef = _ref_type(losses.LOSSES, None, "loss: a name or {name: ..., option: value}")
OptimizerRef = _ref_type(
    optimizers.OPTIMIZERS, optimizers.check_params, "optimizer: {name: adam, lr: 0.05, ...}"
)


# --- sections ----------------------------------------------------------------------------

def _task_name_first(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


TaskOptions = Annotated[
    Union[tuple(spec.task.options for spec in TASKS)],  # type: ignore[misc]  # noqa: UP007
    Field(discriminator="name"),
    BeforeValidator(_task_name_first),
]


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
            if not activations.ACTIVATIONS.get(ref.name).hidden:
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
    log_every: int | None = Field(
        None, ge=1, description="epochs between rows of metrics.csv; null = about 200 rows"
    )


class CompareConfig(Strict):
    over: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="config key -> values to compare (a grid over several keys); empty = "
        "the eleven activations on model.activation",
    )
    seeds: int = Field(1, ge=1, description="seeds 0..N-1 for every cell")
    workers: int = Field(1, ge=1, description="worker processes sharing the cores")


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Config(Strict):
    name: str | None = Field(
        None, description="run name, used in the run folder's name; default: the task's name"
    )
    task: TaskOptions = Field(default_factory=lambda: {"name": "rice_cooker"},
                              description="the task and its options")
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossRef = Field("bce")
    optimizer: OptimizerRef = Field("adam")
    train: TrainConfig = Field(default_factory=TrainConfig)
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    compare: CompareConfig | None = Field(
        None, description="what `actcli compare` varies when the command line does not say; "
        "`actcli train` ignores it",
    )

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.name is None:
            object.__setattr__(self, "name", self.task.name)
        if not _NAME.match(self.name or "") or ".." in (self.name or ""):
            raise PydanticCustomError(
                "actcli", f"name: {self.name!r} is not a valid run name; use letters, digits, "
                "'-', '_' and '.', no path separators or '..'",
            )
        if not _DEVICE.match(self.device):
            raise PydanticCustomError(
                "actcli", f"device: {self.device!r} is not a device; valid: auto, cpu, cuda, "
                "cuda:N, mps",
            )
        task = TASKS.get(self.task.name).task
        n_outputs = task.n_outputs
        if self.model.kind == "cnn" and len(task.input_shape) != 3:
            raise PydanticCustomError(
                "actcli", f"model.kind: cnn needs image input, but task {self.task.name} has "
                f"{task.input_shape[0]} number(s) per sample; use mlp",
            )
        if self.model.output == "softmax" and n_outputs < 2:
            raise PydanticCustomError(
                "actcli", f"model.output: softmax needs two or more classes, but task "
                f"{self.task.name} has one output unit; use sigmoid",
            )
        try:
            losses.check_fit(self.loss, self.model.output, n_outputs)
        except ConfigError as err:
            raise PydanticCustomError("actcli", f"loss: {err}") from None  # noqa: B904
        return self


# --- YAML ----------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Safe loader that reads 1e-3 as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:  # noqa: ANN401
    """YAML text -> Python data with the safe loader; ConfigError with line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "invalid YAML"
        raise ConfigError(f"{source}{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as err:  # e.g. a control character: keep the message to one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{source}: invalid YAML: {first}") from None


def read_document(path: Path) -> dict[str, Any]:
    """The raw mapping in a config file, or ConfigError saying why there is none."""
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a YAML config file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    document = parse_yaml(text, str(path))
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys (name, task, model, ...), "
            f"got a {_yaml_kind(document)}"
        )
    return document


def _yaml_kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


# --- overrides -----------------------------------------------------------------------------

def apply_override(document: dict[str, Any], override: str) -> tuple[str, ...]:
    """Apply ``a.b.c=value`` (value parsed as YAML) to ``document`` in place; return the path."""
    key, sep, text = override.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(path):
        raise ConfigError(
            f"--set {override!r}: expected KEY=VALUE with a dotted key, e.g. optimizer.lr=0.01"
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
            raise ConfigError(f"--set {override!r}: {where} is {child!r}, not a mapping")
        node = child
    node[path[-1]] = value
    return path


def _default_at(path: Sequence[str]) -> Any:  # noqa: ANN401
    """The default config's value at ``path``, or None."""
    node: Any = to_dict(Config())
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --- errors --------------------------------------------------------------------------------

def _section_at(loc: Sequence[Any]) -> type[Strict] | None:
    """The config section class that ``loc`` (a pydantic error location) points into."""
    cls: type[Strict] = Config
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if cls is Config and part == "task":
            if not parts or parts[0] not in TASKS:
                return None
            cls = TASKS.get(parts.pop(0)).task.options
            continue
        field = cls.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, Strict)):
            return None
        cls = annotation
    return cls


def _display_loc(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] == "task" and parts[1] in TASKS:
        del parts[1]  # the discriminator pydantic adds, not a key the user wrote
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def format_error(err: Any, source: str) -> str:  # noqa: ANN401
    """One line for one pydantic error dict: where, what was given, what is allowed."""
    loc = tuple(err["loc"])
    kind = err["type"]
    where = _display_loc(loc)
    prefix = f"{source}: {where}: " if where else f"{source}: "
    if kind in ("actcli", "value_error"):
        message = err["msg"].removeprefix("Value error, ")
        key = (err.get("ctx") or {}).get("key")
        if key:
            where = f"{where}{key}" if key.startswith("[") else f"{where}.{key}"
            return f"{source}: {where}: {message}"
        # a section's own check names the key inside the section: join the two paths
        head, sep, rest = message.partition(": ")
        section = _section_at(loc)
        if sep and where and section is not None and head in section.model_fields:
            return f"{source}: {where}.{head}: {rest}"
        return prefix + message if where else f"{source}: {message}"
    if kind == "extra_forbidden":
        section = _section_at(loc[:-1])
        valid = list(section.model_fields) if section else []
        hint = suggest(loc[-1], valid)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        parent = _display_loc(loc[:-1]) or "top level"
        return (f"{source}: unknown key {_display_loc(loc)!r}{extra}; valid keys in "
                f"{parent}: {', '.join(valid)}")
    if kind == "union_tag_invalid":
        return prefix.replace(f"{where}: ", "") + "task.name: " + unknown_name_message(
            "task", err["ctx"]["tag"], TASKS.names()
        )
    if kind == "union_tag_not_found":
        return f"{source}: task: needs a 'name'; valid: {', '.join(TASKS.names())}"
    if kind == "model_attributes_type" or kind == "model_type":
        return prefix + f"expected a mapping of keys, got {err['input']!r}"
    message = err["msg"]
    if kind.startswith("literal_error"):
        return prefix + f"{err['input']!r} is not allowed; valid: {err['ctx']['expected']}"
    return prefix + f"{message[0].lower()}{message[1:]}; got {err['input']!r}"


# --- public API ----------------------------------------------------------------------------

def validate(document: dict[str, Any], source: str = "config",
             overridden: Sequence[tuple[str, ...]] = ()) -> Config:
    """A raw mapping -> Config, or ConfigError with the first problem in one line."""
    try:
        return Config.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(_display_loc(first["loc"]).replace("[", ".").replace("]", "").split("."))
        if any(loc[: len(path)] == path or path[: len(loc)] == loc for path in overridden
               if loc):
            source = f"{source} (after --set)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(format_error(first, source) + more) from None


def load(path: str | Path | None, overrides: Sequence[str] = ()) -> Config:
    """Read, override and validate a config. ``path=None`` starts from the defaults."""
    document = read_document(Path(path)) if path is not None else {}
    source = str(path) if path is not None else "config"
    changed = [apply_override(document, item) for item in overrides]
    return validate(document, source, changed)


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
