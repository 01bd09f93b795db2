"""Weight updates written through the memristor model.

After every optimizer step, :class:`MemristorWriter` takes the weight each photonic layer
*asked* for (the float parameter after ``optimizer.step()``), rounds it to the stored
grid (``update.weight_bits``, stochastic or nearest rounding) inside the layer's fixed
range, re-programs the memristor cells whose digits changed (programming noise,
optional nonlinear pulse response, device-to-device gain variation; see
:mod:`bplight.devices.memristor`) and writes the weight the cells *hold* back into the
parameter — so the next forward pass uses what the array stores, not what the optimizer
wanted. Biases are kept digitally (exact float).

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
    codes_to_weights,
    levels_to_codes,
    program,
    quantize_weights,
)
from bplight.numerics.modules import photonic_layers


class MemristorWriter:
    """Holds the memristor state of every photonic layer of ``model`` and applies
    updates through it. The state lives in module buffers (``mem_codes``,
    ``mem_levels``, ``mem_gain``, ``w_range``), so it is saved and restored with the
    model's ``state_dict``."""

    def __init__(self, model: nn.Module, spec: HardwareSpec, seed: int = 1) -> None:
        self.spec = spec
        self.model = model
        self.seed = seed
        self.bits = spec.update.weight_bits
        self.cell_bits = spec.memristor.cell_bits
        self.cells_written = 0
        self._gens: dict[str, torch.Generator] = {}
        self.layers = [m for _, m in photonic_layers(model)]
        for layer in self.layers:
            self._attach(layer)

    def generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._gens:
            self._gens[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._gens[key]

    def get_state(self) -> dict[str, torch.Tensor]:
        out = {k: g.get_state() for k, g in self._gens.items()}
        out["cells_written"] = torch.tensor(self.cells_written)
        return out

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        for k, s in state.items():
            if k == "cells_written":
                self.cells_written = int(s)
            else:
                self.generator(torch.device(k)).set_state(s)

    @torch.no_grad()
    def _attach(self, layer: nn.Module) -> None:
        w = layer.weight
        dev = w.device
        wmax = float(w.abs().max())
        w_range = torch.tensor(self.spec.update.range_headroom * (wmax if wmax > 0 else 1.0),
                               device=dev, dtype=w.dtype)
        layer.w_range = w_range
        codes = quantize_weights(w, w_range, self.bits, "nearest")
        levels = code_digits(codes, self.bits, self.cell_bits).to(w.dtype)
        cells = cells_per_side(self.bits, self.cell_bits)
        gain = torch.ones(*w.shape, 2, cells, device=dev, dtype=w.dtype)
        sd = self.spec.memristor.device_variation
        if sd > 0:
            g = self.generator(dev)
            gain = (1.0 + sd * torch.randn(gain.shape, generator=g, device=dev,
                                           dtype=w.dtype)).clamp(min=0.0)
        _set_buffer(layer, "mem_codes", codes)
        _set_buffer(layer, "mem_levels", levels)
        _set_buffer(layer, "mem_gain", gain)
        w.copy_(self._held(layer))

    def _held(self, layer: nn.Module) -> torch.Tensor:
        analog = levels_to_codes(layer.mem_levels * layer.mem_gain, self.cell_bits)
        return codes_to_weights(analog, layer.w_range, self.bits, dtype=layer.weight.dtype)

    @torch.no_grad()
    def step(self) -> int:
        """Write every layer's requested weights into its cells; returns cells written."""
        u = self.spec.update
        total = 0
        for layer in self.layers:
            w = layer.weight
            gen = self.generator(w.device)
            new = quantize_weights(w, layer.w_range, self.bits, u.rounding, generator=gen)
            res = program(layer.mem_codes, new, self.bits, self.cell_bits,
                          self.spec.memristor.programming_noise,
                          self.spec.memristor.nonlinearity, generator=gen,
                          old_analog=layer.mem_levels)
            layer.mem_codes.copy_(new)
            layer.mem_levels.copy_(res.cell_levels)
            w.copy_(self._held(layer))
            total += int(res.cells_written)
        self.cells_written += total
        return total


def _set_buffer(module: nn.Module, name: str, value: torch.Tensor) -> None:
    if name in module._buffers:
        module._buffers[name] = value
    else:
        module.register_buffer(name, value)
