"""Mapping of a matrix product onto the photonic core: the single source of truth.

Every matrix product of training is written ``Y[M, N] = A[M, K] @ B[N, K].T``:

* ``A`` is the **input operand**: modulated onto the wavelengths of a bank, one
  ``dac_bits`` slice at a time (bit-serial in time);
* ``B`` is the **weight operand**: set on the rings of the weight banks, one
  ``ring_bits`` slice per ring (slices side by side in space); its sign is realised
  optically by balanced detection of the drop and through ports;
* the reduction dimension ``K`` is cut into chunks of ``wavelengths_per_bank``; each
  (chunk, input slice, weight slice, sign pass) is one **analog pass** summed by one
  balanced detector and read by one ADC conversion, then shifted and added digitally.

Signed input operands (backpropagated errors; inputs of the first layer) need either
two passes (positive and negative parts; the default, ``two_pass``) or an offset
encoding (``offset``: add 2^(b-1), subtract a correction computed digitally, one
extra magnitude bit). Non-negative operands (post-ReLU activations) take one pass.

:func:`plan` turns a GEMM shape and a :class:`~bplight.config.HardwareSpec` into a
:class:`Mapping`. The numerical engine slices and chunks by it; the cost engine counts
actions from it. :func:`layer_gemms` defines, once, which GEMMs a conv/linear layer
issues in each phase; both engines call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bplight.config.spec import PHASES, HardwareSpec


@dataclass(frozen=True)
class GemmShape:
    """``Y[m, n] = A[m, k] @ B[n, k].T`` issued by one layer in one phase.

    ``input_signed``: whether the input operand ``A`` may hold negative values.
    ``weight_static``: whether ``B`` stays on the rings across many products (layer
    weights in the forward and error phases) or is re-set for every product
    (activations in the weight-gradient phase).
    ``fold_adds``: digital additions after the GEMM (col2im overlaps of a conv's
    error product), counted by the cost engine.
    ``groups``: the product is issued ``groups`` times on independent operands (a grouped
    or depthwise convolution: ``m, k, n`` are the sizes of one group); every count of
    the Mapping is for all groups together.
    """

    m: int
    k: int
    n: int
    phase: str = "forward"
    input_signed: bool = True
    weight_static: bool = True
    fold_adds: int = 0
    layer: str = ""
    groups: int = 1

    def __post_init__(self) -> None:
        if min(self.m, self.k, self.n, self.groups) < 1:
            raise ValueError(f"GEMM dimensions must be >= 1, got m={self.m} k={self.k} n={self.n}")
        if self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r}; allowed: {', '.join(PHASES)}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the product (``groups·m·k·n``)."""
        return self.groups * self.m * self.k * self.n


