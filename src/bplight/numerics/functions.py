"""Autograd Functions whose forward, error (grad_input) and weight-gradient products all
run through the photonic model.

GEMM shapes come from the same formulation as :func:`bplight.mapping.layer_gemms`:

* forward ``Y = cols @ W.T``;
* error ``dcols = dY @ W`` (input operand: the signed error; weight operand: ``W.T``,
  chunked along ``Cout``), then col2im folds overlaps digitally;
* weight gradient ``dW.T = cols.T @ dY`` (input operand: the activations; weight
  operand: ``dY.T``, the errors, chunked along batch × positions).

A grouped (or depthwise) convolution issues each product once per group on that group's
channels: one GemmShape with ``groups = g`` and the sizes of one group (every operand
keeps one full scale per tensor, as the chip's digital scaling sees whole tensors).

``exact`` mode materialises the im2col matrices and runs :func:`exact_matmul`; ``fast``
mode uses PyTorch's convolution kernels on the quantized, crosstalk-mixed operands and
adds the mapping's noise.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from bplight.mapping import GemmShape
from bplight.numerics.calibration import conv_sample, matmul_sample
from bplight.numerics.context import HardwareContext
from bplight.numerics.engine import (
    Operand,
    ReadErrors,
    exact_matmul,
    fast_matmul,
    mix_weight,
    operand_read_errors,
    rounds_away_crosstalk,
)


def _has_negative(t: torch.Tensor) -> bool:
    return bool(torch.aminmax(t.detach())[0] < 0)


def photonic_matmul(hw: HardwareContext, phase: str, a: torch.Tensor, b: torch.Tensor,
                    layer: str = "", weight_static: bool = True) -> torch.Tensor:
    """``a[M, K] @ b[N, K].T`` on the chip, for ``phase``; plain matmul when the product
    is digital."""
    gemm = GemmShape(a.shape[0], a.shape[1], b.shape[0], phase,
                     input_signed=_has_negative(a), weight_static=weight_static, layer=layer)
    m = hw.plan(gemm, matmul_sample(a, b))
    if not m.analog:
        hw.record(m)
        return a @ b.t()
    phys = hw.physics(phase, a.device)
    gen = hw.generator(a.device)
    if hw.mode == "exact":
        tally: dict[str, int] = {}
        y = exact_matmul(a, b, m, phys, gen, tally=tally)
        hw.record(m, tally)
        return y
    hw.record(m)
    return fast_matmul(a, b, m, phys, gen)


def _fast_linear_product(hw: HardwareContext, phase: str, a: Operand, b: Operand,
                         layer: str, a_t: bool = False, b_t: bool = False,
                         out_t: bool = False, weight_static: bool = True) -> torch.Tensor:
    """Fast-mode ``A[M, K] @ B[N, K].T`` for operands held (maybe transposed: ``a_t``,
    ``b_t``) by ``a`` / ``b``; ``out_t``: return the product transposed. Same mapping,
    operand encoding and noise as :func:`photonic_matmul` on ``A`` and ``B``."""
    A = a.tensor.t() if a_t else a.tensor
    B = b.tensor.t() if b_t else b.tensor
    gemm = GemmShape(A.shape[0], A.shape[1], B.shape[0], phase, input_signed=a.negative,
                     weight_static=weight_static, layer=layer)
    m = hw.plan(gemm, matmul_sample(A, B))
    hw.record(m)
    if not m.analog:
        return B @ A.t() if out_t else A @ B.t()
    phys = hw.physics(phase, A.device)
    aq = a.quantized(m.input_code_bits)
    bq = b.quantized(m.weight_magnitude_bits)
    aq = aq.t() if a_t else aq
    bq = mix_weight(bq.t() if b_t else bq, m, phys)
    y = bq @ aq.t() if out_t else aq @ bq.t()
    return hw.add_read_errors_(y, operand_read_errors(m, phys, a, b))


class PhotonicLinearFunction(torch.autograd.Function):
    """``y = x @ W.T (+ b)`` with all three products on the photonic core."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                hw: HardwareContext, name: str) -> torch.Tensor:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        ctx.ops = None
        if hw.mode == "exact":
            y = photonic_matmul(hw, "forward", x2, weight, name)
        else:  # operands kept for the backward products (quantized copies, occupancy)
            xo, wo = Operand(x2), Operand(weight)
            ctx.ops = (xo, wo)
            y = _fast_linear_product(hw, "forward", xo, wo, name)
        if bias is not None:
            y = y.add_(bias) if ctx.ops is not None else y + bias
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
        if ctx.ops is None:
            if ctx.needs_input_grad[0]:
                grad_x = photonic_matmul(hw, "error", g2, weight.t().contiguous(), ctx.name)
                grad_x = grad_x.reshape(ctx.shape)
            if ctx.needs_input_grad[1]:
                grad_w = photonic_matmul(hw, "weight_grad", x2.t().contiguous(),
                                         g2.t().contiguous(), ctx.name,
                                         weight_static=False).t()
        else:
            xo, wo = ctx.ops
            go = Operand(g2)
            if ctx.needs_input_grad[0]:  # dX = dY @ W: input dY, weight operand W.T
                grad_x = _fast_linear_product(hw, "error", go, wo, ctx.name, b_t=True)
                grad_x = grad_x.reshape(ctx.shape)
            if ctx.needs_input_grad[1]:  # dW.T = X.T @ dY: input X.T, weight operand dY.T
                grad_w = _fast_linear_product(hw, "weight_grad", xo, go, ctx.name, a_t=True,
                                              b_t=True, out_t=True, weight_static=False)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g2.sum(0)
        return grad_x, grad_w, grad_b, None, None


