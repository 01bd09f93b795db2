"""``bplight hardware``: list presets, show a resolved hardware description and what
follows from it (link budget, noise, crosstalk, the mapping of a product), or each
field's value with its source (``--sources``; the source keys are expanded in
``docs/sources.md``)."""

from __future__ import annotations

import argparse

from bplight.config.field_sources import SOURCES_DOC, field_sources
from bplight.config.loader import dump_spec, load_spec, preset_names
from bplight.config.spec import PHASES
from bplight.experiments.common import json_line
from bplight.mapping import GemmShape, plan


def describe(spec) -> dict:
    """Link budget and per-phase mapping of a 16-wavelength chunk, JSON-ready."""
    from bplight.photonics.bank import crosstalk_db_neighbour
    from bplight.photonics.link_budget import link_budget

    lb = link_budget(spec)
    out = {
        "name": spec.name, "mode": spec.mode,
        "link_budget": {
            "feasible": lb.feasible, "reason": lb.reason,
            "target_snr_db": lb.target_snr_db, "snr_db": lb.snr_db,
            "noise_sigma_rel": lb.noise_sigma_rel,
            "laser_power_per_wavelength_dbm": lb.laser_power_per_wavelength_dbm,
            "laser_electrical_power_per_core_w": lb.laser_electrical_power_w,
            "path_loss_db": lb.path_loss_db, "split_db": lb.split_db,
            "read_budget": spec.laser.read_budget, "output_error_rel": lb.output_error_rel,
        },
        "crosstalk_neighbour_db": crosstalk_db_neighbour(spec),
        "ring": ring_summary(spec),
        "products": {},
    }
    k = spec.photonics.wavelengths_per_bank
    for phase in PHASES:
        m = plan(GemmShape(1, k, 1, phase, input_signed=phase == "error"), spec)
        out["products"][phase] = {
            "analog": m.analog, "input_slices": m.input_slices,
            "weight_slices": m.weight_slices, "sign_passes": m.sign_passes,
            "passes_per_chunk": m.passes_per_chunk, "pass_full_scale": m.full_scale,
            "adc_bits": m.adc_bits, "needed_adc_bits": m.needed_adc_bits,
            "adc_step": m.adc_step,
        }
    return out


def ring_summary(spec) -> dict | None:
    """The weight ring under ``photonics.ring_model: add_drop`` (None under ``ideal``):
    coupling, reachable weights and the scaled encoding's gain, the crosstalk leak of a
    full read and the read margin it leaves, the tuning per ring."""
    if spec.photonics.ring_model != "add_drop":
        return None
    from bplight.photonics.crosstalk import bank_leak, bank_model
    from bplight.photonics.scaling import read_margin
    from bplight.photonics.tuning import ring_tuning

    bank, leak, tune = bank_model(spec), bank_leak(spec), ring_tuning(spec)
    return {"r1": bank.r1, "r2": bank.r2, "a": bank.a, "weight_range": list(bank.w_range),
            "gain": bank.gain, "detuning_nm": (bank.detuning_m * 1e9).tolist(),
            "leak_full_read": {"mean": leak.mean, "std": leak.std, "worst": leak.worst},
            "read_margin": read_margin(spec),
            "tuning": {"eo_mean_shift_nm": tune.eo_mean_shift_m * 1e9,
                       "heater_power_mw": tune.heater_power_w * 1e3,
                       "trim_power_mw": tune.trim_power_w * 1e3,
                       "heater_fraction": tune.heater_fraction,
                       "load_latency_s": tune.load_latency_s}}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "hardware", help="list presets or show a hardware description and its link budget",
        description=__doc__)
    sub = p.add_subparsers(dest="hardware_command", metavar="ACTION")
    ls = sub.add_parser("list", help="list the shipped presets")
    ls.set_defaults(func=_cmd_list)
    show = sub.add_parser("show", help="print the resolved description (YAML) and what "
                          "follows from it")
    show.add_argument("hardware", nargs="?", default="bplight-16b",
                      help="preset name or YAML file")
    show.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    show.add_argument("--json", action="store_true", help="one JSON object on the last line")
    show.add_argument("--yaml", action="store_true", help="print only the resolved YAML")
    show.add_argument("--sources", action="store_true",
                      help=f"print each field with its value and source (keys: {SOURCES_DOC})")
    show.add_argument("--spectra", action="store_true",
                      help="write a PNG of the bank's drop/through spectra with its carriers "
                      "(rings at digits +L, 0, -L repeated) and print where each ring sits")
    show.add_argument("-o", "--out", default="bank-spectra.png", metavar="PNG",
                      help="where --spectra writes its PNG (default: bank-spectra.png)")
    show.set_defaults(func=_cmd_show)
    mv = sub.add_parser("max-vector", help="the largest vector (wavelengths per bank) a bank "
                        "supports for its bits and rate: exact reads, link budget, crosstalk")
    mv.add_argument("hardware", nargs="?", default="bplight-16b",
                    help="preset name or YAML file")
    mv.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    mv.add_argument("--phase", default="forward", choices=PHASES)
    mv.add_argument("--bits", type=int, default=None, metavar="B",
                    help="bits per pass: the phase's dac_bits and ring_bits (default: as set)")
    mv.add_argument("--rate", type=float, default=None, metavar="HZ",
                    help="symbol rate (photonics.modulation_rate_hz; default: as set)")
    mv.add_argument("--json", action="store_true", help="one JSON object on the last line")
    mv.set_defaults(func=_cmd_max_vector)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    return p


