"""Physical components with their equations and cited parameters: microring, photodetector,
laser, memristor. Import the modules (``from bplight.devices import microring``)."""

from bplight.devices import laser, memristor, microring, photodetector

__all__ = ["laser", "memristor", "microring", "photodetector"]
