"""``nn.Module``s whose matrix products run on the photonic model, and ``convert``.

``convert(model, spec)`` swaps every ``nn.Conv2d`` (any ``groups``; grouped and depthwise
convolutions too) and ``nn.Linear`` — the model itself when it is one — for a
:class:`PhotonicConv2d` / :class:`PhotonicLinear` sharing one
:class:`~bplight.numerics.context.HardwareContext`. The photonic modules subclass the
torch ones, keep the same parameters (state_dict round-trips) and fall back to the
plain torch computation under the ``fp32`` mode.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from bplight.config.loader import load_spec
from bplight.config.spec import HardwareSpec
from bplight.errors import InputError
from bplight.numerics.context import HardwareContext
from bplight.numerics.functions import PhotonicConv2dFunction, PhotonicLinearFunction


class _PhotonicMixin:
    """Shared by the photonic layers: the hardware context and the memristor state."""

    hw: HardwareContext | None
    layer_name: str

    def _init_photonic(self, hw: HardwareContext | None, name: str) -> None:
        self.hw = hw
        self.layer_name = name
        # Memristor weight store (filled by bplight.numerics.update.MemristorWriter.attach):
        # the range of the stored weights, the integer codes and the achieved analog value.
        self.register_buffer("w_range", torch.zeros(()), persistent=True)

    @property
    def uses_hardware(self) -> bool:
        return self.hw is not None and not self.hw.spec.is_fp32


class PhotonicLinear(_PhotonicMixin, nn.Linear):
    """``nn.Linear`` whose forward, error and weight-gradient products run on the chip."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 hw: HardwareContext | None = None, name: str = "",
                 device: torch.device | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self._init_photonic(hw, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.uses_hardware:
            return F.linear(x, self.weight, self.bias)
        return PhotonicLinearFunction.apply(x, self.weight, self.bias, self.hw, self.layer_name)


class PhotonicConv2d(_PhotonicMixin, nn.Conv2d):
    """``nn.Conv2d`` (any ``groups``, zero padding) whose three products run on the chip."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, hw: HardwareContext | None = None,
                 name: str = "", device: torch.device | None = None,
                 dtype: torch.dtype | None = None, groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups, bias=bias,
                         device=device, dtype=dtype)
        self._init_photonic(hw, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.uses_hardware:
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        return PhotonicConv2dFunction.apply(x, self.weight, self.bias, self.hw, self.layer_name,
                                            self.stride, self.padding, self.dilation,
                                            self.groups)


PHOTONIC_LAYERS = (PhotonicLinear, PhotonicConv2d)


def photonic_layers(model: nn.Module) -> list[tuple[str, _PhotonicMixin]]:
    """``(name, module)`` of every photonic layer, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PHOTONIC_LAYERS)]


def convert(model: nn.Module, spec: HardwareSpec | str = "bplight-16b", seed: int = 0,
            inplace: bool = False) -> nn.Module:
    """Swap ``nn.Conv2d`` / ``nn.Linear`` layers of ``model`` for photonic ones.

    Weights and biases are copied; the returned model holds a ``bplight_hw`` attribute
    (the shared :class:`HardwareContext`). A bare ``nn.Linear`` / ``nn.Conv2d`` is itself
    converted (use the returned module: with ``inplace`` too, the root cannot be swapped
    in place); its layer name is its class name, as :class:`~bplight.workload.Workload`
    traces it. Convs with non-zero padding modes or string padding are rejected with a
    :class:`~bplight.errors.InputError`.
    """
    if isinstance(spec, str):
        spec = load_spec(spec)
    if not inplace:
        import copy

        model = copy.deepcopy(model)
    hw = HardwareContext(spec, seed=seed)
    root = _swap(model, hw, type(model).__name__)
    if root is not None:
        model = root
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            new = _swap(child, hw, full)
            if new is not None:
                setattr(module, child_name, new)
    model.bplight_hw = hw  # type: ignore[attr-defined]
    return model


def _swap(child: nn.Module, hw: HardwareContext, name: str) -> nn.Module | None:
    if isinstance(child, PHOTONIC_LAYERS):
        child.hw, child.layer_name = hw, name
        return None
    if type(child) is nn.Linear:
        new = PhotonicLinear(child.in_features, child.out_features, child.bias is not None,
                             hw=hw, name=name, device=child.weight.device,
                             dtype=child.weight.dtype)
    elif type(child) is nn.Conv2d:
        if child.padding_mode != "zeros" or isinstance(child.padding, str):
            raise InputError(
                f"layer {name!r}: only Conv2d with padding_mode='zeros' and numeric padding "
                f"can be mapped (got padding={child.padding!r}, "
                f"padding_mode={child.padding_mode!r})")
        new = PhotonicConv2d(child.in_channels, child.out_channels, child.kernel_size,
                             child.stride, child.padding, child.dilation,
                             child.bias is not None, hw=hw, name=name,
                             device=child.weight.device, dtype=child.weight.dtype,
                             groups=child.groups)
    else:
        return None
    with torch.no_grad():
        new.weight.copy_(child.weight)
        if child.bias is not None:
            new.bias.copy_(child.bias)
    new.train(child.training)
    return new
