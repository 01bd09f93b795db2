"""A stand-in Workload for the baseline tests (tests/test_baselines.py and
tests/published/test_published_baselines.py): two layers, GEMMs from the shared
``layer_gemms``."""

from __future__ import annotations

import dataclasses

from bplight.mapping import LayerShape, layer_gemms


@dataclasses.dataclass
class TinyWorkload:
    """A stand-in Workload: two layers, GEMMs from the shared ``layer_gemms``."""

    name: str = "tiny"
    input_shape: tuple[int, ...] = (1, 8, 8)
    layers: tuple[LayerShape, ...] = (
        LayerShape("c1", "conv", 1, 4, (3, 3), (6, 6), (8, 8), input_signed=True,
                   first_layer=True),
        LayerShape("fc", "linear", 144, 10),
    )

    def gemms(self, mode: str, batch: int) -> list:
        out = []
        for layer in self.layers:
            g = layer_gemms(dataclasses.replace(layer, batch=batch))
            out.extend(g.values() if mode == "train" else [g["forward"]])
        return out
