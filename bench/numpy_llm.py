"""Peer for `deno task bench:esd`'s `llm-esd` row: the same sharded BF16 checkpoint read with numpy
(header JSON, then each tensor's bytes from its shard), and for every 2-D tensor, in float64: the
Gram matrix of the smaller side, eigvalsh, and the median Hill fit (TempBalance's convention).
Prints {"seconds", "split": {read, gram, eigen, fit}, "layers", "peakRssBytes"} as JSON."""
import json, os, resource, struct, sys, time
import numpy as np

index = sys.argv[1]
if os.path.isdir(index):
    index = os.path.join(index, "model.safetensors.index.json")
root = os.path.dirname(index)
split = {"read": 0.0, "gram": 0.0, "eigen": 0.0, "fit": 0.0}
t_all = time.perf_counter()
with open(index) as f:
    weight_map = json.load(f)["weight_map"]
layers = 0
for shard in sorted(set(weight_map.values())):
    with open(os.path.join(root, shard), "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        items = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
        for name, t in items:
            if len(t["shape"]) != 2:
                continue
            t0 = time.perf_counter()
            a, b = t["data_offsets"]
            f.seek(base + a)
            raw = np.frombuffer(f.read(b - a), dtype=np.uint16)
            w = (raw.astype(np.uint32) << 16).view(np.float32).reshape(t["shape"]).astype(np.float64)
            t1 = time.perf_counter()
            g = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
            t2 = time.perf_counter()
            e = np.sort(np.linalg.eigvalsh(g))
            t3 = time.perf_counter()
            i = len(e) // 2
            m = len(e) - i
            alpha = 1 + m / (np.sum(np.log(e[i:])) - m * np.log(e[i]))
            t4 = time.perf_counter()
            split["read"] += t1 - t0
            split["gram"] += t2 - t1
            split["eigen"] += t3 - t2
            split["fit"] += t4 - t3
            layers += 1
            del w, g, raw
print(json.dumps({
    "seconds": time.perf_counter() - t_all,
    "split": split,
    "layers": layers,
    "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