@dataclass(frozen=True)
class Mapping:
    """How one GEMM runs on the chip. All counts are for the whole GEMM."""

    gemm: GemmShape
    analog: bool
    chunk: int
    k_chunks: int
    input_bits: int | None
    weight_bits: int | None
    input_magnitude_bits: int | None
    weight_magnitude_bits: int | None
    dac_bits: int
    ring_bits: int
    input_slices: int
    weight_slices: int
    sign_passes: int
    offset_encoding: bool
    adc_bits: int | None
    adc_range: float
    full_scale: int = field(repr=False)

    @property
    def input_code_bits(self) -> int | None:
        """Magnitude bits of the signed input code (before any offset is added)."""
        if self.input_magnitude_bits is None:
            return None
        return self.input_magnitude_bits - 1 if self.offset_encoding else self.input_magnitude_bits

    @property
    def passes_per_chunk(self) -> int:
        """Analog passes for one output element and one K-chunk."""
        return self.input_slices * self.weight_slices * self.sign_passes

    @property
    def analog_passes(self) -> int:
        """Balanced-detector reads = ADC conversions of the whole GEMM."""
        if not self.analog:
            return 0
        return self.gemm.m * self.gemm.n * self.k_chunks * self.passes_per_chunk

    @property
    def adc_conversions(self) -> int:
        return self.analog_passes

    @property
    def dac_conversions(self) -> int:
        """Input-operand symbols modulated: every element of A, once per input slice and
        sign pass, for every group of banks that needs it (counted once here; the cost
        engine multiplies by the broadcast it assumes)."""
        if not self.analog:
            return 0
        return self.gemm.m * self.gemm.k * self.input_slices * self.sign_passes

    @property
    def ring_settings(self) -> int:
        """Ring (weight-slice) settings to load B once: n·k·weight_slices."""
        if not self.analog:
            return 0
        return self.gemm.n * self.gemm.k * self.weight_slices

    @property
    def bank_passes(self) -> int:
        """Bank-cycles: one bank (chunk rings + balanced detector) busy for one symbol."""
        return self.analog_passes

    @property
    def shift_adds(self) -> int:
        """Digital shift-and-add operations combining the passes into outputs."""
        if not self.analog:
            return 0
        return self.analog_passes - self.gemm.m * self.gemm.n + self.gemm.fold_adds

    @property
    def digital_macs(self) -> int:
        """MACs done by digital units (the whole GEMM when the product is not analog)."""
        return 0 if self.analog else self.gemm.macs

    @property
    def pass_full_scale(self) -> int:
        """Largest |partial sum| of one pass in slice units: chunk·(2^dac−1)·(2^ring−1)."""
        return self.full_scale

    @property
    def integer_sums(self) -> bool:
        """Whether each pass sums integer slice values (both operands quantized)."""
        return self.input_magnitude_bits is not None and self.weight_magnitude_bits is not None

    @property
    def adc_clip(self) -> float:
        """Largest |read| of the ADC, in slice units (inf for an ideal readout)."""
        return math.inf if self.adc_bits is None else self.adc_range * self.full_scale

    @property
    def adc_step(self) -> float:
        """ADC step in slice units; 0 for an ideal readout.

        With integer sums the designer sets the step to one slice unit when the ADC has
        enough codes (2^(b-1) - 1 >= adc_range·full_scale): noise-free reads are exact.
        Otherwise the step is ``adc_range·full_scale / (2^(b-1) - 1)``.
        """
        if self.adc_bits is None:
            return 0.0
        codes = 2 ** (self.adc_bits - 1) - 1
        if codes < 1:
            return 2.0 * self.adc_clip
        step = self.adc_clip / codes
        return max(step, 1.0) if self.integer_sums else step

    @property
    def needed_adc_bits(self) -> int:
        """Bits to read a pass exactly (sign + magnitude of the worst-case sum)."""
        return 1 + math.ceil(math.log2(self.full_scale + 1))

    @property
    def adc_read_bits(self) -> int:
        """Resolution each pass is read at: ``adc_bits``, or for an ideal readout
        (``adc_bits`` None) the bits an exact read needs (what the cost engine charges)."""
        return self.adc_bits if self.adc_bits is not None else self.needed_adc_bits

    @property
    def weight_rows(self) -> int:
        """Bank rows that hold one K-chunk of ``B``: one per (output, weight slice),
        ``n·weight_slices``. A core with ``banks_per_core`` banks holds that many."""
        return self.gemm.n * self.weight_slices

    @property
    def stream_length(self) -> int:
        """Input symbols streamed through a bank while one K-chunk of ``B`` stays on its
        rings: ``m·input_slices·sign_passes``. ``analog_passes`` = ``stream_length`` ×
        ``weight_rows`` × ``k_chunks`` for an analog product."""
        return self.gemm.m * self.input_slices * self.sign_passes


def _magnitude_bits(bits: int | None, signed: bool, offset: bool) -> int | None:
    if bits is None:
        return None
    # sign + magnitude: a b-bit operand has b-1 magnitude bits. With the offset
    # encoding a signed operand is shifted to unsigned and keeps all b bits.
    if signed and offset:
        return bits
    return bits - 1


