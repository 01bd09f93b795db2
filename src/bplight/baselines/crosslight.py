"""CrossLight (Sunny, Mirza, Nikdast, Pasricha; DAC 2021, arXiv:2102.06960): cross-layer
optimised microring photonic inference accelerator at 16 bits.

Published: 16-bit resolution, 28.78 pJ/bit and 52.59 kFPS/W on its CNN benchmarks;
in the same table (Table III, as tabulated in docs/sources.md) the Tesla
P100 reaches 24.9 kFPS/W; area about 16-25 mm²; 9.5× lower energy per bit and 15.9×
higher performance per watt than HolyLight (abstract).

Derived / assumed:

* power efficiency = 52.59 / 24.9 = 2.11 × our P100 model's sustained GOPS/W (frames per
  joule of the same benchmarks are in the ratio of GOPS/W; anchored on the P100 of the
  same table — assumption that its P100 matches our P100 model);
* area = 20.5 mm², the middle of the published 16-25 mm² (assumption);
* power: no absolute figure read → ISAAC-CE's power density 1.26 W/mm² × area = 25.8 W
  (assumption, the rule applied to every photonic baseline lacking a figure);
  throughput = power × GOPS/W.

CrossLight post-dates BPLight-CNN's comparisons (both February 2021); it is here as the
strongest 16-bit photonic inference design of the authors' group.

Training: none (inference accelerator; CrossLight abstract).
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed
from bplight.baselines.gpu import p100
from bplight.baselines.isaac import ISAAC_POWER_DENSITY_W_PER_MM2

CROSSLIGHT_SOURCE = ("CrossLight (Sunny et al., DAC 2021, arXiv:2102.06960), Table III via "
                     "docs/sources.md")
CROSSLIGHT_KFPS_PER_W = 52.59
P100_KFPS_PER_W_IN_CROSSLIGHT = 24.9
CROSSLIGHT_AREA_RANGE_MM2 = (16.0, 25.0)


def crosslight(area_mm2: float = sum(CROSSLIGHT_AREA_RANGE_MM2) / 2,
               w_per_mm2: float = ISAAC_POWER_DENSITY_W_PER_MM2.value) -> PublishedAccelerator:
    gpu = p100()
    gpu_gops_per_w = 1.0 / gpu.energy_per_op_j("infer") / 1e9
    pe = CROSSLIGHT_KFPS_PER_W / P100_KFPS_PER_W_IN_CROSSLIGHT * gpu_gops_per_w
    power = w_per_mm2 * area_mm2
    peak = pe * 1e9 * power
    return PublishedAccelerator(
        name="crosslight", title="CrossLight (microring photonic, 16-bit inference)",
        peak_ops_per_s=Figure(
            peak, "ops/s", f"power x ({CROSSLIGHT_KFPS_PER_W} / "
            f"{P100_KFPS_PER_W_IN_CROSSLIGHT} kFPS/W x P100 model {gpu_gops_per_w:.3g} GOPS/W"
            f" = {pe:.3g} GOPS/W)", "derived"),
        power_w=assumed(power, "W", f"no absolute figure read; ISAAC-CE's power density "
                        f"{w_per_mm2:.3g} W/mm² x area"),
        area=assumed(area_mm2, "mm²", "middle of the published ~16-25 mm²"),
        native_bits=Figure(16, "bit", CROSSLIGHT_SOURCE),
        utilisation=assumed(1.0, "", "efficiency figures are sustained benchmark figures"),
        trains=False,
        training_reason="CrossLight is an inference accelerator (CrossLight abstract).",
        references=(CROSSLIGHT_SOURCE, gpu.references[0]),
    )
