"""Numerical engine: ideal == PyTorch, fast ≈ exact in error statistics, encodings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.config import load_spec
from bplight.errors import InputError
from bplight.mapping import GemmShape, plan
from bplight.numerics import (
    MemristorWriter,
    PhotonicConv2d,
    PhotonicLinear,
    Physics,
    convert,
    exact_matmul,
    fast_matmul,
)
from bplight.numerics.engine import read_error_var


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(6 * 4 * 4, 5))


def _grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    model.zero_grad()
    out = model(x)
    F.cross_entropy(out, y).backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_ideal_equals_pytorch(mode: str) -> None:
    net = _net()
    x, y = torch.randn(6, 1, 16, 16), torch.randint(0, 5, (6,))
    out0, g0 = _grads(net, x, y)
    hw_net = convert(net, load_spec("ideal", [f"mode={mode}"]))
    out1, g1 = _grads(hw_net, x, y)
    torch.testing.assert_close(out1, out0, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g0, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fp32_mode_is_plain_pytorch() -> None:
    net = _net()
    x, y = torch.randn(4, 1, 16, 16), torch.randint(0, 5, (4,))
    out0, g0 = _grads(net, x, y)
    out1, g1 = _grads(convert(net, load_spec("fp32")), x, y)
    assert torch.equal(out0, out1)
    assert all(torch.equal(a, b) for a, b in zip(g0, g1, strict=True))


def test_hardware_differs_from_pytorch_but_is_close() -> None:
    net = _net()
    x, y = torch.randn(6, 1, 16, 16), torch.randint(0, 5, (6,))
    out0, _ = _grads(net, x, y)
    out1, _ = _grads(convert(net, load_spec("bplight-16b")), x, y)
    rel = float((out1 - out0).norm() / out0.norm())
    assert 0 < rel < 0.05


def test_convert_swaps_layers_and_keeps_state_dict() -> None:
    net = _net()
    hw_net = convert(net, "bplight-16b")
    kinds = [type(m) for m in hw_net.modules()]
    assert kinds.count(PhotonicConv2d) == 2 and kinds.count(PhotonicLinear) == 1
    assert not any(type(m) in (nn.Conv2d, nn.Linear) for m in hw_net.modules())
    sd = {k: v for k, v in hw_net.state_dict().items() if not k.endswith("w_range")}
    net2 = _net()
    net2.load_state_dict(sd)
    for a, b in zip(net.parameters(), net2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_convert_rejects_padding_it_cannot_map() -> None:
    with pytest.raises(InputError, match="padding_mode='zeros'"):
        convert(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")),
                "bplight-16b")


@pytest.mark.parametrize("layer", [nn.Linear(5, 3), nn.Conv2d(2, 4, 3, padding=1)],
                         ids=["linear", "conv2d"])
def test_convert_of_a_bare_layer_returns_a_converted_layer(layer: nn.Module) -> None:
    x = torch.randn(4, 5) if isinstance(layer, nn.Linear) else torch.randn(2, 2, 6, 6)
    for inplace in (False, True):
        out = convert(layer, load_spec("ideal"), inplace=inplace)
        assert isinstance(out, (PhotonicLinear, PhotonicConv2d)) and out.uses_hardware
        assert out.bplight_hw is out.hw and out.layer_name == type(layer).__name__
        torch.testing.assert_close(out(x), layer(x), rtol=1e-5, atol=1e-6)
    hw = convert(layer, "bplight-16b")
    hw.bplight_hw.counting = True
    hw(x)
    assert hw.bplight_hw.counters.products["forward"] == 1  # it runs on the chip


def _gemm_stats(spec_overrides: list[str], sigma: float, signed: bool = True,
                crosstalk: torch.Tensor | None = None, n_fast: int = 4):
    spec = load_spec("bplight-16b", spec_overrides)
    g = torch.Generator().manual_seed(3)
    a = torch.randn(96, 80, generator=g, dtype=torch.float64)
    if not signed:
        a = a.clamp(min=0)
    b = torch.randn(24, 80, generator=g, dtype=torch.float64)
    m = plan(GemmShape(96, 80, 24, "forward", input_signed=signed), spec)
    phys = Physics(sigma, crosstalk)
    ref = a @ b.t()
    e_exact = exact_matmul(a, b, m, phys, g) - ref
    e_fast = torch.stack([fast_matmul(a, b, m, phys, g) for _ in range(n_fast)]) - ref
    return e_exact, e_fast, ref


@pytest.mark.parametrize("overrides,sigma,rel", [
    ([], 0.0, 0.25),                                # 16-bit, exact reads: quantization only
    ([], 0.02, 0.25),                               # noisy reads: ~12 % off by one
    (["forward.input_bits=8", "forward.weight_bits=8"], 0.01, 0.25),
    # coarse ADC (step 4.6 units): rounding depends on the data's slice occupancy, which
    # fast mode estimates from a histogram; agreement is looser
    (["forward.dac_bits=2", "forward.ring_bits=2", "forward.adc_bits=6"], 0.0, 0.5),
])
def test_fast_and_exact_agree_in_error_statistics(overrides: list[str], sigma: float,
                                                  rel: float) -> None:
    e_exact, e_fast, ref = _gemm_stats(overrides, sigma)
    scale = float(ref.std())
    std_e, std_f = float(e_exact.std()), float(e_fast.std())
    assert abs(float(e_exact.mean())) < 0.1 * max(std_e, 1e-6 * scale) + 1e-9 * scale
    assert abs(float(e_fast.mean())) < 0.1 * max(std_f, 1e-6 * scale) + 1e-9 * scale
    assert std_f == pytest.approx(std_e, rel=rel)


def test_exact_noise_free_error_is_operand_quantization_only() -> None:
    # with integer-aligned ADC steps and no noise, reads are exact: exact == fast (no noise)
    e_exact, e_fast, ref = _gemm_stats([], 0.0, n_fast=1)
    torch.testing.assert_close(e_exact, e_fast[0], rtol=0, atol=1e-9 * float(ref.abs().max()))
    assert float(e_exact.abs().max()) < 1e-3 * float(ref.abs().max())


def test_unsigned_inputs_take_one_pass_and_match_two_pass_without_negatives() -> None:
    spec = load_spec("bplight-16b")
    m_signed = plan(GemmShape(4, 32, 3, "forward", input_signed=True), spec)
    m_unsigned = plan(GemmShape(4, 32, 3, "forward", input_signed=False), spec)
    assert m_signed.sign_passes == 2 and m_unsigned.sign_passes == 1
    a = torch.rand(4, 32, dtype=torch.float64)
    b = torch.randn(3, 32, dtype=torch.float64)
    phys = Physics(0.0, None)
    torch.testing.assert_close(exact_matmul(a, b, m_signed, phys, None),
                               exact_matmul(a, b, m_unsigned, phys, None))


def test_offset_encoding_equals_two_pass_when_noise_free() -> None:
    spec_off = load_spec("bplight-16b", ["forward.signed_inputs=offset"])
    spec_two = load_spec("bplight-16b")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 40, generator=g, dtype=torch.float64), torch.randn(
        5, 40, generator=g, dtype=torch.float64)
    m_off = plan(GemmShape(8, 40, 5, "forward", input_signed=True), spec_off)
    m_two = plan(GemmShape(8, 40, 5, "forward", input_signed=True), spec_two)
    assert m_off.sign_passes == 1 and m_off.offset_encoding
    assert m_off.input_slices == 16 and m_two.input_slices == 15
    phys = Physics(0.0, None)
    y_off = exact_matmul(a, b, m_off, phys, None)
    ref = a @ b.t()
    assert float((y_off - ref).abs().max()) < 1e-3 * float(ref.abs().max())
    y_two = exact_matmul(a, b, m_two, phys, None)
    torch.testing.assert_close(y_off, y_two, rtol=0, atol=2e-4 * float(ref.abs().max()))


def test_adc_clipping_saturates_large_partial_sums() -> None:
    # all-ones operands make every pass hit the worst-case sum; adc_range 0.5 clips it
    spec = load_spec("bplight-16b", ["forward.adc_range=0.5", "forward.input_bits=2",
                                     "forward.weight_bits=3", "forward.ring_bits=2",
                                     "forward.adc_bits=7"])
    m = plan(GemmShape(1, 16, 1, "forward", input_signed=False), spec)
    assert m.input_slices == 1 and m.weight_slices == 1 and m.full_scale == 48
    a, b = torch.ones(1, 16, dtype=torch.float64), torch.ones(1, 16, dtype=torch.float64)
    y = exact_matmul(a, b, m, Physics(0.0, None), None)
    # full sum is 16 (x1 code 1, w code 3 -> 48 units); clip at 24 units -> 8
    assert float(y) == pytest.approx(8.0)


def test_read_error_variance_closed_forms() -> None:
    assert read_error_var(1.0, 0.0, True) == 0.0
    assert read_error_var(0.0, 0.3, True) == pytest.approx(0.09)
    assert read_error_var(4.0, 0.0, False) == pytest.approx(16 / 12)
    # discrete Gaussian rounding: P(|n| > 0.5) * 1 dominates for small sigma
    sigma = 0.25
    p1 = 2 * (1 - 0.5 * (1 + math.erf(0.5 / sigma / math.sqrt(2))))
    assert read_error_var(1.0, sigma, True) == pytest.approx(p1, rel=0.01)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 70), st.integers(1, 12),
       st.integers(1, 4), st.integers(1, 4), st.integers(4, 16))
def test_exact_noise_free_matches_quantized_reference(m_: int, k: int, n: int, dac: int,
                                                      ring: int, bits: int) -> None:
    spec = load_spec("bplight-16b", [f"forward.dac_bits={dac}", f"forward.ring_bits={ring}",
                                     f"forward.input_bits={bits}", f"forward.weight_bits={bits}",
                                     "forward.adc_bits=16"])
    g = torch.Generator().manual_seed(m_ * 1000 + k)
    a = torch.randn(m_, k, generator=g, dtype=torch.float64)
    b = torch.randn(n, k, generator=g, dtype=torch.float64)
    mp = plan(GemmShape(m_, k, n, "forward", input_signed=True), spec)
    phys = Physics(0.0, None)
    y_exact = exact_matmul(a, b, mp, phys, None)
    y_fast = fast_matmul(a, b, mp, phys, None)
    torch.testing.assert_close(y_exact, y_fast, rtol=1e-9, atol=1e-9)


def _neighbour_xt(c: int = 16, leak: float = 0.01) -> torch.Tensor:
    xt = torch.zeros(c, c, dtype=torch.float64)
    idx = torch.arange(c - 1)
    xt[idx, idx + 1] = leak
    xt[idx + 1, idx] = leak
    return xt


def test_crosstalk_is_deterministic_with_an_ideal_readout() -> None:
    e_exact, e_fast, ref = _gemm_stats(["forward.adc_bits=null"], 0.0,
                                       crosstalk=_neighbour_xt(), n_fast=1)
    torch.testing.assert_close(e_exact, e_fast[0], rtol=0, atol=1e-6 * float(ref.abs().max()))
    assert float(e_exact.abs().max()) > 1e-3 * float(ref.abs().max())


@pytest.mark.parametrize("leak", [0.01, 0.05])
def test_crosstalk_read_errors_fast_matches_exact(leak: float) -> None:
    # unit-step ADC: small leaks round away; larger ones flip reads. Fast mode draws the
    # read errors from a Monte Carlo estimate over random slices; exact mode sees this
    # GEMM's own slices, so agreement is statistical (same order of magnitude).
    e_exact, e_fast, ref = _gemm_stats([], 0.0, crosstalk=_neighbour_xt(leak=leak))
    std_e, std_f = float(e_exact.std()), float(e_fast.std())
    assert std_f > 0
    assert 0.2 < std_f / max(std_e, 1e-30) < 5.0 or std_e < 1e-4 * float(ref.std())


def test_memristor_writer_round_trips_and_counts_writes() -> None:
    spec = load_spec("bplight-16b", ["memristor.programming_noise=0", "update.rounding=nearest"])
    net = convert(_net(), spec)
    writer = MemristorWriter(net, spec)
    layer = net[0]
    w0 = layer.weight.detach().clone()
    assert writer.step() == 0  # nothing changed: nothing written
    with torch.no_grad():
        layer.weight.add_(1e-3)
    assert writer.step() > 0
    lsb = float(layer.w_range) / (2**15 - 1)
    assert float((layer.weight.detach() - (w0 + 1e-3)).abs().max()) <= 0.5 * lsb + 1e-9
    sd = net.state_dict()
    assert "0.mem_codes" in sd and "0.mem_levels" in sd
    net2 = convert(_net(), spec)
    MemristorWriter(net2, spec)
    net2.load_state_dict(sd)
    assert torch.equal(net2[0].weight, net[0].weight)


def test_execution_counters_follow_the_mapping() -> None:
    net = convert(_net(), "bplight-16b")
    hw = net.bplight_hw
    hw.counting = True
    x, y = torch.randn(3, 1, 16, 16), torch.randint(0, 5, (3,))
    F.cross_entropy(net(x), y).backward()
    assert hw.counters.products["forward"] == 3
    assert hw.counters.products["weight_grad"] == 3
    assert hw.counters.products["error"] == 2  # no error product into the data
    spec = hw.spec
    total = sum(plan(gm, spec).analog_passes for gm in hw.counters.gemms)
    assert total == sum(hw.counters.analog_passes.values()) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.cuda
def test_cuda_matches_cpu_in_ideal_mode() -> None:
    net = _net()
    x, y = torch.randn(4, 1, 16, 16), torch.randint(0, 5, (4,))
    out0, _ = _grads(net, x, y)
    hw_net = convert(net, "ideal").cuda()
    out1, _ = _grads(hw_net, x.cuda(), y.cuda())
    torch.testing.assert_close(out1.cpu(), out0, rtol=1e-3, atol=1e-4)
    hw_net = convert(net, "bplight-16b").cuda()
    out2, _ = _grads(hw_net, x.cuda(), y.cuda())
    assert torch.isfinite(out2).all()


def test_adc_step_rules() -> None:
    spec = load_spec("bplight-16b")
    m = plan(GemmShape(1, 16, 1, "forward"), spec)
    assert m.full_scale == 16 and m.needed_adc_bits == 6
    assert m.adc_step == 1.0           # 31 codes cover 16 units in unit steps
    m4 = plan(GemmShape(1, 16, 1, "forward"), load_spec("bplight-16b", ["forward.adc_bits=4"]))
    assert m4.adc_step == pytest.approx(16 / 7)


def test_extreme_levels_are_written_exactly_and_others_carry_noise() -> None:
    spec = load_spec("bplight-16b", ["memristor.programming_noise=0.5",
                                     "update.rounding=nearest"])
    net = convert(nn.Sequential(nn.Linear(4, 2, bias=False)), spec)
    writer = MemristorWriter(net, spec, seed=3)
    layer = net[0]
    lsb = float(layer.w_range) / (2**15 - 1)
    # codes whose 4-bit digits are all 0 or 15 (extreme levels) vs. mid levels
    extreme = torch.tensor([[0xF0F, 0x00F, -0xFFF, 0xF00], [0x0F0, -0x00F, 0xFF0, 0x000]])
    with torch.no_grad():
        layer.weight.copy_(extreme.double() * lsb)
    writer.step()
    torch.testing.assert_close(layer.weight.detach() / lsb, extreme.to(layer.weight.dtype),
                               rtol=0, atol=1e-3)
    mid = torch.tensor([[0x777, 0x353, -0x562, 0x1A7], [0x2B9, -0x333, 0x6A5, 0x454]])
    with torch.no_grad():
        layer.weight.copy_(mid.double() * lsb)
    writer.step()
    err = (layer.weight.detach() / lsb - mid).abs()
    assert float(err.max()) > 1.0  # written mid levels land with programming error


_NOISE_FREE = [f"{ph}.{k}=false" for ph in ("forward", "error", "weight_grad")
               for k in ("detector_noise", "crosstalk")]


@pytest.mark.parametrize("bits", [1, 3, 7, 15, 20, 24])
def test_fake_quantize_matches_torch_fake_quant(bits: int) -> None:
    from bplight.numerics.engine import Operand, fake_quantize

    g = torch.Generator().manual_seed(bits)
    levels = 2**bits - 1
    for scale_of_data in (True, False):
        t = torch.randn(5000, generator=g) * 3.7
        # grid points and midpoints between them (round-half-even ties)
        s = float(t.abs().max()) if scale_of_data else 2.5
        k = torch.randint(-levels, levels + 1, (500,), generator=g).float()
        t = torch.cat([t, (k * (s / levels)).clamp(-s, s), ((k + 0.5) * (s / levels)).clamp(-s, s)])
        scale = torch.tensor(s)
        ref = torch.fake_quantize_per_tensor_affine(t, s / levels, 0, -levels, levels)
        assert torch.equal(fake_quantize(t, bits, scale), ref)
        if scale_of_data:
            t[0] = s  # the operand's own scale is its largest magnitude
            ref = torch.fake_quantize_per_tensor_affine(t, s / levels, 0, -levels, levels)
            assert torch.equal(Operand(t).quantized(bits), ref)


def _occupancy_reference(t: torch.Tensor, scale: float, mag_bits: int, bits: int, n: int):
    """The leading-bit histogram estimate of slice occupancy, written plainly."""
    import numpy as np

    flat = t.reshape(-1)
    if flat.numel() > 4096:
        flat = flat[:: flat.numel() // 4096]
    codes = np.round(np.abs(flat.double().numpy()) / scale * (2**mag_bits - 1))
    _, e = np.frexp(codes)
    top = np.clip(np.floor_divide(e.astype(np.int64) - 1, bits), -1, n - 1)
    hist = np.bincount(top + 1, minlength=n + 1) / max(codes.size, 1)
    at_top = hist[1:]
    above = np.cumsum(at_top[::-1])[::-1] - at_top
    return at_top + above * (1.0 - 2.0**-bits)


@pytest.mark.parametrize("compiled", [True, False])  # numba kernel / numpy
@pytest.mark.parametrize("n_el", [7, 4096, 50_000])
@pytest.mark.parametrize("mag_bits,bits,n", [(15, 1, 15), (15, 4, 4), (7, 2, 4), (5, 3, 2)])
def test_slice_occupancy_matches_reference(n_el: int, mag_bits: int, bits: int, n: int,
                                           compiled: bool, monkeypatch) -> None:
    import numpy as np

    from bplight.numerics import kernels
    from bplight.numerics.engine import slice_occupancy

    monkeypatch.setattr(kernels, "AVAILABLE", compiled and kernels.AVAILABLE)

    g = torch.Generator().manual_seed(n_el + bits)
    t = torch.randn(n_el, generator=g) * torch.rand(n_el, generator=g) ** 4
    t[: n_el // 5] = 0.0
    if n_el > 10:
        t[3] = float("nan")
    scale = float(torch.nan_to_num(t).abs().max())
    got = slice_occupancy(t, torch.tensor(scale), mag_bits, bits, n)
    np.testing.assert_array_equal(got, _occupancy_reference(t, scale, mag_bits, bits, n))


def _quantized_reference(net: nn.Module, x: torch.Tensor, grad_out: torch.Tensor,
                         spec_overrides: list[str]):
    """Forward output and input / weight / bias gradients of one photonic layer built from
    fake-quantized operands (each quantized with its own scale and its product's bits)."""
    from bplight.numerics.engine import fake_quantize

    spec = load_spec("bplight-16b", spec_overrides)

    def q(t: torch.Tensor, phase: str, operand: str) -> torch.Tensor:
        p = spec.product(phase)
        bits = p.input_bits if operand == "input" else p.weight_bits
        return fake_quantize(t, bits - 1, t.abs().max())

    layer = net[0]
    w, b = layer.weight.detach(), layer.bias.detach()
    if isinstance(layer, nn.Conv2d):
        conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
        y = F.conv2d(q(x, "forward", "input"), q(w, "forward", "weight"), b, **conv)
        gx = torch.nn.grad.conv2d_input(x.shape, q(w, "error", "weight"),
                                        q(grad_out, "error", "input"), **conv)
        gw = torch.nn.grad.conv2d_weight(q(x, "weight_grad", "input"), w.shape,
                                         q(grad_out, "weight_grad", "weight"), **conv)
        gb = grad_out.sum(dim=(0, 2, 3))
    else:
        y = q(x, "forward", "input") @ q(w, "forward", "weight").t() + b
        gx = q(grad_out, "error", "input") @ q(w, "error", "weight")
        gw = q(grad_out, "weight_grad", "weight").t() @ q(x, "weight_grad", "input")
        gb = grad_out.sum(0)
    return y, gx, gw, gb


@pytest.mark.parametrize("bits", [
    [],  # 16 bits everywhere: the error is quantized once for both backward products
    ["forward.input_bits=6", "forward.weight_bits=5", "error.input_bits=7",
     "error.weight_bits=4", "weight_grad.input_bits=5", "weight_grad.weight_bits=6"],
])
@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_fast_mode_noise_free_is_the_quantized_operands_product(bits: list[str],
                                                                 kind: str) -> None:
    torch.manual_seed(0)
    if kind == "conv":
        net = nn.Sequential(nn.Conv2d(3, 5, 3, stride=2, padding=1))
        x = torch.randn(4, 3, 9, 9)
    else:
        net = nn.Sequential(nn.Linear(12, 7))
        x = torch.randn(6, 12)
    hw_net = convert(net, load_spec("bplight-16b", _NOISE_FREE + bits))
    x.requires_grad_(True)
    y = hw_net(x)
    grad_out = torch.randn_like(y)
    gx, gw, gb = torch.autograd.grad(y, [x, hw_net[0].weight, hw_net[0].bias], grad_out)
    ref = _quantized_reference(net, x.detach(), grad_out, _NOISE_FREE + bits)
    for got, want in zip((y.detach(), gx, gw, gb), ref, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_fast_mode_sees_in_place_weight_updates() -> None:
    # quantized copies and occupancies are cached per forward/backward, never across an
    # optimizer step or a memristor write (which change the weights in place)
    spec = load_spec("bplight-16b", _NOISE_FREE + ["memristor.programming_noise=0"])
    net = convert(_net(), spec)
    writer = MemristorWriter(net, spec)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    x, y = torch.randn(6, 1, 16, 16), torch.randint(0, 5, (6,))
    for _ in range(3):
        out, grads = _grads(net, x, y)
        fresh = convert(net, spec)  # same weights, nothing cached
        out_ref, grads_ref = _grads(fresh, x, y)
        assert torch.equal(out, out_ref)
        for a, b in zip(grads, grads_ref, strict=True):
            assert torch.equal(a, b)
        opt.step()
        writer.step()


def test_writer_digit_cache_follows_a_loaded_state() -> None:
    from bplight.devices.memristor import code_digits

    spec = load_spec("bplight-16b", ["memristor.programming_noise=0", "update.rounding=nearest"])
    net = convert(_net(), spec)
    writer = MemristorWriter(net, spec)
    other = convert(_net(), spec)
    other_writer = MemristorWriter(other, spec)
    with torch.no_grad():
        other[0].weight.mul_(-0.7)
    other_writer.step()
    writer.step()  # caches the digits of its own codes
    net.load_state_dict(other.state_dict())  # codes, levels and weights of ``other``
    with torch.no_grad():
        net[0].weight.add_(1e-3)
    codes_before = writer.codes.clone()
    written = writer.step()
    expected = int((code_digits(writer.codes, 16, 4) != code_digits(codes_before, 16, 4)).sum())
    assert written == expected > 0


def test_exact_mode_with_in_place_activation_after_a_biased_conv() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(inplace=True), nn.Flatten(),
                        nn.Linear(2 * 4 * 4, 3), nn.ReLU(inplace=True))
    x, y = torch.randn(2, 1, 4, 4), torch.randint(0, 3, (2,))
    for mode in ("exact", "fast"):
        out, grads = _grads(convert(net, load_spec("bplight-16b", [f"mode={mode}"])), x, y)
        assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)