def plan(gemm: GemmShape, spec: HardwareSpec) -> Mapping:
    """Map ``gemm`` onto the chip described by ``spec`` (the product config of its phase)."""
    p = spec.product(gemm.phase)
    analog = p.analog and not spec.is_fp32
    chunk = spec.photonics.wavelengths_per_bank
    k_chunks = math.ceil(gemm.k / chunk)
    offset = gemm.input_signed and p.signed_inputs == "offset" and p.input_bits is not None
    in_mag = _magnitude_bits(p.input_bits, gemm.input_signed, offset)
    w_mag = _magnitude_bits(p.weight_bits, True, False)
    # Unquantized operands ("ideal") are sent as one analog value per symbol.
    input_slices = 1 if in_mag is None else math.ceil(in_mag / p.dac_bits)
    weight_slices = 1 if w_mag is None else math.ceil(w_mag / p.ring_bits)
    sign_passes = 2 if (gemm.input_signed and not offset) else 1
    full_scale = chunk * (2**p.dac_bits - 1) * (2**p.ring_bits - 1)
    return Mapping(
        gemm=gemm, analog=analog, chunk=chunk, k_chunks=k_chunks,
        input_bits=p.input_bits, weight_bits=p.weight_bits,
        input_magnitude_bits=in_mag, weight_magnitude_bits=w_mag,
        dac_bits=p.dac_bits, ring_bits=p.ring_bits,
        input_slices=input_slices, weight_slices=weight_slices,
        sign_passes=sign_passes, offset_encoding=offset,
        adc_bits=p.adc_bits, adc_range=p.adc_range, full_scale=full_scale,
    )


@dataclass(frozen=True)
class LayerShape:
    """A conv or linear layer as the mapping sees it (per batch of ``batch`` samples).

    For a linear layer ``kernel = (1, 1)`` and ``out_hw = (1, 1)``; ``in_features`` =
    ``in_channels``.
    """

    name: str
    kind: str  # "conv" or "linear"
    in_channels: int
    out_channels: int
    kernel: tuple[int, int] = (1, 1)
    out_hw: tuple[int, int] = (1, 1)
    in_hw: tuple[int, int] = (1, 1)
    batch: int = 1
    input_signed: bool = False
    first_layer: bool = False

    @property
    def positions(self) -> int:
        return self.out_hw[0] * self.out_hw[1]

    @property
    def k_forward(self) -> int:
        return self.in_channels * self.kernel[0] * self.kernel[1]


def layer_gemms(layer: LayerShape) -> dict[str, GemmShape]:
    """The GEMMs a layer issues in each phase of training (im2col formulation).

    * forward: ``cols[B·P, Cin·kh·kw] @ W[Cout, Cin·kh·kw].T`` (input signed only where
      the layer's input is: the first layer's normalised image, or a layer not after
      ReLU);
    * error (grad_input): ``dY[B·P, Cout] @ W.T`` → ``dcols[B·P, Cin·kh·kw]``, then
      col2im folds overlapping columns digitally (``fold_adds``); errors are signed.
      The first layer needs no error product (no grad_input to the data).
    * weight_grad: ``cols.T[Cin·kh·kw, B·P] @ dY[B·P, Cout]`` → ``dW.T``; the input
      operand is the activations (one pass when non-negative), the weight operand the
      signed errors, set on the rings for every product (balanced detection carries
      their sign, so no second pass is needed).
    """
    bp = layer.batch * layer.positions
    kf = layer.k_forward
    out: dict[str, GemmShape] = {
        "forward": GemmShape(bp, kf, layer.out_channels, "forward",
                             input_signed=layer.input_signed, weight_static=True,
                             layer=layer.name),
    }
    if not layer.first_layer:
        in_elems = layer.batch * layer.in_channels * layer.in_hw[0] * layer.in_hw[1]
        fold = max(bp * kf - in_elems, 0) if layer.kind == "conv" else 0
        out["error"] = GemmShape(bp, layer.out_channels, kf, "error", input_signed=True,
                                 weight_static=True, fold_adds=fold, layer=layer.name)
    out["weight_grad"] = GemmShape(kf, bp, layer.out_channels, "weight_grad",
                                   input_signed=layer.input_signed, weight_static=False,
                                   layer=layer.name)
    return out
