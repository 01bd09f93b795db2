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
    assert m.analog_passes == 10 * 3 * 3 * 225
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


# ---- one set of formulas: the array form is the scalar plan, point by point ----

def _reference(m, k, n, groups, signed, fold, analog, in_bits, w_bits, dac, ring, adc,
               adc_range, offset_inputs, chunk) -> dict:
    """The Mapping's counts written out in plain Python, independently of mapping.py."""
    offset = signed and offset_inputs and in_bits is not None
    in_mag = None if in_bits is None else (in_bits if offset else in_bits - 1)
    w_mag = None if w_bits is None else w_bits - 1
    si = 1 if in_mag is None else math.ceil(in_mag / dac)
    sw = 1 if w_mag is None else math.ceil(w_mag / ring)
    sp = 2 if signed and not offset else 1
    kc = math.ceil(k / chunk)
    fs = chunk * (2**dac - 1) * (2**ring - 1)
    needed = 1 + math.ceil(math.log2(fs + 1))
    passes = groups * m * n * kc * si * sw * sp if analog else 0
    if adc is None:
        step = 0.0
    else:
        codes = 2 ** (adc - 1) - 1
        clip = adc_range * fs
        step = 2 * clip if codes < 1 else clip / codes
        if codes >= 1 and in_mag is not None and w_mag is not None:
            step = max(step, 1.0)
    return {
        "k_chunks": kc, "input_slices": si, "weight_slices": sw, "sign_passes": sp,
        "full_scale": fs, "needed_adc_bits": needed,
        "adc_read_bits": needed if adc is None else adc, "adc_step": step,
        "analog_passes": passes,
        "dac_conversions": groups * m * k * si * sp if analog else 0,
        "ring_settings": groups * n * k * sw if analog else 0,
        "shift_adds": passes - groups * m * n + fold if analog else 0,
        "digital_macs": 0 if analog else groups * m * k * n,
        "weight_rows": n * sw, "stream_length": m * si * sp,
        "input_magnitude_bits": in_mag, "offset_encoding": offset,
    }


_POINT = st.fixed_dictionaries({
    "m": st.integers(1, 3000), "k": st.integers(1, 3000), "n": st.integers(1, 600),
    "groups": st.integers(1, 8), "signed": st.booleans(), "fold": st.integers(0, 100),
    "analog": st.booleans(), "in_bits": st.sampled_from([None, 2, 4, 8, 16]),
    "w_bits": st.sampled_from([None, 2, 5, 16]), "dac": st.integers(1, 4),
    "ring": st.integers(1, 4), "adc": st.sampled_from([None, 1, 2, 5, 8]),
    "adc_range": st.sampled_from([0.25, 1.0]), "offset_inputs": st.booleans(),
    "chunk": st.integers(1, 18)})


@settings(max_examples=25, deadline=None)
@given(points=st.lists(_POINT, min_size=1, max_size=6),
       phase=st.sampled_from(["forward", "error", "weight_grad"]))
def test_plan_arrays_is_plan_point_by_point(points: list[dict], phase: str) -> None:
    import numpy as np

    from bplight.mapping import plan_arrays

    def col(key: str, none: int = 0) -> np.ndarray:
        return np.asarray([none if p[key] is None else p[key] for p in points])

    arr = plan_arrays(col("m"), col("k"), col("n"), groups=col("groups"),
                      input_signed=col("signed"), fold_adds=col("fold"),
                      analog=col("analog"), input_bits=col("in_bits"),
                      weight_bits=col("w_bits"), dac_bits=col("dac"),
                      ring_bits=col("ring"), adc_bits=col("adc"),
                      adc_range=col("adc_range"), offset_inputs=col("offset_inputs"),
                      chunk=col("chunk"))
    for i, p in enumerate(points):
        want = _reference(p["m"], p["k"], p["n"], p["groups"], p["signed"], p["fold"],
                          p["analog"], p["in_bits"], p["w_bits"], p["dac"], p["ring"],
                          p["adc"], p["adc_range"], p["offset_inputs"], p["chunk"])
        spec = load_spec("bplight-16b", overrides={
            phase: {"analog": p["analog"], "input_bits": p["in_bits"],
                    "weight_bits": p["w_bits"], "dac_bits": p["dac"], "ring_bits": p["ring"],
                    "adc_bits": p["adc"], "adc_range": p["adc_range"],
                    "signed_inputs": "offset" if p["offset_inputs"] else "two_pass"},
            "photonics": {"wavelengths_per_bank": p["chunk"]}})
        one = plan(GemmShape(p["m"], p["k"], p["n"], phase, input_signed=p["signed"],
                             fold_adds=p["fold"], groups=p["groups"]), spec)
        for key, v in want.items():
            got = getattr(arr, key)[i]
            if key == "input_magnitude_bits":
                got = None if got == 0 else got
            assert got == v, (key, i)
            assert getattr(one, key) == v, key
            assert type(getattr(one, key)) is type(v), key  # plain Python values


def test_scalar_plan_returns_plain_python_values() -> None:
    m = plan(GemmShape(7, 33, 5, "error", groups=3), load_spec("ideal"))
    assert m.input_bits is None and m.adc_bits is None and m.adc_step == 0.0
    assert m.adc_clip == math.inf and not m.integer_sums
    for name in ("analog_passes", "k_chunks", "chunk", "input_slices", "full_scale"):
        assert type(getattr(m, name)) is int, name
    assert type(m.analog) is bool and type(m.offset_encoding) is bool
    assert m.analog_passes == 3 * 7 * 5 * 3 * m.passes_per_chunk   # groups x m x n x chunks
