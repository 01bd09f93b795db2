"""``bplight report PATH... [-o report.html]``: one self-contained HTML page of results.

The page opens with the takeaway in plain words (what was trained and how close it came
to FP32, what an image costs on the chip, how the chip stands against each baseline and
against the paper's claims), then one section per kind of input (see
:mod:`bplight.report.inputs`), then the list of inputs, naming any that could not be
read. Figures are PNGs embedded as ``data:`` URIs, styles are inline, and there is no
script: the file opens offline, in any browser, without JavaScript. Every string that
comes from an input (run names, YAML, model names, reasons) is HTML-escaped.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import os
import shlex
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bplight.errors import InputError
from bplight.experiments.common import DEFAULT_INPUT
from bplight.io import atomic_write_text
from bplight.report import inputs
from bplight.report.inputs import Loaded, Problem, kind_named, read_input
from bplight.units import format_si

# --- names for people --------------------------------------------------------------------

COMPONENT_NAMES = {
    "laser": "laser light",
    "ring_thermal": "ring thermal hold",
    "modulator": "input modulators",
    "dac": "DACs",
    "weight_ring": "weight-ring tuning",
    "detector": "photodetectors",
    "adc": "ADC conversions",
    "shift_add": "shift-and-add",
    "digital": "digital activation and pooling",
    "memristor_read": "memristor reads",
    "memristor_write": "memristor writes",
    "edram": "eDRAM buffers",
    "noc": "on-chip network",
    "dram": "off-chip DRAM",
}
"""Energy components of the cost engine (``energy_by_component_j`` keys)."""

AREA_NAMES = {
    "weight_rings": "weight rings",
    "modulators": "input modulators",
    "dacs": "DACs",
    "detectors": "photodetectors",
    "adcs": "ADCs",
    "shift_add": "shift-and-add",
    "memristor": "memristor arrays",
    "edram": "eDRAM buffers",
    "digital": "digital units",
    "router": "on-chip routers",
    "laser": "lasers (off-chip)",
}
"""Area components (``area_by_component_mm2`` keys)."""

LATENCY_NAMES = {
    "compute": "analog compute",
    "edram": "eDRAM traffic",
    "noc": "on-chip network",
    "dram": "off-chip DRAM traffic",
    "memristor_read": "memristor reads",
    "digital": "digital units",
    "update": "weight update",
    "pipeline_fill": "pipeline fill",
}
"""Latency terms (``latency_breakdown_s`` keys)."""

PHASE_NAMES = {
    "forward": "forward pass",
    "error": "error backpropagation",
    "weight_grad": "weight gradient",
    "update": "weight update",
}
MODE_NAMES = {"train": "training", "infer": "inference"}
MODEL_NAMES = {"lenet5": "LeNet-5", "vgg8": "VGG-8", "vgg11": "VGG-11", "vgg16": "VGG-16"}
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
METRIC_NAMES = {
    "speedup": "speedup",
    "gops_per_s_per_mm2_ratio": "computational efficiency (GOPS/s/mm²) ratio",
    "gops_per_w_ratio": "power efficiency (GOPS/W) ratio",
    "energy_saving": "energy saving",
}

README_BATCH = 64
"""The batch of the README's cost and comparison tables (its commands say ``--batch 64``);
their inputs are each model's default (:data:`bplight.experiments.common.DEFAULT_INPUT`,
as ``scripts/regenerate-docs`` builds them)."""
README_TABLES = {m: (DEFAULT_INPUT[m], README_BATCH) for m in ("lenet5", "vgg16")}
"""Input shape and batch of the README's tables, per model they cover."""


def human(key: str, names: dict[str, str]) -> str:
    """The name a person reads for an engine key (unknown keys: underscores as spaces)."""
    return names.get(key, key.replace("_", " "))


def e(value: Any) -> str:
    """HTML-escaped text of ``value`` (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(int(s)) for s in shape)


def ratio_text(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}×"


def duration_text(seconds: float) -> str:
    """``2668.3`` -> ``"44 min 28 s"``; under two minutes in seconds."""
    if seconds < 120:
        return format_si(seconds, "s")
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h {minutes} min" if hours else f"{minutes} min {sec} s")


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


# --- figures -----------------------------------------------------------------------------

def _figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    axes = fig.subplots(1, ncols)
    return fig, axes


def png_uri(fig: Any) -> str:
    """The figure as a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(fig: Any, alt: str, caption: str, command: str | None) -> str:
    """``<figure>`` with the embedded PNG and a caption (``caption`` is already HTML);
    ``command`` regenerates the figure's data."""
    return image_html(png_uri(fig), alt, caption, command)


def image_html(uri: str, alt: str, caption: str, command: str | None) -> str:
    """``<figure>`` of an image given as a ``data:`` URI (see :func:`figure_html`)."""
    regen = (f" Regenerate with <code>{e(command)}</code>, then <code>bplight report</code>."
             if command else "")
    return (f'<figure><img src="{uri}" alt="{e(alt)}">'
            f"<figcaption>{caption}{regen}</figcaption></figure>")


def _barh(ax: Any, labels: list[str], values: list[float], unit: str, title: str) -> None:
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color="#3b6ea5")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)


# --- page pieces -------------------------------------------------------------------------

def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of text cells (escaped)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def details(summary: str, body_html: str) -> str:
    return f"<details><summary>{e(summary)}</summary>{body_html}</details>"


def yaml_block(text: str | None, where: str) -> str:
    if not text:
        return f'<p class="note">Hardware description: {e(where)}.</p>'
    return details(f"Hardware description ({where})", f"<pre>{e(text)}</pre>")


