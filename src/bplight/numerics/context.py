"""Per-model hardware context: the spec, the physics derived from it, the random
generators and counters of what the numerics executed."""

from __future__ import annotations

import threading
from collections import defaultdict

import torch

from bplight.config.spec import PHASES, HardwareSpec
from bplight.mapping import GemmShape, Mapping, plan
from bplight.numerics.calibration import STATE_PREFIX as ADC_STATE_PREFIX
from bplight.numerics.calibration import AdcRanges, Sample
from bplight.numerics.engine import (
    Physics,
    ReadErrors,
    add_mean_,
    add_sparse_errors_,
    issued_counts,
)


def physics_for(spec: HardwareSpec, phase: str) -> Physics:
    """Noise and crosstalk of ``phase``'s product, from the same link budget and ring
    model the cost engine uses."""
    from bplight.photonics.bank import bank_crosstalk
    from bplight.photonics.link_budget import pass_noise_sigma

    p = spec.product(phase)
    sigma = pass_noise_sigma(spec) if p.detector_noise else 0.0
    xt = ring = None
    if p.crosstalk:
        if spec.photonics.ring_model == "add_drop":  # the bank's rings per slice digit
            from bplight.photonics.crosstalk import bank_model

            ring = bank_model(spec, p.ring_bits)
        xt = torch.as_tensor(bank_crosstalk(spec, p.ring_bits), dtype=torch.float32)
        if not bool(xt.abs().sum() > 0):
            xt = None
    return Physics(noise_sigma_rel=float(sigma), crosstalk=xt, ring=ring)


COUNT_NAMES = ("products", "signed_products", "macs", "analog_passes", "adc_reads",
               "dac_symbols", "ring_settings", "sign_passes_skipped")
"""What :class:`ExecutionCounters` records per (phase, layer)."""


