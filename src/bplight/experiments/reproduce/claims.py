"""The paper's headline claims, each with its source and the baseline it refers to.

BPLight-CNN's abstract (arXiv:2102.10140) claims, at 16-bit resolution on LeNet and
VGG-Net, "compared to the state-of-the-art designs":

* training: at least 34× speedup, 34× computational efficiency, 38.5× energy saving;
* inference: 29× speedup, 31× computational efficiency, 38.7× energy saving;
* about 6 % lower accuracy than the state of the art.

This module is data only: what was claimed, where, and which baseline each number most
plausibly refers to (with the reason). :mod:`.analysis` computes what this model gives.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = "BPLight-CNN, arXiv:2102.10140, abstract"
"""Where every claim below is stated."""

TOLERANCE = 0.25
"""Relative deviation above which a number gets an explanation."""

DEFAULT_MODELS = ("lenet5", "vgg16")
"""The paper evaluates LeNet and VGG-Net; the claims are averaged over these."""

ACCURACY_CLAIM_POINTS = 6.0
"""About 6 percentage points below the state of the art (paper abstract)."""

TRAIN_WHY = (
    "\"At least\" reads as the minimum over the training-capable designs compared. "
    "PipeLayer is the memristor training accelerator of the time, the only one that "
    "publishes training figures in the claim's units (GOPS/s/mm², GOPS/W), and the "
    "fastest training baseline here, so it sets the minimum; the GTX 1080 (PipeLayer's "
    "own GPU baseline) and DaDianNao (which trains at 32 bits) are shown for context.")
"""Why the training claims are read against PipeLayer."""

INFER_WHY = (
    "ISAAC is the inference accelerator whose figures (479 GOPS/s/mm², 380.7 GOPS/W) "
    "define the computational- and power-efficiency metrics the claim uses, and whose "
    "tile organisation the authors' sibling designs (ConvLight, LiteCON) build on; "
    "HolyLight and DEAP-CNN (photonic inference) and DaDianNao are shown for context.")
"""Why the inference claims are read against ISAAC."""


@dataclass(frozen=True)
class Claim:
    """One headline number of the paper and the baseline it most plausibly refers to.

    ``metric`` names a ratio of :class:`bplight.experiments.compare.Comparison`;
    ``at_least``: the paper says "at least", so anything above the number matches."""

    key: str
    mode: str
    metric: str
    claimed: float
    text: str
    primary: str
    context: tuple[str, ...]
    why: str
    at_least: bool = False
    source: str = PAPER

    @property
    def baselines(self) -> tuple[str, ...]:
        """The primary baseline, then the context ones."""
        return (self.primary, *self.context)


_TRAIN_CONTEXT = ("gtx1080", "dadiannao")
_INFER_CONTEXT = ("holylight", "deap", "dadiannao")

CLAIMS: tuple[Claim, ...] = (
    Claim("train_speedup", "train", "speedup", 34.0, "training speedup ≥34×", "pipelayer",
          _TRAIN_CONTEXT, TRAIN_WHY, at_least=True),
    Claim("train_ce", "train", "gops_per_s_per_mm2_ratio", 34.0,
          "training computational efficiency 34×", "pipelayer", _TRAIN_CONTEXT, TRAIN_WHY),
    Claim("train_energy", "train", "energy_saving", 38.5, "training energy saving 38.5×",
          "pipelayer", _TRAIN_CONTEXT, TRAIN_WHY),
    Claim("infer_speedup", "infer", "speedup", 29.0, "inference speedup 29×", "isaac",
          _INFER_CONTEXT, INFER_WHY),
    Claim("infer_ce", "infer", "gops_per_s_per_mm2_ratio", 31.0,
          "inference computational efficiency 31×", "isaac", _INFER_CONTEXT, INFER_WHY),
    Claim("infer_energy", "infer", "energy_saving", 38.7, "inference energy saving 38.7×",
          "isaac", _INFER_CONTEXT, INFER_WHY),
)
"""The six ratio claims of the abstract, in the abstract's order."""