class PhotonicConv2dFunction(torch.autograd.Function):
    """2-D convolution (any ``groups``) with all three products on the photonic core."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                hw: HardwareContext, name: str, stride: tuple[int, int],
                padding: tuple[int, int], dilation: tuple[int, int],
                groups: int = 1) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.hw, ctx.name, ctx.has_bias, ctx.groups = hw, name, bias is not None, groups
        ctx.conv = dict(stride=stride, padding=padding, dilation=dilation)
        cout, kf = weight.shape[0], weight[0].numel()  # kf: K of one group
        batch = x.shape[0]
        hout = (x.shape[2] + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) \
            // stride[0] + 1
        wout = (x.shape[3] + 2 * padding[1] - dilation[1] * (weight.shape[3] - 1) - 1) \
            // stride[1] + 1
        ctx.out_hw = (hout, wout)
        xo = Operand(x)  # shared with the weight gradient (scale, sign, quantized copy)
        ctx.xo, ctx.wo = xo, None
        gemm = GemmShape(batch * hout * wout, kf, cout // groups, "forward",
                         input_signed=xo.negative, layer=name, groups=groups)
        m = hw.plan(gemm, conv_sample(x, weight, None, "forward", ctx.conv, groups))
        if not m.analog:
            hw.record(m)
            y = F.conv2d(x, weight, None, groups=groups, **ctx.conv)
        elif hw.mode == "exact":
            wo = ctx.wo = Operand(weight)
            cols = F.unfold(x, weight.shape[2:], **ctx.conv)  # [B, g·Kf, L]
            tally: dict[str, int] = {}
            parts = []
            for a, w_g in zip(_group_rows(cols, groups), weight.reshape(groups, -1, kf),
                              strict=True):
                parts.append(exact_matmul(a, w_g, m, hw.physics("forward", x.device),
                                          hw.generator(x.device), (xo.scale, wo.scale),
                                          xo.negative, tally))
            hw.record(m, tally)
            y2 = torch.cat(parts, 1)  # [B·L, Cout]
            y = y2.reshape(batch, hout * wout, cout).transpose(1, 2).reshape(
                batch, cout, hout, wout)
        else:
            hw.record(m)
            phys = hw.physics("forward", x.device)
            wo = ctx.wo = Operand(weight)  # shared with the error product
            wq = mix_weight(wo.quantized(m.weight_magnitude_bits).reshape(cout, kf), m, phys)
            # (the bias, added digitally, goes into the convolution kernel)
            y = F.conv2d(xo.quantized(m.input_code_bits), wq.reshape(weight.shape),
                         None if bias is None else bias.detach(), groups=groups, **ctx.conv)
            return hw.add_read_errors_(y, operand_read_errors(m, phys, xo, wo))
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        hw: HardwareContext = ctx.hw
        grad_y = grad_y.contiguous()
        grad_x = grad_w = grad_b = None
        go = Operand(grad_y)  # shared by the error and weight-gradient products
        wo = ctx.wo if ctx.wo is not None else Operand(weight)
        err = wgt = None
        g = ctx.groups
        if ctx.needs_input_grad[0]:
            err = _conv_error(hw, ctx.name, go, x, wo, ctx.conv, ctx.out_hw, g)
        if ctx.needs_input_grad[1]:
            wgt = _conv_weight_grad(hw, ctx.name, go, ctx.xo, weight, ctx.conv, ctx.out_hw, g)
        if isinstance(err, _FastConvProduct) and isinstance(wgt, _FastConvProduct) \
                and err.a is wgt.a:
            # one backward kernel for both products (they share the quantized error)
            grad_x, grad_w, _ = torch.ops.aten.convolution_backward(
                err.a, wgt.b, err.b, None, *_conv_args(ctx.conv, g), [True, True, False])
            err.finish(hw, grad_x)
            wgt.finish(hw, grad_w)
        else:
            grad_x = err.run(hw) if isinstance(err, _FastConvProduct) else err
            grad_w = wgt.run(hw) if isinstance(wgt, _FastConvProduct) else wgt
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_y.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None, None, None, None


def _group_rows(cols: torch.Tensor, groups: int) -> list[torch.Tensor]:
    """im2col ``cols`` [B, g·Kf, L] as each group's input operand [B·L, Kf] (unfold
    orders channels outermost, so a group's Kf columns are contiguous)."""
    batch, kg, _ = cols.shape
    kf = kg // groups
    return [cols[:, i * kf:(i + 1) * kf].transpose(1, 2).reshape(-1, kf)
            for i in range(groups)]


