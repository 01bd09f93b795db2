"""All baselines by name: ``BASELINES["isaac"]`` etc., and :func:`get_baseline`."""

from __future__ import annotations

from bplight.baselines.base import Baseline
from bplight.baselines.crosslight import crosslight
from bplight.baselines.dadiannao import dadiannao
from bplight.baselines.deap import deap
from bplight.baselines.gpu import gtx1080, p100
from bplight.baselines.holylight import holylight
from bplight.baselines.isaac import isaac
from bplight.baselines.pipelayer import pipelayer
from bplight.errors import InputError

BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (gtx1080(), p100(), dadiannao(), isaac(), pipelayer(), holylight(), deap(),
              crosslight())
}
"""Each baseline at its reference assumptions, by name (order: GPUs, digital, ReRAM,
photonic)."""

TRAINING_BASELINES = tuple(n for n, b in BASELINES.items() if b.supports_training)
"""Names of the baselines that can train."""


def baseline_names() -> list[str]:
    return list(BASELINES)


def get_baseline(name: str) -> Baseline:
    """The baseline called ``name`` (case-insensitive; '-', '_' ignored)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"gtx1080": "gtx1080", "gpu": "gtx1080", "1080": "gtx1080",
               "teslap100": "p100", "deapcnn": "deap", "holylighta": "holylight",
               "isaacce": "isaac"}
    key = aliases.get(key, key)
    if key not in BASELINES:
        raise InputError(f"unknown baseline {name!r}; allowed: {', '.join(BASELINES)}")
    return BASELINES[key]


def baselines_markdown() -> str:
    """Every baseline's figures (published, derived, assumed), sources and training
    support as Markdown (the body of docs/baselines.md)."""
    from bplight.baselines.base import PublishedAccelerator

    lines = ["| baseline | 16-bit GOPS (infer / train) | GOPS/W (infer / train) | area mm² "
             "| GOPS/s/mm² (infer) | trains |", "|---|---|---|---|---|---|"]
    for b in BASELINES.values():
        tr = b.supports_training
        g_i = b.throughput_ops_per_s("infer") / 1e9
        e_i = 1e-9 / b.energy_per_op_j("infer")
        g_t = f"{b.throughput_ops_per_s('train') / 1e9:.4g}" if tr else "-"
        e_t = f"{1e-9 / b.energy_per_op_j('train'):.4g}" if tr else "-"
        lines.append(f"| {b.name} | {g_i:.4g} / {g_t} | {e_i:.4g} / {e_t} | "
                     f"{b.area_mm2:.4g} | {g_i / b.area_mm2:.4g} | {'yes' if tr else 'no'} |")
    lines.append("")
    for b in BASELINES.values():
        lines.append(f"### {b.name}: {getattr(b, 'title', b.name)}")
        lines.append("")
        if isinstance(b, PublishedAccelerator):
            lines.extend(f"- {line}" for line in b.describe())
        lines.append(f"- {'trains' if b.supports_training else 'inference only'}: "
                     f"{b.training_note}")
        lines.extend(f"- note: {n}" for n in getattr(b, "notes", ()))
        lines.append("- sources: " + "; ".join(b.sources))
        lines.append("")
    return "\n".join(lines)
