// AssemblyScript source of esd/_eigvalsh_wasm.ts (build: `deno task build:wasm`).
//
// Eigenvalues of a symmetric matrix in float64: Householder tridiagonalization (the lower
// triangle of a row-major n×n matrix, reduced from the last row up, as EISPACK's tred2 does) and
// implicit QL on the tridiagonal matrix (tqli). Each step's rank-2 update of the trailing matrix
// is fused with the next step's symmetric matrix-vector product: one pass over the lower triangle
// per step, rows read contiguously, two float64 lanes at a time (WASM SIMD).

@inline function ld(p: usize, k: i32): f64 {
  return load<f64>(p + (<usize>k << 3));
}

@inline function st(p: usize, k: i32, v: f64): void {
  store<f64>(p + (<usize>k << 3), v);
}

// The Householder vector of row i (columns 0..i-1) into u; sets e[i]; returns h (0: no reflection).
function prepare(a: usize, n: i32, i: i32, e: usize, u: usize): f64 {
  const row = a + ((<usize>i * <usize>n) << 3);
  const l = i - 1;
  if (l == 0) {
    st(e, i, ld(row, 0));
    return 0;
  }
  let scale = 0.0;
  for (let k = 0; k <= l; k++) scale += Math.abs(ld(row, k));
  if (scale == 0) {
    st(e, i, ld(row, l));
    return 0;
  }
  let h = 0.0;
  for (let k = 0; k <= l; k++) {
    const v = ld(row, k) / scale;
    st(u, k, v);
    h += v * v;
  }
  const f = ld(u, l);
  const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
  st(e, i, scale * g);
  h -= f * g;
  st(u, l, f - g);
  return h;
}

// p = A[0..m, 0..m] u / h from the lower triangle (m = last index).
function symv(a: usize, n: i32, m: i32, u: usize, p: usize, h: f64): void {
  for (let k = 0; k <= m; k++) st(p, k, 0);
  for (let j = 0; j <= m; j++) {
    const row = a + ((<usize>j * <usize>n) << 3);
    const uj = ld(u, j);
    const ujv = f64x2.splat(uj);
    let acc = f64x2.splat(0);
    let k = 0;
    for (; k + 2 <= j; k += 2) {
      const off = <usize>k << 3;
      const x = v128.load(row + off);
      acc = f64x2.add(acc, f64x2.mul(x, v128.load(u + off)));
      v128.store(p + off, f64x2.add(v128.load(p + off), f64x2.mul(x, ujv)));
    }
    let dot = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
    for (; k < j; k++) {
      const x = ld(row, k);
      dot += x * ld(u, k);
      st(p, k, ld(p, k) + x * uj);
    }
    st(p, j, ld(p, j) + dot + ld(row, j) * uj);
  }
  const r = 1 / h;
  for (let k = 0; k <= m; k++) st(p, k, ld(p, k) * r);
}

// Row j, columns 0..len-1: A[j][k] -= uj·q[k] + qj·u[k].
function update(row: usize, u: usize, q: usize, uj: f64, qj: f64, len: i32): void {
  const ujv = f64x2.splat(uj), qjv = f64x2.splat(qj);
  let k = 0;
  for (; k + 2 <= len; k += 2) {
    const off = <usize>k << 3;
    const t = f64x2.add(f64x2.mul(ujv, v128.load(q + off)), f64x2.mul(qjv, v128.load(u + off)));
    v128.store(row + off, f64x2.sub(v128.load(row + off), t));
  }
  for (; k < len; k++) st(row, k, ld(row, k) - (uj * ld(q, k) + qj * ld(u, k)));
}

