"""What ``bplight report`` reads: recognise each input path and load it, or say why not.

Every input is one of the kinds in :data:`KINDS` (a run directory, an estimate or compare
``--json`` output, a sweep directory, a waterfall, a reproduction document). A kind is a
:class:`Kind`: how to recognise it, how to load it, and what section of the page it
feeds. Outputs of later commands (e.g. bank spectra) plug in by appending a
:class:`Kind` with :func:`register` and a section renderer in
:mod:`bplight.report.html`; nothing else changes.

An input that is missing, unreadable or not recognised becomes a :class:`Problem` whose
``reason`` is one sentence; the page and stderr name it, it is never dropped silently.
Keys are read as their commands document them; only keys documented as optional (or
added by newer versions) are read with a default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class UnreadableInput(Exception):
    """Raised by a loader for an input of its kind that cannot be used; one sentence."""


@dataclass(frozen=True)
class Problem:
    """An input that could not be used, and why (one sentence)."""

    path: str
    reason: str


@dataclass
class Loaded:
    """One input read: its path, its kind's key and what the loader returned."""

    path: Path
    kind: str
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    """Things the reader of the page should know about this input (e.g. a missing
    optional file)."""


@dataclass(frozen=True)
class Kind:
    """A kind of input: ``detect`` says whether a path is one (from its path and, for a
    file, its text and the JSON object it holds, or None); ``load`` reads it (raising
    :class:`UnreadableInput`)."""

    key: str
    heading: str
    describe: str
    detect: Callable[[Path, str | None, dict[str, Any] | None], bool]
    load: Callable[[Path, str | None, dict[str, Any] | None], Loaded]


