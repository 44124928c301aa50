"""Peer for `deno task bench:esd`: the TempBalance-convention ESD of a CIFAR ResNet-18 with
random weights in numpy float64 (Gram of the smaller side + eigvalsh per slice) and the median
Hill fit per layer. The weights are generated before any timing. Prints {"times": [...], "splits":
[...], "layers": N} as JSON: one time per run (argv[2] runs, default 3), and per run the seconds
spent reading (float64 copies, slicing, scaling), forming Gram matrices, in eigvalsh, and fitting,
so the caller takes the same statistic for both sides. Shapes come from argv[1] (JSON)."""
import json, sys, time
import numpy as np

shapes = json.loads(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rng = np.random.default_rng(0)
weights = [rng.standard_normal(s).astype(np.float32) * 0.05 for _, s in shapes]
times, splits = [], []
for _ in range(runs):
    split = {"read": 0.0, "gram": 0.0, "eigen": 0.0, "fit": 0.0}
    t0 = time.perf_counter()
    for w in weights:
        a = time.perf_counter()
        w = w.astype(np.float64)
        if w.ndim == 4:
            mats = [w[:, :, i, j] * np.sqrt(0.5) for i in range(w.shape[2]) for j in range(w.shape[3])]
        else:
            mats = [w]
        b = time.perf_counter()
        split["read"] += b - a
        evals = []
        for m in mats:
            c = time.perf_counter()
            g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
            d = time.perf_counter()
            evals.append(np.linalg.eigvalsh(g))
            split["gram"] += d - c
            split["eigen"] += time.perf_counter() - d
        c = time.perf_counter()
        e = np.sort(np.concatenate(evals))
        i = len(e) // 2
        n = len(e) - i
        alpha = 1 + n / (np.sum(np.log(e[i:])) - n * np.log(e[i]))
        split["fit"] += time.perf_counter() - c
    times.append(time.perf_counter() - t0)
    splits.append(split)
print(json.dumps({"times": times, "splits": splits, "layers": len(shapes)}))
