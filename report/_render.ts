/**
 * Renders a Vega-Lite spec to SVG headless (npm `vega`, `vega-lite`; no canvas or DOM needed). Both
 * packages are imported on the first plot, so that importing the library does not load them.
 * @module
 */
import type * as Vl from "vega-lite";

type Vega = typeof import("vega");
let packages: Promise<[Vega, typeof Vl]> | null = null;

/**
 * Compiles and renders a Vega-Lite spec.
 * @param spec The spec.
 * @returns SVG text.
 */
export async function render(spec: unknown): Promise<string> {
  packages ??= Promise.all([import("vega"), import("vega-lite")]);
  const [vega, vl] = await packages;
  const compiled = vl.compile(spec as Vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
