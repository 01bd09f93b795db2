"""Hardware description: schema, presets, loading, and each field's source."""

from bplight.config.field_sources import FieldSource, field_sources
from bplight.config.loader import ConfigError, dump_spec, load_spec, parse_overrides, preset_names
from bplight.config.spec import (
    PHASES,
    ArchitectureConfig,
    DetectorConfig,
    HardwareSpec,
    LaserConfig,
    LinkConfig,
    MemristorConfig,
    PhotonicConfig,
    ProductConfig,
    UpdateConfig,
)

__all__ = [
    "PHASES", "ArchitectureConfig", "ConfigError", "DetectorConfig", "FieldSource",
    "HardwareSpec", "LaserConfig", "LinkConfig", "MemristorConfig", "PhotonicConfig",
    "ProductConfig", "UpdateConfig", "dump_spec", "field_sources", "load_spec",
    "parse_overrides", "preset_names",
]
