"""The base of every manifest model: frozen, strict, unknown keys rejected, camelCase aliases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
"""A JSON number that keeps its type (``1`` stays ``1``, ``1.5`` stays ``1.5``)."""


class StrictModel(BaseModel):
    """Base of all manifest models: frozen, strict, unknown keys rejected, camelCase aliases."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        populate_by_name=True,
        alias_generator=to_camel,
        use_attribute_docstrings=True,
    )


RenamedFrom = Annotated[str, Field(min_length=1)]
"""A category's or attribute's old name (:mod:`labelsync.renames`)."""


class RenamedValue(StrictModel):
    """One renamed enum value: ``value`` (in the attribute's ``enum``) was ``renamedFrom``."""

    value: Any
    renamed_from: Any
