"""Peer for `deno task bench:esd`: the TempBalance-convention ESD of a CIFAR ResNet-18 with
random weights in numpy float64 (Gram of the smaller side + eigvalsh per slice) and the median
Hill fit per layer. Prints {"seconds": ..., "layers": N} as JSON. Shapes come from argv (JSON)."""
import json, sys, time
import numpy as np

shapes = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
weights = [rng.standard_normal(s).astype(np.float32) * 0.05 for _, s in shapes]
best = None
for _ in range(3):
    t0 = time.perf_counter()
    for w in weights:
        w = w.astype(np.float64)
        if w.ndim == 4:
            mats = [w[:, :, i, j] * np.sqrt(0.5) for i in range(w.shape[2]) for j in range(w.shape[3])]
        else:
            mats = [w]
        evals = []
        for m in mats:
            g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
            evals.append(np.linalg.eigvalsh(g))
        e = np.sort(np.concatenate(evals))
        i = len(e) // 2
        n = len(e) - i
        alpha = 1 + n / (np.sum(np.log(e[i:])) - n * np.log(e[i]))
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
print(json.dumps({"seconds": best, "layers": len(shapes)}))
