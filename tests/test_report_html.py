"""``bplight report``: a self-contained HTML page from runs, estimates, comparisons and the
reproduction; takeaway in plain words, escaping, missing inputs named, atomic write."""

from __future__ import annotations

import base64
import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_inputs import REPO, REPRODUCTION_MD, make_compare, make_estimate, make_run

from bplight.cli import main
from bplight.report import html as report
from bplight.report import inputs as inputs_mod
from bplight.report.inputs import Kind, Loaded, read_input, register
from bplight.units import format_si


class Page(HTMLParser):
    """What a test needs from the page: headings, images, tags, visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.images: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._stack: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in ("img", "meta", "br"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data):
        if "h2" in self._stack:
            self.h2.append(data)
        if not {"pre", "style", "code", "title"} & set(self._stack):
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def png_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("report-inputs")
    return {"run": make_run(tmp), "estimate": make_estimate(tmp, "train"),
            "infer": make_estimate(tmp, "infer"), "compare": make_compare(tmp),
            "reproduce": REPRODUCTION_MD}


@pytest.fixture(scope="module")
def full_page(inputs, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    problems = report.write_report(list(inputs.values()), out)
    assert problems == []
    return out.read_text(encoding="utf-8"), out


def test_page_has_a_section_per_input_kind_and_embeds_every_figure(inputs, full_page) -> None:
    text, out = full_page
    page = Page(text)
    assert page.h2 == ["Takeaway", "Training runs", "Cost on the chip",
                       "Against other accelerators", "The paper's claims", "Inputs"]
    assert page.h2 == report.section_headings(list(inputs.values()))
    # curves + writes + wear (run), 2 per estimate, 1 comparison, 1 reproduction
    assert len(page.images) == 3 + 2 * 2 + 1 + 1  # run: curves, writes, wear
    for uri in page.images:
        w, h = png_size(uri)
        assert w >= 400 and h >= 200
    # self-contained: no script, no external stylesheet, no resource fetched from a host
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object")]
    for _, attrs in page.tags:
        for key in ("src", "href"):
            assert not str(attrs.get(key, "")).startswith(("http:", "https:", "//")), attrs
    # every figure has a caption naming its units and the command that regenerates it
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text, re.S)
    assert len(captions) == len(page.images)
    for cap in captions:
        assert re.search(r"µJ|µs|%|×|count", cap), cap
        assert "Regenerate with <code>bplight " in cap, cap
    assert "bplight estimate --model lenet5 --input 1x28x28 --hardware bplight-16b --phase " \
           "train --batch 128 --json &gt; estimate-train.txt" in text
    assert "bplight train --model lenet5 --dataset mnist --hardware bplight-16b --epochs 3" \
           in text
    # the hardware descriptions are there, collapsed
    assert text.count("<details><summary>Hardware description") == 4
    assert not list(out.parent.glob(".*.tmp"))


def test_takeaway_says_in_plain_words_what_the_inputs_show(inputs, full_page) -> None:
    text, _ = full_page
    take = Page(re.search(r'<section id="takeaway">(.*?)</section>', text, re.S)[1]).visible
    est = json.loads(inputs["estimate"].read_text().strip().splitlines()[-1])
    cmp = json.loads(inputs["compare"].read_text().strip().splitlines()[-1])
    assert "LeNet-5 on MNIST through bplight-16b" in take
    assert "97.80 % test accuracy, 0.30 points below FP32 (98.10 %)" in take
    assert "Each weight update re-programmed 0.208 % of the memristor cells on average." \
        in take
    assert f"A training image of LeNet-5 (1×28×28, batch 128) costs " \
           f"{format_si(est['energy_per_image_j'], 'J')}" in take
    assert "An inference image of LeNet-5" in take
    # the README's input and batch, or why not
    assert "The README's tables use 1×32×32 and batch 64; this uses 1×28×28 (the image size " \
           "of the MNIST run in this report) and batch 128 (the batch of the MNIST run)." \
           in take
    assert report.readme_note("lenet5", (1, 32, 32), 32, report.Page([], [], Path("r"), "")) \
        == "The README's tables use 1×32×32 and batch 64; this uses batch 32 (as requested " \
           "on the command line)."
    assert report.readme_note("vgg16", (3, 224, 224), 64, report.Page([], [], Path("r"), "")) \
        == "Same input size and batch as the README's tables."
    assert "For training of LeNet-5 (1×28×28, batch 128), the chip against each baseline:" \
        in take
    gtx = cmp["baselines"]["gtx1080"]
    assert f"NVIDIA GTX 1080: {1 / gtx['speedup']:.3g}× slower, " \
           f"{gtx['energy_saving']:.3g}× less energy per image" in take
    assert "ISAAC-CE: no comparison (inference only)" in take
    pl = cmp["baselines"]["pipelayer"]
    assert f"training speedup claimed 34×, here {pl['speedup']:.3g}×" in take
    assert "of the paper's 6 claimed ratios" in take
    assert 'href="' in text and "reproduction.md" in take
    # component names are for people, not code identifiers
    visible = Page(text).visible
    assert "fraction of the cells written per update 0.00208" in visible
    assert "cells written over the run 1,440,000" in visible
    for name in ("ring thermal hold", "shift-and-add", "ADC conversions", "laser light"):
        assert name in visible
    for key in ("ring_thermal", "shift_add", "memristor_write", "weight_grad", "gops_per"):
        assert key not in visible, key


def test_every_engine_key_has_a_name_for_people(inputs) -> None:
    est = json.loads(inputs["estimate"].read_text().strip().splitlines()[-1])
    assert set(est["energy_by_component_j"]) <= set(report.COMPONENT_NAMES)
    assert set(est["area_by_component_mm2"]) <= set(report.AREA_NAMES)
    assert set(est["latency_breakdown_s"]) <= set(report.LATENCY_NAMES)
    assert {p["phase"] for p in est["phases"]} <= set(report.PHASE_NAMES)
    from bplight.experiments.compare import MODEL_CHOICES

    assert set(MODEL_CHOICES) <= set(report.MODEL_NAMES)


def test_durations_read_as_people_write_them() -> None:
    assert report.duration_text(3.914) == "3.91 s"
    assert report.duration_text(2668.3) == "44 min 28 s"
    assert report.duration_text(7260) == "2 h 1 min"


def test_readme_tables_use_the_settings_the_report_checks() -> None:
    """The README's cost and comparison tables are made at each model's default input
    (scripts/regenerate-docs) with the batch its command lines name."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert report.README_TABLES == {"lenet5": ((1, 32, 32), 64), "vgg16": ((3, 224, 224), 64)}
    assert f"--phase P --batch {report.README_BATCH}`" in readme
    for model, (shape, _batch) in report.README_TABLES.items():
        label = f"| {report.MODEL_NAMES[model]} {report.shape_text(shape)} | train |"
        assert label in readme, label


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    run = make_run(tmp_path, name="<script>alert(1)", hardware="<script>alert(2)</script>",
                   yaml_extra="# </pre><script>alert(3)</script>\n")
    out = tmp_path / "r.html"
    assert report.write_report([run], out) == []
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)" in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
    assert "# &lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in text
    assert "<script>alert(1)" in Page(text).visible


