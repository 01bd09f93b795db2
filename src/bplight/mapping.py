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
  Under ``slice_sum: analog`` the passes of a K-chunk are shifted and added in the
  analog domain instead and the ADC reads their sum once (``adc_reads``,
  :mod:`bplight.photonics.slice_sum`).

Signed input operands (backpropagated errors; inputs of the first layer) need either
two passes (positive and negative parts; the default, ``two_pass``) or an offset
encoding (``offset``: add 2^(b-1), subtract a correction computed digitally, one
extra magnitude bit). Non-negative operands (post-ReLU activations) take one pass.

:func:`plan_arrays` holds the formulas, once, over numpy arrays (many GEMMs and design
points at a time: the cost engine's :func:`~bplight.cost.estimate` and
:func:`~bplight.cost.sweep`); :func:`plan` is its one-GEMM case, turning a GEMM shape and
a :class:`~bplight.config.HardwareSpec` into a :class:`Mapping` of plain Python values,
which the numerical engine slices and chunks by. A grouped GEMM (``groups`` > 1) counts
all its groups. :func:`layer_gemms` defines, once, which GEMMs a conv/linear layer issues
in each phase; both engines call it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bplight.config.spec import PHASES, HardwareSpec


@dataclass(frozen=True)
class GemmShape:
    """``Y[m, n] = A[m, k] @ B[n, k].T`` issued by one layer in one phase.

    ``input_signed``: whether the input operand ``A`` may hold negative values.
    ``weight_static``: whether ``B`` stays on the rings across many products (layer
    weights in the forward and error phases) or is re-set for every product
    (activations in the weight-gradient phase).
    ``fold_adds``: digital additions after the GEMM, all groups together (col2im overlaps
    of a conv's error product), counted by the cost engine.
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


_INT_FIELDS = ("m", "k", "n", "groups", "fold_adds", "chunk", "k_chunks", "dac_bits",
               "ring_bits", "input_slices", "weight_slices", "sign_passes", "full_scale",
               "passes_per_chunk", "analog_passes", "dac_conversions", "ring_settings",
               "shift_adds", "digital_macs", "weight_rows", "stream_length",
               "needed_adc_bits", "adc_read_bits", "sum_full_scale", "adc_reads",
               "analog_adds")
_BOOL_FIELDS = ("analog", "input_signed", "offset_encoding", "integer_sums",
                "slice_sum_analog")
_FLOAT_FIELDS = ("adc_range", "adc_clip", "adc_step")
_BITS_FIELDS = ("input_bits", "weight_bits", "adc_bits", "input_magnitude_bits",
                "weight_magnitude_bits", "input_code_bits")
"""Optional bit widths: 0 in the arrays of :func:`plan_arrays` stands for ``None`` (an
unquantized operand, an ideal readout); :func:`plan` turns it back into ``None``."""


@dataclass(frozen=True)
class Mapping:
    """How a GEMM runs on the chip; every count is for the whole GEMM (all its groups).

    Returned by :func:`plan` for one GEMM (plain ``int``/``bool``/``float`` fields,
    ``None`` for an unquantized operand or an ideal readout) and by :func:`plan_arrays`
    for many at once (numpy arrays broadcast over GEMMs and design points; 0 stands for
    ``None`` in the bit-width fields). Both come from the same formulas.
    """

    gemm: GemmShape | None  # None for the array form
    m: Any
    k: Any
    n: Any
    groups: Any
    fold_adds: Any
    input_signed: Any
    analog: Any
    chunk: Any
    k_chunks: Any
    input_bits: Any
    weight_bits: Any
    input_magnitude_bits: Any
    weight_magnitude_bits: Any
    input_code_bits: Any
    """Magnitude bits of the signed input code (before any offset is added)."""
    dac_bits: Any
    ring_bits: Any
    input_slices: Any
    weight_slices: Any
    sign_passes: Any
    offset_encoding: Any
    adc_bits: Any
    adc_range: Any
    full_scale: Any
    """Largest |partial sum| of one pass in slice units: chunk·(2^dac−1)·(2^ring−1)."""
    integer_sums: Any
    """Whether each pass sums integer slice values (both operands quantized)."""
    needed_adc_bits: Any
    """Bits to read a pass exactly (sign + magnitude of the worst-case sum)."""
    adc_read_bits: Any
    """Resolution each pass is read at: ``adc_bits``, or for an ideal readout the bits an
    exact read needs (what the cost engine charges)."""
    adc_clip: Any
    """Largest |read| of the ADC, in its read units (inf for an ideal readout): slice
    units of one pass, or under ``slice_sum_analog`` code units of the analog sum."""
    adc_step: Any
    """ADC step in its read units; 0 for an ideal readout. With integer sums the designer
    sets the step to one unit when the ADC has enough codes (2^(b-1) - 1 >=
    adc_range·read full scale): noise-free reads are exact. Otherwise the step is
    ``adc_range·read full scale / (2^(b-1) - 1)``; the read full scale is ``full_scale``
    (one pass) or ``sum_full_scale`` (the analog sum)."""
    passes_per_chunk: Any
    """Analog passes for one output element and one K-chunk."""
    analog_passes: Any
    """Balanced-detector reads = ADC conversions of the whole GEMM."""
    dac_conversions: Any
    """Input-operand symbols modulated: every element of A, once per input slice and sign
    pass (counted once here; the cost engine multiplies by the broadcast it assumes)."""
    ring_settings: Any
    """Ring (weight-slice) settings to load B once: groups·n·k·weight_slices."""
    shift_adds: Any
    """Digital shift-and-add operations combining the passes into outputs (+ fold adds)."""
    digital_macs: Any
    """MACs done by digital units (the whole GEMM when the product is not analog)."""
    weight_rows: Any
    """Bank rows that hold one K-chunk of one group's ``B``: one per (output, weight
    slice), ``n·weight_slices``. A core with ``banks_per_core`` banks holds that many."""
    stream_length: Any
    """Input symbols streamed through a bank while one K-chunk of one group's ``B`` stays
    on its rings: ``m·input_slices·sign_passes``. ``analog_passes`` = ``groups`` ×
    ``stream_length`` × ``weight_rows`` × ``k_chunks`` for an analog product."""
    slice_sum_analog: Any
    """Whether the passes of one K-chunk are shifted and added in the analog domain and
    read by one ADC conversion (``slice_sum: analog``, :mod:`bplight.photonics.slice_sum`);
    false for a digital product."""
    sum_full_scale: Any
    """Largest |output| of one K-chunk in code units, chunk·(2^m_in − 1)·(2^m_w − 1) (1 in
    place of an unquantized operand's levels): the range the analog sum spans."""
    adc_reads: Any
    """ADC conversions of the whole GEMM: one per pass (digital slice sum), or one per
    output element and K-chunk (analog slice sum)."""
    analog_adds: Any
    """Passes sampled into an analog shift-and-add accumulator (``analog_passes`` under
    the analog slice sum, else 0): the accumulator's actions."""
    adc_clip_var: Any = 0.0
    """Mean-square error that clipping at ``adc_clip`` adds to one K-chunk of one output
    element (code units², all passes weighted by their significance), as a calibration
    measured it on real operands (:mod:`bplight.numerics.calibration`); 0 where no
    calibration ran (a worst-case range never clips). The fast numerics add it."""
    slice_adder_sigma: Any = 0.0
    """Noise std (code units) the analog shift-and-add accumulator adds to one K-chunk's
    sum before its ADC read (kT/C, :func:`bplight.photonics.slice_sum.adder_sigma`);
    0 under the digital slice sum, without detector noise, and in the array form."""
    pair_adc_step: Any = ()
    """Under ``adc_range_granularity: slice_pair`` (calibrated), the ADC step of each
    (input slice, weight slice) pair's reads, ``[input_slices][weight_slices]`` (slice
    units; ``adc_step`` is then the coarsest); () where one range serves every pass."""
    pair_adc_clip: Any = ()
    """The clip of each pair's reads, as ``pair_adc_step``."""


def _ceil_div(a: Any, b: Any) -> Any:
    """``ceil(a / b)`` for non-negative integers (int or float arrays), exactly."""
    return -(-a // b)


def plan_arrays(m: Any, k: Any, n: Any, *, groups: Any = 1, input_signed: Any = True,
                fold_adds: Any = 0, analog: Any = True, input_bits: Any = 16,
                weight_bits: Any = 16, dac_bits: Any = 1, ring_bits: Any = 1,
                adc_bits: Any = 0, adc_range: Any = 1.0, offset_inputs: Any = False,
                chunk: Any = 16, analog_sum: Any = False) -> Mapping:
    """The Mapping of GEMMs ``groups × (Y[m, n] = A[m, k] @ B[n, k].T)``, every argument a
    scalar or a numpy array (all broadcast together): the one set of formulas behind
    :func:`plan`, :func:`bplight.cost.estimate` and :func:`bplight.cost.sweep`.

    Product settings as in :class:`~bplight.config.spec.ProductConfig`, except that 0
    stands for ``None`` in ``input_bits``, ``weight_bits`` and ``adc_bits``;
    ``offset_inputs``: ``signed_inputs == "offset"``; ``analog``: the product runs on the
    photonic core (false for digital products and in fp32 mode); ``chunk``: wavelengths
    per bank; ``analog_sum``: ``slice_sum == "analog"`` (the passes of a K-chunk summed in
    the analog domain, one ADC read of the sum: the ADC's range, step and needed bits
    then refer to ``sum_full_scale`` in code units).
    """
    in_q = np.asarray(input_bits) > 0
    w_q = np.asarray(weight_bits) > 0
    adc_q = np.asarray(adc_bits) > 0
    analog = np.asarray(analog, dtype=bool)
    signed = np.asarray(input_signed, dtype=bool)
    # sign + magnitude: a b-bit operand has b-1 magnitude bits. With the offset encoding a
    # signed operand is shifted to unsigned and keeps all b bits (one is the offset's).
    offset = signed & np.asarray(offset_inputs, dtype=bool) & in_q
    in_mag = np.where(in_q, np.where(offset, input_bits, np.subtract(input_bits, 1)), 0)
    w_mag = np.where(w_q, np.subtract(weight_bits, 1), 0)
    # Unquantized operands ("ideal") are sent as one analog value per symbol.
    input_slices = np.where(in_q, _ceil_div(in_mag, dac_bits), 1)
    weight_slices = np.where(w_q, _ceil_div(w_mag, ring_bits), 1)
    sign_passes = np.where(signed & ~offset, 2, 1)
    k_chunks = _ceil_div(np.asarray(k), chunk)
    full_scale = np.multiply(chunk, (np.power(2, dac_bits) - 1) * (np.power(2, ring_bits) - 1))
    integer_sums = in_q & w_q
    # the analog sum of a K-chunk: its worst case in code units (1 for unquantized levels)
    levels_in = np.where(in_q, np.power(2, in_mag) - 1, 1)
    levels_w = np.where(w_q, np.power(2, w_mag) - 1, 1)
    sum_fs = np.multiply(chunk, levels_in * levels_w)
    analog_sum = analog & np.asarray(analog_sum, dtype=bool)
    read_fs = np.where(analog_sum, sum_fs, full_scale)
    needed = 1 + np.ceil(np.log2(read_fs + 1.0)).astype(np.asarray(full_scale).dtype)
    clip = np.where(adc_q, np.multiply(adc_range, read_fs), math.inf)
    codes = np.exp2(np.subtract(adc_bits, 1.0)) - 1.0
    step = clip / np.maximum(codes, 1.0)
    step = np.where(~adc_q, 0.0, np.where(
        codes < 1.0, 2.0 * clip, np.where(integer_sums, np.maximum(step, 1.0), step)))

    stream = np.multiply(m, input_slices * sign_passes)
    weight_rows = np.multiply(n, weight_slices)
    passes = np.where(analog, groups * k_chunks * weight_rows * stream, 0)
    outputs = groups * np.multiply(m, n)
    reads = np.where(analog_sum, outputs * k_chunks, passes)
    return Mapping(
        gemm=None, m=m, k=k, n=n, groups=groups, fold_adds=fold_adds, input_signed=signed,
        analog=analog, chunk=chunk, k_chunks=k_chunks, input_bits=input_bits,
        weight_bits=weight_bits, input_magnitude_bits=in_mag, weight_magnitude_bits=w_mag,
        input_code_bits=np.where(offset, in_mag - 1, in_mag), dac_bits=dac_bits,
        ring_bits=ring_bits, input_slices=input_slices, weight_slices=weight_slices,
        sign_passes=sign_passes, offset_encoding=offset, adc_bits=adc_bits,
        adc_range=adc_range, full_scale=full_scale, integer_sums=integer_sums,
        needed_adc_bits=needed, adc_read_bits=np.where(adc_q, adc_bits, needed),
        adc_clip=clip, adc_step=step,
        passes_per_chunk=input_slices * weight_slices * sign_passes,
        analog_passes=passes,
        dac_conversions=np.where(analog, groups * np.multiply(m, k) * input_slices
                                 * sign_passes, 0),
        ring_settings=np.where(analog, groups * np.multiply(n, k) * weight_slices, 0),
        shift_adds=np.where(analog, reads - outputs + fold_adds, 0),
        digital_macs=np.where(analog, 0, groups * np.multiply(m, k) * n),
        weight_rows=weight_rows, stream_length=stream, slice_sum_analog=analog_sum,
        sum_full_scale=sum_fs, adc_reads=reads,
        analog_adds=np.where(analog_sum, passes, 0),
    )


def plan(gemm: GemmShape, spec: HardwareSpec, adc_range: float | None = None,
         adc_clip_var: float = 0.0, pair_ranges: Any = ()) -> Mapping:
    """Map ``gemm`` onto the chip described by ``spec`` (the product config of its phase):
    :func:`plan_arrays` for one GEMM, with plain Python values.

    ``adc_range`` / ``adc_clip_var``: a calibrated ADC range (fraction of the worst-case
    sum) and the clipping error it was measured to cause, in place of the product's
    ``adc_range`` (``adc_range_mode: calibrated``, :mod:`bplight.numerics.calibration`).
    Under ``slice_sum: analog`` the accumulator's noise (``slice_adder_sigma``) comes from
    ``spec.slice_adder`` (:func:`bplight.photonics.slice_sum.adder_sigma`).
    ``pair_ranges``: calibrated ranges per (input slice, weight slice) pair
    (``adc_range_granularity: slice_pair``), ``[input_slices][weight_slices]`` fractions
    of the worst-case sum; the Mapping's own range is then their largest, and each
    pair's step and clip (``pair_adc_step``, ``pair_adc_clip``) follow the same formulas
    as the Mapping's (:func:`plan_arrays`)."""
    p = spec.product(gemm.phase)
    pairs = np.asarray(pair_ranges, dtype=float)
    if pairs.size:
        adc_range = float(pairs.max())
    values = _plan_values(
        gemm.m, gemm.k, gemm.n, gemm.groups, gemm.input_signed, gemm.fold_adds,
        p.analog and not spec.is_fp32, p.input_bits or 0, p.weight_bits or 0, p.dac_bits,
        p.ring_bits, p.adc_bits or 0, p.adc_range if adc_range is None else float(adc_range),
        p.signed_inputs == "offset", spec.photonics.wavelengths_per_bank,
        p.slice_sum == "analog")
    acc = 0.0
    if values["slice_sum_analog"] and p.detector_noise:
        from bplight.photonics.slice_sum import adder_sigma

        acc = adder_sigma(spec, values["sum_full_scale"])
    steps = clips = ()
    if pairs.size:
        per = plan_arrays(
            1, spec.photonics.wavelengths_per_bank, 1, input_bits=p.input_bits or 0,
            weight_bits=p.weight_bits or 0, dac_bits=p.dac_bits, ring_bits=p.ring_bits,
            adc_bits=p.adc_bits or 0, adc_range=pairs, chunk=spec.photonics.
            wavelengths_per_bank, offset_inputs=p.signed_inputs == "offset")
        steps = tuple(tuple(float(v) for v in row) for row in per.adc_step)
        clips = tuple(tuple(float(v) for v in row) for row in per.adc_clip)
    return Mapping(gemm=gemm, adc_clip_var=float(adc_clip_var), slice_adder_sigma=acc,
                   pair_adc_step=steps, pair_adc_clip=clips, **values)


# Memoised: one numpy evaluation costs ~0.1 ms, and the link budget and the numerics ask
# for the same few GEMM/product combinations over and over (a sweep: 3 per design).
@functools.lru_cache(maxsize=4096)
def _plan_values(m: int, k: int, n: int, groups: int, signed: bool, fold: int, analog: bool,
                 input_bits: int, weight_bits: int, dac_bits: int, ring_bits: int,
                 adc_bits: int, adc_range: float, offset_inputs: bool, chunk: int,
                 analog_sum: bool = False) -> dict[str, Any]:
    arr = plan_arrays(m, k, n, groups=groups, input_signed=signed, fold_adds=fold,
                      analog=analog, input_bits=input_bits, weight_bits=weight_bits,
                      dac_bits=dac_bits, ring_bits=ring_bits, adc_bits=adc_bits,
                      adc_range=adc_range, offset_inputs=offset_inputs, chunk=chunk,
                      analog_sum=analog_sum)
    values: dict[str, Any] = {}
    for name in _INT_FIELDS:
        values[name] = int(getattr(arr, name))
    for name in _BOOL_FIELDS:
        values[name] = bool(getattr(arr, name))
    for name in _FLOAT_FIELDS:
        values[name] = float(getattr(arr, name))
    for name in _BITS_FIELDS:
        v = int(getattr(arr, name))
        values[name] = v if v > 0 else None
    return values


def cells_per_weight(weight_bits: Any, cell_bits: Any) -> Any:
    """Memristor cells per stored weight: ceil(magnitude bits / bits per cell), x2 for the
    differential pair that stores the sign (docs/sources.md#physics, memristor weights). Scalars or
    numpy arrays."""
    return 2 * _ceil_div(np.subtract(weight_bits, 1), cell_bits)


@dataclass(frozen=True)
class LayerShape:
    """A conv or linear layer as the mapping sees it (per batch of ``batch`` samples).

    For a linear layer ``kernel = (1, 1)`` and ``out_hw = (1, 1)``; ``in_features`` =
    ``in_channels``. ``in_channels`` and ``out_channels`` are the layer's totals; a grouped
    convolution (``groups`` > 1, as ``nn.Conv2d``: AlexNet's towers, depthwise and
    ResNeXt blocks) connects each output channel to ``in_channels / groups`` inputs.
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
    groups: int = 1

    def __post_init__(self) -> None:
        g = self.groups
        if g < 1 or self.in_channels % g or self.out_channels % g:
            raise ValueError(f"layer {self.name!r}: groups={g} must be >= 1 and divide "
                             f"in_channels={self.in_channels} and "
                             f"out_channels={self.out_channels}")

    @property
    def positions(self) -> int:
        return self.out_hw[0] * self.out_hw[1]

    @property
    def k_forward(self) -> int:
        """Reduction length of one output: ``in_channels / groups · kh · kw``."""
        return self.in_channels // self.groups * self.kernel[0] * self.kernel[1]

    @property
    def weights(self) -> int:
        """Weights of the layer (biases excluded): ``out_channels · k_forward``."""
        return self.out_channels * self.k_forward

    @property
    def macs(self) -> int:
        """MACs of one forward pass of the batch: ``batch · positions · weights``."""
        return self.batch * self.positions * self.weights


def layer_gemms(layer: LayerShape) -> dict[str, GemmShape]:
    """The GEMMs a layer issues in each phase of training (im2col formulation; a grouped
    convolution issues each GEMM ``groups`` times with the sizes of one group, ``kf`` =
    ``Cin/g·kh·kw``, ``n`` = ``Cout/g``):

    * forward: ``cols[B·P, kf] @ W[Cout/g, kf].T`` (input signed only where the layer's
      input is: the first layer's normalised image, or a layer not after ReLU);
    * error (grad_input): ``dY[B·P, Cout/g] @ W.T`` → ``dcols[B·P, kf]``, then col2im
      folds overlapping columns digitally (``fold_adds``, for all groups); errors are
      signed. The first layer needs no error product (no grad_input to the data).
    * weight_grad: ``cols.T[kf, B·P] @ dY[B·P, Cout/g]`` → ``dW.T``; the input operand is
      the activations (one pass when non-negative), the weight operand the signed errors,
      set on the rings for every product (balanced detection carries their sign, so no
      second pass is needed).
    """
    g = layer.groups
    bp = layer.batch * layer.positions
    kf = layer.k_forward
    n = layer.out_channels // g
    out: dict[str, GemmShape] = {
        "forward": GemmShape(bp, kf, n, "forward", input_signed=layer.input_signed,
                             weight_static=True, layer=layer.name, groups=g),
    }
    if not layer.first_layer:
        in_elems = layer.batch * layer.in_channels * layer.in_hw[0] * layer.in_hw[1]
        fold = max(g * bp * kf - in_elems, 0) if layer.kind == "conv" else 0
        out["error"] = GemmShape(bp, n, kf, "error", input_signed=True, weight_static=True,
                                 fold_adds=fold, layer=layer.name, groups=g)
    out["weight_grad"] = GemmShape(kf, bp, n, "weight_grad", input_signed=layer.input_signed,
                                   weight_static=False, layer=layer.name, groups=g)
    return out