// Row j (j >= 1), columns 0..j: the update, then its share of the next p2 = A u2.
function fused(row: usize, u: usize, q: usize, uj: f64, qj: f64, j: i32, u2: usize, p2: usize): void {
  const ujv = f64x2.splat(uj), qjv = f64x2.splat(qj);
  const u2j = ld(u2, j);
  const u2v = f64x2.splat(u2j);
  let acc = f64x2.splat(0), acc2 = f64x2.splat(0);
  let k = 0;
  // Four columns an iteration, two independent sums (the adds' latency, not their count, bounds it).
  for (; k + 4 <= j; k += 4) {
    const off = <usize>k << 3, off2 = off + 16;
    const t = f64x2.add(f64x2.mul(ujv, v128.load(q + off)), f64x2.mul(qjv, v128.load(u + off)));
    const t2 = f64x2.add(f64x2.mul(ujv, v128.load(q + off2)), f64x2.mul(qjv, v128.load(u + off2)));
    const x = f64x2.sub(v128.load(row + off), t);
    const x2 = f64x2.sub(v128.load(row + off2), t2);
    v128.store(row + off, x);
    v128.store(row + off2, x2);
    acc = f64x2.add(acc, f64x2.mul(x, v128.load(u2 + off)));
    acc2 = f64x2.add(acc2, f64x2.mul(x2, v128.load(u2 + off2)));
    v128.store(p2 + off, f64x2.add(v128.load(p2 + off), f64x2.mul(x, u2v)));
    v128.store(p2 + off2, f64x2.add(v128.load(p2 + off2), f64x2.mul(x2, u2v)));
  }
  for (; k + 2 <= j; k += 2) {
    const off = <usize>k << 3;
    const t = f64x2.add(f64x2.mul(ujv, v128.load(q + off)), f64x2.mul(qjv, v128.load(u + off)));
    const x = f64x2.sub(v128.load(row + off), t);
    v128.store(row + off, x);
    acc = f64x2.add(acc, f64x2.mul(x, v128.load(u2 + off)));
    v128.store(p2 + off, f64x2.add(v128.load(p2 + off), f64x2.mul(x, u2v)));
  }
  acc = f64x2.add(acc, acc2);
  let dot = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; k < j; k++) {
    const x = ld(row, k) - (uj * ld(q, k) + qj * ld(u, k));
    st(row, k, x);
    dot += x * ld(u2, k);
    st(p2, k, ld(p2, k) + x * u2j);
  }
  const x = ld(row, j) - (uj * ld(q, j) + qj * ld(u, j));
  st(row, j, x);
  st(p2, j, ld(p2, j) + dot + x * u2j);
}

/**
 * Tridiagonalizes the symmetric n×n matrix at `a` (row-major float64, lower triangle read and
 * overwritten) into its diagonal `d` and off-diagonal `e` (e[0..n-2], e[n-1] = 0), then solves for
 * the eigenvalues into `d` (unsorted). `work` holds 5n float64. Returns 0, or -1 when QL did not
 * converge.
 */
export function eigvalsh(n: i32, a: usize, d: usize, e: usize, work: usize): i32 {
  let u = work, p = work + ((<usize>n) << 3), q = work + ((<usize>n * 2) << 3);
  let u2 = work + ((<usize>n * 3) << 3), p2 = work + ((<usize>n * 4) << 3);
  let ready = false;
  let h = 0.0;
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    if (!ready) {
      h = prepare(a, n, i, e, u);
      if (h != 0) symv(a, n, l, u, p, h);
    }
    ready = false;
    if (h == 0) continue;
    let f = 0.0;
    for (let j = 0; j <= l; j++) f += ld(u, j) * ld(p, j);
    const hh = f / (h + h);
    for (let j = 0; j <= l; j++) st(q, j, ld(p, j) - hh * ld(u, j));
    const rowL = a + ((<usize>l * <usize>n) << 3);
    update(rowL, u, q, ld(u, l), ld(q, l), l + 1);
    const h2 = l > 0 ? prepare(a, n, l, e, u2) : 0;
    if (h2 != 0) {
      for (let k = 0; k < l; k++) st(p2, k, 0);
      st(p2, 0, 0);
      for (let j = 0; j < l; j++) {
        const row = a + ((<usize>j * <usize>n) << 3);
        fused(row, u, q, ld(u, j), ld(q, j), j, u2, p2);
      }
      const r = 1 / h2;
      for (let k = 0; k < l; k++) st(p2, k, ld(p2, k) * r);
      let t = u;
      u = u2;
      u2 = t;
      t = p;
      p = p2;
      p2 = t;
      h = h2;
      ready = true;
    } else {
      for (let j = 0; j < l; j++) {
        const row = a + ((<usize>j * <usize>n) << 3);
        update(row, u, q, ld(u, j), ld(q, j), j + 1);
      }
    }
  }
  for (let i = 0; i < n; i++) st(d, i, ld(a + ((<usize>i * <usize>n) << 3), i));
  for (let i = 1; i < n; i++) st(e, i - 1, ld(e, i));
  if (n > 0) st(e, n - 1, 0);
  return ql(n, d, e);
}

// Implicit QL with Wilkinson shifts on the tridiagonal (d, e): eigenvalues into d.
function ql(n: i32, d: usize, e: usize): i32 {
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m = l;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(ld(d, m)) + Math.abs(ld(d, m + 1));
        if (Math.abs(ld(e, m)) <= f64.EPSILON * dd) break;
      }
      if (m != l) {
        if (iter++ == 60) return -1;
        let g = (ld(d, l + 1) - ld(d, l)) / (2 * ld(e, l));
        let r = Math.hypot(g, 1);
        g = ld(d, m) - ld(d, l) + ld(e, l) / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1.0, c = 1.0, p = 0.0;
        let i = m - 1;
        for (; i >= l; i--) {
          let f = s * ld(e, i);
          const b = c * ld(e, i);
          r = Math.hypot(f, g);
          st(e, i + 1, r);
          if (r == 0) {
            st(d, i + 1, ld(d, i + 1) - p);
            st(e, m, 0);
            break;
          }
          s = f / r;
          c = g / r;
          g = ld(d, i + 1) - p;
          r = (ld(d, i) - g) * s + 2 * c * b;
          p = s * r;
          st(d, i + 1, g + p);
          g = c * r - b;
          f = 0;
        }
        if (r == 0 && i >= l) continue;
        st(d, l, ld(d, l) - p);
        st(e, l, g);
        st(e, m, 0);
      }
    } while (m != l);
  }
  return 0;
}

