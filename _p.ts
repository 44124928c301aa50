import { getGpu } from "./kernels/runtime/runtime.ts";
import { Model } from "./models/model.ts";
import { decoderConfig } from "./models/transformer/config.ts";
import { Decoder } from "./models/transformer/decoder.ts";
import { Recorder } from "./kernels/runtime/recorder.ts";
import { upload } from "./kernels/runtime/tensor.ts";
import { tokenNll } from "./kernels/nn/lm_loss.ts";
import { tokenIndex } from "./kernels/nn/embedding.ts";
import { AdamW } from "./optim/adamw.ts";
const gpu = await getGpu();
const c = decoderConfig({
  type: Deno.args[0] as "gpt2",
  vocab: 10000,
  positions: 64,
  dim: 128,
  layers: 2,
  heads: 4,
});
const dec = new Decoder(gpu, c);
const m = new Model(gpu, dec, 1);
const opt = new AdamW(m.arena, [{ params: m.arena.params }], { lr: 1e-3, maxNorm: 0.25 });
const B = 32, T = 64;
const idv = Array.from({ length: B * T }, (_, i) => (i * 7) % 10000);
const ids = upload(gpu, idv, [B, T], "i32");
const y = upload(gpu, idv, [B * T], "i32");
dec.state.index = tokenIndex(gpu, idv, 10000);
async function time(name: string, f: (rec: Recorder) => unknown) {
  for (let k = 0; k < 1; k++) {
    const rec = new Recorder(gpu);
    f(rec);
    await rec.submit();
    await gpu.device.queue.onSubmittedWorkDone();
  }
  const t0 = performance.now();
  for (let k = 0; k < 3; k++) {
    const rec = new Recorder(gpu);
    f(rec);
    await rec.submit();
    await gpu.device.queue.onSubmittedWorkDone();
  }
  const ms = (performance.now() - t0) / 3;
  console.log(name, ms.toFixed(1), "ms", (B * T / ms * 1000).toFixed(0), "tok/s");
}
await time("forward (eval)", (rec) => m.forward(rec, ids, false));
await time("fwd+loss", (rec) => tokenNll(rec, m.forward(rec, ids, true), y, 1 / (B * T)));
await time("fwd+loss+bwd", (rec) => {
  const l = m.forward(rec, ids, true);
  tokenNll(rec, l, y, 1 / (B * T));
  m.backward(rec, l);
});
await time("step", (rec) => {
  const l = m.forward(rec, ids, true);
  tokenNll(rec, l, y, 1 / (B * T));
  m.backward(rec, l);
  opt.step(rec);
});
