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


def _layers_type(registry: Registry[Any], check: Callable[..., None] | None, doc: str) -> Any:
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

    def serialize(value: Ref | tuple[Ref, ...]) -> Any:
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


