"""Mixed-precision weight updates: a digital accumulator in front of the memristor cells.

Under ``update.scheme: mixed_precision`` (Nandakumar et al., "Mixed-precision deep
learning based on computational memory", Front. Neurosci. 14:406, 2020; arXiv:2001.11773;
source key Nandakumar2020) the weight increments the optimizer asks for are not rounded
into the cells at every batch. A digital unit keeps, for every weight, a high-precision
accumulator ``chi``:

* every batch, ``chi += ΔW`` (the optimizer's increment: the requested weight minus the
  weight the cells held), rounded to chi's least significant bit;
* on a transfer batch (every batch by default, or every ``update.transfer_every``-th),
  the whole grid steps of chi, ``p = trunc(chi / ε)`` (ε: the stored weight's grid step,
  ``range / (2^(weight_bits-1) - 1)``), are moved into the cells (the weight's code
  becomes ``code + p``, clipped to the code range) and subtracted from chi; the
  remainder, ``|chi| < ε`` unless the weight saturated, stays in chi
  (``update.transfer_rounding: nearest``: ``p = round(chi / ε)``, ``|chi| <= ε/2``);
  a weight clipped at the end of its range keeps less than one step in chi (no wind-up);
* the forward and backward passes use the weight the cells hold (programming noise
  included); the optimizer's next step starts from it.

A cell is then written only when its weight has accumulated a whole grid step: small
updates of random sign cancel in chi instead of being rounded into the cells (fewer
writes, less wear, no rounding noise in the stored weights). ``update.rounding`` is not
used under this scheme (the transfer is a deterministic truncation, as in
Nandakumar2020).

Chi is a signed fixed-point number of ``update.accumulator_bits`` bits over the weight's
range: ``f = accumulator_bits - weight_bits`` fractional bits below the grid step, least
significant bit ``ε / 2^f``; it saturates at ``±(2^(accumulator_bits-1) - 1)`` LSBs. It is
held here as an int64 count of LSBs, so the arithmetic is exact.

The cost engine charges the accumulator's read and write of ``accumulator_bits`` per
weight per batch, one digital compare-and-subtract per weight per transfer, and its
storage (eDRAM area for the weights the memristor arrays hold), from the same fields
(:mod:`bplight.cost.engine`).
"""

from __future__ import annotations

import torch

from bplight.config.spec import UpdateConfig
from bplight.devices.memristor import max_code


class MixedPrecisionAccumulator:
    """The chi buffer of the weights a :class:`~bplight.numerics.update.MemristorWriter`
    holds (flat, the writer's layout).

    ``ranges``: each weight's stored range (the writer's ``range``)."""

    def __init__(self, update: UpdateConfig, ranges: torch.Tensor) -> None:
        if update.scheme != "mixed_precision":
            raise ValueError("MixedPrecisionAccumulator needs update.scheme "
                             f"'mixed_precision', got {update.scheme!r}")
        self.bits = update.weight_bits
        self.frac_bits = update.accumulator_bits - update.weight_bits
        self.transfer_every = update.transfer_every
        self.nearest = update.transfer_rounding == "nearest"
        self.chi_max = 2 ** (update.accumulator_bits - 1) - 1
        self.unit = 2 ** self.frac_bits  # LSBs of chi per weight grid step
        # LSB of chi in weight units (float64: increments are far below float32's ulp of w)
        self.lsb = ranges.to(torch.float64) / (max_code(self.bits) * self.unit)
        self.chi = torch.zeros(ranges.shape, dtype=torch.int64, device=ranges.device)

    def accumulate(self, increment: torch.Tensor) -> None:
        """``chi += increment`` (the requested weight minus the held one) in LSBs (rounded
        to nearest), saturating."""
        inc = torch.round(increment.to(torch.float64) / self.lsb)
        inc = inc.clamp_(-self.chi_max, self.chi_max).to(torch.int64)
        self.chi.add_(inc).clamp_(-self.chi_max, self.chi_max)

    def is_transfer(self, step: int) -> bool:
        """Whether batch ``step`` (0-based) transfers chi into the cells."""
        return (step + 1) % self.transfer_every == 0

    def transfer(self, codes: torch.Tensor) -> torch.Tensor:
        """New codes ``clip(codes + trunc(chi / ε))`` (``transfer_rounding: nearest``:
        ``round(chi / ε)``, halves away from zero); the grid steps moved leave chi."""
        m = max_code(self.bits)
        if self.nearest:
            half = self.unit // 2
            steps = torch.div(self.chi.abs() + half, self.unit,
                              rounding_mode="floor") * self.chi.sign()
        else:
            steps = torch.div(self.chi, self.unit, rounding_mode="trunc")
        wanted = codes + steps
        new = wanted.clamp(-m, m)
        self.chi.sub_((new - codes) * self.unit)
        # anti-windup: a saturated weight keeps less than one step in chi, so it leaves
        # the bound as soon as its updates turn (design choice of this model)
        clipped = new != wanted
        bound = self.unit - 1
        self.chi.copy_(torch.where(clipped, self.chi.clamp(-bound, bound), self.chi))
        return new

    def residual(self) -> torch.Tensor:
        """Chi in weight units (float64): the increments not yet in the cells."""
        return self.chi.to(torch.float64) * self.lsb

    def get_state(self) -> dict[str, torch.Tensor]:
        return {"mp_chi": self.chi.cpu()}

    def set_state(self, key: str, value: torch.Tensor) -> None:
        if key == "mp_chi":
            self.chi.copy_(value)
        else:
            raise KeyError(f"unknown mixed-precision state {key!r}")
