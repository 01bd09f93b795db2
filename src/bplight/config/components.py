"""Cost parameters of the chip's components (energy per action, static power, area,
latency), part of the one hardware description. Owned by the cost engine."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ComponentsConfig(BaseModel):
    """Component cost parameters (filled in by the cost engine)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
