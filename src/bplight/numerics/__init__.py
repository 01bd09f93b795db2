"""Numerical engine: torch modules whose products run through the chip model."""

from bplight.numerics.context import HardwareContext, physics_for
from bplight.numerics.engine import Physics, exact_matmul, fast_matmul
from bplight.numerics.functions import photonic_matmul
from bplight.numerics.modules import (
    PhotonicConv2d,
    PhotonicLinear,
    convert,
    photonic_layers,
)
from bplight.numerics.update import MemristorWriter

__all__ = [
    "HardwareContext", "MemristorWriter", "PhotonicConv2d", "PhotonicLinear", "Physics",
    "convert", "exact_matmul", "fast_matmul", "photonic_layers", "photonic_matmul",
    "physics_for",
]
