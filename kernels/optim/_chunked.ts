/**
 * The WGSL frame shared by the fused optimizer kernels: one workgroup of 256 lanes per chunk of a
 * chunk table (`chunks[wid] = (arena offset, length, tensor index, complex flag)`, see `optim/_groups.ts`),
 * each lane striding over the chunk's elements. A kernel supplies its uniform fields, its storage
 * bindings after the table, a per-chunk prelude (which may read `ch`) and the per-element body
 * (which reads `i`, the arena index), and optionally a body per complex pair.
 * @module
 */
import { WID, WID_ARGS } from "../runtime/recorder.ts";

/** What a chunked kernel adds to the frame. */
export interface ChunkedKernel {
  /** Uniform fields after `groups: u32` (e.g. `lr: f32, wd: f32`). */
  fields: string;
  /** Storage bindings in order, as `name: access type` (e.g. `w: read_write array<f32>`); the chunk table is bound last. */
  bindings: string[];
  /** WGSL run once per chunk (may read `ch`). */
  prelude?: string;
  /** WGSL run per element `i`. */
  body: string;
  /**
   * WGSL run per (real, imaginary) pair `i`, `i + 1` of a complex tensor's chunk (the row's flag
   * set); without it complex chunks run `body` per element like any other.
   */
  pairBody?: string;
}

/**
 * Builds the kernel's WGSL.
 * @param k Fields, bindings, prelude and body.
 * @returns The source, with `chunks` bound after the given bindings.
 */
export function chunkedKernel(k: ChunkedKernel): string {
  const decl = k.bindings.map((b, n) => {
    const [name, rest] = b.split(/:\s*/);
    const [access, ...type] = rest.split(/\s+/);
    return `@group(0) @binding(${n + 1}) var<storage, ${access}> ${name}: ${type.join(" ")};`;
  });
  return `struct P { groups: u32, ${k.fields} }
@group(0) @binding(0) var<uniform> p: P;
${decl.join("\n")}
@group(0) @binding(${k.bindings.length + 1}) var<storage, read> chunks: array<vec4u>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let ch = chunks[wid];
  ${k.prelude ?? ""}
  ${
    k.pairBody
      ? `if (ch.w == 1u) {
    for (var k = 2u * t; k < ch.y; k += 512u) {
      let i = ch.x + k;
      ${k.pairBody}
    }
    return;
  }`
      : ""
  }
  for (var k = t; k < ch.y; k += 256u) {
    let i = ch.x + k;
    ${k.body}
  }
}`;
}
