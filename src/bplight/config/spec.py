"""The hardware description: one validated, frozen config of a BPLight-CNN chip.

Everything the numerical engine and the cost engine know about the chip is read from a
:class:`HardwareSpec`. It splits the behaviour of a layer as aihwkit does — one
:class:`ProductConfig` for each of the three matrix products of training (``forward``,
``error`` = grad_input, ``weight_grad`` = grad_weight) and an :class:`UpdateConfig` for the
memristor writes — but in physical units, so that costs can be derived from it.

Numbers in the presets (``presets/*.yaml``) name their source; the defaults below are the
``bplight-16b`` reference design and carry their source in the field description.
Source keys are those of ``docs/sources.md``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bplight.config.base import FrozenConfig
from bplight.config.components import ComponentsConfig

SCHEMA_VERSION = 1

PHASES = ("forward", "error", "weight_grad")
"""The three matrix products of training, in the order they run."""


class ProductConfig(FrozenConfig):
    """How one matrix product (forward, error or weight-gradient) runs on the photonic core.

    The product is ``Y = A @ B.T``: ``A`` is the *input operand* (modulated onto the
    wavelengths through DACs and modulators), ``B`` the *weight operand* (set on the rings
    of a weight bank; signed by balanced detection). ``None`` for a resolution means "not
    quantized" (the ``ideal`` preset).
    """

    analog: bool = Field(
        True, description="Run this product on the photonic core; False runs it digitally "
        "in float (plain PyTorch) and costs it on the digital units.")
    input_bits: int | None = Field(
        16, ge=2, le=32, description="Resolution of the input operand (sign + magnitude); "
        "16 bits: the paper's resolution (BPLight-CNN abstract).")
    weight_bits: int | None = Field(
        16, ge=2, le=32, description="Resolution of the weight operand (sign + magnitude); "
        "16 bits: the paper's resolution.")
    dac_bits: int = Field(
        1, ge=1, le=16, description="Bits per input slice, i.e. DAC resolution driving a "
        "modulator. 1 bit: inputs streamed bit-serially as in ISAAC.")
    ring_bits: int = Field(
        1, ge=1, le=16, description="Weight bits realised by one ring (one slice of the "
        "weight operand). 1 bit keeps a 16-wavelength partial sum within |sum| <= 16, "
        "whose reads stay near-exact at 5 GS/s under the RIN cap (see the preset).")
    adc_bits: int | None = Field(
        6, ge=1, le=16, description="ADC resolution reading each analog partial sum "
        "(sign + magnitude). 6 b reads a 16 x 1 b x 1 b partial sum (|sum| <= 16) in unit "
        "steps. None: ideal readout.")
    adc_range: float = Field(
        1.0, gt=0.0, le=1.0, description="ADC full scale as a fraction of the worst-case "
        "partial sum (1.0: never clips). Below 1 trades clipping for finer steps. Under "
        "adc_range_mode 'calibrated', the range assumed before a calibration has run.")
    adc_range_mode: Literal["worst_case", "calibrated"] = Field(
        "worst_case", description="'worst_case': the ADC range is adc_range x the "
        "worst-case partial sum for every layer; 'calibrated': per layer and phase, the "
        "adc_range_percentile of the |partial sums| a real batch produces (measured by the "
        "digital units from the ADC reads of that batch, every adc_calibration_batches "
        "batches; sums beyond it clip). Both engines read it: the numerics calibrate and "
        "clip, the cost engine charges the calibration (numerics/calibration.py).")
    adc_range_percentile: float = Field(
        99.99, gt=50.0, le=100.0, description="Under adc_range_mode 'calibrated': the "
        "percentile of the |partial sums| of all passes of a layer's product that the "
        "calibrated range covers (assumption: 99.99, clipping about 1 read in 10^4).")
    adc_calibration_batches: int = Field(
        100, ge=1, le=10**9, description="Under adc_range_mode 'calibrated': a layer's "
        "ranges are re-measured every this many batches (assumption: 100); the cost "
        "engine charges one digital histogram update per ADC read of a calibration batch, "
        "amortised over the interval.")
    adc_range_granularity: Literal["layer", "slice_pair"] = Field(
        "layer", description="Under adc_range_mode 'calibrated': one range per layer and "
        "phase ('layer'), or one per (input slice, weight slice) pair of each layer and "
        "phase ('slice_pair': high-order slices of activations and errors are rarely set, "
        "so their sums are small and read in finer steps). Per pair, each ADC read first "
        "loads its pair's range into the ADC's reference register (the cost engine "
        "charges one digital operation's energy per read for it, in the bank, besides the "
        "histogram updates); only with slice_sum 'digital' (the analog sum has one read "
        "per chunk, no pairs).")
    detector_noise: bool = Field(
        True, description="Add photodetector shot, thermal and RIN noise to each pass.")
    crosstalk: bool = Field(
        True, description="Apply inter-channel crosstalk of the ring bank (CrossLight eq. 8).")
    signed_inputs: Literal["two_pass", "offset"] = Field(
        "two_pass", description="How a signed input operand is sent: 'two_pass' runs the "
        "positive and negative parts as two passes (skipped when the operand has no "
        "negative entries); 'offset' adds 2^(b-1) and subtracts a digitally computed "
        "correction (one pass, one extra bit of magnitude).")
    slice_sum: Literal["digital", "analog"] = Field(
        "digital", description="How the passes of one K-chunk (input slice x weight slice "
        "x sign pass) are combined: 'digital' reads every pass with the ADC and shifts and "
        "adds the reads digitally (ISAAC); 'analog' scales each detected pass by its "
        "significance 2^(i dac_bits + j ring_bits) and accumulates them in a charge-domain "
        "accumulator (block 'slice_adder'), read by ONE ADC conversion per output and "
        "K-chunk, the analog shift-and-add of HolyLight-A (Liu et al., DATE 2019) done "
        "after detection (photonics/slice_sum.py). The ADC then reads the whole chunk "
        "output: its range is in code units and its error, with every pass's detector "
        "noise and the accumulator's kT/C noise, enters once.")

    @property
    def quantized(self) -> bool:
        return self.input_bits is not None or self.weight_bits is not None or (
            self.adc_bits is not None)


class PhotonicConfig(FrozenConfig):
    """The photonic MAC core: weight banks of microrings on WDM waveguides."""

    wavelengths_per_bank: int = Field(
        16, ge=1, le=128, description="Wavelengths (rings) one balanced detector sums: "
        "the dot-product chunk along the reduction dimension. CrossLight: <=15-16 rings "
        "per bank at 16-bit; DEAP allows up to 100 wavelengths.")
    modulation_rate_hz: float = Field(
        5e9, gt=0, le=100e9, description="Symbol rate of modulators, DAC and ADC: 5 GS/s "
        "(DEAP-CNN DAC/ADC; LT 5 GHz).")
    center_wavelength_m: float = Field(1550e-9, gt=1e-7, lt=1e-5, description="C band.")
    channel_spacing_m: float = Field(
        1e-9, gt=0, description="WDM channel spacing: >=1 nm (CrossLight).")
    ring_q: float = Field(8000.0, gt=10, le=1e7, description="Loaded Q: 8000 (CrossLight).")
    fsr_m: float = Field(18e-9, gt=0, description="Free spectral range: 18 nm (CrossLight).")
    ring_model: Literal["ideal", "add_drop"] = Field(
        "ideal", description="Weight-ring model both engines use. 'ideal': slice digits "
        "set exactly on symmetric +-1 rings, crosstalk of rings resting on their own "
        "carriers (CrossLight eq. 8), flat ring hold power (the model before issue 9). "
        "'add_drop': the add-drop ring below (photonics/crosstalk.py): weights through "
        "the detuning the scaled encoding asks, rounded by the tuning DAC; crosstalk "
        "from where each resonance sits (exact mode per ring setting; fast mode the "
        "distribution of the reads' errors it causes, biased); tuning power "
        "per weight state, thermal crosstalk and calibration charged by the cost engine "
        "(photonics/tuning.py).")
    ring_intrinsic_q: float = Field(
        1e5, gt=10, le=1e8, description="Intrinsic (uncoupled) Q of a weight ring; with "
        "ring_q and fsr_m it fixes the add-drop ring (symmetric coupling r1 = r2, single-"
        "pass transmission a; devices/microring.ring_from_q, Bogaerts). 1e5: assumption, a "
        "doped (electro-optically tunable) silicon ring with ~7 dB/cm loss; it sets the "
        "reachable balanced weights [-1.00, +0.84] at Q 8000 (DEAP-CNN's r = a = 0.99 gives "
        "[-1.00, +0.33]).")
    ring_eo_range_m: float = Field(
        0.2e-9, ge=0, description="Largest resonance shift the electro-optic tuner gives "
        "(assumption: 0.2 nm, about one linewidth lambda/Q at Q 8000, the mean detuning the "
        "cost model assumed before ring states were modelled; carrier-injection tuning "
        "beyond it costs free-carrier loss). A weight state needing more is reached by the "
        "heater, which carries the shift beyond this range.")
    ring_heater_m_per_w: float = Field(
        6.545e-7, gt=0, description="Thermal tuning efficiency of a weight ring's "
        "heater: one 18 nm FSR per 27.5 mW, 0.65 nm/mW (CrossLight, sec. V).")
    ring_thermal_time_constant_s: float = Field(
        4e-6, gt=0, description="Time a heater takes to settle a new setting "
        "(assumption: 4 us, the few-microsecond thermal time constant of integrated "
        "silicon heaters); a weight-tile load that moves a heater waits this long.")
    ring_thermal_crosstalk: float = Field(
        0.05, ge=0, lt=0.5, description="Fraction of a ring's heater shift felt by each "
        "adjacent ring of its bank (assumption: 5 %, rings ~10 um apart). Calibrated: each "
        "heater is set by solving the bank's thermal coupling, so the neighbours' heat "
        "lowers the power a ring needs (photonics/tuning.py).")
    ring_resonance_sigma_m: float | None = Field(
        None, gt=0, description="Standard deviation of a fabricated ring's resonance about "
        "its design wavelength; the calibration heaters correct it (rings designed 3 sigma "
        "blue of their carriers so a red shift always reaches them). None: the flat trim "
        "power components.weight_ring_hold_power_w is charged instead (LT).")
    weight_encoding: Literal["scaled"] = Field(
        "scaled", description="How signed slice digits d in [-(2^b - 1), 2^b - 1] map "
        "onto the ring's reachable balanced weights [w_min, w_max]: 'scaled' sets "
        "w = g d / (2^b - 1) with g = min(-w_min, w_max), the largest symmetric range, and "
        "rescales digitally by 1/g (one ring per slice, no digital offset correction, "
        "the sign kept by balanced detection; a differential pair would double the rings, "
        "an offset would need a per-output correction like the input offset encoding).")

    @model_validator(mode="after")
    def _channels_fit_fsr(self) -> PhotonicConfig:
        span = self.wavelengths_per_bank * self.channel_spacing_m
        if span > self.fsr_m:
            raise ValueError(
                f"photonics.wavelengths_per_bank x channel_spacing = {span * 1e9:.3g} nm "
                f"exceeds the ring FSR of {self.fsr_m * 1e9:.3g} nm; allowed: "
                f"wavelengths_per_bank <= {int(self.fsr_m // self.channel_spacing_m)}")
        if self.ring_q >= self.ring_intrinsic_q:
            raise ValueError(
                f"photonics.ring_q = {self.ring_q:g} must be below photonics."
                f"ring_intrinsic_q = {self.ring_intrinsic_q:g} (a coupled ring's Q cannot "
                "exceed its intrinsic Q)")
        return self


class LaserConfig(FrozenConfig):
    """Comb/laser source feeding the banks."""

    wall_plug_efficiency: float = Field(
        0.2, gt=0, le=1, description="Electrical-to-optical efficiency: 0.2 (LT, SimPhony).")
    power_per_wavelength_w: float | None = Field(
        None, gt=0, description="Optical power per wavelength at the laser output. None: "
        "the least power that closes the link budget for the ADC resolution "
        "(CrossLight eq. 7).")
    max_power_per_wavelength_w: float = Field(
        0.1, gt=0, description="Largest optical power per wavelength the source can give "
        "(20 dBm: assumption, about the limit of on-chip nonlinear loss in silicon).")
    rin_db_per_hz: float = Field(
        -140.0, lt=0, description="Relative intensity noise of each line: -140 dB/Hz "
        "(AQ's model; the noisy end: DFB lasers reach a floor of about -155 to -165 dB/Hz "
        "with a relaxation peak 10-20 dB higher at 1-10 GHz, TMTT; docs/sources.md).")
    rin_correlation: Literal["correlated", "independent"] = Field(
        "correlated", description="RIN of the wavelengths a detector sums: 'correlated' "
        "(one source split over the lines: RIN (sum I)^2 B, the conservative case of "
        "docs/sources.md#physics) or 'independent' (one laser per line, or a comb with "
        "uncorrelated line noise: the variances add, RIN sum(I_k^2) B, so the RIN cap "
        "rises by 10 log10(wavelengths_per_bank) dB at full scale; TMTT).")
    target_snr_db: float | None = Field(
        None, gt=0, le=200, description="Detector SNR (at full-scale signal) the link "
        "budget must reach. None: the SNR at which one ADC read of a pass errs with "
        "probability read_error_rate (see photonics/link_budget.py); CrossLight eq. 7 sizes "
        "the laser for the detector sensitivity the resolution needs.")
    read_error_rate: float = Field(
        1e-4, gt=0, lt=1, description="Largest probability that detector noise moves an ADC "
        "read of a pass by one step or more (assumption: 1e-4; bit-sliced sums need "
        "near-exact reads because an error in a high-order slice is scaled by its slice "
        "weight, docs/sources.md#physics).")
    read_budget: Literal["exact_reads", "output_variance"] = Field(
        "exact_reads", description="How the link budget sizes the laser (photonics/"
        "link_budget.py): 'exact_reads' makes every ADC read of every (input slice, weight "
        "slice) pass err with probability <= read_error_rate; 'output_variance' lets the "
        "reads be noisy as long as the error of one K-chunk's shift-added output, the "
        "read-error variances of the passes weighted by their significance "
        "4^(i dac_bits + j ring_bits), stays within output_error_rel of that output's "
        "full scale.")
    output_error_rel: float = Field(
        2.0**-12, gt=0, lt=1, description="Under read_budget 'output_variance': largest "
        "error std of one K-chunk's shift-added output relative to its full scale "
        "chunk (2^m_in - 1)(2^m_w - 1) (assumption: 2^-12, a 12-bit-accurate partial "
        "product, below the 8-bit operands' own rounding).")


class LinkConfig(FrozenConfig):
    """Insertion losses along the worst optical path, laser to detector (dB, dB/m)."""

    coupler_db: float = Field(1.6, ge=0, description="Edge coupler: 1.6 dB (AQ).")
    waveguide_loss_db_per_m: float = Field(
        100.0, ge=0, description="Propagation loss: 1 dB/cm (CrossLight).")
    waveguide_length_m: float = Field(
        5e-3, ge=0, description="Worst-path waveguide length: 5 mm (assumption; a core "
        "of ~16-32 banks at ~100 um pitch plus routing).")
    splitter_db: float = Field(0.13, ge=0, description="Per 1:2 splitter stage (CrossLight).")
    combiner_db: float = Field(0.9, ge=0, description="WDM combiner (CrossLight).")
    modulator_db: float = Field(0.72, ge=0, description="MR modulation loss (CrossLight).")
    ring_through_db: float = Field(
        0.02, ge=0, description="Per off-resonance ring passed (CrossLight MR through).")
    weight_ring_db: float = Field(
        0.72, ge=0, description="Insertion loss of the weighting ring at its operating "
        "point (assumption: same as the MR modulation loss, CrossLight).")
    margin_db: float = Field(1.0, ge=0, description="System margin: 1 dB (assumption).")
    enforce_limits: bool = Field(
        True, description="Refuse a design whose link budget does not close (True). False: "
        "the 'paper assumptions' setting of the bplight-paper preset: the design is "
        "evaluated as built and the violated limits are reported (link budget reason, "
        "bplight.photonics.limits) instead of raised.")


class DetectorConfig(FrozenConfig):
    """Balanced photodetector pair + TIA reading each bank."""

    responsivity_a_per_w: float = Field(1.2, gt=0, le=2, description="1.2 A/W (AQ).")
    dark_current_a: float = Field(35e-9, ge=0, description="35 nA (AQ).")
    load_ohm: float = Field(50.0, gt=0, description="Load resistance 50 Ohm (AQ).")
    temperature_k: float = Field(300.0, gt=0, description="Operating temperature (300 K).")
    bandwidth_hz: float | None = Field(
        None, gt=0, description="Electrical noise bandwidth; None: from noise_bandwidth "
        "and the modulation rate.")
    noise_bandwidth: Literal["half_rate", "rate_over_sqrt2", "rate"] = Field(
        "half_rate", description="Noise bandwidth B when bandwidth_hz is None: "
        "'half_rate' f/2 (Nyquist signalling, docs/sources.md#physics), "
        "'rate_over_sqrt2' f/sqrt(2) (AQ's findPDSensitivity; 1.5 dB more noise), "
        "'rate' f (a detector as fast as the symbol rate; 3 dB more noise).")


class SliceAdderConfig(FrozenConfig):
    """The charge-domain shift-and-add accumulator of a bank, used by products with
    ``slice_sum: analog`` (photonics/slice_sum.py): each detected pass is sampled onto a
    binary-weighted capacitor array (its significance) and the charges of one K-chunk's
    passes are summed before one ADC conversion."""

    capacitance_f: float = Field(
        200e-15, gt=0, le=1e-9, description="Total sampling capacitance of the "
        "accumulator (assumption: 200 fF). Sets its kT/C noise, (4/3) kT/C at the summed "
        "output (the geometric sum of the halved samples), and its energy, C V^2 per "
        "pass sampled (kT/C: Johnson-Nyquist noise of a sampled capacitor, textbook).")
    swing_v: float = Field(
        1.0, gt=0, le=5, description="Full-scale voltage of the accumulated sum "
        "(assumption: 1 V, a 1.2 V supply less headroom); the whole chunk output's "
        "worst-case sum maps onto it.")
    capacitor_density_f_per_m2: float = Field(
        2e-3, gt=0, description="Capacitance per area of the accumulator's MOM/MIM "
        "capacitors: 2 fF/um^2 (assumption); its area, charged with the shift-and-add of "
        "each bank, is 2 x capacitance / density (array + switches).")


class MemristorConfig(FrozenConfig):
    """ReRAM cells that store the weights and are written by the weight update."""

    cell_bits: int = Field(
        4, ge=1, le=8, description="Bits per memristor cell: 4-bit cells, 4 cells per "
        "16-bit weight (PipeLayer).")
    programming_noise: float = Field(
        0.1, ge=0, le=2, description="Cycle-to-cycle programming error of a written cell, "
        "standard deviation in units of one conductance level (assumption: write-verify "
        "to within ~0.1 level; NeuroSim's sigma_c2c is quoted relative to the range).")
    exact_extreme_levels: bool = Field(
        True, description="Cells written to the lowest or highest level (full reset / full "
        "set) saturate there without programming error; only intermediate levels carry "
        "programming_noise (assumption: saturating pulses, as in binary ReRAM operation).")
    device_variation: float = Field(
        0.0, ge=0, le=0.5, description="Device-to-device variation of the conductance "
        "range, fraction (NeuroSim's sigma_d2d; 0 in the reference design: assumption).")
    nonlinearity: float = Field(
        0.0, ge=0, le=10, description="NeuroSim nonlinearity factor of the potentiation/"
        "depression curve (0: linear). Applied to pulse updates of the lowest cell.")
    g_on_s: float = Field(1e-4, gt=0, description="On conductance: 10 kOhm (MNSIM).")
    g_off_s: float = Field(1e-6, gt=0, description="Off conductance: 1 MOhm (MNSIM).")
    endurance_cycles: float = Field(1e6, gt=0, description="~1e6 writes (HfOx, Huang et al.).")

    @model_validator(mode="after")
    def _on_above_off(self) -> MemristorConfig:
        if self.g_on_s <= self.g_off_s:
            raise ValueError("memristor.g_on_s must exceed memristor.g_off_s")
        return self


class UpdateConfig(FrozenConfig):
    """How a weight update ΔW = -η∇W is written into the memristor cells."""

    memristor: bool = Field(
        True, description="Write updates through the memristor model; False keeps exact "
        "float weights (plain optimizer step).")
    weight_bits: int = Field(
        16, ge=2, le=32, description="Stored weight resolution (sign + magnitude): 16 bits.")
    rounding: Literal["stochastic", "nearest"] = Field(
        "stochastic", description="Rounding of the requested new weight to the stored grid; "
        "stochastic keeps small updates unbiased.")
    range_headroom: float = Field(
        2.0, ge=1, le=100, description="Stored weight range = headroom x max|w| at "
        "conversion (assumption); updates beyond it saturate.")
    write_policy: Literal["changed", "all"] = Field(
        "changed", description="Which cells a weight update re-programs: 'changed' only "
        "the cells whose stored digit changed (the digital controller knows the old code, "
        "so unchanged cells are skipped: write-skipping, as in NeuroSim's update model); "
        "'all' every cell of every weight once per batch. Both engines read it: the "
        "numerics write (and count) exactly these cells, the cost engine charges them.")
    changed_cell_fraction: float = Field(
        1.0, gt=0, le=1, description="Fraction of cells the cost engine charges per batch "
        "under write_policy 'changed' when no training run is given (assumption: 1.0, the "
        "upper bound; `bplight estimate --from-run RUN_DIR` takes the fraction the run "
        "measured).")
    scheme: Literal["direct", "mixed_precision"] = Field(
        "direct", description="How updates reach the cells: 'direct' rounds every requested "
        "weight to the stored grid (update.rounding) at every batch; 'mixed_precision' "
        "accumulates each weight's increments in a digital buffer chi and moves whole grid "
        "steps into the cells (chi keeps the remainder) when |chi| reaches one step "
        "(Nandakumar2020). The cost engine charges the buffer's reads, writes and area.")
    transfer_every: int = Field(
        1, ge=1, le=10**6, description="Under scheme 'mixed_precision': batches between "
        "transfers from chi to the cells (1: Nandakumar2020's threshold check at every "
        "batch; N: a periodic transfer, cells written at most once in N batches).")
    transfer_rounding: Literal["truncate", "nearest"] = Field(
        "truncate", description="Under scheme 'mixed_precision': the grid steps a transfer "
        "moves, trunc(chi / step) ('truncate': a cell moves once |chi| reaches a whole "
        "step, Nandakumar2020; the cells lag the accumulated weight by up to one step) or "
        "round(chi / step) ('nearest': once |chi| reaches half a step; the cells hold the "
        "accumulated weight to within half a step, as nearest rounding would).")
    accumulator_bits: int = Field(
        32, ge=4, le=48, description="Under scheme 'mixed_precision': bits of each chi "
        "word, a signed fixed-point number over the weight's range (accumulator_bits - "
        "weight_bits fractional bits below the weight grid step; assumption: 32, as the "
        "32-bit digital unit of Nandakumar2020).")
    accumulator_memory: Literal["dram", "edram"] = Field(
        "dram", description="Under scheme 'mixed_precision': where chi lives. 'dram': "
        "off chip, read and written once per weight per batch at the DRAM's energy per "
        "bit (no chip area); 'edram': an on-chip buffer sized for every weight the "
        "memristor arrays hold, at the eDRAM's energy and area per bit (ISAAC density; "
        "for the reference chip's 151 M weights at 32 bits this is 765 mm2, 15x the "
        "chip, hence the default 'dram', an assumption).")

    @model_validator(mode="after")
    def _accumulator_finer_than_weights(self) -> UpdateConfig:
        if self.scheme == "mixed_precision" and self.accumulator_bits < self.weight_bits:
            raise ValueError(
                f"update.accumulator_bits = {self.accumulator_bits} is below update."
                f"weight_bits = {self.weight_bits}; allowed: accumulator_bits >= weight_bits "
                "(chi must resolve at least one weight grid step)")
        return self


class ArchitectureConfig(FrozenConfig):
    """Counts of the chip's units (ISAAC-style tiles; ConvLight/LiteCON layout)."""

    tiles: int = Field(64, ge=1, le=100000, description="Tiles per chip (assumption).")
    cores_per_tile: int = Field(4, ge=1, le=1024, description="Photonic MAC cores per tile "
                                "(assumption).")
    banks_per_core: int = Field(
        16, ge=1, le=1024, description="Weight banks per core; each bank is one row of "
        "wavelengths_per_bank rings and one balanced detector (assumption).")
    pipeline_layers: bool = Field(
        True, description="Layer pipelining across tiles (ISAAC, PipeLayer, ConvLight).")


