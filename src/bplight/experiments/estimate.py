"""``bplight estimate``: what a CNN costs on a BPLight-CNN chip, to train or to infer.

Prints readable tables (summary, latency terms, per phase, per component, per layer);
``--json`` adds one JSON object on the last line of stdout; ``--out DIR`` writes
``report.json``, ``phases.csv`` and ``report.txt`` there (each written atomically).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bplight.cost.report import TRAIN_PHASES, CostReport
from bplight.errors import InfeasibleDesignError, InputError
from bplight.experiments.common import (
    build_workload,
    check_batch,
    json_line,
    parse_input,
    with_null_reasons,
)
from bplight.io import atomic_write_json, atomic_write_text
from bplight.units import format_si

if TYPE_CHECKING:
    from bplight.config.spec import HardwareSpec
    from bplight.experiments.from_run import RingDigits


def add_parser(subparsers) -> None:
    from bplight.config import preset_names
    from bplight.models import MODEL_NAMES

    p = subparsers.add_parser(
        "estimate", help="latency, energy, power, area and GOPS of a CNN on the chip",
        description="Estimate what training (forward, error backpropagation, weight "
        "gradient, weight update) or inference of a CNN costs on a BPLight-CNN chip: "
        "latency, energy, power, area, GOPS, GOPS/W and GOPS/s/mm2, per layer, per phase "
        "and per component. The chip is the same hardware description the numerical "
        "engine trains on.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="lenet5", choices=MODEL_NAMES,
                     help="built-in model (default: lenet5)")
    src.add_argument("--model-file", metavar="FILE.py[:FACTORY]",
                     help="a Python file defining FACTORY() -> torch.nn.Module (default "
                     "name: build_model); the file is run as Python code")
    p.add_argument("--input", metavar="CxHxW",
                   help="input shape of one image, e.g. 3x224x224 (default: 1x32x32 for "
                   "lenet5, 3x32x32 for vgg8/vgg11, 3x224x224 for vgg16)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="classes of a built-in model (default: 1000 at >= 224 px, else 10)")
    p.add_argument("--hardware", default=None,
                   help=f"preset ({', '.join(preset_names())}) or a YAML file "
                   "(default: bplight-16b, or with --from-run the run's config.yaml)")
    p.add_argument("--from-run", metavar="RUN_DIR",
                   help="a `bplight train` run directory: charge memristor writes at the "
                   "fraction of cells the run measured (summary.json), add-drop ring "
                   "tuning over the slice digits of its trained weights "
                   "(checkpoint-hardware.pt) and, unless --hardware is given, cost the "
                   "hardware it trained on")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a hardware field, e.g. --set forward.adc_bits=6 "
                   "(repeatable)")
    p.add_argument("--phase", choices=("train", "infer"), default="train",
                   help="a training step or inference (default: train)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default: 1)")
    p.add_argument("--json", action="store_true",
                   help="also print one JSON object on the last line of stdout")
    p.add_argument("--out", metavar="DIR", help="write report.json, phases.csv, report.txt")
    p.set_defaults(func=run)


def load_workload(args: argparse.Namespace):
    """The Workload named by ``--model``/``--model-file`` and ``--input``."""
    from bplight.workload import Workload

    if args.model_file:
        if not args.input:
            raise InputError("--model-file needs --input (the shape of one image)")
        shape = parse_input(args.input)
        model = _model_from_file(args.model_file)
        name = Path(args.model_file).stem.split(":")[0]
        try:
            return Workload.from_model(model, shape, name=name)
        except RuntimeError as exc:  # the user's model cannot run on this input shape
            raise InputError(f"could not trace {args.model_file} on input {args.input}: "
                             f"{str(exc).splitlines()[0]}") from None
    return build_workload(args.model, args.input, num_classes=args.num_classes)


def _model_from_file(spec_text: str):
    path_text, sep, factory = spec_text.rpartition(":")
    if not sep or not factory.isidentifier():
        path_text, factory = spec_text, "build_model"
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"--model-file {path_text!r} does not exist")
    mod_spec = importlib.util.spec_from_file_location(f"bplight_user_{path.stem}", path)
    if mod_spec is None or mod_spec.loader is None:
        raise InputError(f"--model-file {path_text!r} is not a Python file")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    fn = getattr(module, factory, None)
    if not callable(fn):
        raise InputError(f"{path_text} defines no function {factory}(); name it with "
                        f"--model-file {path_text}:FACTORY")
    import torch

    model = fn()
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"{path_text}:{factory}() must return a torch.nn.Module")
    return model


def run(args: argparse.Namespace) -> int:
    from bplight.config import load_spec
    from bplight.cost import estimate, peak
    from bplight.photonics.link_budget import LinkBudgetError

    check_batch(args.batch)
    hardware, measured, digits = args.hardware or "bplight-16b", None, None
    if args.from_run:
        from bplight.experiments.from_run import read_run

        measured = read_run(args.from_run)
        hardware = args.hardware or measured.hardware()
    spec = load_spec(hardware, overrides=args.set)
    workload = load_workload(args)
    if measured is not None:
        from bplight.experiments.from_run import run_ring_digits

        digits = run_ring_digits(measured.run_dir, spec)
    try:
        report = estimate(workload, spec, mode=args.phase, batch=args.batch,
                          write_fraction=None if measured is None else measured.write_fraction,
                          ring_digits=None if digits is None else digits.p)
    except LinkBudgetError as exc:  # say which design, then why
        raise InfeasibleDesignError(f"hardware {spec.name}: the link budget cannot close: "
                                    f"{exc}") from None
    ring_source = _ring_source(spec, digits)
    text = format_report(report, workload, peak(spec), ring_source)
    print(text)
    payload = report_payload(report, workload, peak(spec))
    if ring_source is not None:
        payload["ring_digits"] = (digits.to_dict() if digits is not None
                                  else {"source": ring_source, "layers": [], "p": None})
    if args.out:
        write_outputs(Path(args.out), report, payload, text)
        print(f"wrote {Path(args.out) / 'report.json'}, phases.csv, report.txt")
    if args.json:
        sys.stdout.flush()
        print(json_line(payload))
    return 0


def _ring_source(spec: HardwareSpec, digits: RingDigits | None) -> str | None:
    """Which slice-digit distribution the weight rings' tuning was charged over, in words:
    a run's (``--from-run``: :class:`~bplight.experiments.from_run.RingDigits`) or the
    stated one under ``ring_model: add_drop``; None where the rings hold at a flat power
    and no run was given (nothing to say)."""
    if digits is not None:
        return digits.source
    return "stated" if spec.photonics.ring_model == "add_drop" else None


def report_payload(report: CostReport, workload, peak_rates: dict) -> dict:
    """The JSON object: the report's fields (summary, breakdowns, phases) + the
    workload summary and the chip's peak rates."""
    out = report.to_dict()
    out["phase_totals"] = report.phase_totals()
    out["workload_summary"] = workload.summary()
    out["peak"] = peak_rates
    return out


