"""The base of every config section: unknown keys rejected, values frozen."""

import math
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """A config section: extra keys are errors, defaults are validated, instances frozen.

    A YAML ``true``/``false`` is never a number: pydantic would read it as 1 or 0
    (``train.epochs: true`` trained one epoch), so a bool given to a field that is not a
    bool is refused; so is an infinite or NaN number (``.inf``, ``1e400``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_finite_numbers(cls, data: Any) -> Any:  # raw config data
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if field is None or not _numeric(field.annotation):
                    continue
                if isinstance(value, bool) and bool not in _members(field.annotation):
                    raise PydanticCustomError(
                        "actcli", "expected a number, got {value}",
                        {"key": key, "value": str(value).lower()})
                if isinstance(value, float) and not math.isfinite(value):
                    # .inf would pass `gt=0` and be written back as null
                    raise PydanticCustomError(
                        "actcli", "must be a finite number, got {value}",
                        {"key": key, "value": str(value)})
        return data


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of an annotation, a union's members each."""
    args = get_args(annotation)
    return args if args else (annotation,)


def _numeric(annotation: Any) -> bool:
    return any(t in (int, float) for t in _members(annotation))
