"""Base of every hardware-description block: frozen, strict, units read at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from bplight.units import parse_quantity


class FrozenConfig(BaseModel):
    """Immutable, unknown keys rejected; quantity strings ("5 GHz", "450 fJ") of float
    fields are read as SI floats when a file is loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _parse_units(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            if name in out and isinstance(out[name], str) and _is_float_field(field.annotation):
                out[name] = parse_quantity(out[name])
        return out


def _is_float_field(annotation: Any) -> bool:
    text = str(annotation)
    return annotation is float or text in ("float | None", "typing.Optional[float]")
