"""The base of every config section: unknown keys rejected, values frozen."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A config section: extra keys are errors, defaults are validated, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