# --- helpers ---------------------------------------------------------------------------


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a ``--json`` output holds: the whole text, else its last non-empty
    line (the commands print tables first and the JSON object last). None if neither is
    a JSON object."""
    for candidate in (text, *[ln for ln in text.splitlines() if ln.strip()][-1:]):
        try:
            obj = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _read_json_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UnreadableInput(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise UnreadableInput(f"{path.name} cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(f"{path.name} is not valid JSON (line {exc.lineno}: "
                              f"{exc.msg})") from None


def _require(obj: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in obj]
    if missing:
        raise UnreadableInput(f"{what} lacks the key{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)}")


# --- run directories (bplight train) ----------------------------------------------------

RUN_FILES = ("summary.json", "metrics.json", "args.json", "config.yaml")
METRIC_KEYS = ("epoch", "train_loss", "test_loss", "test_accuracy")


def _detect_run(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    return (path.is_dir() and any((path / name).is_file() for name in RUN_FILES)
            and not (path / SWEEP_STORE).exists())


def _load_run(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    notes: list[str] = []
    data: dict[str, Any] = {"name": path.name}
    if not (path / "metrics.json").is_file():
        raise UnreadableInput("the run directory has no metrics.json (no epoch finished)")
    metrics = _read_json_file(path / "metrics.json")
    if not isinstance(metrics, dict) or not all(isinstance(v, list) for v in metrics.values()):
        raise UnreadableInput("metrics.json must map each run (hardware, fp32) to a list of "
                              "epoch rows")
    for run, rows in metrics.items():
        for row in rows:
            if not isinstance(row, dict):
                raise UnreadableInput(f"metrics.json: the {run} rows must be objects")
            _require(row, METRIC_KEYS, f"metrics.json ({run} run)")
    data["metrics"] = metrics
    if (path / "summary.json").is_file():
        summary = _read_json_file(path / "summary.json")
        if not isinstance(summary, dict):
            raise UnreadableInput("summary.json must hold a JSON object")
        _require(summary, ("test_accuracy", "hardware", "model", "dataset", "epochs"),
                 "summary.json")
        data["summary"] = summary
    else:
        data["summary"] = None
        notes.append("no summary.json: the run has not finished (resume it with "
                     f"bplight train --resume {path})")
    if (path / "args.json").is_file():
        args = _read_json_file(path / "args.json")
        data["args"] = args if isinstance(args, dict) else None
    else:
        data["args"] = None
        notes.append("no args.json: the command that made the run cannot be shown")
    if (path / "config.yaml").is_file():
        try:
            data["config_yaml"] = (path / "config.yaml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            data["config_yaml"] = None
            notes.append("config.yaml cannot be read as UTF-8 text")
    else:
        data["config_yaml"] = None
        notes.append("no config.yaml: the hardware description is not recorded")
    return Loaded(path, "run", data, notes)


# --- estimate and compare --json outputs ------------------------------------------------

ESTIMATE_KEYS = ("design", "workload", "input_shape", "mode", "batch", "latency_s",
                 "energy_j", "power_w", "area_mm2", "gops", "gops_per_w",
                 "gops_per_s_per_mm2", "energy_per_image_j", "latency_per_image_s",
                 "energy_by_component_j")
COMPARE_KEYS = ("model", "input_shape", "hardware", "phase", "batch", "photonic",
                "baselines")
BASELINE_KEYS = ("speedup", "gops_per_s_per_mm2_ratio", "gops_per_w_ratio",
                 "energy_saving", "reason", "title")


def _detect_estimate(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    return obj is not None and "energy_by_component_j" in obj and "baselines" not in obj


def _load_estimate(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    assert obj is not None
    _require(obj, ESTIMATE_KEYS, "the estimate JSON")
    return Loaded(path, "estimate", obj)


def _detect_compare(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    return obj is not None and "baselines" in obj and "photonic" in obj


def _load_compare(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    assert obj is not None
    _require(obj, COMPARE_KEYS, "the compare JSON")
    if not isinstance(obj["baselines"], dict):
        raise UnreadableInput("the compare JSON's baselines must map names to results")
    for name, res in obj["baselines"].items():
        _require(res, BASELINE_KEYS, f"the compare JSON's baseline {name}")
    return Loaded(path, "compare", obj)


# --- sweep directories (bplight sweep) ---------------------------------------------------

SWEEP_STORE = "sweep.sqlite"


def _detect_sweep(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    return path.is_dir() and (path / SWEEP_STORE).is_file()


def _load_sweep(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    """The sweep's results from its store (the outputs next to it may be older)."""
    import sqlite3

    from bplight.errors import BplightError
    from bplight.experiments.sweep import pareto
    from bplight.experiments.sweep.store import SweepStore

    try:
        with SweepStore.open(path) as store:
            meta = store.meta()
            frame = pareto.results_frame(store)
            objectives = [o for o in meta.get("objectives", "").split(",") if o]
            front = pareto.pareto_front(frame, objectives or list(pareto.AXES))
            data = {"name": path.name, "meta": meta, "counts": store.count(),
                    "frame": frame, "front": front, "objectives": objectives,
                    "refs": pareto.references(store) if not frame.empty else []}
    except sqlite3.DatabaseError as exc:
        raise UnreadableInput(f"{SWEEP_STORE} cannot be read ({exc})") from None
    except BplightError as exc:
        raise UnreadableInput(str(exc)) from None
    return Loaded(path, "sweep", data)


# --- waterfalls (bplight reproduce --waterfall) -------------------------------------------

