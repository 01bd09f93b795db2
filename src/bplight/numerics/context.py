"""Per-model hardware context: the spec, the physics derived from it, the random
generators and counters of what the numerics executed."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

import torch

from bplight.config.spec import PHASES, HardwareSpec
from bplight.mapping import GemmShape, Mapping, plan
from bplight.numerics.engine import Physics


def physics_for(spec: HardwareSpec, phase: str) -> Physics:
    """Noise and crosstalk of ``phase``'s product, from the same link budget and ring
    model the cost engine uses."""
    from bplight.photonics.bank import bank_crosstalk
    from bplight.photonics.link_budget import pass_noise_sigma

    p = spec.product(phase)
    sigma = pass_noise_sigma(spec) if p.detector_noise else 0.0
    xt = None
    if p.crosstalk:
        xt = torch.as_tensor(bank_crosstalk(spec), dtype=torch.float32)
        if not bool(xt.abs().sum() > 0):
            xt = None
    return Physics(noise_sigma_rel=float(sigma), crosstalk=xt)


@dataclass
class ExecutionCounters:
    """What the numerics actually executed, per phase (for the consistency check with the
    cost engine's action counts)."""

    products: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    macs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    analog_passes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gemms: list[GemmShape] = field(default_factory=list)

    def record(self, m: Mapping) -> None:
        ph = m.gemm.phase
        self.products[ph] += 1
        self.macs[ph] += m.gemm.macs
        self.analog_passes[ph] += m.analog_passes
        self.gemms.append(m.gemm)

    def reset(self) -> None:
        self.products.clear()
        self.macs.clear()
        self.analog_passes.clear()
        self.gemms.clear()


class HardwareContext:
    """Shared by every photonic layer of one converted model.

    ``seed`` seeds one generator per device; every noise draw takes it explicitly.
    Set ``counting = True`` to record the Mapping of every product executed.

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
            self._physics[key] = Physics(ph.noise_sigma_rel, xt)
        return self._physics[key]

    def plan(self, gemm: GemmShape) -> Mapping:
        m = self._plans.get(gemm)
        if m is None:
            if len(self._plans) >= 4096:
                self._plans.clear()
            m = self._plans[gemm] = plan(gemm, self.spec)
        if self.counting:
            self.counters.record(m)
        return m

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

    def get_state(self) -> dict[str, torch.Tensor]:
        """Generator states, for checkpoints (resume reproduces the noise stream)."""
        return {k: g.get_state() for k, g in self._generators.items()}

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        for k, s in state.items():
            g = self.generator(torch.device(k))
            g.set_state(s)


__all__ = ["PHASES", "ExecutionCounters", "HardwareContext", "physics_for"]
