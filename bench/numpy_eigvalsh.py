"""Peer for `deno task bench:esd`'s like-for-like eigvalsh rows: loads a (batch, n, n) float64 .npy
of symmetric matrices (argv[1]; the same Gram matrices our side solves), then times
`np.linalg.eigvalsh` over all of them, argv[2] runs (default 3) after one warm-up. Threads follow
OPENBLAS_NUM_THREADS as the caller sets it. Prints {"times": [...], "evals": [[...], ...]}."""
import json, sys, time
import numpy as np

g = np.load(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
np.linalg.eigvalsh(g[0])
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    evals = [np.linalg.eigvalsh(m) for m in g]
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "evals": [e.tolist() for e in evals]}))
