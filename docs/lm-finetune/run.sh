#!/usr/bin/env bash
# Model Balancing's low-data fine-tuning setting on Brown: pre-train on every category but romance,
# then fine-tune on 1%, 5%, 25% and 100% of romance's training documents with Adam and with
# TempBalance, three paired seeds each, and report romance's test perplexity per fraction.
# Resumable: finished runs are kept, an interrupted one continues (`--resume`).
# Usage: docs/lm-finetune/run.sh RUNS_DIR   (then: deno task lm-study RUNS_DIR/ft)
set -euo pipefail
R=${1:?usage: run.sh RUNS_DIR}
cd "$(dirname "$0")/../.."
mkdir -p "$R"
run() { # out, flags…
  local out=$1; shift
  if [ -f "$out/model/config.json" ] && grep -q '"epoch"' "$out/metrics.jsonl" 2>/dev/null &&
    [ "$(wc -l < "$out/metrics.jsonl")" -ge "$EPOCHS" ] && [ ! -e "$out/.running" ]; then
    echo "== $out: done"; return
  fi
  touch "$out.running" 2>/dev/null || true
  if [ -f "$out/checkpoint.safetensors" ]; then
    deno task train-lm --resume "$out"
  else
    deno task train-lm "$@" --out "$out"
  fi
  rm -f "$out.running"
}
EPOCHS=2 run "$R/pretrain" --exclude romance --epochs 2
EPOCHS=6
for f in 0.01 0.05 0.25 1; do
  for m in adam tb; do
    for s in 43 37 13; do
      extra=()
      [ "$m" = tb ] && extra=(--layernorm)
      run "$R/ft/frac=$f/$m/seed$s" --init "$R/pretrain/model" --categories romance --subset-docs "$f" \
        --method "$m" --seed "$s" --epochs "$EPOCHS" --batch 8 --lr 3e-4 "${extra[@]}"
    done
  done
done
deno task lm-study "$R/ft" --baseline adam --out docs/lm-finetune
