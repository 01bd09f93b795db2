"""``bplight reproduce``: the paper's headline claims beside what this model gives.

Split by job:

* :mod:`.claims` — the claims (data, with their source and the baseline each refers to);
* :mod:`.analysis` — ratios per model, the assumption that drives each deviation and the
  value that would match, what the claims need per MAC;
* :mod:`.accuracy` — the accuracy benchmark's JSON, read by known keys;
* :mod:`.render` — the Markdown document (a template shipped as package data) and JSON;
* :mod:`.command` — the command line.
"""

from bplight.experiments.reproduce.accuracy import AccuracyResult, read_accuracy
from bplight.experiments.reproduce.analysis import (
    ClaimResult,
    Explanation,
    Reproduction,
    bisect_log,
    explain,
    geomean,
    reproduce,
)
from bplight.experiments.reproduce.claims import (
    ACCURACY_CLAIM_POINTS,
    CLAIMS,
    DEFAULT_MODELS,
    PAPER,
    TOLERANCE,
    Claim,
)
from bplight.experiments.reproduce.command import DEFAULT_OUT, add_parser, run
from bplight.experiments.reproduce.render import render_markdown, to_json

__all__ = [
    "ACCURACY_CLAIM_POINTS", "CLAIMS", "DEFAULT_MODELS", "DEFAULT_OUT", "PAPER", "TOLERANCE",
    "AccuracyResult", "Claim", "ClaimResult", "Explanation", "Reproduction", "add_parser",
    "bisect_log", "explain", "geomean", "read_accuracy", "render_markdown", "reproduce",
    "run", "to_json",
]