def _cmd_list(args: argparse.Namespace) -> int:
    for name in preset_names():
        spec = load_spec(name)
        print(f"{name:14s} {spec.description}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    spec = load_spec(args.hardware, args.set)
    if args.sources:
        return _print_sources(args)
    if args.yaml:
        print(dump_spec(spec), end="")
        return 0
    if args.spectra:
        return _show_spectra(spec, args)
    info = describe(spec)
    if args.json:
        print(json_line(info, {"target_snr_db": "no SNR requirement is set"}))
        return 0
    print(dump_spec(spec), end="")
    lb = info["link_budget"]
    print("\n# derived")
    print(f"link budget: {'closes' if lb['feasible'] else 'does NOT close: ' + lb['reason']}")
    tgt = lb["target_snr_db"]
    print(f"  target SNR {tgt:.1f} dB, achieved {lb['snr_db']:.1f} dB, noise sigma "
          f"{lb['noise_sigma_rel']:.2e} of a pass's full scale" if tgt is not None else
          f"  no SNR requirement; achieved {lb['snr_db']:.1f} dB")
    if lb["output_error_rel"] is not None:
        print(f"  read budget {lb['read_budget']}: one K-chunk's shift-added output errs by "
              f"{lb['output_error_rel']:.3g} of its full scale (std)")
    print(f"  laser {lb['laser_power_per_wavelength_dbm']:.1f} dBm per wavelength, "
          f"{1e3 * lb['laser_electrical_power_per_core_w']:.1f} mW electrical per core; "
          f"path loss {lb['path_loss_db']:.2f} dB + split {lb['split_db']:.2f} dB")
    print(f"neighbour crosstalk: {info['crosstalk_neighbour_db']:.1f} dB (rings at rest)")
    ring = info["ring"]
    if ring is not None:
        lk, tn = ring["leak_full_read"], ring["tuning"]
        print(f"ring (add_drop): r1 = r2 = {ring['r1']:.5f}, a = {ring['a']:.5f}, weights "
              f"[{ring['weight_range'][0]:+.3f}, {ring['weight_range'][1]:+.3f}], gain "
              f"{ring['gain']:.3f}; leak onto a full read {lk['mean']:.3f} +- {lk['std']:.3f} "
              f"units (worst {lk['worst']:.3f}), read margin {ring['read_margin']:+.3f}")
        print(f"  tuning per ring: EO {tn['eo_mean_shift_nm']:.3f} nm mean, heater "
              f"{tn['heater_power_mw']:.3f} mW + trim {tn['trim_power_mw']:.3f} mW, "
              f"{100 * tn['heater_fraction']:.0f} % of settings on the heater, load "
              f"{tn['load_latency_s'] * 1e9:.0f} ns")
    for phase, m in info["products"].items():
        if not m["analog"]:
            print(f"{phase:12s} digital")
            continue
        print(f"{phase:12s} {m['input_slices']} input x {m['weight_slices']} weight slices x "
              f"{m['sign_passes']} sign pass(es) = {m['passes_per_chunk']} passes per chunk; "
              f"|sum| <= {m['pass_full_scale']}, ADC {m['adc_bits']} b "
              f"(exact reads need {m['needed_adc_bits']} b)")
    return 0


def _print_sources(args: argparse.Namespace) -> int:
    rows = field_sources(args.hardware, args.set)
    if args.json:
        print(json_line({"hardware": args.hardware, "sources_doc": SOURCES_DOC,
                         "fields": {r.path: {"value": r.value, "source": r.source,
                                             "origin": r.origin} for r in rows}}))
        return 0
    width = min(48, max(len(f"{r.path} = {r.value}") for r in rows))
    print(f"# {args.hardware}: each field, its value and its source (source keys: "
          f"{SOURCES_DOC}; origin in brackets)")
    for r in rows:
        print(f"{f'{r.path} = {r.value}':<{width}}  # {r.source} [{r.origin}]")
    return 0


def _show_spectra(spec, args: argparse.Namespace) -> int:
    from bplight.photonics.crosstalk import bank_model
    from bplight.photonics.scaling import bank_spectra, plot_spectra

    sp = bank_spectra(spec)
    plot_spectra(sp, args.out, f"{spec.name}: weight bank spectra (ring_model "
                 f"{spec.photonics.ring_model}; digits "
                 + " ".join(str(int(d)) for d in sp.digits) + ")")
    bank = bank_model(spec)
    info = {"png": args.out, "ring": {"r1": bank.r1, "r2": bank.r2, "a": bank.a,
                                      "weight_range": list(bank.w_range), "gain": bank.gain},
            "carriers_nm": (sp.carriers_m * 1e9).tolist(),
            "resonances_nm": (sp.resonances_m * 1e9).tolist(),
            "digits": sp.digits.tolist()}
    if args.json:
        print(json_line(info))
        return 0
    print(f"wrote {args.out}")
    print(f"ring r1 = r2 = {bank.r1:.5f}, a = {bank.a:.5f}: balanced weights "
          f"[{bank.w_range[0]:+.3f}, {bank.w_range[1]:+.3f}], scaled encoding gain "
          f"{bank.gain:.3f}")
    for d, c, r in zip(sp.digits, sp.carriers_m, sp.resonances_m, strict=True):
        print(f"  digit {int(d):+d}: carrier {c * 1e9:.3f} nm, resonance {r * 1e9:.3f} nm "
              f"(+{(r - c) * 1e12:.0f} pm)")
    return 0


def _cmd_max_vector(args: argparse.Namespace) -> int:
    from bplight.photonics.scaling import max_vector_size

    sets = list(args.set)
    if args.bits is not None:
        sets += [f"{args.phase}.dac_bits={args.bits}", f"{args.phase}.ring_bits={args.bits}"]
    if args.rate is not None:
        sets.append(f"photonics.modulation_rate_hz={args.rate}")
    spec = load_spec(args.hardware, sets)
    res = max_vector_size(spec, args.phase)
    p = spec.product(args.phase)
    if args.json:
        print(json_line({"hardware": spec.name, "phase": args.phase,
                         "dac_bits": p.dac_bits, "ring_bits": p.ring_bits,
                         "rate_hz": spec.photonics.modulation_rate_hz,
                         "max_wavelengths": res.wavelengths, "limit": res.limit,
                         "rows": res.rows}))
        return 0
    print(f"{spec.name}, {args.phase}: {p.dac_bits} b x {p.ring_bits} b per pass at "
          f"{spec.photonics.modulation_rate_hz / 1e9:g} GS/s, ring_model "
          f"{spec.photonics.ring_model}")
    print(f"largest vector per bank: {res.wavelengths} wavelengths; limit: {res.limit}")
    for r in res.rows:
        print(f"  C={r['wavelengths']:3d}  ADC {r['adc_bits']} b  SNR {r['snr_db']:.1f} dB  "
              f"laser {r['laser_dbm']:.1f} dBm  read margin {r['read_margin']:+.3f}"
              + ("" if r["feasible"] else "  infeasible"))
    return 0
