"""Autograd Functions whose forward, error (grad_input) and weight-gradient products all
run through the photonic model.

GEMM shapes come from the same formulation as :func:`bplight.mapping.layer_gemms`:

* forward ``Y = cols @ W.T``;
* error ``dcols = dY @ W`` (input operand: the signed error; weight operand: ``W.T``,
  chunked along ``Cout``), then col2im folds overlaps digitally;
* weight gradient ``dW.T = cols.T @ dY`` (input operand: the activations; weight
  operand: ``dY.T``, the errors, chunked along batch × positions).

``exact`` mode materialises the im2col matrices and runs :func:`exact_matmul`; ``fast``
mode uses PyTorch's convolution kernels on the quantized, crosstalk-mixed operands and
adds the mapping's noise.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from bplight.mapping import GemmShape
from bplight.numerics.context import HardwareContext
from bplight.numerics.engine import (
    exact_matmul,
    fake_quantize,
    fast_matmul,
    noise_std,
    quantize_weight,
    rounds_away_crosstalk,
    scale_and_sign,
)


def _has_negative(t: torch.Tensor) -> bool:
    return bool(torch.aminmax(t.detach())[0] < 0)


def _noise(shape: torch.Size, std: float, like: torch.Tensor, hw: HardwareContext
           ) -> torch.Tensor | None:
    if std <= 0.0:
        return None
    g = hw.generator(like.device)
    return std * torch.randn(shape, generator=g, dtype=like.dtype, device=like.device)


def photonic_matmul(hw: HardwareContext, phase: str, a: torch.Tensor, b: torch.Tensor,
                    layer: str = "", weight_static: bool = True) -> torch.Tensor:
    """``a[M, K] @ b[N, K].T`` on the chip, for ``phase``; plain matmul when the product
    is digital."""
    gemm = GemmShape(a.shape[0], a.shape[1], b.shape[0], phase,
                     input_signed=_has_negative(a), weight_static=weight_static, layer=layer)
    m = hw.plan(gemm)
    if not m.analog:
        return a @ b.t()
    phys = hw.physics(phase, a.device)
    gen = hw.generator(a.device)
    if hw.mode == "exact":
        return exact_matmul(a, b, m, phys, gen)
    return fast_matmul(a, b, m, phys, gen)


class PhotonicLinearFunction(torch.autograd.Function):
    """``y = x @ W.T (+ b)`` with all three products on the photonic core."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                hw: HardwareContext, name: str) -> torch.Tensor:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        y = photonic_matmul(hw, "forward", x2, weight, name)
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(x2, weight)
        ctx.hw, ctx.name, ctx.shape, ctx.has_bias = hw, name, shape, bias is not None
        if x.dim() == 2:
            return y
        return y.reshape(*shape[:-1], weight.shape[0]).clone()

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor):  # type: ignore[override]
        x2, weight = ctx.saved_tensors
        hw: HardwareContext = ctx.hw
        g2 = grad_y.reshape(-1, grad_y.shape[-1]).contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = photonic_matmul(hw, "error", g2, weight.t().contiguous(), ctx.name)
            grad_x = grad_x.reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            grad_w = photonic_matmul(hw, "weight_grad", x2.t().contiguous(), g2.t().contiguous(),
                                     ctx.name, weight_static=False).t()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g2.sum(0)
        return grad_x, grad_w, grad_b, None, None


