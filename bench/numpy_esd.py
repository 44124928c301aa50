"""Peer for `deno task bench:esd`: the TempBalance-convention ESD of a CIFAR ResNet-18 with
random weights in numpy float64 (Gram of the smaller side + eigvalsh per slice) and the median
Hill fit per layer. The weights are generated before any timing. Prints {"times": [...], "layers":
N} as JSON: one time per run (argv[2] runs, default 3), so the caller takes the same statistic for
both sides. Shapes come from argv[1] (JSON)."""
import json, sys, time
import numpy as np

shapes = json.loads(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rng = np.random.default_rng(0)
weights = [rng.standard_normal(s).astype(np.float32) * 0.05 for _, s in shapes]
times = []
for _ in range(runs):
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
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "layers": len(shapes)}))
