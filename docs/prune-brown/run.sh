#!/usr/bin/env bash
# The pruning experiment (docs/pruning.md): the Brown-trained GPT-2-layout model of docs/lm.md at
# sparsity 0.3 … 0.8 × allocation uniform / alpha / FARMS × score magnitude / Wanda, perplexity on
# Brown's test split; then the table and plot. Resumable: finished runs are kept.
#   bash docs/prune-brown/run.sh [MODEL_DIR] [RUNS_DIR]
# MODEL_DIR default runs/lm-gpt2-adam-seed43/model (what `deno task train-lm` writes).
# MAPPING=layer (environment): each layer's own metric (--mapping layer) for alpha and FARMS, reports to
# docs/prune-brown/layer/ (uniform is the same as in the block runs and is not repeated).
# The first run evaluates the dense model too (`--eval`); the others are evaluated after pruning only
# (`deno task perplexity`), their perplexity.json taking the dense figure from the first.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:-runs/lm-gpt2-adam-seed43/model}"
runs="${2:-runs/prune-brown}"
mapping="${MAPPING:-block}"
allocations=(uniform alpha farms)
docs=docs/prune-brown
if [ "$mapping" = layer ]; then allocations=(alpha farms); docs=docs/prune-brown/layer; fi
mkdir -p "$runs"
test_txt="$runs/brown-test.txt"
if [ ! -f "$test_txt" ]; then
  # Brown's test split as text, one sentence per line (the words the corpus keeps; <unk> as is).
  deno eval "
    import { brownCorpus } from './data/lm_corpus.ts';
    const c = await brownCorpus();
    const lines = []; let line = [];
    for (const id of c.test) { if (id === c.vocab.eos) { lines.push(line.join(' ')); line = []; } else line.push(c.vocab.tokens[id]); }
    await Deno.writeTextFile('$test_txt.tmp', lines.join('\n') + '\n');
  "
  mv "$test_txt.tmp" "$test_txt"
fi
first=""
for score in magnitude wanda; do
  calib=()
  [ "$score" = wanda ] && calib=(--calib brown --calib-tokens 8192)
  for allocation in "${allocations[@]}"; do
    for s in 0.3 0.4 0.5 0.6 0.7 0.8; do
      out="$runs/$score-$allocation-$s"
      [ -z "$first" ] && first="$out"
      [ -f "$out/perplexity.json" ] && continue
      if [ "$out" = "$first" ]; then
        deno task prune "$model" --sparsity "$s" --allocation "$allocation" --score "$score" "${calib[@]}" \
          --mapping "$mapping" --eval "$test_txt" --batch 32 --out "$out"
      else
        deno task prune "$model" --sparsity "$s" --allocation "$allocation" --score "$score" "${calib[@]}" \
          --mapping "$mapping" --out "$out"
        deno task perplexity "$out" --data "$test_txt" --batch 32 --json > "$out/after.json"
        deno eval "
          const d = JSON.parse(await Deno.readTextFile('$first/perplexity.json'));
          const a = JSON.parse(await Deno.readTextFile('$out/after.json'));
          await Deno.writeTextFile('$out/perplexity.json', JSON.stringify({ data: d.data, tokens: a.tokens, before: d.before, after: a.perplexity }, null, 2) + '\n');
        "
      fi
    done
  done
done
deno task prune --report "$runs"
mkdir -p "$docs"
cp "$runs"/results.md "$runs"/perplexity_vs_sparsity.svg "$docs/"
for d in "$runs"/*/; do
  mkdir -p "$docs/runs/$(basename "$d")"
  cp "$d"sparsity.json "$d"perplexity.json "$docs/runs/$(basename "$d")/"
done
