"""HolyLight-A (Liu et al., DATE 2019): microdisk nanophotonic CNN inference accelerator.

Published (abstract): HolyLight-A, which replaces ADCs by microdisk adders and shifters,
"improves the CNN inference throughput per Watt by 13×" over the state-of-the-art
ReRAM accelerator (ISAAC). Precision: 16 bits from 8 microdisks of 2 bits each
(docs/sources.md, converters note).

Derived / assumed:

* power efficiency = 13 × ISAAC-CE's 380.7 GOPS/W = 4949 GOPS/W (derived from the claim);
* area: no figure we could read → ISAAC-CE's 85.4 mm² (assumption: iso-area with the
  design it is compared with);
* power: no figure we could read → ISAAC-CE's power density, 1.26 W/mm² (the rule this
  package applies to every photonic baseline lacking a figure: a chip of the same
  thermal budget), i.e. 107 W; throughput = power × 4949 GOPS/W = 532 TOPS, 13× ISAAC's
  (a 13× throughput-per-watt gain read at iso-area and iso-power).

CrossLight's later evaluation of HolyLight at 16 bits (3.3 kFPS/W, 274 pJ/bit) sits
three orders of magnitude below HolyLight's own claim when anchored on the P100 of the
same table; the two publications disagree, and this model follows HolyLight's own.

Training: none (an inference accelerator for data centres; HolyLight abstract).
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed
from bplight.baselines.isaac import ISAAC_AREA_MM2, ISAAC_PE, ISAAC_POWER_DENSITY_W_PER_MM2

HOLYLIGHT_SOURCE = ("HolyLight (Liu et al., DATE 2019), abstract: HolyLight-A improves CNN "
                    "inference throughput per Watt by 13x over the ReRAM accelerator ISAAC")
HOLYLIGHT_PE_GAIN_VS_ISAAC = 13.0


def holylight(area_mm2: float = ISAAC_AREA_MM2.value,
              w_per_mm2: float = ISAAC_POWER_DENSITY_W_PER_MM2.value) -> PublishedAccelerator:
    pe = HOLYLIGHT_PE_GAIN_VS_ISAAC * ISAAC_PE.value
    power = w_per_mm2 * area_mm2
    peak = pe * 1e9 * power
    return PublishedAccelerator(
        name="holylight", title="HolyLight-A (microdisk photonic, inference)",
        peak_ops_per_s=Figure(
            peak, "ops/s", f"power x ({HOLYLIGHT_PE_GAIN_VS_ISAAC:g} x ISAAC-CE "
            f"380.7 GOPS/W = {pe:.4g} GOPS/W)", "derived"),
        power_w=assumed(power, "W", f"no published power read; ISAAC-CE's power density "
                        f"{w_per_mm2:.3g} W/mm² x area"),
        area=assumed(area_mm2, "mm²", "no published area read; iso-area with ISAAC-CE"),
        native_bits=Figure(16, "bit", "8 microdisks x 2 bits (HolyLight, via "
                           "docs/sources.md)"),
        utilisation=assumed(1.0, "", "peak figures taken as sustained (most favourable "
                            "case for the baseline)"),
        trains=False,
        training_reason="HolyLight is an inference accelerator (HolyLight abstract: it "
        "boosts CNN inference throughput); its weights come from offline training.",
        references=(HOLYLIGHT_SOURCE, ISAAC_PE.source),
        notes=("CrossLight (arXiv:2102.06960, Table III) evaluates HolyLight at 3.3 kFPS/W, "
               "far below HolyLight's own claim; this model follows HolyLight's own.",),
    )
