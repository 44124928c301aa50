/**
 * `deno task bench` cases of the Transformer kernels at the default `deno task train-lm` model
 * (batch 32 × 64 tokens, width 128, 4 heads, MLP 512, vocabulary 10,000): LayerNorm, GELU,
 * causal attention, the embedding's deterministic backward, the LM loss, and the AdamW update
 * with clipping over the model's 1.7 M parameters. Each iteration is one submit, waited once.
 * @module
 */
import { activation, activationBackward } from "../kernels/nn/activation.ts";
import { causalAttention, causalAttentionBackward } from "../kernels/nn/attention.ts";
import { embeddingBackward, tokenIndex } from "../kernels/nn/embedding.ts";
import { tokenNll } from "../kernels/nn/lm_loss.ts";
import { norm, normBackward } from "../kernels/nn/norm.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { type Tensor, upload } from "../kernels/runtime/tensor.ts";
import { ParameterArena } from "../models/params.ts";
import { AdamW } from "../optim/adamw.ts";
import { filled as filledOn, timedSteps } from "./_bench.ts";

const gpu = await getGpu();
const filled = (shape: number[], v: number): Promise<Tensor> => filledOn(gpu, shape, v);
const B = 32, T = 64, D = 128, H = 4, F = 512, V = 10000, N = B * T;
const group = "transformer (train-lm default)";
const release = (...ts: (Tensor | null)[]) => () => ts.forEach((t) => t?.release());

const x = await filled([N, D], 0.5),
  w = await filled([D], 1),
  bias = await filled([D], 0),
  dy = await filled([N, D], 0.1);
Deno.bench({
  name: `layernorm fwd+bwd ${N}×${D}`,
  group,
  baseline: true,
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timedSteps(gpu, b, 1, (rec) => {
      const { y, stats } = norm(rec, "layer", x, w, bias, 1e-5);
      const g = normBackward(rec, "layer", x, w, stats, dy, true);
      rec.after(release(y, stats, g.dx, g.dw, g.db));
    }),
});
const a = await filled([N, F], 0.3), da = await filled([N, F], 0.1);
Deno.bench({
  name: `gelu_new fwd+bwd ${N}×${F}`,
  group,
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timedSteps(gpu, b, 1, (rec) => {
      const y = activation(rec, "gelu_new", a), g = activationBackward(rec, "gelu_new", da, a);
      rec.after(release(y, g));
    }),
});
const q = await filled([B * H, T, D / H], 0.1), dout = await filled([B * H, T, D / H], 0.01);
Deno.bench({
  name: `causal attention fwd+bwd ${B * H}×${T}×${D / H}`,
  group,
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timedSteps(gpu, b, 1, (rec) => {
      const { out, probs } = causalAttention(rec, q, q, q);
      const g = causalAttentionBackward(rec, q, q, q, probs, dout);
      rec.after(release(out, probs, g.dq, g.dk, g.dv));
    }),
});
const ids = Array.from({ length: N }, (_, i) => (i * 7919) % V);
const index = tokenIndex(gpu, ids, V);
Deno.bench({
  name: `embedding bwd (token index) ${N}×${D} → ${V}`,
  group,
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timedSteps(gpu, b, 1, (rec) => rec.after(release(embeddingBackward(rec, dy, index, V)))),
});
const logits = await filled([N, V], 0.01);
const tt = upload(gpu, ids, [N], "i32");
Deno.bench({
  name: `lm loss + grad ${N}×${V}`,
  group,
  n: 5,
  warmup: 1,
  fn: async (b) => await timedSteps(gpu, b, 1, (rec) => rec.after(release(tokenNll(rec, logits, tt, 1 / N)))),
});
const arena = new ParameterArena(gpu, [{ name: "wte", shape: [V, D] }, { name: "blocks", shape: [400000] }]);
const opt = new AdamW(arena, [{ params: arena.params }], { lr: 1e-3, maxNorm: 0.25 });
Deno.bench({
  name: `adamw + global-norm clip, ${(arena.values.size / 1e6).toFixed(2)} M parameters`,
  group,
  n: 5,
  warmup: 1,
  fn: async (b) => await timedSteps(gpu, b, 1, (rec) => opt.step(rec)),
});
