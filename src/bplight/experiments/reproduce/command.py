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
import sys
from typing import Any

from bplight.errors import InputError
from bplight.experiments.common import check_batch, json_line, model_key
from bplight.experiments.reproduce.accuracy import read_accuracy
from bplight.experiments.reproduce.analysis import reproduce
from bplight.experiments.reproduce.claims import DEFAULT_MODELS
from bplight.experiments.reproduce.render import ratio, render_markdown, to_json
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
    return cmd


def run(args: argparse.Namespace) -> int:
    from bplight.config import load_spec

    models = parse_models(args.models)
    check_batch(args.batch)
    accuracy = read_accuracy(args.accuracy_json) if args.accuracy_json else None
    spec = load_spec(args.hardware, overrides=args.overrides or None)
    rep = reproduce(spec, models, args.batch, accuracy,
                    progress=lambda s: print(s, file=sys.stderr, flush=True),
                    command=command_line(args, models))
    atomic_write_text(args.out, render_markdown(rep))
    for r in rep.results:
        print(f"{r.claim.text:<42} claimed {r.claim.claimed:>6g}x  ours {ratio(r.ours):>9} "
              f"vs {r.claim.primary:<10} {'ok' if r.within else 'off'}")
    print(f"written {args.out}")
    if args.json:
        print(json_line({**to_json(rep), "out": str(args.out)},
                        reasons={"ours": "the baseline cannot run this mode"}))
    return 0