class ExecutionCounters:
    """What the numerics actually executed, per (phase, layer), summed over the products
    run since the last :meth:`reset`:

    * ``products``: products issued (a grouped convolution's ``groups`` GEMMs are one);
      ``signed_products``: those whose input operand held a negative entry; ``macs``;
    * ``analog_passes``: balanced-detector sums run (exact mode: the entries of every
      batched pass product; fast mode: the passes of the operands issued);
      ``adc_reads``: ADC conversions (one per pass; an ideal readout is still a read);
    * ``dac_symbols``: input-operand elements modulated (once per input slice and sign
      pass; not multiplied by a broadcast to several cores, which the numerics do not
      model: the cost engine does);
    * ``ring_settings``: weight-operand slice values set on rings (once per product; not
      multiplied by tile replicas: the cost engine does);
    * ``sign_passes_skipped``: passes not run because a product's input operand had no
      negative entry although its phase encodes signed inputs in two passes (the negative
      part would have been all zeros). Both modes skip them; the cost engine charges the
      sign the workload's trace saw for the layer, so the two agree when training
      operands have the traced sign (``signed_products`` shows which did).
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, int]] = {}
        self.gemms: list[GemmShape] = []

    def add(self, gemm: GemmShape, counts: dict[str, int]) -> None:
        """Add one executed product of ``gemm`` with its ``counts`` (names of
        :data:`COUNT_NAMES`; ``products``, ``signed_products`` and ``macs`` are derived
        from ``gemm`` here)."""
        rec = self.records.get((gemm.phase, gemm.layer))
        if rec is None:
            rec = self.records[(gemm.phase, gemm.layer)] = dict.fromkeys(COUNT_NAMES, 0)
        rec["products"] += 1
        rec["signed_products"] += int(gemm.input_signed)
        rec["macs"] += gemm.macs
        for k, v in counts.items():
            rec[k] += int(v)
        self.gemms.append(gemm)

    def by_phase(self, name: str) -> dict[str, int]:
        """Count ``name`` summed per phase (phases with no product are absent)."""
        out: dict[str, int] = defaultdict(int)
        for (phase, _), rec in self.records.items():
            out[phase] += rec[name]
        return out

    def total(self, name: str) -> int:
        return sum(rec[name] for rec in self.records.values())

    def totals(self) -> dict[str, int]:
        return {k: self.total(k) for k in COUNT_NAMES}

    @property
    def products(self) -> dict[str, int]:
        return self.by_phase("products")

    @property
    def macs(self) -> dict[str, int]:
        return self.by_phase("macs")

    @property
    def analog_passes(self) -> dict[str, int]:
        return self.by_phase("analog_passes")

    def reset(self) -> None:
        self.records.clear()
        self.gemms.clear()


class HardwareContext:
    """Shared by every photonic layer of one converted model.

    ``seed`` seeds one generator per device; every noise draw takes it explicitly.
    Set ``counting = True`` to record what every product executed (:attr:`counters`).

    Fast-mode noise draws on the CPU go through a reusable scratch buffer (owned by the
    first thread that draws; a fresh allocation of that size costs page faults on every
    draw).
    """

    _SCRATCH_MAX = 1 << 24  # largest draw (elements) kept in the scratch buffer

    def __init__(self, spec: HardwareSpec, seed: int = 0) -> None:
        self._spec = spec
        self.seed = seed
        self._generators: dict[str, torch.Generator] = {}
        self._physics: dict[str, Physics] = {}
        self._plans: dict[GemmShape, Mapping] = {}  # plan() memo (the spec never changes)
        self._scratch: dict[tuple[str, torch.dtype], tuple[int, torch.Tensor]] = {}
        self.counters = ExecutionCounters()
        self.counting = False
        self.adc_ranges = AdcRanges()  # calibrated ADC ranges (adc_range_mode: calibrated)

    @property
    def spec(self) -> HardwareSpec:
        """The hardware description, fixed for the context's life (a different chip is a
        new ``convert``)."""
        return self._spec

    @property
    def mode(self) -> str:
        return self.spec.mode

    def generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            g = torch.Generator(device=device)
            g.manual_seed(self.seed)
            self._generators[key] = g
        return self._generators[key]

    def physics(self, phase: str, device: torch.device) -> Physics:
        key = f"{phase}@{device}"
        if key not in self._physics:
            ph = physics_for(self.spec, phase)
            xt = ph.crosstalk.to(device) if ph.crosstalk is not None else None
            self._physics[key] = Physics(ph.noise_sigma_rel, xt, ring=ph.ring)
        return self._physics[key]

    def plan(self, gemm: GemmShape, sample: Sample | None = None) -> Mapping:
        """The Mapping of ``gemm``; for an analog product whose phase calibrates its ADC
        range (``adc_range_mode: calibrated``), with the range of its (phase, layer),
        calibrated from ``sample`` when due (:class:`~bplight.numerics.calibration.
        AdcRanges`)."""
        m = self._plans.get(gemm)
        if m is None:
            if len(self._plans) >= 4096:
                self._plans.clear()
            m = self._plans[gemm] = plan(gemm, self.spec)
        if sample is not None and m.analog and m.adc_bits is not None and (
                self.spec.product(gemm.phase).adc_range_mode == "calibrated"):
            return self.adc_ranges.mapping(m, self.spec, sample)
        return m

    def record(self, m: Mapping, executed: dict[str, int] | None = None) -> None:
        """Count one product of ``m`` as executed (when :attr:`counting`): ``executed``
        the counts the exact engine tallied while running it, else (fast mode, digital
        products) those of the operands issued (:func:`issued_counts`)."""
        if not self.counting:
            return
        counts = dict(issued_counts(m) if executed is None else executed)
        p = self.spec.product(m.gemm.phase)
        two_pass = not (p.signed_inputs == "offset" and p.input_bits is not None)
        if m.analog and two_pass and not m.gemm.input_signed:
            # the negative part's passes, not run: the operand had no negative entry
            counts["sign_passes_skipped"] = counts.get("analog_passes", 0)
        self.counters.add(m.gemm, counts)

    def add_noise_(self, y: torch.Tensor, std: float,
                   gain: torch.Tensor | None = None) -> torch.Tensor:
        """Add i.i.d. N(0, std²) noise (times ``gain``, broadcast) to ``y`` in place."""
        if std <= 0.0:
            return y
        n = y.numel()
        noise = None
        if y.device.type == "cpu" and n <= self._SCRATCH_MAX:
            key = (str(y.device), y.dtype)
            owner, buf = self._scratch.get(key, (None, None))
            if owner is None or (owner == threading.get_ident() and buf.numel() < n):
                owner, buf = threading.get_ident(), torch.empty(n, dtype=y.dtype)
                self._scratch[key] = (owner, buf)
            if owner == threading.get_ident():  # (other threads: fresh buffers)
                noise = buf[:n].view(y.shape)
        if noise is None:
            noise = torch.empty_like(y)
        noise.normal_(0.0, std, generator=self.generator(y.device))
        return y.add_(noise) if gain is None else y.addcmul_(noise, gain)

    def add_read_errors_(self, y: torch.Tensor, errs: ReadErrors,
                         gain: torch.Tensor | None = None) -> torch.Tensor:
        """Add a fast-mode product's read errors ``errs`` (real units) to its output ``y``
        in place (``gain``: :func:`~bplight.numerics.engine.add_sparse_errors_`)."""
        self.add_noise_(y, errs.std, gain)
        add_mean_(y, errs.mean, gain)
        return add_sparse_errors_(y, errs, self.generator(y.device), gain)

    def get_state(self) -> dict[str, torch.Tensor]:
        """Generator states (resume reproduces the noise stream) and calibrated ADC
        ranges, for checkpoints."""
        state = {k: g.get_state() for k, g in self._generators.items()}
        state.update(self.adc_ranges.get_state())
        return state

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        self.adc_ranges.set_state(state)
        for k, s in state.items():
            if k.startswith(ADC_STATE_PREFIX):
                continue
            g = self.generator(torch.device(k))
            g.set_state(s)


__all__ = ["COUNT_NAMES", "PHASES", "ExecutionCounters", "HardwareContext", "physics_for"]
