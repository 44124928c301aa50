import { ok } from "node:assert/strict";
import { analyze } from "../../esd/analyze.ts";
import { fitMp, jensenShannon, shuffled } from "../../esd/mp.ts";
import type { WeightTensor } from "../../io/tensor.ts";
import { eigvalshRef, matmulRef, ref } from "../reference/kernels.ts";
import { gpuTest, rng } from "../_helpers.ts";

function gaussian(n: number, seed: number, sd = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from(
    { length: n },
    () => sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()),
  );
}

function esd(w: Float64Array, N: number, M: number): Float64Array {
  return eigvalshRef(matmulRef(ref(w, [N, M]), ref(w, [N, M]), { transA: true }).data, M);
}

Deno.test("fitMp() recovers the entry scale of a Gaussian matrix and counts planted spikes", () => {
  const N = 400, M = 100, sd = 0.05;
  const w = gaussian(N * M, 3, sd);
  const fit = fitMp(esd(w, N, M), N, M);
  ok(Math.abs(fit.sigma_mp / sd - 1) < 0.05, `sigma_mp ${fit.sigma_mp} vs ${sd}`);
  const edge = N * sd * sd * (1 + Math.sqrt(M / N)) ** 2;
  ok(Math.abs(fit.bulk_max / edge - 1) < 0.1, `bulk_max ${fit.bulk_max} vs ${edge}`);
  ok(fit.num_spikes <= 3, `spikes in pure noise: ${fit.num_spikes}`);
  // Plant two strong rank-one directions: two spikes above the bulk, softrank < 1.
  const u = gaussian(N, 5), v = gaussian(M, 6), u2 = gaussian(N, 7), v2 = gaussian(M, 8);
  const spiked = w.map((x, i) =>
    x + 0.02 * u[Math.floor(i / M)] * v[i % M] + 0.015 * u2[Math.floor(i / M)] * v2[i % M]
  );
  const sf = fitMp(esd(spiked, N, M), N, M);
  ok(sf.num_spikes >= 2 && sf.num_spikes <= 5, `planted 2 spikes, found ${sf.num_spikes}`);
  ok(sf.mp_softrank < 0.5, `mp_softrank ${sf.mp_softrank}`);
});

gpuTest("rand_distance is small for noise and large for structured weights", async () => {
  const N = 120, M = 60;
  const noise = gaussian(N * M, 11, 0.1);
  const u = gaussian(N, 12), v = gaussian(M, 13);
  const structured = noise.map((x, i) => 0.01 * x + u[Math.floor(i / M)] * v[i % M] * 0.1);
  const js = (w: Float64Array) => jensenShannon(esd(w, N, M), esd(shuffled(w, 4), N, M));
  const dNoise = js(noise), dStruct = js(structured);
  ok(dNoise < 0.35 && dStruct > 0.6, `noise ${dNoise}, structured ${dStruct}`);
  const t = (name: string, data: Float64Array): WeightTensor => ({
    name,
    dtype: "F32",
    shape: [N, M],
    isFloat: true,
    values: () => data,
  });
  const { layers } = await analyze([t("noise", noise), t("structured", structured)], {
    randomize: true,
    mpFit: true,
    solver: "cpu",
  });
  ok(
    layers[0].rand_distance! < layers[1].rand_distance!,
    `${layers[0].rand_distance} vs ${layers[1].rand_distance}`,
  );
  ok(layers[1].num_spikes! >= 1 && layers[0].bulk_max! > 0);
});
