"""bplight: simulator of the BPLight-CNN photonic training accelerator.

One hardware description (:class:`HardwareSpec`) feeds the numerical engine (train
real CNNs through the chip's model) and the cost engine (what it spends).
"""

__version__ = "0.1.0"

from bplight.config import ConfigError, HardwareSpec, load_spec, preset_names  # noqa: E402
from bplight.mapping import GemmShape, LayerShape, Mapping, layer_gemms, plan  # noqa: E402

__all__ = [
    "ConfigError", "GemmShape", "HardwareSpec", "LayerShape", "Mapping", "__version__",
    "layer_gemms", "load_spec", "plan", "preset_names",
]
