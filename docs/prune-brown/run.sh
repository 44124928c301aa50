#!/usr/bin/env bash
# The pruning experiment (docs/pruning.md): the Brown-trained GPT-2-layout model of docs/lm.md at
# sparsity 0.3 … 0.8 × allocation uniform / alpha / FARMS × score magnitude / Wanda, perplexity on
# Brown's test split before and after; then the table and plot. Resumable: finished runs are kept.
#   bash docs/prune-brown/run.sh [MODEL_DIR] [RUNS_DIR]
# MODEL_DIR default runs/lm-gpt2-adam-seed43/model (what `deno task train-lm` writes).
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:-runs/lm-gpt2-adam-seed43/model}"
runs="${2:-runs/prune-brown}"
mkdir -p "$runs"
for score in magnitude wanda; do
  calib=()
  [ "$score" = wanda ] && calib=(--calib brown --calib-tokens 8192)
  for allocation in uniform alpha farms; do
    for s in 0.3 0.4 0.5 0.6 0.7 0.8; do
      out="$runs/$score-$allocation-$s"
      [ -f "$out/perplexity.json" ] && continue
      deno task prune "$model" --sparsity "$s" --allocation "$allocation" --score "$score" "${calib[@]}" \
        --eval brown --batch 32 --out "$out"
    done
  done
done
deno task prune --report "$runs"
cp "$runs"/results.md "$runs"/perplexity_vs_sparsity.svg docs/prune-brown/
for d in "$runs"/*/; do
  mkdir -p "docs/prune-brown/runs/$(basename "$d")"
  cp "$d"sparsity.json "$d"perplexity.json "docs/prune-brown/runs/$(basename "$d")/"
done
