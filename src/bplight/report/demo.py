"""Assemble the demo's results into one Markdown report with plots.

``python -m bplight.report.demo OUT`` reads what ``demo.sh`` wrote into ``OUT``
(``hardware-run/`` from ``bplight train``, the ``--json`` outputs of ``bplight
estimate`` and ``bplight compare``) and writes ``OUT/report.md`` and
``OUT/training.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bplight.io import atomic_path, atomic_write_text
from bplight.units import format_si


def last_json(path: Path) -> dict[str, Any] | None:
    """The JSON object on the last non-empty line of ``path`` (None if absent)."""
    if not path.exists():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return None


def plot_training(metrics: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for tag, rows in metrics.items():
        ep = [r["epoch"] for r in rows]
        a.plot(ep, [r["train_loss"] for r in rows], "o-", label=tag)
        b.plot(ep, [100 * r["test_accuracy"] for r in rows], "o-", label=tag)
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    b.set_xlabel("epoch")
    b.set_ylabel("test accuracy (%)")
    a.legend()
    b.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def build_report(out: Path) -> str:
    lines = ["# bplight demo report", ""]
    run = out / "hardware-run"
    summary = json.loads((run / "summary.json").read_text()) if (
        run / "summary.json").exists() else None
    if summary:
        metrics = json.loads((run / "metrics.json").read_text())
        plot_training(metrics, out / "training.png")
        lines += [
            f"## Accuracy: {summary['model']} on {summary['dataset']}, "
            f"{summary['epochs']} epochs", "",
            "Every matrix product of training (forward, error backpropagation, weight "
            "gradient) ran through the numerical model of the chip and every weight update "
            "was written through the memristor model; the FP32 run is plain PyTorch with the "
            "same seed, data order and schedule.", "",
            "| run | test accuracy |", "|---|---|",
            f"| {summary['hardware']} ({summary['mode']}) | "
            f"{100 * summary['test_accuracy']:.2f} % |",
        ]
        if summary.get("fp32_test_accuracy") is not None:
            lines += [f"| FP32 | {100 * summary['fp32_test_accuracy']:.2f} % |",
                      f"| gap | {summary['accuracy_gap_pp']:+.2f} pp |"]
        lines += ["", "![training curves](training.png)", ""]
    for mode in ("train", "infer"):
        est = last_json(out / f"estimate-{mode}.txt")
        if not est:
            continue
        lines += [f"## Cost: {est.get('workload', '')} ({mode}, batch {est.get('batch')})", "",
                  "| quantity | value |", "|---|---|",
                  f"| latency | {format_si(est['latency_s'], 's')} |",
                  f"| energy per image | {format_si(est['energy_per_image_j'], 'J')} |",
                  f"| power | {format_si(est['power_w'], 'W')} |",
                  f"| area | {est['area_mm2']:.2f} mm² |",
                  f"| throughput | {est['gops']:.1f} GOPS |",
                  f"| power efficiency | {est['gops_per_w']:.2f} GOPS/W |",
                  f"| computational efficiency | {est['gops_per_s_per_mm2']:.2f} GOPS/s/mm² |",
                  ""]
        comp = est.get("energy_by_component_j") or {}
        total = sum(comp.values()) or 1.0
        if comp:
            lines += ["| component | energy share |", "|---|---|"]
            lines += [f"| {k} | {100 * v / total:.1f} % |"
                      for k, v in sorted(comp.items(), key=lambda kv: -kv[1]) if v > 0]
            lines.append("")
    cmp = last_json(out / "compare-train.txt")
    if cmp and "baselines" in cmp:
        lines += ["## BPLight-CNN over baseline accelerators (training)", "",
                  "| baseline | speedup | energy saving | GOPS/W ratio | GOPS/s/mm² ratio |",
                  "|---|---|---|---|---|"]
        for name, r in cmp["baselines"].items():
            if r.get("speedup") is None:
                lines.append(f"| {name} | n/a | n/a | n/a | n/a ({r.get('reason', '')}) |")
            else:
                lines.append(f"| {name} | {r['speedup']:.3g}x | {r['energy_saving']:.3g}x | "
                             f"{r['gops_per_w_ratio']:.3g}x | "
                             f"{r['gops_per_s_per_mm2_ratio']:.3g}x |")
        if (out / "compare-train.png").exists():
            lines += ["", "![comparison](compare-train.png)"]
        lines.append("")
    lines += ["What the numbers mean and where they come from: README.md, docs/cost-model.md, "
              "docs/baselines.md.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bplight.report.demo OUT_DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    atomic_write_text(out / "report.md", build_report(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
