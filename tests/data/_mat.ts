// A small MAT level-5 writer (the format as MathWorks documents it), for test fixtures only.
const MI = { INT8: 1, UINT8: 2, INT32: 5, UINT32: 6, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 };
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

function element(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + pad8(data.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, data.length, true);
  out.set(data, 8);
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
};

/** A numeric matrix element: class 6 (double) or 9 (uint8), stored as uint8 or double. */
export function matrix(
  name: string,
  dims: number[],
  values: number[],
  cls: 6 | 9,
  stored: "u8" | "f64",
): Uint8Array {
  const flags = new Uint8Array(8);
  new DataView(flags.buffer).setUint32(0, cls, true);
  const d = new Uint8Array(4 * dims.length);
  dims.forEach((x, i) => new DataView(d.buffer).setInt32(4 * i, x, true));
  const data = stored === "u8" ? Uint8Array.from(values) : new Uint8Array(Float64Array.from(values).buffer);
  return element(
    MI.MATRIX,
    concat(
      element(MI.UINT32, flags),
      element(MI.INT32, d),
      element(MI.INT8, new TextEncoder().encode(name)),
      element(stored === "u8" ? MI.UINT8 : MI.DOUBLE, data),
    ),
  );
}

async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

export async function matFile(vars: Uint8Array[], compress: boolean): Promise<Uint8Array> {
  const header = new Uint8Array(128).fill(32);
  header.set(new TextEncoder().encode("MATLAB 5.0 MAT-file, written by the tests"));
  header.set([0, 1, 0x49, 0x4d], 124); // version 0x0100, "IM": little-endian
  const body: Uint8Array[] = [];
  for (const v of vars) {
    if (!compress) body.push(v);
    else {
      const z = await zlib(v), tag = new Uint8Array(8);
      new DataView(tag.buffer).setUint32(0, MI.COMPRESSED, true);
      new DataView(tag.buffer).setUint32(4, z.length, true);
      body.push(tag, z);
    }
  }
  return concat(header, ...body);
}

/** SVHN-shaped variables: X 4×5×3×N uint8 column-major, y N×1 double with 10 for digit 0. */
export function svhnVars(N: number, labels: number[], H = 4, W = 5) {
  const X = new Array(H * W * 3 * N);
  // Pixel (h, w, c, n) = a value that names its position.
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < 3; c++) {
      for (let w = 0; w < W; w++) {
        for (let h = 0; h < H; h++) X[h + H * (w + W * (c + 3 * n))] = (n * 60 + c * 20 + h * 5 + w) % 256;
      }
    }
  }
  return [matrix("X", [H, W, 3, N], X, 9, "u8"), matrix("y", [N, 1], labels, 6, "f64")];
}