/** First free byte of linear memory (16-aligned). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/**
 * The lower triangle of G = XᵀX (n×n float64 at `g`, row-major; the upper triangle is not written)
 * for X, K×n float32 at `x` (row-major): four rows of X at a time are widened to float64 into
 * `scratch` (4n float64) and added to every G[i][0..i] as four scaled rows, two lanes at a time.
 */
export function gramLower(K: i32, n: i32, x: usize, g: usize, scratch: usize): void {
  for (let i = 0; i < n; i++) {
    const row = g + ((<usize>i * <usize>n) << 3);
    for (let j = 0; j <= i; j++) st(row, j, 0);
  }
  const s0 = scratch, s1 = scratch + ((<usize>n) << 3);
  const s2 = scratch + ((<usize>n * 2) << 3), s3 = scratch + ((<usize>n * 3) << 3);
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    for (let q = 0; q < 4; q++) {
      const src = x + ((<usize>(k + q) * <usize>n) << 2), dst = scratch + ((<usize>(q * n)) << 3);
      for (let j = 0; j < n; j++) st(dst, j, <f64>load<f32>(src + (<usize>j << 2)));
    }
    // Two rows of G at a time share the scratch loads; each sum is a tree (short dependency chains).
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      const row = g + ((<usize>i * <usize>n) << 3), row2 = row + ((<usize>n) << 3);
      const a0 = f64x2.splat(ld(s0, i)), a1 = f64x2.splat(ld(s1, i));
      const a2 = f64x2.splat(ld(s2, i)), a3 = f64x2.splat(ld(s3, i));
      const b0 = f64x2.splat(ld(s0, i + 1)), b1 = f64x2.splat(ld(s1, i + 1));
      const b2 = f64x2.splat(ld(s2, i + 1)), b3 = f64x2.splat(ld(s3, i + 1));
      let j = 0;
      for (; j + 2 <= i + 1; j += 2) {
        const off = <usize>j << 3;
        const x0 = v128.load(s0 + off), x1 = v128.load(s1 + off);
        const x2 = v128.load(s2 + off), x3 = v128.load(s3 + off);
        const p = f64x2.add(f64x2.add(f64x2.mul(a0, x0), f64x2.mul(a1, x1)), f64x2.add(f64x2.mul(a2, x2), f64x2.mul(a3, x3)));
        const q = f64x2.add(f64x2.add(f64x2.mul(b0, x0), f64x2.mul(b1, x1)), f64x2.add(f64x2.mul(b2, x2), f64x2.mul(b3, x3)));
        v128.store(row + off, f64x2.add(v128.load(row + off), p));
        v128.store(row2 + off, f64x2.add(v128.load(row2 + off), q));
      }
      // Row i ends at column i (j = i when i is even); row i + 1 runs to column i + 1.
      for (let c = j; c <= i + 1; c++) {
        const t = ld(s0, i + 1) * ld(s0, c) + ld(s1, i + 1) * ld(s1, c) + (ld(s2, i + 1) * ld(s2, c) + ld(s3, i + 1) * ld(s3, c));
        st(row2, c, ld(row2, c) + t);
        if (c <= i) {
          const u = ld(s0, i) * ld(s0, c) + ld(s1, i) * ld(s1, c) + (ld(s2, i) * ld(s2, c) + ld(s3, i) * ld(s3, c));
          st(row, c, ld(row, c) + u);
        }
      }
    }
    for (; i < n; i++) {
      const row = g + ((<usize>i * <usize>n) << 3);
      for (let c = 0; c <= i; c++) {
        const t = ld(s0, i) * ld(s0, c) + ld(s1, i) * ld(s1, c) + (ld(s2, i) * ld(s2, c) + ld(s3, i) * ld(s3, c));
        st(row, c, ld(row, c) + t);
      }
    }
  }
  for (; k < K; k++) {
    const src = x + ((<usize>k * <usize>n) << 2);
    for (let j = 0; j < n; j++) st(s0, j, <f64>load<f32>(src + (<usize>j << 2)));
    for (let i = 0; i < n; i++) {
      const row = g + ((<usize>i * <usize>n) << 3);
      const a = ld(s0, i);
      for (let j = 0; j <= i; j++) st(row, j, ld(row, j) + a * ld(s0, j));
    }
  }
}
