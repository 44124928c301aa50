#!/usr/bin/env bash
# The Fashion-MNIST study of TB vs CAL (docs/study-fmnist/README.md): two paired, five-seed grids,
# over the training-set size and over the width. Resumable: stop it at any point (Ctrl-C, kill,
# a reboot) and run it again; finished runs are kept, an interrupted one resumes from its last epoch.
#   nohup bash docs/study-fmnist/run.sh [RUNS_DIR] > study.log 2>&1 &
# RUNS_DIR (default docs/study-fmnist/runs) holds the runs; the reports are copied next to this script.
# The default folder is tracked by git (checkpoints and logs only, see .gitignore): the study outlives
# the machine it started on, and its raw runs stay beside the report.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-docs/study-fmnist/runs}"
common=(--methods tb,cal --seeds 43,37,13,51,71 --model small --steps 500)
deno task compare "${common[@]}" --grid subset=600,1500,6000,60000 --out "$runs/size"
deno task compare "${common[@]}" --grid width=0.5,1,2 --subset 1500 --out "$runs/width"
for part in size width; do
  mkdir -p "docs/study-fmnist/$part"
  cp "$runs/$part"/{results.md,results.csv,runs.csv,compare.json} "$runs/$part"/*.svg "docs/study-fmnist/$part/"
  deno fmt "docs/study-fmnist/$part" # the repository's style (deno task check)
done
echo "study done: docs/study-fmnist/{size,width}"