def test_context_noise_statistics_and_scratch_reuse() -> None:
    from bplight.numerics.context import HardwareContext

    hw = HardwareContext(load_spec("bplight-16b"), seed=5)
    big = hw.add_noise_(torch.zeros(200_000), 0.3)
    assert float(big.mean()) == pytest.approx(0.0, abs=0.005)
    assert float(big.std()) == pytest.approx(0.3, rel=0.01)
    gain = torch.tensor([[1.0, 2.0]])
    small = hw.add_noise_(torch.ones(50_000, 2), 0.5, gain=gain)  # reuses the buffer
    assert float(small[:, 1].std()) == pytest.approx(1.0, rel=0.03)
    assert float(small[:, 0].std()) == pytest.approx(0.5, rel=0.03)
    assert not torch.equal(big[:1000], small[:500].reshape(-1))  # fresh draws
    same = HardwareContext(load_spec("bplight-16b"), seed=5).add_noise_(torch.zeros(200_000), 0.3)
    assert torch.equal(big, same)
    assert torch.equal(hw.add_noise_(torch.ones(3), 0.0), torch.ones(3))


def test_physics_caches_the_crosstalk_column_sum() -> None:
    xt = _neighbour_xt(leak=0.02)
    ph = Physics(0.1, xt)
    assert ph.crosstalk_col_sq == pytest.approx(float((xt**2).sum(0).mean()))
    assert Physics(0.1, None).crosstalk_col_sq == 0.0
    assert ph == Physics(0.1, xt)


