"""Weight updates written through the memristor model.

After every optimizer step, :class:`MemristorWriter` takes the weight each photonic layer
*asked* for (the float parameter after ``optimizer.step()``), rounds it to the stored
grid (``update.weight_bits``, stochastic or nearest rounding) inside the layer's fixed
range, re-programs memristor cells (programming noise, optional nonlinear pulse
response, device-to-device gain variation; see :mod:`bplight.devices.memristor`) and
writes the weight the cells *hold* back into the parameter — so the next forward pass
uses what the array stores, not what the optimizer wanted. Biases are kept digitally
(exact float).

The write targets the controller's *digital* codes plus the optimizer's increment (the
requested weight minus the weight the cells held): new code = round(code + ΔW / ε). The
controller knows the digits it wrote; it does not re-derive them from the analog
conductances, whose programming error (a fraction of a level, times the cell's
significance) would otherwise be folded into the lower digits at every write and make the
weights random-walk by that error per batch (the model before commit d2d384e did: on
VGG-8 it cost ~1 pp of accuracy at low learning rates).

Which cells a step re-programs is the spec's ``update.write_policy``, the one the cost
engine charges: ``changed`` only the cells whose stored digit changed, ``all`` every cell
of every weight. The writer counts the cells it re-programs (per step, in total and per
cell: :meth:`MemristorWriter.write_record`, :meth:`MemristorWriter.write_counts`).

Under ``update.scheme: mixed_precision`` the requested increments go to a digital
accumulator first and only whole grid steps reach the cells
(:mod:`bplight.numerics.mixed_precision`).

The layer's range is ``range_headroom × max|w|`` at attachment (an assumption of the
reference design); weights beyond it saturate.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from bplight.config.spec import HardwareSpec
from bplight.devices.memristor import (
    cells_per_side,
    code_digits,
    max_code,
    program,
    quantize_weights,
)
from bplight.numerics import kernels
from bplight.numerics.modules import photonic_layers


class MemristorWriter:
    """Holds the memristor state of every photonic layer of ``model`` and applies
    updates through it.

    The state of all layers lives in flat tensors (one update costs the same few kernels
    whatever the number of layers); each layer's ``mem_codes``, ``mem_levels`` (and,
    with device variation, ``mem_gain``) buffers are views into them, so the state is
    saved and restored with the model's ``state_dict``.
    """

    def __init__(self, model: nn.Module, spec: HardwareSpec, seed: int = 1) -> None:
        self.spec = spec
        self.model = model
        self.seed = seed
        self.bits = spec.update.weight_bits
        self.cell_bits = spec.memristor.cell_bits
        self.write_all = spec.update.write_policy == "all"
        self.cells_written = 0
        self.steps = 0
        self.step_writes: list[int] = []  # cells re-programmed by each step of this session
        self._all_steps = 0  # steps under 'all' (every cell once), kept out of the tensor
        self._gens: dict[str, torch.Generator] = {}
        # cell digits of self.codes where the last write computed them all (a large step),
        # valid while self.codes keeps the version counter recorded with them (loading a
        # state_dict bumps it)
        self._digits: torch.Tensor | None = None
        self._digits_version = -1
        named = photonic_layers(model)
        self.names = [n or m.layer_name for n, m in named]
        self.layers = [m for _, m in named]
        self._counts: torch.Tensor | None = None
        self._held: torch.Tensor | None = None  # flat weights the cells hold (None: recompute)
        self._attach()
        self.mixed = None  # the chi buffer of update.scheme 'mixed_precision'
        if spec.update.scheme == "mixed_precision" and self.codes is not None:
            from bplight.numerics.mixed_precision import MixedPrecisionAccumulator

            self.mixed = MixedPrecisionAccumulator(spec.update, self.range)

    def _flat(self) -> torch.Tensor:
        return torch.cat([layer.weight.detach().reshape(-1) for layer in self.layers])

    def held(self) -> torch.Tensor:
        """The weights the cells hold now (flat, the writers' layout)."""
        if self._held is None:  # after attaching or a load: from the cells' levels
            lv = self.levels if self.gain is None else self.levels * self.gain
            self._held = held_weights(lv.flatten(-2), self.range, self.bits, self.cell_bits)
        return self._held

    def generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._gens:
            self._gens[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._gens[key]

    def get_state(self) -> dict[str, torch.Tensor]:
        out = {k: g.get_state() for k, g in self._gens.items()}
        out["cells_written"] = torch.tensor(self.cells_written)
        out["steps"] = torch.tensor(self.steps)
        out["all_steps"] = torch.tensor(self._all_steps)
        if self._counts is not None:
            out["cell_write_counts"] = self._counts.cpu()
        if self.mixed is not None:
            out.update(self.mixed.get_state())
        return out

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`get_state` (after the model's ``state_dict``, which holds the cells'
        levels)."""
        self._held = None  # the levels were loaded: recompute what the cells hold
        for k, s in state.items():
            if k == "cells_written":
                self.cells_written = int(s)
            elif k == "steps":
                self.steps = int(s)
            elif k == "all_steps":
                self._all_steps = int(s)
            elif k == "cell_write_counts":
                if self._counts is not None:
                    self._counts.copy_(s)
            elif k == "mp_held":  # checkpoints before d2d384e: the held weights, recomputed
                pass
            elif k.startswith("mp_"):
                if self.mixed is not None:
                    self.mixed.set_state(k, s)
            else:
                self.generator(torch.device(k)).set_state(s)

    @property
    def cells(self) -> int:
        """Memristor cells holding the photonic layers' weights (both sides of each pair)."""
        return 0 if self.levels is None else self.levels.numel()

    def write_record(self) -> dict[str, int | float | None]:
        """What the writes so far cost: ``cell_writes`` (cells re-programmed), ``cells``
        (cells of the weights), ``steps`` (updates written) and ``write_fraction`` =
        cell_writes / (cells × steps) (None before the first step), the fraction the
        cost engine charges per batch (``estimate(..., write_fraction=...)``)."""
        denom = self.cells * self.steps
        return {"cell_writes": self.cells_written, "cells": self.cells, "steps": self.steps,
                "write_fraction": self.cells_written / denom if denom else None}

    def write_counts(self) -> dict[str, torch.Tensor]:
        """Times each cell was re-programmed, per layer: int32 tensors of shape
        ``weight.shape + (2, cells per side)`` (the layout of ``mem_levels``)."""
        out: dict[str, torch.Tensor] = {}
        if self._counts is None:
            return out
        start = 0
        for name, layer in zip(self.names, self.layers, strict=True):
            n = layer.weight.numel()
            c = self._counts[start:start + n].view(*layer.weight.shape, *self._counts.shape[1:])
            out[name] = c + self._all_steps if self._all_steps else c.clone()
            start += n
        return out

    @torch.no_grad()
    def _attach(self) -> None:
        if not self.layers:
            self.codes = self.levels = self.gain = self.range = None
            self._starts = [0]
            return
        ws = [layer.weight for layer in self.layers]
        dev, dt = ws[0].device, ws[0].dtype
        ranges = []
        for layer, w in zip(self.layers, ws, strict=True):
            wmax = float(w.abs().max())
            r = self.spec.update.range_headroom * (wmax if wmax > 0 else 1.0)
            layer.w_range = torch.tensor(r, device=dev, dtype=dt)
            ranges.append(torch.full((w.numel(),), r, device=dev, dtype=dt))
        self.range = torch.cat(ranges)
        flat = torch.cat([w.detach().reshape(-1) for w in ws])
        self.codes = quantize_weights(flat, self.range, self.bits, "nearest")
        self.levels = code_digits(self.codes, self.bits, self.cell_bits).to(dt)
        cells = cells_per_side(self.bits, self.cell_bits)
        # per-cell write counts (int32: endurance is ~1e6 writes; one add per step)
        self._counts = torch.zeros(self.levels.shape, dtype=torch.int32, device=dev)
        self.gain = None
        sd = self.spec.memristor.device_variation
        if sd > 0:
            g = self.generator(dev)
            self.gain = (1.0 + sd * torch.randn((flat.numel(), 2, cells), generator=g,
                                                device=dev, dtype=dt)).clamp(min=0.0)
        self._starts = [0]  # where each layer's weights start in the flat state, and the end
        start = 0
        for layer, w in zip(self.layers, ws, strict=True):
            n = w.numel()
            self._starts.append(start + n)
            _set_buffer(layer, "mem_codes", self.codes[start:start + n].view(w.shape))
            _set_buffer(layer, "mem_levels",
                        self.levels[start:start + n].view(*w.shape, 2, cells))
            if self.gain is not None:
                _set_buffer(layer, "mem_gain", self.gain[start:start + n].view(*w.shape, 2, cells))
            start += n
        self._held = None
        self._restore()

    @torch.no_grad()
    def step(self) -> int:
        """Write every layer's requested weights into its cells (those of the write
        policy); returns the cells re-programmed."""
        if self.codes is None:
            return 0
        gen = self.generator(self.codes.device)
        if self._fused():
            return self._fused_step(gen)
        if self.mixed is None:  # the digital codes plus the increment rounded to the grid
            new, rows = self._requested_codes(gen)
        else:  # mixed precision: chi takes the increment, whole grid steps reach the cells
            self.mixed.accumulate(self._flat().sub_(self.held()))
            self._restore()  # the layers keep what the cells hold
            if not self.mixed.is_transfer(self.steps):
                self.steps += 1
                self.step_writes.append(0)
                return 0
            new = self.mixed.transfer(self.codes)
            rows = (new != self.codes).nonzero().squeeze(1)
        if self.write_all:  # every cell re-programmed: every held weight moves
            rows = torch.arange(new.numel(), device=new.device)
        old_digits = self._digits if self._digits_version == self.codes._version else None
        # (where few weights change code, only theirs are touched: program's docstring)
        res = program(self.codes, new, self.bits, self.cell_bits,
                      self.spec.memristor.programming_noise, self.spec.memristor.nonlinearity,
                      generator=gen, old_analog=self.levels,
                      exact_extremes=self.spec.memristor.exact_extreme_levels,
                      out=self.levels, write_all=self.write_all, old_digits=old_digits,
                      rows=rows, analog=False)
        if res.known_digits is not None:  # most codes changed: copy them all
            self.codes.copy_(new)
        else:
            self.codes[rows] = new[rows]
        self._digits, self._digits_version = res.known_digits, self.codes._version
        self._hold(rows)
        written = int(res.cells_written)
        if self.write_all:
            self._all_steps += 1
        else:  # one more write for each cell written (indices unique)
            counts = self._counts.view(-1)
            counts[res.written_index] += 1
        self.cells_written += written
        self.steps += 1
        self.step_writes.append(written)
        return written

    def _fused(self) -> bool:
        """Whether :meth:`step` runs as one compiled pass (:func:`kernels.write`): on the
        CPU with numba, the plain scheme, write policy ``changed``, linear cells."""
        return (kernels.AVAILABLE and self.mixed is None and not self.write_all
                and self.spec.memristor.nonlinearity == 0.0
                and self.codes.device.type == "cpu" and self._counts is not None
                and all(layer.weight.is_contiguous() and layer.weight.dtype == self.levels.dtype
                        for layer in self.layers))

    def _fused_step(self, gen: torch.Generator) -> int:
        """:meth:`step` as compiled passes over the weights (:func:`kernels.write`), in
        pieces shared by PyTorch's OpenMP threads (:func:`kernels.write_in_tasks`; each
        piece its own seed from ``gen``: the result does not depend on the thread
        count). The same writes as the torch path, the programming noise from another
        generator."""
        mem = self.spec.memristor
        stochastic = self.spec.update.rounding == "stochastic"
        held = self.held()
        per = self.levels.shape[-2] * self.levels.shape[-1]
        levels = self.levels.view(-1, per).numpy()
        counts = self._counts.view(-1, per).numpy()
        gain = None if self.gain is None else self.gain.view(-1, per).numpy()
        pieces = self._pieces()
        seeds = torch.randint(2**62, (len(pieces),), generator=gen).tolist()
        ranges = torch.stack([layer.w_range.detach().reshape(()) for layer in self.layers])
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        done = kernels.write_in_tasks(
            [(layer.weight.detach().view(-1)[lo - start:hi - start].numpy(),
              held[lo:hi].numpy(), self.codes[lo:hi].numpy(), levels[lo:hi],
              None if gain is None else gain[lo:hi], counts[lo:hi], index[id(layer)])
             for layer, start, lo, hi in pieces],
            ranges.to(self.levels.dtype).numpy(), seeds, self.bits, self.cell_bits,
            stochastic, mem.programming_noise, mem.exact_extreme_levels)
        # the codes changed in place (numpy): the cached digits are stale
        self._digits, self._digits_version = None, -1
        written = sum(w for _, w in done)
        self.cells_written += written
        self.steps += 1
        self.step_writes.append(written)
        return written

    def _pieces(self) -> list[tuple[nn.Module, int, int, int]]:
        """(layer, its first flat index, piece start, piece end): each layer's weights, in
        pieces of at most :data:`kernels.WRITE_TASK_WEIGHTS` (the tasks of
        :func:`kernels.write_in_tasks`; fixed by the sizes alone, so that the result does not
        depend on the thread count)."""
        step = kernels.WRITE_TASK_WEIGHTS
        return [(layer, start, lo, min(lo + step, end))
                for layer, start, end in zip(self.layers, self._starts[:-1], self._starts[1:],
                                             strict=True)
                for lo in range(start, end, step)]

    def _requested_codes(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The codes the optimizer's step asks for (the digital codes plus its increment
        over the held weights, rounded to the grid by ``update.rounding`` with ``gen``)
        and the flat indices of the weights whose code changes (ascending); the layers'
        weights are set back to the held ones."""
        m = max_code(self.bits)
        inc = self._flat().sub_(self.held())
        steps = quantize_weights(inc, self.range, self.bits, self.spec.update.rounding,
                                 generator=gen)
        new = steps.add_(self.codes).clamp_(-m, m)
        self._restore()
        return new, (new != self.codes).nonzero().squeeze(1)

    def _restore(self) -> None:
        """Set the layers' weights back to the weights the cells hold."""
        held = self.held()
        start = 0
        for layer in self.layers:
            w = layer.weight
            n = w.numel()
            w.detach().copy_(held[start:start + n].view(w.shape))
            start += n

    def _hold(self, rows: torch.Tensor) -> None:
        """After a write: the held weights of ``rows`` (flat indices, ascending) from their
        cells' new levels, into the held copy and the layers' weights."""
        held = self.held()
        if rows.numel() == 0:
            return
        per = self.levels.shape[-2] * self.levels.shape[-1]
        bounds = torch.searchsorted(rows, torch.tensor(self._starts, device=rows.device))
        parts = zip(self.layers, self._starts[:-1], bounds[:-1].tolist(), bounds[1:].tolist(),
                    strict=True)
        lv = self.levels.view(-1, per)[rows]
        if self.gain is not None:
            lv = lv * self.gain.view(-1, per)[rows]
        h = held_weights(lv, self.range[rows], self.bits, self.cell_bits)
        held[rows] = h
        for layer, start, a, b in parts:
            if b > a:
                layer.weight.detach().view(-1)[rows[a:b] - start] = h[a:b]


def held_weights(levels: torch.Tensor, w_range: torch.Tensor, bits: int, cell_bits: int
                 ) -> torch.Tensor:
    """Weights held by cells at analog ``levels`` [N, 2 × cells] (the "+" side's cells,
    then the "-" side's, lowest digit first) in layers of range ``w_range`` [N]:
    sum_k 2^(cell_bits k) (g+_k - g-_k) × range / M. Summed term by term in a fixed order,
    so that a subset of the rows gives bitwise the values of the whole (the writer
    updates the rows it wrote; a resume recomputes all)."""
    n = levels.shape[-1] // 2
    code = levels[:, 0] - levels[:, n]
    for k in range(1, n):
        code = code + (levels[:, k] - levels[:, n + k]) * float(2 ** (cell_bits * k))
    return code * (1.0 / max_code(bits)) * w_range


def _set_buffer(module: nn.Module, name: str, value: torch.Tensor) -> None:
    if name in module._buffers:
        module._buffers[name] = value
    else:
        module.register_buffer(name, value)
