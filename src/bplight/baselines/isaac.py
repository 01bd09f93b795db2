"""ISAAC-CE (Shafiee et al., ISCA 2016): memristor-crossbar in-situ inference accelerator.

Published: 32 nm, 168 tiles, 16-bit (2-bit cells, 1-bit streamed inputs), 85.4 mm²,
65.8 W; 479 GOPS/s/mm² and 380.7 GOPS/W (the efficiencies as quoted by PipeLayer;
docs/sources.md marks them secondary); 7.5× computational density and
14.8× throughput, 5.5× energy over DaDianNao on its benchmarks.

Derived: peak = 479 GOPS/s/mm² × 85.4 mm² = 40.9 TOPS; power = peak / 380.7 GOPS/W =
107 W. The published 65.8 W chip power would give 622 GOPS/W instead; we keep the
efficiency figures (the units in which BPLight-CNN states its claims) and record the
disagreement.

Training: none. ISAAC's deep inter-layer pipeline has no weight-update path; PipeLayer
(HPCA 2017, abstract) states that training "cannot be efficiently supported" by ISAAC
and PRIME, which "do not consider weight update".
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed

ISAAC_SOURCE = "ISAAC (Shafiee et al., ISCA 2016), ISAAC-CE"
ISAAC_QUOTE_SOURCE = ("ISAAC-CE efficiencies as quoted by PipeLayer (Song et al., HPCA 2017; "
                      "secondary, docs/sources.md)")
PIPELAYER_ON_ISAAC = ("PipeLayer (Song et al., HPCA 2017), abstract: ISAAC and PRIME do not "
                      "consider weight update; training cannot be efficiently supported")

ISAAC_CE = Figure(479.0, "GOPS/s/mm²", ISAAC_QUOTE_SOURCE)
ISAAC_PE = Figure(380.7, "GOPS/W", ISAAC_QUOTE_SOURCE)
ISAAC_AREA_MM2 = Figure(85.4, "mm²", ISAAC_SOURCE)
ISAAC_CHIP_POWER_W = Figure(65.8, "W", ISAAC_SOURCE)
ISAAC_POWER_DENSITY_W_PER_MM2 = Figure(
    ISAAC_CE.value / ISAAC_PE.value, "W/mm²",
    "479 GOPS/s/mm² / 380.7 GOPS/W = 1.26 W/mm² (ISAAC-CE)", "derived")
"""Power density of ISAAC-CE; photonic baselines lacking a published area or throughput
are assumed to run at it (a thermally feasible chip of the same era)."""
ISAAC_DENSITY_VS_DADIANNAO = 7.5
"""Computational-density gain over DaDianNao (ISAAC abstract)."""


def isaac(utilisation: float = 1.0) -> PublishedAccelerator:
    peak = ISAAC_CE.value * ISAAC_AREA_MM2.value * 1e9
    power = peak / (ISAAC_PE.value * 1e9)
    return PublishedAccelerator(
        name="isaac", title="ISAAC-CE (ReRAM crossbars, inference)",
        peak_ops_per_s=Figure(peak, "ops/s", "479 GOPS/s/mm² x 85.4 mm²", "derived"),
        power_w=Figure(power, "W", "peak / 380.7 GOPS/W", "derived"),
        area=ISAAC_AREA_MM2,
        native_bits=Figure(16, "bit", f"{ISAAC_SOURCE}: 16-bit operands (8 x 2-bit cells, "
                           "16 x 1-bit input cycles)"),
        utilisation=assumed(utilisation, "", "peak efficiency figures taken as sustained "
                            "(the most favourable case for the baseline)"),
        trains=False,
        training_reason="ISAAC is an inference pipeline with no weight-update path "
        f"({PIPELAYER_ON_ISAAC}).",
        references=(ISAAC_QUOTE_SOURCE, ISAAC_SOURCE, PIPELAYER_ON_ISAAC),
        notes=("ISAAC's published chip power (65.8 W) disagrees with CE x area / PE (107 W "
               "= 622 vs 380.7 GOPS/W); the model keeps the efficiencies.",),
    )
