/**
 * Renders a Vega-Lite spec to SVG headless (npm `vega`, `vega-lite`; no canvas or DOM needed).
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";

/**
 * Compiles and renders a Vega-Lite spec.
 * @param spec The spec.
 * @returns SVG text.
 */
export async function render(spec: unknown): Promise<string> {
  const compiled = vl.compile(spec as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
