#!/usr/bin/env bash
# Model Balancing's low-data fine-tuning setting on Brown: pre-train on every category but romance,
# then fine-tune on 5%, 10%, 25% and 100% of romance's 23 training documents (1, 2, 6 and 23
# documents; 1% would round to the same single document as 5%) with Adam and with TempBalance, three
# paired seeds each; the report (romance's test perplexity per fraction, paired differences) goes to
# RUNS_DIR/ft2/results.md and is copied here.
# Resumable: rerun the script; finished runs are kept, an interrupted one continues.
# Usage: docs/lm-finetune/run.sh RUNS_DIR
set -euo pipefail
R=${1:?usage: run.sh RUNS_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
mkdir -p "$R"
if [ -f "$R/pretrain/checkpoint.safetensors" ]; then
  deno task train-lm --resume "$R/pretrain" || true # a finished run has nothing left to do
else
  deno task train-lm --exclude romance --epochs 1 --out "$R/pretrain"
fi
deno task compare --task lm --methods tb,adam --seeds 43,37,13 --grid subset-docs=0.05,0.1,0.25,1 \
  --init "$R/pretrain/model" --categories romance --epochs 4 --batch 8 --lr 3e-4 --layernorm \
  --out "$R/ft2"
cp "$R/ft2/results.md" "$R/ft2/results.csv" "$here/"
