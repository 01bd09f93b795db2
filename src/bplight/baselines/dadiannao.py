"""DaDianNao (Chen et al., MICRO 2014), one node as scaled to 32 nm by ISAAC.

Published figures (ISAAC, Shafiee et al., ISCA 2016, its DaDianNao comparison; the
efficiencies are quoted second-hand in docs/sources.md): 32 nm, 606 MHz,
20.1 W, 88 mm², 63.46 GOPS/s/mm², 286.4 GOPS/W, 16-bit fixed point.

Derived: peak = 63.46 GOPS/s/mm² × 88 mm² = 5.58 TOPS (DaDianNao's own 28 nm node
quotes 5.58 TeraOps/s, so the scaling keeps the rate); power = peak / 286.4 GOPS/W =
19.5 W, within 3 % of the published 20.1 W (a test checks this).

Training: DaDianNao supports training — its paper evaluates the training of its
benchmark layers as well as inference on the same neural functional units. Its
fixed-point study finds 16-bit arithmetic enough for inference but not for training
(16-bit training did not converge there), so it trains with 32-bit fixed point. We
model that as ``train_slowdown = 2``: a 32-bit operation occupies two 16-bit operator
slots, doubling time and energy per operation (assumption on how the NFU widens).
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed

DADIANNAO_SOURCE = "DaDianNao (Chen et al., MICRO 2014)"
ISAAC_SCALING_SOURCE = ("ISAAC (Shafiee et al., ISCA 2016), DaDianNao at 32 nm "
                        "(efficiencies secondary, docs/sources.md)")

DADIANNAO_CE = Figure(63.46, "GOPS/s/mm²", ISAAC_SCALING_SOURCE)
DADIANNAO_PE = Figure(286.4, "GOPS/W", ISAAC_SCALING_SOURCE)
DADIANNAO_AREA_MM2 = Figure(88.0, "mm²", ISAAC_SCALING_SOURCE)
DADIANNAO_POWER_W = Figure(20.1, "W", ISAAC_SCALING_SOURCE)
"""Published chip power; the model uses the one derived from the efficiencies (19.5 W)."""


def dadiannao(utilisation: float = 1.0, train_slowdown: float = 2.0) -> PublishedAccelerator:
    peak = DADIANNAO_CE.value * DADIANNAO_AREA_MM2.value * 1e9
    power = peak / (DADIANNAO_PE.value * 1e9)
    return PublishedAccelerator(
        name="dadiannao", title="DaDianNao (digital, eDRAM near-data; 32 nm node)",
        peak_ops_per_s=Figure(peak, "ops/s", "63.46 GOPS/s/mm² x 88 mm²", "derived"),
        power_w=Figure(power, "W", "peak / 286.4 GOPS/W (published chip power "
                       "20.1 W, 3 % higher)", "derived"),
        area=DADIANNAO_AREA_MM2,
        native_bits=Figure(16, "bit", f"16-bit fixed point for inference; {DADIANNAO_SOURCE}"),
        utilisation=assumed(utilisation, "", "peak efficiency figures taken as sustained "
                            "(the most favourable case for the baseline)"),
        train_slowdown=assumed(train_slowdown, "", "training in 32-bit fixed point (16-bit "
                               "training did not converge in DaDianNao's fixed-point "
                               "study): two 16-bit operator slots per operation"),
        trains=True,
        training_reason=f"{DADIANNAO_SOURCE} evaluates training as well as inference on "
        "its NFUs, with 32-bit fixed point for training.",
        references=(ISAAC_SCALING_SOURCE, DADIANNAO_SOURCE),
        published_checks=(("power_w", DADIANNAO_POWER_W.value, power),),
    )
