"""``bplight`` command line: train, estimate, compare, reproduce, sensitivity, data, hardware.

Each subcommand lives in the module that does the work and registers itself through an
``add_parser(subparsers)`` function; its handler returns the exit code. Errors a user
can fix are printed as one sentence on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, function) pairs, each registering one subcommand.
_SUBCOMMANDS = [
    ("bplight.experiments.train", "add_parser"),
    ("bplight.experiments.estimate", "add_parser"),
    ("bplight.experiments.compare", "add_parser"),
    ("bplight.experiments.reproduce", "add_parser"),
    ("bplight.experiments.sensitivity", "add_parser"),
    ("bplight.experiments.hardware", "add_parser"),
    ("bplight.report.html", "add_parser"),
    ("bplight.data.fetch", "add_data_parser"),
]


class UserError(Exception):
    """An error the user can fix; printed as one sentence, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bplight",
        description="Simulate BPLight-CNN, a silicon-photonic, memristor-backed CNN training "
        "accelerator: train real CNNs through its numerical model (accuracy) and estimate "
        "what training and inference cost on it (latency, energy, area, GOPS, GOPS/W).",
    )
    from bplight import __version__

    parser.add_argument("--version", action="version", version=f"bplight {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, func in _SUBCOMMANDS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # subcommand not part of this build
                continue
            raise
        getattr(mod, func)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from bplight.config.loader import ConfigError

    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError, FileNotFoundError) as exc:
        print(f"bplight {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bplight {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # python -m bplight.cli: use the package's module, so that
    from bplight.cli import main as _main  # its UserError class is the one raised

    sys.exit(_main())