def _detect_waterfall(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    return obj is not None and "waterfall" in obj and "start" in obj and "claims" not in obj


def _load_waterfall(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    from bplight.errors import InputError
    from bplight.experiments.waterfall import read_waterfall

    try:
        data = read_waterfall(path)  # checks every key its rendering reads
    except InputError as exc:
        raise UnreadableInput(str(exc)) from None
    return Loaded(path, "waterfall", data)


# --- reproduce outputs -------------------------------------------------------------------

REPRODUCE_TITLE = "# Reproduction of BPLight-CNN"
CLAIMS_HEADING = "## Claimed against this model"


def _detect_reproduce(path: Path, text: str | None, obj: dict[str, Any] | None) -> bool:
    if obj is not None:
        return "claims" in obj and "paper" in obj
    return text is not None and text.lstrip().startswith(REPRODUCE_TITLE)


def _markdown_table(lines: list[str]) -> list[dict[str, str]]:
    """The rows of the first Markdown table in ``lines`` as dicts keyed by its header."""
    rows: list[list[str]] = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("|"):
            rows.append([c.strip() for c in s.strip("|").split("|")])
        elif rows:
            break
    if len(rows) < 2:
        return []
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[2:]]


def _number(text: str) -> float | None:
    t = text.replace("×", "").replace("≥", "").replace(",", "").strip()
    try:
        return float(t)
    except ValueError:
        return None


def _load_reproduce(path: Path, text: str | None, obj: dict[str, Any] | None) -> Loaded:
    if obj is not None:  # bplight reproduce --json
        claims = obj["claims"]
        if not isinstance(claims, list):
            raise UnreadableInput("the reproduce JSON's claims must be a list")
        rows = []
        for c in claims:
            if not isinstance(c, dict):
                raise UnreadableInput("each of the reproduce JSON's claims must be an object")
            _require(c, ("text", "claimed", "vs", "ours", "within_tolerance"),
                     "a reproduce JSON claim")
            rows.append({"claim": c["text"], "claimed": c["claimed"], "vs": c["vs"],
                         "ours": c["ours"], "within": c["within_tolerance"]})
        return Loaded(path, "reproduce", {"claims": rows, "hardware": obj["hardware"],
                                          "command": obj.get("command")})
    assert text is not None
    lines = text.splitlines()
    if CLAIMS_HEADING not in [ln.strip() for ln in lines]:
        raise UnreadableInput(f"the reproduction document has no '{CLAIMS_HEADING[3:]}' "
                              "section")
    start = [ln.strip() for ln in lines].index(CLAIMS_HEADING)
    table = _markdown_table(lines[start + 1:])
    need = ("claim", "claimed", "vs", "ours (geo. mean)")
    if not table or any(k not in table[0] for k in need):
        raise UnreadableInput("the reproduction document's claims table lacks the columns "
                              + ", ".join(need))
    rows = []
    for r in table:
        within = r.get("within 25 %")
        rows.append({"claim": r["claim"], "claimed": _number(r["claimed"]), "vs": r["vs"],
                     "ours": _number(r["ours (geo. mean)"]),
                     "within": None if within is None else within == "yes"})
    command = None
    for ln in lines[:5]:
        if "`bplight reproduce" in ln:
            command = ln.split("`")[1]
    return Loaded(path, "reproduce", {"claims": rows, "hardware": None, "command": command})


KINDS: list[Kind] = [
    Kind("run", "Training runs", "a run directory of bplight train", _detect_run, _load_run),
    Kind("estimate", "Cost on the chip", "bplight estimate --json output", _detect_estimate,
         _load_estimate),
    Kind("compare", "Against other accelerators", "bplight compare --json output",
         _detect_compare, _load_compare),
    Kind("sweep", "Design-space sweep", "a sweep directory of bplight sweep", _detect_sweep,
         _load_sweep),
    Kind("waterfall", "From the paper's assumptions to the physics",
         "a waterfall JSON of bplight reproduce --waterfall", _detect_waterfall,
         _load_waterfall),
    Kind("reproduce", "The paper's claims", "bplight reproduce output (Markdown or JSON)",
         _detect_reproduce, _load_reproduce),
]
"""The kinds of input, in the order their sections appear on the page."""


def register(kind: Kind) -> None:
    """Add a kind of input (e.g. a sweep store); its section follows the existing ones."""
    if any(k.key == kind.key for k in KINDS):
        raise ValueError(f"an input kind {kind.key!r} is already registered")
    KINDS.append(kind)


def kind_named(key: str) -> Kind:
    return next(k for k in KINDS if k.key == key)


def read_input(path: Path) -> Loaded | Problem:
    """Recognise and load one input; a :class:`Problem` says why it cannot be used."""
    shown = str(path)
    if not path.exists():
        return Problem(shown, "does not exist")
    text: str | None = None
    obj: dict[str, Any] | None = None
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return Problem(shown, "is not UTF-8 text (expected a JSON output, a "
                                  "reproduction document or a run directory)")
        except OSError as exc:
            return Problem(shown, f"cannot be read ({exc.strerror})")
        obj = json_object(text)
    elif not path.is_dir():
        return Problem(shown, "is neither a file nor a directory")
    for kind in KINDS:
        if kind.detect(path, text, obj):
            try:
                return kind.load(path, text, obj)
            except UnreadableInput as exc:
                return Problem(shown, f"is {kind.describe} but cannot be used: {exc}")
    allowed = "; ".join(k.describe for k in KINDS)
    if path.is_dir():
        return Problem(shown, f"is a directory with none of {', '.join(RUN_FILES)}; "
                              f"allowed inputs: {allowed}")
    return Problem(shown, f"is not a recognised input; allowed: {allowed}")