def preset_yaml(design: str) -> tuple[str | None, str]:
    """The YAML of preset ``design`` and where it came from (estimate and compare JSON
    name the design but do not record ``--set`` overrides)."""
    from bplight.config import dump_spec, load_spec, preset_names

    if design in preset_names():
        return dump_spec(load_spec(design)), (
            f"preset {design} as this bplight ships it; the JSON output does not record "
            "--set overrides")
    return None, f"{design}, not a preset: the JSON output does not record its YAML"


class Page:
    """What the renderers share: the inputs read, the problems and the output path."""

    def __init__(self, loaded: list[Loaded], problems: list[Problem], out: Path,
                 command: str) -> None:
        self.loaded = loaded
        self.problems = problems
        self.out = out
        self.command = command

    def of(self, kind: str) -> list[Loaded]:
        return [item for item in self.loaded if item.kind == kind]

    def link(self, target: Path, text: str) -> str:
        """A link to ``target`` relative to the page (kept working when both move)."""
        rel = os.path.relpath(target.resolve(), self.out.resolve().parent)
        return f'<a href="{e(urllib.parse.quote(Path(rel).as_posix()))}">{e(text)}</a>'

    def reproduction_link(self) -> str:
        for item in self.of("reproduce"):
            if item.path.suffix == ".md":
                return self.link(item.path, "the reproduction document")
        repo_doc = Path(__file__).resolve().parents[3] / "docs" / "reproduction.md"
        if repo_doc.is_file():
            return self.link(repo_doc, "docs/reproduction.md")
        return "docs/reproduction.md in the bplight repository"


# --- runs --------------------------------------------------------------------------------

def run_command(args: dict[str, Any] | None) -> str | None:
    """The ``bplight train`` command that made a run, from its ``args.json``."""
    if not args:
        return None
    parts = ["bplight", "train"]
    for key, flag in (("model", "--model"), ("dataset", "--dataset"),
                      ("hardware", "--hardware"), ("epochs", "--epochs"),
                      ("batch_size", "--batch-size"), ("lr", "--lr"), ("seed", "--seed")):
        if args.get(key) is not None:
            parts += [flag, str(args[key])]
    for over in args.get("overrides") or []:
        parts += ["--set", str(over)]
    if args.get("subset") is not None:
        parts += ["--subset", str(args["subset"])]
    if args.get("width") not in (None, 1, 1.0):
        parts += ["--width", str(args["width"])]
    if args.get("baseline") is False:
        parts.append("--no-baseline")
    return shlex.join(parts)


def run_title(item: Loaded) -> str:
    s = item.data["summary"] or item.data["args"] or {}
    model = human(str(s.get("model", "?")), MODEL_NAMES)
    dataset = human(str(s.get("dataset", "?")), DATASET_NAMES)
    return f"{model} on {dataset} through {s.get('hardware', '?')}"


def _finite(v: float | None) -> float:
    """A metric as a float; ``null`` (a non-finite value in strict JSON) as NaN, which
    the plots leave as a gap."""
    return float("nan") if v is None else float(v)


