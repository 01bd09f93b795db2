"""PipeLayer (Song et al., HPCA 2017): ReRAM processing-in-memory accelerator that trains.

Published (docs/sources.md, secondary): 16-bit weights on 4 × 4-bit
cells of 128×128 arrays, 82.63 mm², 1485 GOPS/s/mm², 142.9 GOPS/W; against a GTX 1080:
42.45× speedup and 7.17× energy saving on average (abstract), 53.22× / 6.52× for
training alone (secondary).

Derived: peak = 1485 × 82.63 = 122.7 TOPS; power = peak / 142.9 GOPS/W = 859 W.

Training: yes — PipeLayer pipelines the forward pass, error backpropagation and weight
update with batch-level synchronisation (abstract). We take its efficiency figures as
holding in training and inference alike (assumption: the paper quotes one figure).
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed

PIPELAYER_SOURCE = ("PipeLayer (Song et al., HPCA 2017; figures secondary, "
                    "docs/sources.md)")
PIPELAYER_CE = Figure(1485.0, "GOPS/s/mm²", PIPELAYER_SOURCE)
PIPELAYER_PE = Figure(142.9, "GOPS/W", PIPELAYER_SOURCE)
PIPELAYER_AREA_MM2 = Figure(82.63, "mm²", PIPELAYER_SOURCE)
PIPELAYER_SPEEDUP_VS_GTX1080 = 42.45
"""Average speedup over the GTX 1080 (PipeLayer abstract)."""
PIPELAYER_ENERGY_SAVING_VS_GTX1080 = 7.17
"""Average energy saving over the GTX 1080 (PipeLayer abstract)."""


def pipelayer(utilisation: float = 1.0) -> PublishedAccelerator:
    peak = PIPELAYER_CE.value * PIPELAYER_AREA_MM2.value * 1e9
    power = peak / (PIPELAYER_PE.value * 1e9)
    return PublishedAccelerator(
        name="pipelayer", title="PipeLayer (ReRAM PIM, trains)",
        peak_ops_per_s=Figure(peak, "ops/s", "1485 GOPS/s/mm² x 82.63 mm²",
                              "derived"),
        power_w=Figure(power, "W", "peak / 142.9 GOPS/W", "derived"),
        area=PIPELAYER_AREA_MM2,
        native_bits=Figure(16, "bit", f"{PIPELAYER_SOURCE}: 4 x 4-bit cells per weight"),
        utilisation=assumed(utilisation, "", "peak efficiency figures taken as sustained "
                            "(the most favourable case for the baseline)"),
        trains=True,
        training_reason="PipeLayer pipelines forward, backward and weight update in ReRAM "
        f"({PIPELAYER_SOURCE}); the same efficiency figures are used for both phases "
        "(assumption).",
        references=(PIPELAYER_SOURCE,),
    )