def _conv_args(conv: dict, groups: int = 1) -> tuple:
    """stride, padding, dilation, transposed, output_padding, groups of
    ``aten.convolution_backward``."""
    return (list(conv["stride"]), list(conv["padding"]), list(conv["dilation"]), False,
            [0, 0], groups)


class _FastConvProduct:
    """A fast-mode backward product of a conv layer, prepared: the quantized operands of
    ``aten.convolution_backward`` (``a``: grad_output, ``b``: input or weight), which
    gradient it yields (``grad_input`` or not) and the read errors to add."""

    __slots__ = ("a", "b", "grad_input", "shape", "conv", "groups", "errs", "gain")

    def __init__(self, a: torch.Tensor, b: torch.Tensor, grad_input: bool, shape: torch.Size,
                 conv: dict, groups: int, errs: ReadErrors,
                 gain: torch.Tensor | None = None) -> None:
        self.a, self.b, self.grad_input, self.shape = a, b, grad_input, shape
        self.conv, self.groups, self.errs, self.gain = conv, groups, errs, gain

    def run(self, hw: HardwareContext) -> torch.Tensor:
        args = _conv_args(self.conv, self.groups)
        shaped = self.a.new_empty(1).expand(self.shape)  # only its shape is read
        if self.grad_input:  # input gradient of the conv with weight b, grad_output a
            out = torch.ops.aten.convolution_backward(self.a, shaped, self.b, None, *args,
                                                      [True, False, False])[0]
        else:  # weight gradient of the conv of input b, grad_output a
            out = torch.ops.aten.convolution_backward(self.a, self.b, shaped, None, *args,
                                                      [False, True, False])[1]
        return self.finish(hw, out)

    def finish(self, hw: HardwareContext, out: torch.Tensor) -> torch.Tensor:
        return hw.add_read_errors_(out, self.errs, gain=self.gain)


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