class HardwareSpec(FrozenConfig):
    """Complete description of one chip configuration.

    ``mode`` is ``"fp32"`` (plain PyTorch, no hardware), ``"exact"`` (slice by slice,
    chunk by chunk, ADC on every partial sum) or ``"fast"`` (error of statistically
    equivalent size injected from the same Mapping).
    """

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    name: str = Field("custom", min_length=1, max_length=100)
    description: str = ""
    mode: Literal["fp32", "fast", "exact"] = "fast"
    forward: ProductConfig = ProductConfig()
    error: ProductConfig = ProductConfig()
    weight_grad: ProductConfig = ProductConfig()
    update: UpdateConfig = UpdateConfig()
    photonics: PhotonicConfig = PhotonicConfig()
    laser: LaserConfig = LaserConfig()
    link: LinkConfig = LinkConfig()
    detector: DetectorConfig = DetectorConfig()
    memristor: MemristorConfig = MemristorConfig()
    slice_adder: SliceAdderConfig = SliceAdderConfig()
    architecture: ArchitectureConfig = ArchitectureConfig()
    components: ComponentsConfig = ComponentsConfig()

    @model_validator(mode="after")
    def _analog_sums_fit_a_core(self) -> HardwareSpec:
        banks = self.architecture.banks_per_core
        for phase in PHASES:
            p = self.product(phase)
            if p.slice_sum == "analog" and p.adc_range_granularity == "slice_pair":
                raise ValueError(
                    f"{phase}.adc_range_granularity 'slice_pair' needs per-pass ADC reads, "
                    f"but {phase}.slice_sum 'analog' reads one sum per chunk; allowed: "
                    "adc_range_granularity 'layer' or slice_sum 'digital'")
            if not (p.analog and p.slice_sum == "analog" and p.weight_bits is not None):
                continue
            slices = -(-(p.weight_bits - 1) // p.ring_bits)
            if slices > banks:
                raise ValueError(
                    f"{phase}.slice_sum 'analog' sums the {slices} weight slices of an "
                    f"output in one core, which has only architecture.banks_per_core = "
                    f"{banks} banks; allowed: banks_per_core >= {slices} or slice_sum "
                    "'digital'")
        return self

    @model_validator(mode="after")
    def _rings_hold_their_slices(self) -> HardwareSpec:
        comp = self.components
        if comp.weight_ring_tuning != "nonvolatile":
            return self
        for phase in PHASES:
            p = self.product(phase)
            if p.analog and p.ring_bits > comp.nonvolatile_levels_bits:
                raise ValueError(
                    f"{phase}.ring_bits = {p.ring_bits} exceeds the "
                    f"{comp.nonvolatile_levels_bits} bits a non-volatile ring stores "
                    "(components.nonvolatile_levels_bits); allowed: ring_bits <= "
                    f"{comp.nonvolatile_levels_bits}")
        return self

    @field_validator("name")
    @classmethod
    def _name_chars(cls, v: str) -> str:
        if not all(c.isalnum() or c in "-_." for c in v):
            raise ValueError("name may hold only letters, digits, '-', '_' and '.'")
        return v

    def product(self, phase: str) -> ProductConfig:
        """The ProductConfig of ``phase`` (one of :data:`PHASES`)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; allowed: {', '.join(PHASES)}")
        return getattr(self, phase)

    @property
    def is_fp32(self) -> bool:
        return self.mode == "fp32"

    @property
    def detector_bandwidth_hz(self) -> float:
        """Electrical noise bandwidth of the detector: ``detector.bandwidth_hz`` if set,
        else the symbol rate divided by 2, sqrt(2) or 1 (``detector.noise_bandwidth``)."""
        if self.detector.bandwidth_hz is not None:
            return self.detector.bandwidth_hz
        divisor = {"half_rate": 2.0, "rate_over_sqrt2": math.sqrt(2.0), "rate": 1.0}
        return self.photonics.modulation_rate_hz / divisor[self.detector.noise_bandwidth]

    @property
    def memristor_cells_per_weight(self) -> int:
        """Cells per stored weight: ceil(magnitude bits / bits per cell), x2 for the
        differential pair that stores the sign (docs/sources.md#physics, memristor weights)."""
        from bplight.mapping import cells_per_weight  # the one formula (also for sweeps)

        return int(cells_per_weight(self.update.weight_bits, self.memristor.cell_bits))

    def replace(self, **changes: Any) -> HardwareSpec:
        """A validated copy with top-level blocks or fields replaced."""
        data = self.model_dump()
        for key, value in changes.items():
            data[key] = value.model_dump() if isinstance(value, BaseModel) else value
        return HardwareSpec.model_validate(data)
