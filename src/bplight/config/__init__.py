"""Hardware description: schema, presets, loading."""

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
    "PHASES", "ArchitectureConfig", "ConfigError", "DetectorConfig", "HardwareSpec",
    "LaserConfig", "LinkConfig", "MemristorConfig", "PhotonicConfig", "ProductConfig",
    "UpdateConfig", "dump_spec", "load_spec", "parse_overrides", "preset_names",
]