def _conv_error(hw: HardwareContext, name: str, go: Operand, x: torch.Tensor, wo: Operand,
                conv: dict, out_hw: tuple[int, int], groups: int = 1
                ) -> torch.Tensor | _FastConvProduct:
    """Input gradient of a conv layer; in fast mode, the product prepared (not run)."""
    grad_y, weight = go.tensor, wo.tensor
    cout, kf = weight.shape[0], weight[0].numel()
    cout_g = cout // groups
    batch = grad_y.shape[0]
    gemm = GemmShape(batch * out_hw[0] * out_hw[1], cout_g, kf, "error",
                     input_signed=go.negative, layer=name, groups=groups)
    m = hw.plan(gemm, conv_sample(x, weight, grad_y, "error", conv, groups))
    if not m.analog:
        hw.record(m)
        return torch.nn.grad.conv2d_input(x.shape, weight, grad_y, groups=groups, **conv)
    phys = hw.physics("error", x.device)
    if hw.mode == "exact":
        tally: dict[str, int] = {}
        g_rows = grad_y.reshape(batch, cout, -1).transpose(1, 2)  # [B, L, Cout]
        parts = []
        for i, w_g in enumerate(weight.reshape(groups, cout_g, kf)):
            a = g_rows[..., i * cout_g:(i + 1) * cout_g].reshape(-1, cout_g)
            # weight operand W_g.T [Kf, Cout_g]: rows are outputs
            parts.append(exact_matmul(a, w_g.t().contiguous(), m, phys,
                                      hw.generator(x.device), (go.scale, wo.scale),
                                      go.negative, tally))
        hw.record(m, tally)
        dcols = torch.cat(parts, 1).reshape(batch, -1, groups * kf).transpose(1, 2)
        return F.fold(dcols, x.shape[2:], weight.shape[2:], **conv)
    hw.record(m)
    # weight operand W_g.T [Kf, Cout_g] per group: same values (scale, quantization) as
    # the forward's W, crosstalk-mixed along Cout_g
    wq = wo.quantized(m.weight_magnitude_bits).reshape(groups, cout_g, kf)
    w_eff = mix_weight(wq.transpose(1, 2), m, phys).transpose(1, 2).reshape(weight.shape)
    errs = operand_read_errors(m, phys, go, wo)
    root_counts = _overlap_counts(x.shape, weight.shape, conv, out_hw, x.device) \
        if errs.var > 0 else None
    return _FastConvProduct(go.quantized(m.input_code_bits), w_eff, True, x.shape, conv,
                            groups, errs, root_counts)


def _conv_weight_grad(hw: HardwareContext, name: str, go: Operand, xo: Operand,
                      weight: torch.Tensor, conv: dict, out_hw: tuple[int, int],
                      groups: int = 1) -> torch.Tensor | _FastConvProduct:
    """Weight gradient of a conv layer; in fast mode, the product prepared (not run)."""
    grad_y, x = go.tensor, xo.tensor
    cout, kf = weight.shape[0], weight[0].numel()
    cout_g = cout // groups
    batch = grad_y.shape[0]
    positions = batch * out_hw[0] * out_hw[1]
    gemm = GemmShape(kf, positions, cout_g, "weight_grad", input_signed=xo.negative,
                     weight_static=False, layer=name, groups=groups)
    m = hw.plan(gemm, conv_sample(x, weight, grad_y, "weight_grad", conv, groups))
    if not m.analog:
        hw.record(m)
        return torch.nn.grad.conv2d_weight(x, weight.shape, grad_y, groups=groups, **conv)
    phys = hw.physics("weight_grad", x.device)
    if hw.mode == "exact":
        tally: dict[str, int] = {}
        g_rows = grad_y.transpose(0, 1).reshape(cout, positions)  # [Cout, B·L] (b, h, w)
        cols = F.unfold(x, weight.shape[2:], **conv)  # [B, g·Kf, L]
        parts = []
        for i in range(groups):
            a = cols[:, i * kf:(i + 1) * kf].transpose(0, 1).reshape(kf, positions)
            b = g_rows[i * cout_g:(i + 1) * cout_g].contiguous()
            dwt = exact_matmul(a, b, m, phys, hw.generator(x.device), (xo.scale, go.scale),
                               xo.negative, tally)
            parts.append(dwt.t())
        hw.record(m, tally)
        return torch.cat(parts, 0).reshape(weight.shape)
    hw.record(m)
    gq = go.quantized(m.weight_magnitude_bits)
    if not (rounds_away_crosstalk(m) or phys.crosstalk is None):
        # crosstalk mixes neighbouring positions of the error rows on the rings
        g_rows = gq.transpose(0, 1).reshape(cout, positions)  # weight operand [Cout, B·L]
        gq = mix_weight(g_rows, m, phys).reshape(cout, batch, *out_hw).transpose(0, 1)
        gq = gq.contiguous()
    return _FastConvProduct(gq, xo.quantized(m.input_code_bits), False, weight.shape, conv,
                            groups, operand_read_errors(m, phys, xo, go))