def _grouped_net(groups: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, groups=groups), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, groups=8 if groups > 1 else 1),  # depthwise
        nn.Flatten(), nn.Linear(8 * 3 * 3, 3))


@pytest.mark.parametrize("preset", ["ideal-exact", "ideal-fast", "fp32"])
@pytest.mark.parametrize("groups", [2, 4])
def test_grouped_and_depthwise_convs_equal_pytorch_when_ideal(preset: str, groups: int) -> None:
    net = _grouped_net(groups)
    x = torch.randn(3, 4, 7, 7, requires_grad=True)
    out0 = net(x)
    out0.square().sum().backward()
    ref = [out0.detach(), x.grad.clone(), *[p.grad.clone() for p in net.parameters()]]
    name, _, mode = preset.partition("-")
    hw_net = convert(net, load_spec(name, [f"mode={mode}"] if mode else []))
    assert [m.groups for m in hw_net.modules() if isinstance(m, PhotonicConv2d)] == [groups, 8]
    hw_net.zero_grad()
    x.grad = None
    hw_net.bplight_hw.counting = True
    out1 = hw_net(x)
    out1.square().sum().backward()
    got = [out1.detach(), x.grad, *[p.grad for p in hw_net.parameters()]]
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    if name == "ideal":  # every product ran on the chip, planned per group
        gemms = [g for g in hw_net.bplight_hw.counters.gemms if g.layer == "2"]
        assert {g.phase for g in gemms} == {"forward", "error", "weight_grad"}
        assert all(g.groups == 8 and (g.k == 9 or g.phase != "forward") for g in gemms)


