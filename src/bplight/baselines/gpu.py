"""GPUs of the era: the GTX 1080 (PipeLayer's GPU baseline) and the Tesla P100 (the GPU
DEAP-CNN and CrossLight compare with).

Both train. Their peak rates are the vendor's; what they sustain on CNN layers is an
assumption (``GPU_UTILISATION``), chosen so that our PipeLayer model reproduces
PipeLayer's published speedup and energy saving over the GTX 1080 (42.45× and 7.17×,
PipeLayer HPCA 2017 abstract) within 25 %: with utilisation 0.35 our models give
39.5× and 8.3× (see ``tests/test_baselines.py``).
"""

from __future__ import annotations

from bplight.baselines.base import Figure, PublishedAccelerator, assumed

GTX1080_SOURCE = ("NVIDIA GeForce GTX 1080 specifications (GP104, 16 nm; 2560 CUDA cores, "
                  "1733 MHz boost, 180 W TDP, 314 mm² die)")
P100_SOURCE = ("NVIDIA Tesla P100 PCIe datasheet (GP100, 16 nm; 18.7 TFLOPS FP16, 9.3 TFLOPS "
               "FP32, 250 W, 610 mm² die)")
PIPELAYER_GPU_CLAIM = "PipeLayer (Song et al., HPCA 2017), abstract: 42.45x speedup, 7.17x energy"

GTX1080_FP32_PEAK_OPS = Figure(
    2560 * 2 * 1.733e9, "ops/s",
    f"{GTX1080_SOURCE}: 2560 cores x 2 FLOP (FMA) x 1.733 GHz = 8.873 TFLOPS FP32")
GTX1080_TDP_W = Figure(180.0, "W", GTX1080_SOURCE)
GTX1080_DIE_MM2 = Figure(314.0, "mm²", GTX1080_SOURCE)
P100_FP16_PEAK_OPS = Figure(18.7e12, "ops/s", P100_SOURCE)
P100_TDP_W = Figure(250.0, "W", P100_SOURCE)
P100_DIE_MM2 = Figure(610.0, "mm²", P100_SOURCE)

GPU_UTILISATION = 0.35
"""Fraction of peak a GPU sustains on CNN training/inference layers (assumption,
calibrated on PipeLayer's published GTX 1080 comparison; cuDNN convolutions of the era
ran at roughly 30-50 % of peak on large layers, far less on LeNet-sized ones)."""


def gtx1080(utilisation: float = GPU_UTILISATION) -> PublishedAccelerator:
    """GTX 1080 at FP32: GP104 runs FP16 at 1/64 of its FP32 rate, so 16-bit work runs
    on the FP32 units (one 16-bit operation = one FP32 operation)."""
    return PublishedAccelerator(
        name="gtx1080", title="NVIDIA GTX 1080 (PipeLayer's GPU baseline)",
        peak_ops_per_s=GTX1080_FP32_PEAK_OPS, power_w=GTX1080_TDP_W, area=GTX1080_DIE_MM2,
        native_bits=Figure(32, "bit", "FP32 (GP104's FP16 rate is 1/64 of FP32: vendor)"),
        utilisation=assumed(
            utilisation, "", "sustained fraction of peak on CNN layers; 0.35 reproduces "
            "PipeLayer's published GTX 1080 speedup within 25 %"),
        precision_passes=Figure(1.0, "", "16-bit operands run at the FP32 rate, one pass",
                                "derived"),
        trains=True,
        training_reason="GPUs train with backpropagation in FP32 (PipeLayer measured "
        "training on this GPU).",
        energy_model="power_x_time",
        references=(GTX1080_SOURCE, PIPELAYER_GPU_CLAIM),
        notes=("power: the board draws its 180 W TDP while training or inferring "
               "(assumption).",),
    )


def p100(utilisation: float = GPU_UTILISATION) -> PublishedAccelerator:
    """Tesla P100 (PCIe) at FP16: native 16-bit at twice the FP32 rate."""
    return PublishedAccelerator(
        name="p100", title="NVIDIA Tesla P100 (DEAP-CNN's and CrossLight's GPU)",
        peak_ops_per_s=P100_FP16_PEAK_OPS, power_w=P100_TDP_W, area=P100_DIE_MM2,
        native_bits=Figure(16, "bit", f"FP16; {P100_SOURCE}"),
        utilisation=assumed(utilisation, "", "same sustained fraction of peak as the "
                            "GTX 1080"),
        trains=True, training_reason="GPUs train with backpropagation (FP16/FP32).",
        energy_model="power_x_time",
        references=(P100_SOURCE,),
        notes=("power: the board draws its 250 W TDP while busy (assumption).",),
    )
