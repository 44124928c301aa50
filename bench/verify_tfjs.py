"""Independent float64 check of `deno task analyze` on a tfjs weights manifest: decodes the shards
itself (float32, or uint8/uint16 quantized as q*scale + min), builds the TempBalance-convention
slices of every Conv2D (HWIO) / Dense (in, out) kernel, takes numpy's float64 SVD, and fits the
median Hill alpha. Prints {name: {"alpha": ..., "spectral_norm": ..., "num_evals": ...}} as JSON."""
import json, os, sys
import numpy as np

path = sys.argv[1]
manifest = json.load(open(path))
groups = manifest if isinstance(manifest, list) else manifest["weightsManifest"]
base = os.path.dirname(path)
out = {}
for g in groups:
    data = b"".join(open(os.path.join(base, p), "rb").read() for p in g["paths"])
    off = 0
    for w in g["weights"]:
        q = w.get("quantization")
        dt = q["dtype"] if q else w["dtype"]
        np_dt = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "uint16": "<u2", "float16": "<f2"}[dt]
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        arr = np.frombuffer(data, dtype=np_dt, count=n, offset=off).astype(np.float64)
        off += n * np.dtype(np_dt).itemsize
        if q and dt in ("uint8", "uint16"):
            arr = arr * q["scale"] + q["min"]
        if w["dtype"] != "float32" or len(w["shape"]) not in (2, 4):
            continue
        k = arr.reshape(w["shape"])
        if k.ndim == 4:  # HWIO -> slices (out, in) * sqrt(0.5)
            mats = [k[y, x].T * np.sqrt(0.5) for y in range(k.shape[0]) for x in range(k.shape[1])]
        else:  # (in, out) -> (out, in)
            mats = [k.T]
        ev = np.sort(np.concatenate([np.linalg.svd(m, compute_uv=False) ** 2 for m in mats]))
        i = len(ev) // 2
        nt = len(ev) - i
        alpha = 1 + nt / (np.sum(np.log(ev[i:])) - nt * np.log(ev[i])) if ev[i] > 0 else None
        out[w["name"]] = {"alpha": alpha, "spectral_norm": float(ev[-1]), "num_evals": int(len(ev))}
print(json.dumps(out))