def _curves_figure(item: Loaded) -> Any:
    fig, (a, b) = _figure(9.5, 3.6, 2)
    styles = {"hardware": ("#c0392b", "o-"), "fp32": ("#2c3e50", "s--")}
    for run, rows in item.data["metrics"].items():
        color, style = styles.get(run, (None, "^-"))
        label = "FP32 (PyTorch)" if run == "fp32" else f"{run} (chip model)"
        ep = [r["epoch"] for r in rows]
        a.plot(ep, [_finite(r["train_loss"]) for r in rows], style, color=color,
               label=f"{label}, train")
        a.plot(ep, [_finite(r["test_loss"]) for r in rows], style, color=color, alpha=0.45,
               label=f"{label}, test")
        b.plot(ep, [100 * _finite(r["test_accuracy"]) for r in rows], style, color=color,
               label=label)
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy loss (nats)")
    a.set_title("loss", fontsize=10)
    b.set_xlabel("epoch")
    b.set_ylabel("test accuracy (%)")
    b.set_title("test accuracy", fontsize=10)
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def _writes_figure(rows: list[dict[str, Any]]) -> Any:
    epochs = [r["epoch"] for r in rows]
    total = [r["memristor_cell_writes"] for r in rows]
    per_epoch = [t - p for t, p in zip(total, [0, *total[:-1]], strict=True)]
    fig, ax = _figure(6.0, 3.0)
    ax.bar(epochs, per_epoch, color="#8e44ad")
    ax.set_xlabel("epoch")
    ax.set_ylabel("memristor cells written")
    ax.set_title("memristor cell writes per epoch", fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    return fig


MEMRISTOR_RECORD = {
    "cell_writes": "cells written over the run",
    "cells": "memristor cells holding the weights",
    "steps": "updates written",
    "write_fraction": "fraction of the cells written per update",
}
"""The ``memristor`` write record of ``summary.json`` (the numerics' ``write_record()``;
optional: written when the run wrote its updates through the memristor model)."""


def _count(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:,}" if isinstance(v, int) else f"{v:.3g}"


def _memristor_record(record: dict[str, Any]) -> str:
    rows = [(label, _count(record[key])) for key, label in MEMRISTOR_RECORD.items()
            if key in record]
    return "<h4>Memristor writes</h4>" + table(["quantity", "value"], rows) if rows else ""


WEAR_ROWS = {
    "max_writes_per_cell": "writes to the most-written cell",
    "mean_writes_per_cell": "mean writes per cell",
    "cells_never_written": "cells never written",
    "endurance_cycles": "endurance of a cell (writes)",
    "lifetime_runs": "runs like this one until the most-written cell wears out",
    "lifetime_runs_mean": "runs until wear-out if writes were spread evenly",
    "lifetime_runs_if_all": "runs until wear-out under write policy 'all'",
}
"""The ``memristor.wear`` record of ``summary.json`` (:mod:`bplight.experiments.wear`;
optional: written by runs that write through the memristor model)."""


def _wear_figure(wear: dict[str, Any]) -> Any:
    edges = wear["histogram"]["edges"]
    counts = wear["histogram"]["counts"]
    labels = [str(lo) if hi - lo == 1 else f"{lo}–{hi - 1}"
              for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    fig, ax = _figure(6.0, 3.0)
    ax.bar(range(len(counts)), counts, color="#16a085")
    ax.set_xticks(range(len(counts)), labels, rotation=45, fontsize=7)
    ax.set_xlabel("writes to a cell over the run")
    ax.set_ylabel("memristor cells")
    ax.set_title("memristor wear: cells by number of writes", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _wear_html(wear: dict[str, Any], command: str) -> str:
    rows = [(label, _count(wear[key])) for key, label in WEAR_ROWS.items() if key in wear]
    if wear.get("endurance_source"):
        rows.append(("source of the endurance", str(wear["endurance_source"])))
    out = ["<h4>Memristor wear</h4>", table(["quantity", "value"], rows)]
    hist = wear.get("histogram")
    if isinstance(hist, dict) and hist.get("counts"):
        out.append(figure_html(
            _wear_figure(wear), "memristor cells by number of writes",
            "Memristor cells (count) by the number of times the run re-programmed them "
            f"(power-of-two bins; write policy {e(str(wear.get('write_policy', 'n/a')))}).",
            command))
    return "".join(out)


def render_run(item: Loaded, page: Page) -> str:
    d = item.data
    s = d["summary"]
    command = run_command(d["args"])
    out = [f"<h3>{e(run_title(item))} <small>({e(d['name'])})</small></h3>"]
    rows = []
    if s:
        rows.append(("hardware run test accuracy", pct(s.get("test_accuracy"))))
        if s.get("fp32_test_accuracy") is not None:
            rows.append(("FP32 test accuracy", pct(s["fp32_test_accuracy"])))
            gap = s.get("accuracy_gap_pp")
            rows.append(("gap (FP32 − hardware)",
                         "n/a" if gap is None else f"{gap:+.2f} percentage points"))
        rows.append(("epochs", str(s["epochs"])))
        for key, label in (("batch_size", "batch"), ("mode", "numerics mode"),
                           ("subset", "images per split (subset)"), ("seed", "seed")):
            if s.get(key) is not None:
                rows.append((label, str(s[key])))
        if s.get("wall_time_s") is not None:
            rows.append(("wall time", duration_text(s["wall_time_s"])))
    out.append(table(["quantity", "value"], rows))
    out.append(figure_html(
        _curves_figure(item), "training and test loss, test accuracy per epoch",
        f"Loss (cross-entropy, nats) and test accuracy (%) per epoch of {e(d['name'])}: the "
        "chip-model run beside FP32 with the same seed, data order and schedule.",
        command))
    hw_rows = d["metrics"].get("hardware", [])
    if hw_rows and all("memristor_cell_writes" in r for r in hw_rows):
        out.append(figure_html(
            _writes_figure(hw_rows), "memristor cell writes per epoch",
            "Memristor cells re-programmed per epoch (count of cells; each weight spans "
            "several cells).", command))
    if s and isinstance(s.get("memristor"), dict):
        out.append(_memristor_record(s["memristor"]))
        if isinstance(s["memristor"].get("wear"), dict):
            out.append(_wear_html(s["memristor"]["wear"], command))
    for note in item.notes:
        out.append(f'<p class="note">{e(note)}</p>')
    out.append(yaml_block(d["config_yaml"], "config.yaml of the run"))
    return "".join(out)


def run_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("run"):
        s = item.data["summary"]
        if not s:
            out.append(f"{e(run_title(item))}: the run has not finished (no summary.json).")
            continue
        if s["test_accuracy"] is None:
            out.append(f"{e(run_title(item))}: the run ended without a finite test accuracy "
                       "(see its metrics).")
            continue
        subset = f" on a {s['subset']}-image subset" if s.get("subset") else ""
        text = (f"{e(run_title(item))} ({e(s.get('mode', ''))} mode), trained for "
                f"{e(s['epochs'])} epochs{e(subset)}, reached <b>{pct(s['test_accuracy'])}"
                "</b> test accuracy")
        fp32 = s.get("fp32_test_accuracy")
        if fp32 is None:
            text += "; no FP32 baseline was trained beside it."
        else:
            gap = 100 * (fp32 - s["test_accuracy"])
            side = "below" if gap >= 0 else "above"
            text += (f", <b>{abs(gap):.2f} points {side}</b> FP32 ({pct(fp32)}) with the same "
                     "seed, data order and schedule.")
        fraction = (s.get("memristor") or {}).get("write_fraction")
        if fraction is not None:
            text += (f" Each weight update re-programmed {100 * fraction:.3g} % of the "
                     "memristor cells on average.")
        out.append(text)
    return out


# --- estimates ---------------------------------------------------------------------------

def model_key(workload: str, shape: Sequence[int]) -> str:
    """``lenet5-1x28x28`` -> ``lenet5`` (the workload name less its input suffix)."""
    suffix = "-" + "x".join(str(int(s)) for s in shape)
    return workload[: -len(suffix)] if workload.endswith(suffix) else workload


def estimate_title(est: dict[str, Any]) -> str:
    model = human(model_key(est["workload"], est["input_shape"]), MODEL_NAMES)
    return (f"{model} {shape_text(est['input_shape'])}, {human(est['mode'], MODE_NAMES)}, "
            f"batch {est['batch']}, on {est['design']}")


def estimate_command(est: dict[str, Any], path: Path) -> str:
    return shlex.join([
        "bplight", "estimate", "--model", model_key(est["workload"], est["input_shape"]),
        "--input", "x".join(str(int(s)) for s in est["input_shape"]),
        "--hardware", str(est["design"]), "--phase", str(est["mode"]),
        "--batch", str(est["batch"]), "--json"]) + f" > {shlex.quote(path.name)}"


def readme_note(model: str, shape: Sequence[int], batch: int, page: Page) -> str:
    """Whether an estimate uses the README tables' input and batch, and if not, why."""
    if model not in README_TABLES:
        return (f"The README's tables cover LeNet-5 and VGG-16 only; this is "
                f"{human(model, MODEL_NAMES)}.")
    r_shape, r_batch = README_TABLES[model]
    if tuple(shape) == r_shape and batch == r_batch:
        return "Same input size and batch as the README's tables."
    from bplight.data.sources import DATASETS

    asked = "as requested on the command line"
    why_shape, why_batch = asked, asked
    for run in page.of("run"):
        s = run.data["summary"] or run.data["args"] or {}
        ds = DATASETS.get(str(s.get("dataset")))
        if s.get("model") == model and ds and tuple(shape) == (ds.channels, ds.size, ds.size):
            name = human(ds.name, DATASET_NAMES)
            why_shape = f"the image size of the {name} run in this report"
            if s.get("batch_size") == batch:
                why_batch = f"the batch of the {name} run"
            break
    parts = []
    if tuple(shape) != r_shape:
        parts.append(f"{shape_text(shape)} ({why_shape})")
    if batch != r_batch:
        parts.append(f"batch {batch} ({why_batch})")
    return (f"The README's tables use {shape_text(r_shape)} and batch {r_batch}; this uses "
            f"{' and '.join(parts)}.")


def _top_shares(comp: dict[str, float], n: int = 3) -> str:
    total = sum(v for v in comp.values() if v) or 1.0
    top = sorted(comp.items(), key=lambda kv: -(kv[1] or 0))[:n]
    return ", ".join(f"{human(k, COMPONENT_NAMES)} ({100 * v / total:.0f} %)" for k, v in top)


def _energy_latency_figure(est: dict[str, Any]) -> Any:
    batch = est["batch"]
    comp = {k: v for k, v in est["energy_by_component_j"].items() if v}
    comp = dict(sorted(comp.items(), key=lambda kv: -kv[1]))
    lat = {k: v for k, v in (est.get("latency_breakdown_s") or {}).items() if v}
    fig, axes = _figure(10.0, 3.9, 2 if lat else 1)
    a = axes[0] if lat else axes
    _barh(a, [human(k, COMPONENT_NAMES) for k in comp], [1e6 * v / batch for v in comp.values()],
          "energy per image (µJ)", "energy by component")
    if lat:
        _barh(axes[1], [human(k, LATENCY_NAMES) for k in lat],
              [1e6 * v for v in lat.values()], f"time per batch of {batch} (µs)",
              "latency terms (latency = max of the overlapped terms + update)")
    return fig


DIGITAL_LAYERS = "activation and pooling"
"""Layers without matrix products (run on the digital units), drawn as one bar."""


def _layer_phase_figure(est: dict[str, Any]) -> Any | None:
    phases = est.get("phases")
    if not phases:
        return None
    batch = est["batch"]
    digital = {p["layer"] for p in phases if p["phase"] != "update"} - {
        p["layer"] for p in phases if p["macs"]}
    phases = [{**p, "layer": DIGITAL_LAYERS if p["layer"] in digital else p["layer"]}
              for p in phases]
    layers: list[str] = []
    for p in phases:
        if p["layer"] not in layers:
            layers.append(p["layer"])
    names = [p for p in PHASE_NAMES if any(q["phase"] == p for q in phases)]
    names += sorted({q["phase"] for q in phases} - set(names))
    fig, (a, b) = _figure(10.0, 0.9 + 0.45 * max(len(layers), 4), 2)
    y = list(range(len(layers)))[::-1]
    left = [0.0] * len(layers)
    colors = ["#3b6ea5", "#e67e22", "#27ae60", "#8e44ad", "#7f8c8d"]
    for i, ph in enumerate(names):
        vals = [sum(q["energy_j"] for q in phases if q["layer"] == ly and q["phase"] == ph)
                * 1e6 / batch for ly in layers]
        a.barh(y, vals, left=left, label=human(ph, PHASE_NAMES), color=colors[i % 5])
        left = [lft + v for lft, v in zip(left, vals, strict=True)]
    a.set_yticks(y)
    a.set_yticklabels(layers)
    a.set_xlabel("energy per image (µJ)")
    a.set_title("energy by layer and phase", fontsize=10)
    a.legend(fontsize=8)
    a.grid(axis="x", alpha=0.3)
    totals = est.get("phase_totals") or {}
    ph = [p for p in names if p in totals]
    _barh(b, [human(p, PHASE_NAMES) for p in ph], [1e6 * totals[p]["latency_s"] for p in ph],
          f"stage time per batch of {batch} (µs)", "time by phase")
    return fig


def render_estimate(item: Loaded, page: Page) -> str:
    est = item.data
    cmd = estimate_command(est, item.path)
    model = model_key(est["workload"], est["input_shape"])
    out = [f"<h3>{e(estimate_title(est))}</h3>",
           f"<p>{e(readme_note(model, est['input_shape'], est['batch'], page))}</p>"]
    rows = [("latency per batch", format_si(est["latency_s"], "s")),
            ("latency per image", format_si(est["latency_per_image_s"], "s")),
            ("energy per image", format_si(est["energy_per_image_j"], "J")),
            ("power", format_si(est["power_w"], "W")),
            ("area", f"{est['area_mm2']:.1f} mm²"),
            ("throughput", f"{est['gops']:.4g} GOPS"),
            ("power efficiency", f"{est['gops_per_w']:.4g} GOPS/W"),
            ("computational efficiency", f"{est['gops_per_s_per_mm2']:.4g} GOPS/s/mm²")]
    out.append(table(["quantity", "value"], rows))
    out.append(figure_html(
        _energy_latency_figure(est), "energy per image by component and latency terms",
        f"Energy per image by component (µJ; static power charged for the time the work "
        f"takes) and the latency terms of one batch of {e(est['batch'])} (µs), "
        f"{e(estimate_title(est))}.", cmd))
    fig = _layer_phase_figure(est)
    if fig is not None:
        out.append(figure_html(
            fig, "energy per image by layer and phase; time by phase",
            "Energy per image of each layer split by phase (µJ) and each phase's stage time "
            f"per batch (µs), {e(estimate_title(est))}.", cmd))
    area = est.get("area_by_component_mm2") or {}
    if area:
        total = sum(area.values()) or 1.0
        out.append(details("Area by component", table(
            ["component", "area (mm²)", "share"],
            [(human(k, AREA_NAMES), f"{v:.3g}", f"{100 * v / total:.1f} %")
             for k, v in sorted(area.items(), key=lambda kv: -kv[1])])))
    notes = [*(est.get("assumptions") or [])]
    if notes:
        out.append(details("Assumptions", "<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes)
                           + "</ul>"))
    if est.get("sources"):
        out.append(details("Sources", "<ul>" + "".join(f"<li>{e(n)}</li>"
                                                       for n in est["sources"]) + "</ul>"))
    out.append(yaml_block(*preset_yaml(str(est["design"]))))
    return "".join(out)


def estimate_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("estimate"):
        est = item.data
        model = model_key(est["workload"], est["input_shape"])
        what = "A training image" if est["mode"] == "train" else "An inference image"
        out.append(
            f"{what} of {e(human(model, MODEL_NAMES))} ({e(shape_text(est['input_shape']))}, "
            f"batch {e(est['batch'])}) costs <b>{e(format_si(est['energy_per_image_j'], 'J'))}"
            f"</b> and {e(format_si(est['latency_per_image_s'], 's'))} on {e(est['design'])} "
            f"({e(format_si(est['power_w'], 'W'))}, {est['area_mm2']:.1f} mm²); most energy "
            f"goes to {e(_top_shares(est['energy_by_component_j']))}. "
            f"{e(readme_note(model, est['input_shape'], est['batch'], page))}")
    return out


# --- comparisons -------------------------------------------------------------------------

def compare_title(cmp: dict[str, Any]) -> str:
    return (f"{human(cmp['model'], MODEL_NAMES)} {shape_text(cmp['input_shape'])}, "
            f"{human(cmp['phase'], MODE_NAMES)}, batch {cmp['batch']}, {cmp['hardware']}")


def compare_command(cmp: dict[str, Any], path: Path) -> str:
    return shlex.join([
        "bplight", "compare", "--model", str(cmp["model"]),
        "--input", "x".join(str(int(s)) for s in cmp["input_shape"]),
        "--hardware", str(cmp["hardware"]), "--phase", str(cmp["phase"]),
        "--batch", str(cmp["batch"]), "--json"]) + f" > {shlex.quote(path.name)}"


_COMPARED = ("speedup", "gops_per_s_per_mm2_ratio", "energy_saving")


def _compare_figure(cmp: dict[str, Any]) -> Any:
    import numpy as np

    names = list(cmp["baselines"])
    fig, ax = _figure(10.0, 4.0)
    x = np.arange(len(names))
    width = 0.27
    colors = ("#3b6ea5", "#e67e22", "#27ae60")
    for i, metric in enumerate(_COMPARED):
        vals = [cmp["baselines"][n][metric] for n in names]
        ax.bar(x + (i - 1) * width, [v if v else np.nan for v in vals], width,
               label=human(metric, METRIC_NAMES), color=colors[i])
    for j, n in enumerate(names):
        if cmp["baselines"][n]["speedup"] is None:
            ax.text(j, 1.0, "cannot\ntrain" if cmp["phase"] == "train" else "n/a",
                    ha="center", va="bottom", fontsize=8, color="#7f8c8d")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([short_title(cmp["baselines"][n]["title"]) for n in names], rotation=15,
                       fontsize=8)
    ax.set_ylabel("BPLight-CNN ÷ baseline\n(×, log scale; above 1: better)")
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, frameon=False)
    ax.grid(axis="y", alpha=0.3, which="both")
    return fig


def render_compare(item: Loaded, page: Page) -> str:
    cmp = item.data
    cmd = compare_command(cmp, item.path)
    out = [f"<h3>{e(compare_title(cmp))}</h3>"]
    rows = []
    for r in cmp["baselines"].values():
        if r["speedup"] is None:
            rows.append((r["title"], "—", "—", "—", "—", r["reason"] or "no ratio"))
        else:
            rows.append((r["title"], ratio_text(r["speedup"]),
                         ratio_text(r["gops_per_s_per_mm2_ratio"]),
                         ratio_text(r["energy_saving"]), ratio_text(r["gops_per_w_ratio"]),
                         ""))
    out.append(table(["baseline", "speedup", "GOPS/s/mm² ratio", "energy saving",
                      "GOPS/W ratio", "note"], rows))
    out.append(figure_html(
        _compare_figure(cmp), "BPLight-CNN over each baseline",
        f"BPLight-CNN over each baseline (ratio, ×, log scale; above 1 the chip is better): "
        f"speedup, computational efficiency (GOPS/s/mm²) and energy saving, "
        f"{e(compare_title(cmp))}.", cmd))
    out.append(details("Baseline assumptions and sources", "".join(
        f"<h4>{e(r['title'])}</h4><ul>"
        + "".join(f"<li>{e(a)}</li>" for a in (r.get("assumptions") or []))
        + "".join(f"<li>source: {e(s)}</li>" for s in (r.get("sources") or [])) + "</ul>"
        for r in cmp["baselines"].values())))
    out.append(yaml_block(*preset_yaml(str(cmp["hardware"]))))
    return "".join(out)


def short_title(title: str) -> str:
    """``"NVIDIA GTX 1080 (PipeLayer's GPU baseline)"`` -> ``"NVIDIA GTX 1080"``."""
    return title.split(" (")[0]


def short_reason(reason: str | None) -> str:
    """The gist of a baseline's reason for no ratio (``"inference only: ..."`` -> its
    first clause)."""
    return (reason or "no ratio").split(":")[0]


def _times(x: float, better: str, worse: str) -> str:
    if not x > 0:
        return f"{better}: n/a"
    return f"{x:.3g}× {better}" if x >= 1 else f"{1 / x:.3g}× {worse}"


def claims_sentence(cmp: dict[str, Any], page: Page) -> str | None:
    """The paper's claims for this phase beside what this comparison gives."""
    from bplight.experiments.reproduce import CLAIMS

    claims = [c for c in CLAIMS if c.mode == cmp["phase"] and c.primary in cmp["baselines"]]
    if not claims:
        return None
    base = cmp["baselines"][claims[0].primary]
    parts = [f"{c.text.rsplit(' ', 1)[0]} claimed {c.claimed:g}×, here "
             f"{ratio_text(base[c.metric])}" for c in claims]
    return (f"The paper claims, over {e(short_title(base['title']))}: {e('; '.join(parts))} "
            f"({page.reproduction_link()} explains each gap).")


def compare_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("compare"):
        cmp = item.data
        lines = []
        for r in cmp["baselines"].values():
            if r["speedup"] is None:
                lines.append(f"{e(short_title(r['title']))}: no comparison "
                             f"({e(short_reason(r['reason']))})")
            else:
                lines.append(
                    f"{e(short_title(r['title']))}: "
                    f"{_times(r['speedup'], 'faster', 'slower')}, "
                    f"{_times(r['energy_saving'], 'less energy', 'more energy')} per image")
        text = (f"For {e(human(cmp['phase'], MODE_NAMES))} of "
                f"{e(human(cmp['model'], MODEL_NAMES))} ({e(shape_text(cmp['input_shape']))}, "
                f"batch {e(cmp['batch'])}), the chip against each baseline:<ul>"
                + "".join(f"<li>{ln}</li>" for ln in lines) + "</ul>")
        claim = claims_sentence(cmp, page)
        out.append(text + (claim or ""))
    return out


# --- sweeps ------------------------------------------------------------------------------

OBJECTIVE_NAMES = {
    "train_energy_per_image_j": "energy per training image",
    "train_latency_s": "training latency per batch",
    "infer_energy_per_image_j": "energy per inference image",
    "infer_latency_s": "inference latency per batch",
    "accuracy_loss_pp": "accuracy loss vs FP32",
}


def objective_text(name: str, value: Any) -> str:
    """A sweep objective's value with its unit (from the name's suffix)."""
    if value is None or value != value:
        return "n/a"
    if name.endswith("_j"):
        return format_si(float(value), "J")
    if name.endswith("_s"):
        return format_si(float(value), "s")
    if name.endswith("_pp"):
        return f"{float(value):.2f} points"
    return f"{float(value):.4g}"


_FIELD_UNITS = {"_hz": "Hz", "_w": "W", "_m": "m", "_s": "s", "_j": "J"}


def _param_text(name: str, value: Any) -> str:
    """A swept field's value, with the SI unit its name ends in (``..._hz``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for suffix, unit in _FIELD_UNITS.items():
            if name.endswith(suffix):
                return format_si(float(value), unit)
        return f"{value:g}" if isinstance(value, float) else str(value)
    return str(value)


def _sweep_spec(item: Loaded) -> dict[str, Any]:
    import yaml

    spec = yaml.safe_load(item.data["meta"]["spec"])
    return spec if isinstance(spec, dict) else {}


def _sweep_png(item: Loaded, title: str) -> str:
    """The sweep's own Pareto figure (:func:`bplight.experiments.sweep.pareto.plot_front`),
    drawn from its store, as a ``data:`` URI."""
    import tempfile

    from bplight.experiments.sweep.pareto import plot_front

    d = item.data
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "pareto.png"
        plot_front(d["frame"], d["front"], d["refs"], png, title)
        data = png.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def render_sweep(item: Loaded, page: Page) -> str:
    d = item.data
    spec = _sweep_spec(item)
    name = str(spec.get("name", d["name"]))
    params = list(spec.get("parameters") or {})
    workload = d["meta"].get("primary_cost_workload", "")
    frame, front = d["frame"], d["front"]
    feasible = int(frame["feasible"].sum()) if not frame.empty else 0
    objectives = [o for o in d["objectives"] if o in front]
    if "accuracy_loss_pp" in front and front["accuracy_loss_pp"].notna().any() \
            and "accuracy_loss_pp" not in objectives:
        objectives.append("accuracy_loss_pp")
    command = f"bplight sweep SPEC.yaml -o {shlex.quote(str(item.path))}"
    out = [f"<h3>Sweep {e(name)} on {e(workload)} <small>({e(d['name'])})</small></h3>",
           table(["quantity", "value"], [
               ("designs", str(len(frame))), ("feasible designs", str(feasible)),
               ("on the Pareto front", str(len(front))),
               ("points by status", ", ".join(f"{v} {k}" for k, v in d["counts"].items()))])]
    out.append(image_html(
        _sweep_png(item, f"sweep {name}: {workload}"),
        "energy per training image against training latency of every feasible design",
        "Energy per training image (J) against training latency per batch (s) of every "
        "feasible design (log scales), the Pareto front, the reference presets and the "
        "paper's claim on the same axes; where accuracy was measured, accuracy loss against "
        "FP32 (percentage points). SPEC.yaml is the sweep spec below.", command))
    if not front.empty:
        out.append("<h4>Pareto front</h4>" + table(
            [*params, *(human(o, OBJECTIVE_NAMES) for o in objectives)],
            [[_param_text(p, row[p]) for p in params]
             + [objective_text(o, row[o]) for o in objectives]
             for _, row in front.iterrows()]))
    out.append(details("Sweep spec (SPEC.yaml)", f"<pre>{e(d['meta'].get('spec', ''))}</pre>"))
    out.append(yaml_block(d["meta"].get("base_hardware"), "the sweep's base design"))
    return "".join(out)


def sweep_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("sweep"):
        d = item.data
        frame, front = d["frame"], d["front"]
        name = str(_sweep_spec(item).get("name", d["name"]))
        feasible = int(frame["feasible"].sum()) if not frame.empty else 0
        text = (f"The sweep {e(name)} evaluated {len(frame)} designs of "
                f"{e(d['meta'].get('primary_cost_workload', ''))} ({feasible} feasible); "
                f"its Pareto front holds {len(front)}")
        key = "train_energy_per_image_j"
        if not front.empty and key in front:
            best = front.loc[front[key].idxmin()]
            params = list(_sweep_spec(item).get("parameters") or {})
            text += (f", the least energy per training image there being "
                     f"<b>{e(objective_text(key, best[key]))}</b> ("
                     + e(", ".join(f"{p} = {_param_text(p, best[p])}" for p in params)) + ")")
            refs = [r for r in d["refs"] if r["label"] == "bplight-16b"]
            if refs:
                text += f" against {e(objective_text(key, refs[0][key]))} for bplight-16b"
        out.append(text + ".")
    return out


# --- waterfalls ---------------------------------------------------------------------------

def _waterfall_png(data: dict[str, Any]) -> str:
    """The waterfall's own figure (:func:`bplight.experiments.waterfall.plot_waterfall`)
    as a ``data:`` URI."""
    import tempfile

    from bplight.experiments.waterfall import plot_waterfall

    with tempfile.TemporaryDirectory() as tmp:
        png = plot_waterfall(data, Path(tmp) / "waterfall.png")
        raw = Path(png).read_bytes()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _train_ratio(row: dict[str, Any], baseline: str, ratio: str) -> float | None:
    return ((row["ratios"].get("train") or {}).get(baseline) or {}).get(ratio)


WATERFALL_BASELINE = "pipelayer"
"""The baseline the takeaway follows along the waterfall (the training claims')."""


def render_waterfall(item: Loaded, page: Page) -> str:
    d = item.data
    out = [f"<h3>From {e(d['start'])} to {e(d['end'])} <small>({e(item.path.name)})</small>"
           "</h3>"]
    out.append(image_html(
        _waterfall_png(d), "accuracy and the paper's six ratios at each step",
        "Each step restores one physical assumption of the paper's implied design: test "
        "accuracy gap to FP32 (percentage points, where measured) and the six ratios of the "
        "paper's abstract against every baseline (×, log scale).", d.get("command")))
    rows = []
    for i, row in enumerate(d["waterfall"]):
        gap = row["accuracy_gap_pp"]
        rows.append((str(i), row["title"], ", ".join(row["changed"]) or "—",
                     ratio_text(_train_ratio(row, WATERFALL_BASELINE, "speedup")),
                     ratio_text(_train_ratio(row, WATERFALL_BASELINE, "energy_saving")),
                     "not measured" if gap is None else f"{gap:.2f} points",
                     "yes" if row["link_budget_feasible"] else "no"))
    out.append(table(["step", "assumption restored", "fields set", "training speedup over "
                      "PipeLayer", "training energy saving over PipeLayer",
                      "accuracy gap to FP32", "link budget closes"], rows))
    restores = [(row["title"], row.get("restores") or "", row.get("source") or "")
                for row in d["waterfall"] if row.get("restores")]
    if restores:
        out.append(details("What each step restores, with its source", "<ul>" + "".join(
            f"<li><b>{e(t)}</b>: {e(r)} ({e(s)})</li>" for t, r, s in restores) + "</ul>"))
    for note in d.get("notes") or []:
        out.append(f'<p class="note">{e(note)}</p>')
    return "".join(out)


def waterfall_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("waterfall"):
        rows = item.data["waterfall"]
        first, last = rows[0], rows[-1]
        parts = []
        for ratio, label in (("speedup", "training speedup"),
                             ("energy_saving", "training energy saving")):
            a, b = (_train_ratio(first, WATERFALL_BASELINE, ratio),
                    _train_ratio(last, WATERFALL_BASELINE, ratio))
            parts.append(f"{label} over PipeLayer goes from {ratio_text(a)} to "
                         f"{ratio_text(b)}")
        out.append(f"Restoring the physics step by step from {e(item.data['start'])} (the "
                   f"paper's implied design) to {e(item.data['end'])} in {len(rows) - 1} "
                   f"steps, the {e('; the '.join(parts))}.")
    return out


# --- reproduction ------------------------------------------------------------------------

def _claims_figure(claims: list[dict[str, Any]]) -> Any:
    import numpy as np

    fig, ax = _figure(10.0, 3.6)
    x = np.arange(len(claims))
    ax.bar(x - 0.2, [c["claimed"] or np.nan for c in claims], 0.4, label="claimed",
           color="#7f8c8d")
    ax.bar(x + 0.2, [c["ours"] or np.nan for c in claims], 0.4, label="this model",
           color="#c0392b")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([c["claim"].rsplit(" ", 1)[0].replace(" ", "\n", 1) for c in claims],
                       fontsize=8)
    ax.set_ylabel("BPLight-CNN ÷ baseline (×, log scale)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3, which="both")
    return fig


def render_reproduce(item: Loaded, page: Page) -> str:
    d = item.data
    claims = d["claims"]
    where = (page.link(item.path, item.path.name))
    out = [f"<h3>From {where}</h3>"]
    out.append(table(["claim", "claimed", "against", "this model (geometric mean)",
                      "within 25 %"],
                     [(c["claim"], ratio_text(c["claimed"]), c["vs"], ratio_text(c["ours"]),
                       {True: "yes", False: "no", None: "—"}[c["within"]]) for c in claims]))
    if claims:
        out.append(figure_html(
            _claims_figure(claims), "the paper's claimed ratios beside this model's",
            "The paper's claimed ratios (BPLight-CNN over the baseline each claim refers "
            "to, ×, log scale) beside this model's.", d.get("command")))
    return "".join(out)


def reproduce_sentences(page: Page) -> list[str]:
    out = []
    for item in page.of("reproduce"):
        claims = item.data["claims"]
        near = sum(1 for c in claims if c["within"])
        out.append(f"This model comes within 25 % of {near or 'none'} of the paper's "
                   f"{len(claims)} "
                   f"claimed ratios ({page.link(item.path, item.path.name)} gives the reason "
                   "for each gap).")
    return out


# --- the page ----------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[Loaded, Page], str]] = {
    "run": render_run, "estimate": render_estimate, "compare": render_compare,
    "sweep": render_sweep, "waterfall": render_waterfall, "reproduce": render_reproduce,
}
"""Section body of one input, per kind (a new kind adds its renderer here)."""

SENTENCES: dict[str, Callable[[Page], list[str]]] = {
    "run": run_sentences, "estimate": estimate_sentences, "compare": compare_sentences,
    "sweep": sweep_sentences, "waterfall": waterfall_sentences,
    "reproduce": reproduce_sentences,
}
"""The takeaway's sentences, per kind."""

TAKEAWAY = "Takeaway"
INPUTS = "Inputs"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #3b6ea5;padding-bottom:.2em;
margin-top:2em}h3{margin-top:1.5em}small{color:#666;font-weight:normal}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef2f7}figure{margin:1em 0}img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:.9em;color:#444;margin-top:.3em}
details{margin:.6em 0}summary{cursor:pointer;color:#3b6ea5}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.85em}
.takeaway{background:#f3f7fb;border-left:4px solid #3b6ea5;padding:.5em 1.2em}
.problem{color:#a61b1b}.note{color:#555;font-style:italic}code{background:#f3f3f3;
padding:0 .2em}
"""


def build_page(paths: Sequence[Path], out: Path, command: str = "bplight report"
               ) -> tuple[str, list[Problem]]:
    """The HTML text of the report on ``paths`` and the inputs that could not be used."""
    loaded: list[Loaded] = []
    problems: list[Problem] = []
    for path in paths:
        got = read_input(Path(path))
        (problems if isinstance(got, Problem) else loaded).append(got)
    page = Page(loaded, problems, out, command)
    sentences = [s for kind in inputs.KINDS for s in SENTENCES.get(kind.key, lambda p: [])(page)]
    if problems:
        sentences.append(f'<span class="problem">{len(problems)} input'
                         f'{"s" if len(problems) > 1 else ""} could not be read (see '
                         f'<a href="#inputs">Inputs</a>).</span>')
    if not sentences:
        sentences = ["The inputs hold nothing to summarise."]
    body = [f"<h1>bplight report</h1><p><small>{e(command)}</small></p>",
            f'<section id="takeaway"><h2>{TAKEAWAY}</h2><div class="takeaway"><ul>'
            + "".join(f"<li>{s}</li>" for s in sentences) + "</ul></div></section>"]
    for kind in inputs.KINDS:
        items = page.of(kind.key)
        if items:
            body.append(f'<section id="{e(kind.key)}"><h2>{e(kind.heading)}</h2>'
                        + "".join(RENDERERS[kind.key](item, page) for item in items)
                        + "</section>")
    rows = [(str(item.path), kind_named(item.kind).describe, "read") for item in loaded]
    rows += [(p.path, "—", f"could not be read: {p.reason}") for p in problems]
    body.append(f'<section id="inputs"><h2>{INPUTS}</h2>'
                + table(["input", "kind", "status"], rows) + "</section>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<title>bplight report</title>"
           f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
    return doc, problems


def section_headings(paths: Sequence[Path]) -> list[str]:
    """The ``<h2>`` headings the report on ``paths`` has, in order."""
    kinds = set()
    for p in paths:
        got = read_input(Path(p))
        if isinstance(got, Loaded):
            kinds.add(got.kind)
    return [TAKEAWAY, *[k.heading for k in inputs.KINDS if k.key in kinds], INPUTS]


def write_report(paths: Sequence[Path], out: Path, command: str = "bplight report"
                 ) -> list[Problem]:
    """Write the report atomically to ``out``; returns the inputs that could not be used."""
    text, problems = build_page(paths, out, command)
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise InputError(f"cannot write the report to {out} ({exc.strerror}); name a file in "
                         "a writable directory with -o") from None
    return problems


# --- command -----------------------------------------------------------------------------

def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="one self-contained HTML page of runs, estimates and comparisons",
        description="Write one self-contained HTML page (figures embedded, no network, no "
        "JavaScript) from any mix of run directories (bplight train), estimate and compare "
        "--json outputs and reproduce outputs. An input that cannot be read is named on the "
        "page and on stderr, and the exit code is then 1.")
    p.add_argument("paths", nargs="+", metavar="PATH", type=Path,
                   help="run directory, --json output file or reproduction document")
    p.add_argument("-o", "--out", default=Path("report.html"), type=Path, metavar="FILE",
                   help="output HTML file (default report.html)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    command = shlex.join(["bplight", "report", *map(str, args.paths), "-o", str(args.out)])
    problems = write_report(args.paths, args.out, command)
    for p in problems:
        print(f"bplight report: warning: {p.path} {p.reason}", file=sys.stderr)
    print(f"report: {args.out}")
    return 1 if problems else 0