def test_missing_and_unreadable_inputs_are_named_on_the_page_and_stderr(
        inputs, tmp_path: Path, capsys) -> None:
    bad_json = tmp_path / "estimate.json"
    bad_json.write_text('{"design": "bplight-16b", "energy_by_component_j": {}}\n')
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello\n")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    broken_run = make_run(tmp_path, name="broken")
    (broken_run / "metrics.json").write_text("{not json")
    missing = tmp_path / "nope"
    out = tmp_path / "report.html"
    argv = [str(p) for p in (inputs["run"], missing, bad_json, garbage, binary, empty_dir,
                             broken_run)]
    rc = main(["report", *argv, "-o", str(out)])
    assert rc == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == f"report: {out}"
    err = captured.err.strip().splitlines()
    assert len(err) == 6
    expected = {
        missing: "does not exist",
        bad_json: "is bplight estimate --json output but cannot be used: the estimate JSON "
                  "lacks the keys workload,",
        garbage: "is not a recognised input; allowed: a run directory of bplight train;",
        binary: "is not UTF-8 text",
        empty_dir: "is a directory with none of summary.json, metrics.json",
        broken_run: "is a run directory of bplight train but cannot be used: metrics.json "
                    "is not valid JSON (line 1",
    }
    page = Page(out.read_text(encoding="utf-8"))
    for path, reason in expected.items():
        assert any(line.startswith(f"bplight report: warning: {path} {reason}")
                   for line in err), (path, err)
        assert str(path) in page.visible and reason in page.visible, reason
    assert page.h2 == ["Takeaway", "Training runs", "Inputs"]
    assert "6 inputs could not be read" in page.visible


