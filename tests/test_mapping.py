"""The Mapping: chunks, slices, passes and action counts, by hand and by property."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.config import load_spec
from bplight.mapping import GemmShape, LayerShape, layer_gemms, plan

REF = load_spec("bplight-16b")


def test_reference_mapping_by_hand() -> None:
    m = plan(GemmShape(m=10, k=40, n=3, phase="forward", input_signed=False), REF)
    assert m.chunk == 16 and m.k_chunks == 3                 # ceil(40 / 16)
    assert m.input_slices == 15 and m.weight_slices == 15    # 15 magnitude bits, 1 b each
    assert m.sign_passes == 1 and m.passes_per_chunk == 225
    assert m.analog_passes == 10 * 3 * 3 * 225 == m.adc_conversions
    assert m.dac_conversions == 10 * 40 * 15
    assert m.ring_settings == 3 * 40 * 15
    assert m.full_scale == 16 and m.adc_step == 1.0
    signed = plan(GemmShape(10, 40, 3, "error", input_signed=True), REF)
    assert signed.sign_passes == 2 and signed.analog_passes == 2 * m.analog_passes


def test_fp32_and_digital_products_have_no_analog_actions() -> None:
    m = plan(GemmShape(4, 4, 4), load_spec("fp32"))
    assert not m.analog and m.analog_passes == 0 and m.digital_macs == 64
    d = plan(GemmShape(4, 4, 4, "error"), load_spec("bplight-16b", ["error.analog=false"]))
    assert not d.analog and d.digital_macs == 64


def test_layer_gemms_conv_by_hand() -> None:
    # LeNet-5 C3: 6 -> 16 channels, 5x5, 10x10 output, batch 2
    layer = LayerShape("c3", "conv", 6, 16, (5, 5), (10, 10), (14, 14), batch=2)
    g = layer_gemms(layer)
    assert (g["forward"].m, g["forward"].k, g["forward"].n) == (200, 150, 16)
    assert (g["error"].m, g["error"].k, g["error"].n) == (200, 16, 150)
    assert (g["weight_grad"].m, g["weight_grad"].k, g["weight_grad"].n) == (150, 200, 16)
    assert g["forward"].macs == g["error"].macs == g["weight_grad"].macs == 2 * 240_000
    assert g["error"].input_signed and not g["weight_grad"].weight_static
    assert g["error"].fold_adds == 200 * 150 - 2 * 6 * 14 * 14


def test_first_layer_has_no_error_product() -> None:
    layer = LayerShape("c1", "conv", 1, 6, (5, 5), (28, 28), (28, 28), batch=1,
                       input_signed=True, first_layer=True)
    assert set(layer_gemms(layer)) == {"forward", "weight_grad"}


def test_bad_gemm_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        GemmShape(0, 3, 3)
    with pytest.raises(ValueError, match="unknown phase"):
        GemmShape(1, 1, 1, "backward")


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 5000), wl1=st.integers(1, 18), wl2=st.integers(1, 18),
       dac=st.integers(1, 8), ring=st.integers(1, 8), bits=st.integers(2, 24))
def test_mapping_properties(k: int, wl1: int, wl2: int, dac: int, ring: int,
                            bits: int) -> None:
    lo, hi = sorted((wl1, wl2))
    over = [f"forward.dac_bits={dac}", f"forward.ring_bits={ring}",
            f"forward.input_bits={bits}", f"forward.weight_bits={bits}"]
    m_lo = plan(GemmShape(3, k, 2), load_spec("bplight-16b", over + [
        f"photonics.wavelengths_per_bank={lo}"]))
    m_hi = plan(GemmShape(3, k, 2), load_spec("bplight-16b", over + [
        f"photonics.wavelengths_per_bank={hi}"]))
    assert m_hi.k_chunks <= m_lo.k_chunks            # more wavelengths never add chunks
    assert m_lo.k_chunks == math.ceil(k / lo)
    assert m_lo.input_slices * dac >= bits - 1       # slices cover the magnitude
    assert (m_lo.input_slices - 1) * dac < bits - 1
    assert m_lo.needed_adc_bits >= 2