def write_outputs(out: Path, report: CostReport, payload: dict, text: str) -> None:
    """report.json (strict JSON), phases.csv and report.txt, each written atomically."""
    atomic_write_json(out / "report.json", with_null_reasons(payload), indent=1)
    atomic_write_text(out / "phases.csv", report.phase_frame().to_csv(index=False))
    atomic_write_text(out / "report.txt", text + "\n")


# ---- text tables ----

def table(headers: list[str], rows: list[list[str]], title: str) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    out = [title, line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(out)


def _bound_text(bound: str) -> str:
    """The bounding resource of an estimate in words."""
    from bplight.cost.engine import BOUNDS

    return BOUNDS.get(bound, bound or "-")


def format_report(r: CostReport, workload, peak_rates: dict,
                  ring_source: str | None = None) -> str:
    """Summary, latency terms, phases, components and layers as text tables;
    ``ring_source``: the weight rings' slice-digit distribution in words (a line below
    the summary)."""
    shape = "x".join(map(str, r.input_shape))
    summary = [
        ["design", r.design], ["workload", f"{r.workload} ({shape})"],
        ["mode", f"{r.mode}, batch {r.batch}, {r.schedule} layers"],
        ["latency bound", _bound_text(r.bound)],
        ["MACs", format_si(r.macs, "")], ["latency", format_si(r.latency_s, "s")],
        ["latency per image", format_si(r.latency_per_image_s, "s")],
        ["energy", format_si(r.energy_j, "J")],
        ["energy per image", format_si(r.energy_per_image_j, "J")],
        ["power", format_si(r.power_w, "W")], ["area", f"{r.area_mm2:.4g} mm²"],
        ["throughput", f"{r.gops:.4g} GOPS"], ["power efficiency", f"{r.gops_per_w:.4g} GOPS/W"],
        ["computational efficiency", f"{r.gops_per_s_per_mm2:.4g} GOPS/s/mm²"],
        ["peak (all banks busy)", f"{peak_rates['gops']:.4g} GOPS"],
    ]
    parts = [table(["quantity", "value"], summary, f"Cost of {r.workload} on {r.design}")]
    if ring_source is not None:  # below the table: a run's path would widen its column
        parts[0] += f"\nring tuning digits: {ring_source}"

    lat = [[k, format_si(v, "s")] for k, v in r.latency_breakdown_s.items()]
    parts.append(table(["term", "time"], lat, "Latency terms (latency = max of compute…"
                       "digital, + update)"))

    totals = r.phase_totals()
    order = [p for p in TRAIN_PHASES if p in totals]
    rows = [[p, format_si(totals[p]["macs"], ""), format_si(totals[p]["latency_s"], "s"),
             format_si(totals[p]["energy_j"], "J"),
             f"{100 * totals[p]['energy_j'] / r.energy_j:.1f}%"]
            for p in order]
    parts.append(table(["phase", "MACs", "stage time", "energy", "share"], rows,
                       "Per phase (stage time: each GEMM's time on its cores, summed)"))

    rows = [[k, format_si(v, "J"), f"{100 * v / r.energy_j:.1f}%",
             format_si(r.static_power_by_component_w[k], "W")
             if k in r.static_power_by_component_w
             else ""] for k, v in r.energy_by_component_j.items()]
    parts.append(table(["component", "energy", "share", "static power"], rows,
                       "Energy by component"))
    rows = [[k, f"{v:.4g}", f"{100 * v / r.area_mm2:.1f}%"]
            for k, v in r.area_by_component_mm2.items()]
    parts.append(table(["component", "area mm²", "share"], rows, "Area by component"))

    layer_names = [lay.name for lay in workload.layers]
    by_layer: dict[str, dict[str, tuple[float, float]]] = {}
    for p in r.phases:
        e, t = by_layer.setdefault(p.layer, {}).get(p.phase, (0.0, 0.0))
        by_layer[p.layer][p.phase] = (e + p.energy_j, t + p.latency_s)
    cols = [ph for ph in TRAIN_PHASES if any(ph in v for v in by_layer.values())]
    rows = []
    for lay in workload.layers:
        d = by_layer.get(lay.name, {})
        macs = lay.positions * lay.k_forward * lay.out_channels
        rows.append([lay.name, lay.kind, format_si(macs, "")]
                    + [format_si(d[ph][0], "J") if ph in d else "-" for ph in cols]
                    + [format_si(d["forward"][1], "s") if "forward" in d else "-"])
    digital = [v for k, v in by_layer.items() if k not in layer_names]
    if digital:
        rows.append(["(activation/pooling)", "digital", "-"]
                    + [format_si(sum(v[ph][0] for v in digital if ph in v), "J")
                       if any(ph in v for v in digital) else "-" for ph in cols]
                    + ["-"])
    parts.append(table(["layer", "kind", "MACs/img"] + [f"E {c}" for c in cols]
                       + ["t forward"], rows, "Per layer (energy incl. static share)"))
    return "\n\n".join(parts)
