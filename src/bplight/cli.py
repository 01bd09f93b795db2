"""``bplight`` command line: train, estimate, compare, reproduce, sensitivity, hardware,
sweep, report, data.

Each subcommand lives in the module that does the work and registers itself through an
``add_parser(subparsers)`` function; its handler returns the exit code. Errors a user
can fix (:class:`bplight.errors.BplightError`, and bad flags caught by argparse) are
printed as one sentence on stderr, ``bplight CMD: error: ...``, with exit code 2; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from bplight.errors import BplightError

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
    ("bplight.experiments.sweep", "add_parser"),
]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one sentence (``PROG: error: MSG; see PROG
    --help``, exit 2) instead of the usage block; ``--help`` is unchanged. Subparsers
    are of this class too (argparse creates them with ``type(parent)``)."""

    def error(self, message: str) -> NoReturn:
        msg = message.rstrip(".")
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {msg}; see {self.prog} --help\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse, but unknown arguments are reported by the (sub)command they were
        given to (``bplight train: error: unrecognized arguments: ...``)."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            self._innermost(parsed).error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed

    def _innermost(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self
        while True:
            subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            name = getattr(parsed, subs[0].dest, None) if subs else None
            if not subs or name not in subs[0].choices:
                return parser
            parser = subs[0].choices[name]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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


def one_line(exc: BaseException) -> str:
    """The error's message on one line (a message is meant to be one sentence)."""
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BplightError as exc:
        print(f"bplight {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"bplight {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # python -m bplight.cli: use the package's module, so that
    from bplight.cli import main as _main  # the error classes are the package's ones

    sys.exit(_main())
