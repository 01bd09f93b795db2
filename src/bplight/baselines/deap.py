"""DEAP-CNN (Bangari et al., IEEE JSTQE 26(1), 2020; arXiv:1907.01525): digital
electronics + analog photonic (microring weight bank) convolution engine.

Published (abstract): "2.8 to 14 times faster while using almost 25 % less energy than
current state-of-the-art GPUs" — the GPU of its comparison is a Tesla P100 (its
reference list); 4-bit operands (docs/sources.md); DAC/ADC at 5 GS/s.

Derived / assumed:

* throughput at native 4 bits = 6.26 × our P100 model's sustained FP16 rate (6.26: the
  geometric mean of 2.8 and 14; assumption);
* power = 0.75 × the P100's 250 W: the arXiv v1 abstract says "maintaining the same
  power usage" where the journal version says "almost 25 % less energy"; we read the
  revision as a statement about power draw (read literally as energy per inference it
  would put DEAP at 4.7× the GPU's power, 1.2 kW);
* 16 bits by bit slicing: 4-bit input slices × 4-bit weight slices, shifted and added →
  (16/4)² = 16 passes per 16-bit operation (assumption, the scheme ISAAC and this
  project's design use): throughput ÷ 16, energy per operation × 16;
* area: no figure read → power / ISAAC-CE's power density 1.26 W/mm² (assumption, the
  rule applied to every photonic baseline lacking a figure).

Training: none — DEAP-CNN runs inference with parameters trained offline and uploaded
to the weight banks (DEAP-CNN §I).
"""

from __future__ import annotations

import math

from bplight.baselines.base import Figure, PublishedAccelerator, assumed
from bplight.baselines.gpu import p100
from bplight.baselines.isaac import ISAAC_POWER_DENSITY_W_PER_MM2

DEAP_SOURCE = ("DEAP-CNN (Bangari et al., IEEE JSTQE 2020, arXiv:1907.01525), abstract: "
               "2.8-14x faster and ~25 % less energy than a state-of-the-art GPU (Tesla P100)")
DEAP_SPEEDUP_RANGE = (2.8, 14.0)
DEAP_POWER_FRACTION = 0.75
DEAP_NATIVE_BITS = 4


def deap(speedup_vs_p100: float = math.sqrt(DEAP_SPEEDUP_RANGE[0] * DEAP_SPEEDUP_RANGE[1]),
         slice_bits: int = DEAP_NATIVE_BITS) -> PublishedAccelerator:
    gpu = p100()
    gpu_rate = gpu.throughput_ops_per_s("infer")
    peak = speedup_vs_p100 * gpu_rate
    power = DEAP_POWER_FRACTION * gpu.power_w.value
    passes = math.ceil(16 / slice_bits) ** 2
    area = power / ISAAC_POWER_DENSITY_W_PER_MM2.value
    return PublishedAccelerator(
        name="deap", title="DEAP-CNN (microring photonic, inference)",
        peak_ops_per_s=Figure(
            peak, "ops/s", f"{speedup_vs_p100:.3g} x P100 sustained FP16 rate "
            f"({gpu_rate / 1e12:.3g} TOPS); {speedup_vs_p100:.3g} = geometric mean of the "
            "published 2.8-14x (assumption)", "derived"),
        power_w=Figure(power, "W", "0.75 x P100 250 W ('almost 25 % less' than the "
                       "GPU, read as power; arXiv v1: 'the same power')", "derived"),
        area=assumed(area, "mm²", "no published area read; power / ISAAC-CE's power "
                     "density 1.26 W/mm²"),
        native_bits=Figure(DEAP_NATIVE_BITS, "bit", "DEAP-CNN operand resolution "
                           "(docs/sources.md)"),
        precision_passes=assumed(passes, "", f"16-bit operands as {16 // slice_bits} x "
                                 f"{16 // slice_bits} slices of {slice_bits} bits, shift-and-"
                                 "add"),
        utilisation=assumed(1.0, "", "the published speedup is already a sustained figure "
                            "(relative to a sustained GPU)"),
        trains=False,
        training_reason="DEAP-CNN runs inference with a network trained offline whose "
        "parameters are uploaded to the weight banks (DEAP-CNN §I).",
        references=(DEAP_SOURCE, gpu.references[0]),
    )