def test_a_run_without_summary_is_shown_as_unfinished(tmp_path: Path) -> None:
    run = make_run(tmp_path, summary=False)
    out = tmp_path / "r.html"
    assert report.write_report([run], out) == []
    visible = Page(out.read_text(encoding="utf-8")).visible
    assert "the run has not finished (no summary.json)" in visible
    assert f"resume it with bplight train --resume {run}" in visible


def test_cli_replaces_the_output_atomically_and_reports_unwritable_targets(
        inputs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub" / "report.html"
    out.parent.mkdir()
    out.write_text("old")
    assert main(["report", str(inputs["estimate"]), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    capsys.readouterr()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", str(inputs["estimate"]), "-o", str(blocker / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"bplight report: error: cannot write the report to {blocker}/r.html")


def test_reproduce_json_is_read_by_its_documented_keys(tmp_path: Path) -> None:
    claim = {"key": "train_speedup", "text": "training speedup ≥34×", "mode": "train",
             "metric": "speedup", "claimed": 34.0, "at_least": True, "source": "paper",
             "vs": "pipelayer", "per_model": {"lenet5": 0.0144}, "ours": 0.016,
             "deviation": -0.99, "within_tolerance": False, "context": {},
             "explanation": None}
    path = tmp_path / "reproduction.json"
    path.write_text(json.dumps({"paper": "BPLight-CNN", "hardware": "bplight-16b",
                                "batch": 64, "models": ["lenet5"], "tolerance": 0.25,
                                "command": "bplight reproduce --json", "claims": [claim]}))
    got = read_input(path)
    assert isinstance(got, Loaded) and got.kind == "reproduce"
    assert got.data["claims"] == [{"claim": "training speedup ≥34×", "claimed": 34.0,
                                   "vs": "pipelayer", "ours": 0.016, "within": False}]
    del claim["within_tolerance"]
    path.write_text(json.dumps({"paper": "x", "hardware": "y", "claims": [claim]}))
    assert "lacks the key within_tolerance" in read_input(path).reason


def test_a_new_input_kind_plugs_in_with_its_section(tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "spectra.json"
    store.write_text('{"spectra": [1, 2]}')
    kind = Kind("spectra", "Bank spectra", "bank spectra",
                lambda p, t, o: o is not None and "spectra" in o,
                lambda p, t, o: Loaded(p, "spectra", o))
    monkeypatch.setattr(inputs_mod, "KINDS", list(inputs_mod.KINDS))
    register(kind)
    monkeypatch.setitem(report.RENDERERS, "spectra",
                        lambda item, page: f"<p>{len(item.data['spectra'])} banks</p>")
    out = tmp_path / "r.html"
    assert report.write_report([store], out) == []
    page = Page(out.read_text(encoding="utf-8"))
    assert page.h2 == ["Takeaway", "Bank spectra", "Inputs"]
    assert "2 banks" in page.visible
    with pytest.raises(ValueError, match="already registered"):
        register(kind)


def test_a_run_stopped_by_a_non_finite_loss_still_renders(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["hardware"][-1].update(train_loss=None, test_loss=None, test_accuracy=None)
    (run / "metrics.json").write_text(json.dumps(metrics))
    summary = json.loads((run / "summary.json").read_text())
    summary.update(test_accuracy=None, accuracy_gap_pp=None)
    (run / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "r.html"
    assert report.write_report([run], out) == []
    page = Page(out.read_text(encoding="utf-8"))
    assert "the run ended without a finite test accuracy" in page.visible
    assert len(page.images) == 3  # curves, writes per epoch, wear histogram


def test_a_sweep_directory_gets_its_pareto_section(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: tiny\nparameters:\n  forward.adc_bits: [4, 6]\n"
                    "  photonics.modulation_rate_hz: ['2.5 GHz', '5 GHz']\n"
                    "workloads:\n  cost: [{model: lenet5, batch: 16}]\n")
    sweep = tmp_path / "sweep"
    assert main(["sweep", str(spec), "-o", str(sweep), "--quiet"]) == 0
    capsys.readouterr()
    assert (sweep / "summary.json").is_file()  # a sweep directory is not a run directory
    assert read_input(sweep).kind == "sweep"
    out = tmp_path / "r.html"
    assert report.write_report([sweep], out) == []
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert page.h2 == ["Takeaway", "Design-space sweep", "Inputs"]
    assert len(page.images) == 1 and png_size(page.images[0])[0] >= 600
    assert "The sweep tiny evaluated 4 designs of lenet5" in page.visible
    assert "energy per training image" in page.visible
    assert re.search(r"photonics\.modulation_rate_hz = (2\.5|5) GHz", page.visible)
    assert "<details><summary>Sweep spec (SPEC.yaml)</summary>" in text
    (sweep / "sweep.sqlite").write_bytes(b"not a database" * 10)
    got = read_input(sweep)
    assert "is a sweep directory of bplight sweep but cannot be used" in got.reason


def test_a_waterfall_gets_its_section(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "repro.md"
    assert main(["reproduce", "--waterfall", "--no-accuracy", "--models", "lenet5",
                 "--batch", "8", "--out", str(doc)]) == 0
    capsys.readouterr()
    wf = tmp_path / "repro-waterfall.json"
    data = json.loads(wf.read_text())
    out = tmp_path / "r.html"
    assert report.write_report([wf, doc], out) == []
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert page.h2 == ["Takeaway", "From the paper's assumptions to the physics",
                       "The paper's claims", "Inputs"]
    assert len(page.images) == 2 and png_size(page.images[0])[0] >= 800
    first = data["waterfall"][0]["ratios"]["train"]["pipelayer"]["speedup"]
    last = data["waterfall"][-1]["ratios"]["train"]["pipelayer"]["speedup"]
    assert (f"from bplight-paper (the paper's implied design) to bplight-16b in "
            f"{len(data['waterfall']) - 1} steps, the training speedup over PipeLayer goes "
            f"from {first:.3g}× to {last:.3g}×") in page.visible
    for row in data["waterfall"]:
        assert row["title"] in page.visible
    del data["designs"]
    wf.write_text(json.dumps(data))
    assert "has no key 'designs'" in read_input(wf).reason


def test_run_section_shows_memristor_wear(full_page) -> None:
    """The wear record of summary.json (experiments.wear) becomes a table and a histogram;
    its strings are escaped like every other input string."""
    text, _ = full_page
    visible = Page(text).visible
    assert "Memristor wear" in visible
    assert "writes to the most-written cell" in visible and "1,363" in visible
    assert "runs like this one until the most-written cell wears out" in visible
    assert "Huang et al. &lt;HfOx&gt;" in text and "<HfOx>" not in text
    assert "memristor cells by number of writes" in text