def test_sparse_read_errors_have_the_rate_values_and_fold_counts_asked() -> None:
    from bplight.numerics.engine import ReadErrors, add_read_errors_

    errs = ReadErrors(0.0, 0.02, np.array([1.0, 4.0]), np.array([0.75, 0.25]))
    assert errs.var == pytest.approx(0.02 * (0.75 + 0.25 * 16))
    g = torch.Generator().manual_seed(0)
    y = add_read_errors_(torch.zeros(400, 500), errs, g)
    hits = y[y != 0]
    assert abs(hits.numel() / y.numel() - 0.02) < 0.002  # Poisson(0.02) per element
    # sums of one, two or (P ~ 1e-6 per element) three wrong reads of ±1 or ±4
    sums = {abs(x + y + z) for x in (-4, -1, 0, 1, 4) for y in (-4, -1, 0, 1, 4)
            for z in (-4, -1, 0, 1, 4)} - {0}
    assert set(hits.abs().unique().tolist()) <= {float(v) for v in sums}
    assert float((hits.abs().unsqueeze(1) == torch.tensor([1.0, 4.0])).any(1).float().mean()
                 ) > 0.97  # mostly single reads
    assert abs(float((hits.abs() == 4).float().mean()) - 0.25) < 0.03
    assert abs(float((hits > 0).float().mean()) - 0.5) < 0.03  # symmetric
    # with fold counts (gain²) per pixel, and on a channels_last tensor
    gain = torch.tensor([[1.0, 2.0], [0.0, 3.0]]).sqrt().reshape(1, 1, 2, 2)
    z = torch.zeros(2000, 3, 2, 2).to(memory_format=torch.channels_last)
    add_read_errors_(z, errs, g, gain)
    per_pixel = (z != 0).float().mean(dim=(0, 1)).flatten() / 0.02
    torch.testing.assert_close(per_pixel, torch.tensor([1.0, 2.0, 0.0, 3.0]), atol=0.25, rtol=0)
