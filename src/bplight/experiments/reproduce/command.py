"""``bplight reproduce``: write the reproduction document (and ``--json``).

Every input is checked before anything is costed or written: the model names, the batch,
the accuracy file (a named file that is missing or lacks a key is an error, never a
document silently without its accuracy section) and the hardware description. The
default output lies under ``runs/`` (not tracked by git); the checked-in
``docs/reproduction.md`` is only written when named with ``--out`` (as
``scripts/regenerate-docs`` does).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bplight.errors import InputError
from bplight.experiments.common import check_batch, json_line, model_key
from bplight.experiments.reproduce.accuracy import read_accuracy
from bplight.experiments.reproduce.analysis import reproduce
from bplight.experiments.reproduce.claims import DEFAULT_MODELS
from bplight.experiments.reproduce.render import ratio, render_markdown, to_json
from bplight.experiments.waterfall import (
    WATERFALL_NULL_REASONS,
    AccuracySetup,
    check_setup,
    plot_waterfall,
    read_waterfall,
    text_table,
    waterfall,
)
from bplight.io import atomic_write_text

DEFAULT_OUT = "runs/reproduce/reproduction.md"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "reproduce", help="the paper's claims beside this model's numbers (Markdown)",
        description="Write a Markdown document with BPLight-CNN's six claimed ratios and "
        "accuracy claim beside what this model gives, with the reason for each deviation.")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="PATH",
                   help=f"output Markdown file (default {DEFAULT_OUT})")
    p.add_argument("--accuracy-json", default=None, metavar="PATH",
                   help="JSON written by benchmarks/bench_accuracy.py (the checked-in one is "
                   "docs/accuracy/accuracy.json); without it the document has no measured "
                   "accuracy")
    p.add_argument("--hardware", default="bplight-16b", metavar="PRESET_OR_YAML")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="FIELD=VALUE")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), metavar="A,B",
                   help="built-in models to average over (default lenet5,vgg16)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", action="store_true",
                   help="print the claims, ratios and accuracy as one JSON object on the "
                   "last line of stdout")
    w = p.add_argument_group(
        "waterfall", "from bplight-paper (the paper's implied design) to bplight-16b, one "
        "assumption per step: accuracy of a short real training run and the six ratios "
        "against every baseline (independent of --hardware)")
    w.add_argument("--waterfall", action="store_true",
                   help="measure the waterfall and add it to the document; its data and "
                   "PNG are written beside --out (OUT-waterfall.json, OUT-waterfall.png)")
    w.add_argument("--waterfall-json", default=None, metavar="PATH",
                   help="add a measured waterfall (the JSON --waterfall wrote) instead of "
                   "measuring one")
    w.add_argument("--train-images", type=int, default=AccuracySetup.images, metavar="N",
                   help=f"MNIST training (and test) images per run (default "
                   f"{AccuracySetup.images})")
    w.add_argument("--train-epochs", type=int, default=AccuracySetup.epochs, metavar="E",
                   help=f"epochs per run (default {AccuracySetup.epochs})")
    w.add_argument("--seed", type=int, default=AccuracySetup.seed,
                   help=f"seed of every training run (default {AccuracySetup.seed})")
    w.add_argument("--no-accuracy", action="store_true",
                   help="cost the waterfall without training (the accuracy columns then "
                   "say it was not measured)")
    p.set_defaults(func=run)
    return p


def parse_models(text: str) -> list[str]:
    """``"lenet5,VGG-16"`` -> the built-in model names, or InputError."""
    from bplight.models import MODEL_NAMES

    names = [m for m in text.split(",") if m.strip()]
    if not names:
        raise InputError(f"--models {text!r} must list built-in models from: "
                         f"{', '.join(MODEL_NAMES)}")
    try:
        return [model_key(m) for m in names]
    except InputError:
        raise InputError(f"--models {text!r} must list built-in models from: "
                         f"{', '.join(MODEL_NAMES)}") from None


def command_line(args: argparse.Namespace, models: list[str]) -> str:
    """The command that reproduces this document (as written into it)."""
    cmd = (f"bplight reproduce --hardware {args.hardware} --models {','.join(models)} "
           f"--batch {args.batch}" + "".join(f" --set {o}" for o in args.overrides))
    if args.accuracy_json:
        cmd += f" --accuracy-json {args.accuracy_json}"
    if getattr(args, "waterfall", False):
        cmd += " --waterfall" + (" --no-accuracy" if args.no_accuracy else
                                 f" --train-images {args.train_images} --train-epochs "
                                 f"{args.train_epochs} --seed {args.seed}")
    return cmd


def waterfall_paths(out: str | Path) -> tuple[Path, Path]:
    """Where ``--waterfall`` writes its data and PNG: beside ``out``."""
    p = Path(out)
    return (p.with_name(f"{p.stem}-waterfall.json"), p.with_name(f"{p.stem}-waterfall.png"))


def _check_waterfall_args(args: argparse.Namespace) -> AccuracySetup | None:
    """The accuracy setup of ``--waterfall`` (None with --no-accuracy); InputError for
    flags that contradict each other."""
    if args.waterfall and args.waterfall_json:
        raise InputError("--waterfall measures a waterfall and --waterfall-json reads one; "
                         "give only one of them")
    measured = (args.train_images, args.train_epochs, args.seed) != (
        AccuracySetup.images, AccuracySetup.epochs, AccuracySetup.seed)
    if not args.waterfall and (measured or args.no_accuracy):
        raise InputError("--train-images, --train-epochs, --seed and --no-accuracy set up "
                         "the waterfall's training runs; use them with --waterfall")
    if args.no_accuracy:
        if measured:
            raise InputError("--no-accuracy skips the training runs that --train-images, "
                             "--train-epochs and --seed set up; give one or the other")
        return None
    setup = AccuracySetup(images=args.train_images, epochs=args.train_epochs, seed=args.seed)
    check_setup(setup)
    return setup


def run(args: argparse.Namespace) -> int:
    from bplight.config import load_spec

    models = parse_models(args.models)
    check_batch(args.batch)
    setup = _check_waterfall_args(args)
    accuracy = read_accuracy(args.accuracy_json) if args.accuracy_json else None
    measured = read_waterfall(args.waterfall_json) if args.waterfall_json else None
    spec = load_spec(args.hardware, overrides=args.overrides or None)
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    command = command_line(args, models)
    rep = reproduce(spec, models, args.batch, accuracy, progress=say, command=command)
    wf_data, wf_files = measured, None
    if args.waterfall:
        wf = waterfall(models, args.batch, setup, progress=say, command=command)
        wf_data = json.loads(json_line(wf.to_json(), WATERFALL_NULL_REASONS))
        wf_files = waterfall_paths(args.out)
        atomic_write_text(wf_files[0], json.dumps(wf_data, indent=1) + "\n")
        plot_waterfall(wf_data, wf_files[1])
    atomic_write_text(args.out, render_markdown(rep, waterfall=wf_data))
    for r in rep.results:
        print(f"{r.claim.text:<42} claimed {r.claim.claimed:>6g}x  ours {ratio(r.ours):>9} "
              f"vs {r.claim.primary:<10} {'ok' if r.within else 'off'}")
    if wf_data is not None:
        print()
        print(f"waterfall {wf_data['start']} -> {wf_data['end']} (every baseline: --json or "
              "the document):")
        print(text_table(wf_data))
    print(f"written {args.out}")
    if wf_files is not None:
        print(f"written {wf_files[0]} and {wf_files[1]}")
    if args.json:
        out: dict[str, Any] = {**to_json(rep), "out": str(args.out)}
        if wf_data is not None:
            out["waterfall"] = wf_data["waterfall"]
            out["designs"] = wf_data["designs"]
            out["waterfall_setup"] = {k: v for k, v in wf_data.items()
                                      if k not in ("waterfall", "designs")}
            out["waterfall_files"] = None if wf_files is None else [str(f) for f in wf_files]
        print(json_line(out, reasons={"ours": "the baseline cannot run this mode",
                                      "waterfall_files": "the waterfall was read from "
                                      "--waterfall-json, not measured",
                                      **WATERFALL_NULL_REASONS}))
    return 0
