"""The base of every scenario section."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