class PhotonicConv2dFunction(torch.autograd.Function):
    """2-D convolution with all three products on the photonic core (groups = 1)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                hw: HardwareContext, name: str, stride: tuple[int, int],
                padding: tuple[int, int], dilation: tuple[int, int]) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.hw, ctx.name, ctx.has_bias = hw, name, bias is not None
        ctx.conv = dict(stride=stride, padding=padding, dilation=dilation)
        cout, kf = weight.shape[0], weight[0].numel()
        batch = x.shape[0]
        hout = (x.shape[2] + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) \
            // stride[0] + 1
        wout = (x.shape[3] + 2 * padding[1] - dilation[1] * (weight.shape[3] - 1) - 1) \
            // stride[1] + 1
        ctx.out_hw = (hout, wout)
        sa, neg = scale_and_sign(x)
        ctx.x_scale = (sa, neg)
        gemm = GemmShape(batch * hout * wout, kf, cout, "forward", input_signed=neg, layer=name)
        m = hw.plan(gemm)
        ctx.xq = None
        if not m.analog:
            y = F.conv2d(x, weight, None, **ctx.conv)
        elif hw.mode == "exact":
            cols = F.unfold(x, weight.shape[2:], **ctx.conv)  # [B, Kf, L]
            a = cols.transpose(1, 2).reshape(-1, kf)
            y2 = exact_matmul(a, weight.reshape(cout, kf), m, hw.physics("forward", x.device),
                              hw.generator(x.device))
            y = y2.reshape(batch, hout * wout, cout).transpose(1, 2).reshape(
                batch, cout, hout, wout)
        else:
            phys = hw.physics("forward", x.device)
            xq = fake_quantize(x, m.input_code_bits, sa)
            ctx.xq = (m.input_code_bits, xq)  # reused by the weight gradient when bits agree
            wq, sb = quantize_weight(weight.reshape(cout, kf), m, phys)
            y = F.conv2d(xq, wq.reshape(weight.shape), None, **ctx.conv)
            n = _noise(y.shape, noise_std(m, phys, sa, sb, gemm.input_signed, x, weight), y, hw)
            if n is not None:
                y = y + n
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        hw: HardwareContext = ctx.hw
        grad_y = grad_y.contiguous()
        grad_x = grad_w = grad_b = None
        cache = _QuantCache(grad_y, x, ctx.x_scale, ctx.xq)
        if ctx.needs_input_grad[0]:
            grad_x = _conv_error(hw, ctx.name, grad_y, x, weight, ctx.conv, ctx.out_hw, cache)
        if ctx.needs_input_grad[1]:
            grad_w = _conv_weight_grad(hw, ctx.name, grad_y, x, weight, ctx.conv, ctx.out_hw,
                                       cache)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_y.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None, None, None


class _QuantCache:
    """Scales and quantized copies of the backward operands, computed once per backward
    (the error and weight-gradient products share the error tensor; the weight gradient
    reuses the forward's quantized input when the resolutions agree)."""

    def __init__(self, grad_y: torch.Tensor, x: torch.Tensor,
                 x_scale: tuple[torch.Tensor, bool], xq: tuple | None) -> None:
        self.grad_y, self.x = grad_y, x
        self.g_scale = scale_and_sign(grad_y)
        self.x_scale = x_scale
        self._q: dict[tuple[str, int | None], torch.Tensor] = {}
        if xq is not None:
            self._q[("x", xq[0])] = xq[1]

    def grad(self, bits: int | None) -> torch.Tensor:
        key = ("g", bits)
        if key not in self._q:
            self._q[key] = fake_quantize(self.grad_y, bits, self.g_scale[0])
        return self._q[key]

    def input(self, bits: int | None) -> torch.Tensor:
        key = ("x", bits)
        if key not in self._q:
            self._q[key] = fake_quantize(self.x, bits, self.x_scale[0])
        return self._q[key]


_OVERLAP_CACHE: dict[tuple, torch.Tensor] = {}


def _overlap_counts(x_shape: torch.Size, weight_shape: torch.Size, conv: dict,
                    out_hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """Square root of how many im2col columns fold into each input pixel: [1, 1, H, W]."""
    key = (tuple(x_shape[2:]), tuple(weight_shape[2:]), tuple(sorted(conv.items())), out_hw,
           str(device))
    if key not in _OVERLAP_CACHE:
        ones = torch.ones(1, 1, *out_hw, device=device)
        k = torch.ones(1, 1, *weight_shape[2:], device=device)
        _OVERLAP_CACHE[key] = torch.nn.grad.conv2d_input(
            (1, 1, *x_shape[2:]), k, ones, **conv).sqrt()
    return _OVERLAP_CACHE[key]


def _conv_error(hw: HardwareContext, name: str, grad_y: torch.Tensor, x: torch.Tensor,
                weight: torch.Tensor, conv: dict, out_hw: tuple[int, int],
                cache: _QuantCache) -> torch.Tensor:
    cout, kf = weight.shape[0], weight[0].numel()
    batch = grad_y.shape[0]
    sg, gneg = cache.g_scale
    gemm = GemmShape(batch * out_hw[0] * out_hw[1], cout, kf, "error", input_signed=gneg,
                     layer=name)
    m = hw.plan(gemm)
    if not m.analog:
        return torch.nn.grad.conv2d_input(x.shape, weight, grad_y, **conv)
    phys = hw.physics("error", x.device)
    wt = weight.reshape(cout, kf).t().contiguous()  # [Kf, Cout]: rows are outputs
    if hw.mode == "exact":
        a = grad_y.reshape(batch, cout, -1).transpose(1, 2).reshape(-1, cout)
        dcols = exact_matmul(a, wt, m, phys, hw.generator(x.device))  # [B·L, Kf]
        dcols = dcols.reshape(batch, -1, kf).transpose(1, 2)
        return F.fold(dcols, x.shape[2:], weight.shape[2:], **conv)
    gq = cache.grad(m.input_code_bits)
    wq, sb = quantize_weight(wt, m, phys)
    w_eff = wq.t().reshape(weight.shape)
    grad_x = torch.nn.grad.conv2d_input(x.shape, w_eff, gq, **conv)
    std = noise_std(m, phys, sg, sb, gneg, grad_y, wt)
    if std > 0:
        root_counts = _overlap_counts(x.shape, weight.shape, conv, out_hw, x.device)
        grad_x = grad_x + root_counts * _noise(grad_x.shape, std, grad_x, hw)
    return grad_x


def _conv_weight_grad(hw: HardwareContext, name: str, grad_y: torch.Tensor, x: torch.Tensor,
                      weight: torch.Tensor, conv: dict, out_hw: tuple[int, int],
                      cache: _QuantCache) -> torch.Tensor:
    cout, kf = weight.shape[0], weight[0].numel()
    batch = grad_y.shape[0]
    positions = batch * out_hw[0] * out_hw[1]
    sa, xneg = cache.x_scale
    gemm = GemmShape(kf, positions, cout, "weight_grad", input_signed=xneg,
                     weight_static=False, layer=name)
    m = hw.plan(gemm)
    if not m.analog:
        return torch.nn.grad.conv2d_weight(x, weight.shape, grad_y, **conv)
    phys = hw.physics("weight_grad", x.device)
    if hw.mode == "exact":
        g_rows = grad_y.transpose(0, 1).reshape(cout, positions)  # [Cout, B·L] (b, h, w)
        cols = F.unfold(x, weight.shape[2:], **conv)  # [B, Kf, L]
        a = cols.transpose(0, 1).reshape(kf, positions)
        dwt = exact_matmul(a, g_rows.contiguous(), m, phys, hw.generator(x.device))
        return dwt.t().reshape(weight.shape)
    xq = cache.input(m.input_code_bits)
    sb = cache.g_scale[0]
    if rounds_away_crosstalk(m) or phys.crosstalk is None:
        g_eff = cache.grad(m.weight_magnitude_bits)
    else:  # crosstalk mixes neighbouring positions of the error rows on the rings
        g_rows = grad_y.transpose(0, 1).reshape(cout, positions)
        gq, sb = quantize_weight(g_rows, m, phys)
        g_eff = gq.reshape(cout, batch, *out_hw).transpose(0, 1).contiguous()
    grad_w = torch.nn.grad.conv2d_weight(xq, weight.shape, g_eff, **conv)
    std = noise_std(m, phys, sa, sb, xneg, x, grad_y)
    n = _noise(grad_w.shape, std, grad_w, hw)
    return grad_w + n if n is not None else grad_w
