"""Config field types for components: a name or {name: ..., option: value}, or one per layer.

Each validates against its registry (actcli.components) and dumps back to the shortest
YAML form; its JSON Schema lists the registry's names, so editors can check them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Union

from pydantic import Field, PlainSerializer, PlainValidator
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
from actcli.errors import ActcliError, ConfigError


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


def _ref_type(registry: Registry[Any], check: Callable[..., None] | None, doc: str) -> Any:
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


def _activation_schema() -> dict[str, Any]:
    """A registry name, a formula or a Python reference; or one of their mappings."""
    one = _ref_schema(activations.ACTIVATIONS)
    strings = {"type": "string", "description": "a formula in x, e.g. x * tanh(softplus(x)), "
               "or a Python reference path/to/file.py:name or package.module:name"}
    formula = {
        "type": "object", "required": ["formula"], "additionalProperties": False,
        "properties": {
            "formula": {"type": "string", "description": "a formula in x and its parameters"},
            "params": {"type": "object", "additionalProperties": {"type": "number"},
                       "description": "parameter name -> starting value"},
            "trainable": {"type": "array", "items": {"type": "string"},
                          "description": "parameters learned with the weights"},
            "per_unit": {"type": "boolean", "description": "learn one value of each "
                         "trainable parameter per unit instead of one per layer"},
        },
    }
    python = {"type": "object", "required": ["python"], "additionalProperties": False,
              "properties": {"python": {"type": "string", "description":
                                        "path/to/file.py:name or package.module:name (runs "
                                        "that code; a path is relative to the current "
                                        "directory)"}}}
    return {"anyOf": [*one["anyOf"], strings, formula, python]}


def _layers_type(registry: Registry[Any], check: Callable[..., None] | None, doc: str,
                 parse: Callable[[object], Ref] | None = None,
                 schema: dict[str, Any] | None = None) -> Any:
    """One component for every layer, or a list with one per layer. ``parse``: how one
    entry becomes a Ref (default: a registry name or mapping)."""

    def one_ref(value: object) -> Ref:
        return parse(value) if parse is not None else parse_ref(registry, value, check)

    def validate(value: object) -> Ref | tuple[Ref, ...]:
        try:
            if isinstance(value, list | tuple):
                refs = []
                for i, item in enumerate(value):
                    try:
                        refs.append(one_ref(item))
                    except ConfigError as err:
                        key = f"[{i}].{err.key}" if err.key else f"[{i}]"
                        raise ConfigError(err.detail, key) from None
                return tuple(refs)
            return one_ref(value)
        except ActcliError as err:
            raise _custom(err) from None

    def serialize(value: Ref | tuple[Ref, ...]) -> Any:
        return [r.dump() for r in value] if isinstance(value, tuple) else value.dump()

    one = schema if schema is not None else _ref_schema(registry)
    return Annotated[
        Union[Ref, tuple[Ref, ...]],  # noqa: UP007
        PlainValidator(validate, json_schema_input_type=Any),
        PlainSerializer(serialize),
        Field(json_schema_extra={"anyOf": [one, {"type": "array", "items": one}],
                                 "description": doc}),
    ]


Activations = _layers_type(
    activations.ACTIVATIONS, activations.check_params,
    "hidden activation: a name, {name: ..., option: value}, a formula in x "
    "(x * tanh(softplus(x)), or {formula: ..., params: {...}, trainable: [...], per_unit: "
    "false}), a Python reference (path/to/file.py:name, package.module:name: runs that code), "
    "or a list with one per layer",
    parse=activations.parse, schema=_activation_schema(),
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


