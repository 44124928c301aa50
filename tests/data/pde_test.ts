/**
 * The PDE solvers against exact solutions (order of convergence), PDEBench's random draws, and the
 * `pde-data` task: PDEBench's HDF5 layout written, read back through h5wasm, resumed, refused.
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { cellCentres, darcyCoefficients, solveDarcyWithSource } from "../../data/pde/darcy.ts";
import { burgersFrames, burgersInitial, solveBurgers } from "../../data/pde/burgers.ts";
import { generateBlock, withDefaults } from "../../data/pde/generate.ts";
import { readPdeSamples } from "../../data/pde/pdebench.ts";
import { Hdf5Error, Hdf5File } from "../../io/hdf5.ts";
import { runTask, taskFile } from "../_task.ts";

const PI = Math.PI;

/** Max-norm errors of the Darcy solver on u = sin(πx)sin(πy), ν = 1 + ½sin(2πx)cos(πy). */
function darcyErrors(boundary: "pdebench" | "face", sizes: number[]): number[] {
  return sizes.map((n) => {
    const xc = cellCentres(n);
    const nu = new Float64Array(n * n), f = new Float64Array(n * n), exact = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = xc[i], y = xc[j], p = i * n + j;
        const v = 1 + 0.5 * Math.sin(2 * PI * x) * Math.cos(PI * y);
        const vx = PI * Math.cos(2 * PI * x) * Math.cos(PI * y);
        const vy = -0.5 * PI * Math.sin(2 * PI * x) * Math.sin(PI * y);
        const u = Math.sin(PI * x) * Math.sin(PI * y);
        const ux = PI * Math.cos(PI * x) * Math.sin(PI * y), uy = PI * Math.sin(PI * x) * Math.cos(PI * y);
        nu[p] = v;
        exact[p] = u;
        f[p] = -(vx * ux + vy * uy - 2 * PI * PI * v * u);
      }
    }
    const { u, residual } = solveDarcyWithSource(nu, f, n, { boundary });
    ok(residual <= 1e-10, `residual ${residual}`);
    return u.reduce((m, v, p) => Math.max(m, Math.abs(v - exact[p])), 0);
  });
}

const orders = (e: number[]) => e.slice(1).map((v, i) => Math.log2(e[i] / v));

Deno.test("Darcy solver: second order with u = 0 on the edge, first order with PDEBench's ghost cell", () => {
  const face = darcyErrors("face", [16, 32, 64]);
  for (const p of orders(face)) ok(p > 1.9 && p < 2.1, `face order ${p}`);
  ok(face[2] < 4e-4, `face error ${face[2]}`);
  const ghost = darcyErrors("pdebench", [16, 32, 64]);
  for (const p of orders(ghost)) ok(p > 0.9 && p < 1.1, `pdebench order ${p}`);
});

Deno.test("Burgers solver: second order against the Cole–Hopf solution", () => {
  // u = −2κ ∂x log φ with φ = 2 + e^{−4π²κt} cos 2πx solves u_t + u u_x = κ u_xx, κ = ν/π.
  const nu = 0.5, k = nu / PI, T = 0.1;
  const exact = (x: number, t: number) => {
    const e = Math.exp(-k * 4 * PI * PI * t);
    return (4 * PI * k * e * Math.sin(2 * PI * x)) / (2 + e * Math.cos(2 * PI * x));
  };
  const g = Math.sqrt(3 / 5);
  const averages = (n: number, t: number) =>
    Float64Array.from({ length: n }, (_, i) => {
      const c = (i + 0.5) / n, h = 0.5 / n;
      return (5 * exact(c - g * h, t) + 8 * exact(c, t) + 5 * exact(c + g * h, t)) / 18;
    });
  const errors = [32, 64, 128].map((n) => {
    const frames = solveBurgers(averages(n, 0), { nu, dtSave: T / 2, tEnd: T });
    equal(frames.length, 3 * n);
    const want = averages(n, T);
    return want.reduce((s, v, i) => s + Math.abs(frames[2 * n + i] - v), 0) / n;
  });
  for (const p of orders(errors)) ok(p > 1.8, `order ${p} (errors ${errors})`);
  ok(errors[2] < 1e-4, `error ${errors[2]}`);
});

Deno.test("PDEBench's draws: ν two-valued and thresholded at the block mean; Burgers frames as theirs", () => {
  const nu = darcyCoefficients(16, 50, 7);
  ok(nu.every((v) => v === 1 || Math.abs(v - 0.1) < 1e-7));
  const ones = nu.filter((v) => v === 1).length / nu.length;
  ok(ones > 0.2 && ones < 0.8, `share of ν = 1: ${ones}`);
  // Per sample the share varies: the threshold is the block's mean, not the sample's.
  const shares = Array.from(
    { length: 50 },
    (_, s) => nu.subarray(s * 256, (s + 1) * 256).filter((v) => v === 1).length,
  );
  ok(Math.max(...shares) - Math.min(...shares) > 50, `shares ${shares}`);
  deepEqual(darcyCoefficients(16, 50, 7), nu);
  equal(burgersFrames(), 201);
  const u0 = burgersInitial(64, 20, 3);
  ok(u0.every(Number.isFinite) && u0.some((v) => Math.abs(v) > 0.5));
  ok(Math.max(...u0.map(Math.abs)) <= 4, "four unit sinusoids at most");
  deepEqual(burgersInitial(64, 20, 3), u0);
  const frames = solveBurgers(u0.subarray(0, 64));
  equal(frames.length, 201 * 64);
  deepEqual(frames.subarray(0, 64), u0.subarray(0, 64));
  ok(frames.every(Number.isFinite));
});

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "pde-test-" });
}

Deno.test("pde-data darcy: PDEBench's layout, read back, subsampled, deterministic", async () => {
  const dir = await tmp();
  const out = `${dir}/darcy.hdf5`;
  const r = await runTask(taskFile("pde_data"), [
    "darcy",
    "--samples",
    "7",
    "--resolution",
    "12",
    "--out",
    out,
  ]);
  equal(r.code, 0, r.err);
  const f = await Hdf5File.open(out);
  deepEqual(f.keys().sort(), ["nu", "tensor", "x-coordinate", "y-coordinate"]);
  deepEqual(f.shape("nu"), [7, 12, 12]);
  deepEqual(f.shape("tensor"), [7, 1, 12, 12]);
  deepEqual([...f.read("x-coordinate").data], [...cellCentres(12)]);
  f.close();
  const all = await readPdeSamples(out);
  equal(all.kind, "darcy");
  if (all.kind !== "darcy") return;
  equal(all.count, 7);
  // The file holds what the generator computes, sample for sample.
  const [nu, u] = generateBlock(withDefaults({ kind: "darcy", samples: 7, resolution: 12 }), 0);
  deepEqual(all.nu, nu);
  deepEqual(all.u, u);
  ok(all.u.every((v) => v > 0), "β > 0 with u = 0 outside gives u > 0 inside");
  // PDEBench's strides: every 3rd sample from the 2nd, every 2nd grid point.
  const sub = await readPdeSamples(out, { start: 1, step: 3, reducedResolution: 2 });
  if (sub.kind !== "darcy") throw new Error("layout");
  deepEqual([sub.count, sub.nx, sub.ny], [2, 6, 6]);
  equal(sub.u[0], all.u[1 * 144]);
  equal(sub.u[6 + 1], all.u[1 * 144 + 2 * 12 + 2]);
  equal(sub.nu[36 + 6 * 5 + 5], all.nu[4 * 144 + 10 * 12 + 10]);
  deepEqual([...sub.x], [...cellCentres(12)].filter((_, i) => i % 2 === 0));
  // The same flags give the same file.
  const again = `${dir}/again.hdf5`;
  equal(
    (await runTask(taskFile("pde_data"), ["darcy", "--samples", "7", "--resolution", "12", "--out", again]))
      .code,
    0,
  );
  deepEqual((await readPdeSamples(again)).u, all.u);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pde-data burgers: tensor (N, 201, X), t-coordinate (202), and a resumed run equals an unbroken one", async () => {
  const dir = await tmp();
  const args = ["burgers", "--samples", "60", "--resolution", "16", "--workers", "1"];
  const whole = `${dir}/whole.hdf5`;
  const r = await runTask(taskFile("pde_data"), [...args, "--out", whole]);
  equal(r.code, 0, r.err);
  const f = await Hdf5File.open(whole);
  deepEqual(f.keys().sort(), ["t-coordinate", "tensor", "x-coordinate"]);
  deepEqual(f.shape("tensor"), [60, 201, 16]);
  deepEqual(f.shape("t-coordinate"), [202]);
  f.close();
  // An interrupted run: the first block of 50 written, the rest still zero.
  const cut = `${dir}/cut.hdf5`;
  await Deno.copyFile(whole, `${cut}.partial`);
  const p = await Hdf5File.open(`${cut}.partial`, "a");
  p.writeRows("tensor", 50, new Float32Array(10 * 201 * 16));
  p.setAttr("samples_done", 50);
  p.close();
  const resumed = await runTask(taskFile("pde_data"), [...args, "--out", cut]);
  equal(resumed.code, 0, resumed.err);
  ok(resumed.out.includes("resuming after 50 of 60 samples"), resumed.out);
  const a = await readPdeSamples(whole), b = await readPdeSamples(cut);
  deepEqual(b.u, a.u);
  const sub = await readPdeSamples(whole, { stop: 2, reducedResolution: 4, reducedResolutionT: 10 });
  if (sub.kind !== "1d") throw new Error("layout");
  deepEqual([sub.count, sub.nt, sub.nx], [2, 21, 4]);
  equal(sub.u[21 * 4 + 4 + 1], a.u[201 * 16 + 10 * 16 + 4]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pde-data and the PDEBench reader: one clear line for bad input", async () => {
  const dir = await tmp();
  const text = `${dir}/notes.hdf5`;
  await Deno.writeTextFile(text, "not hdf5 at all");
  await rejects(
    readPdeSamples(text),
    (e: Error) => e instanceof Hdf5Error && /notes\.hdf5: not an HDF5 file/.test(e.message),
  );
  await rejects(readPdeSamples(`${dir}/missing.hdf5`), /missing\.hdf5: no such file/);
  const odd = await Hdf5File.create(`${dir}/odd.hdf5`);
  odd.write("tensor", new Float32Array(8), [2, 2, 2]);
  odd.close();
  await rejects(readPdeSamples(`${dir}/odd.hdf5`), /odd\.hdf5: no dataset "x-coordinate"/);
  const flat = await Hdf5File.create(`${dir}/flat.hdf5`);
  flat.write("density", new Float32Array(8), [2, 4]);
  flat.close();
  await rejects(readPdeSamples(`${dir}/flat.hdf5`), /no dataset "tensor"; expected PDEBench's layout/);
  const out = `${dir}/d.hdf5`;
  await Deno.writeTextFile(out, "");
  const exists = await runTask(taskFile("pde_data"), ["darcy", "--samples", "2", "--out", out]);
  ok(exists.code !== 0 && /--out .*d\.hdf5 exists/.test(exists.err), exists.err);
  const kind = await runTask(taskFile("pde_data"), ["heat", "--samples", "2", "--out", `${dir}/h.hdf5`]);
  ok(kind.code !== 0 && /Expected one equation, darcy or burgers; got "heat"/.test(kind.err), kind.err);
  const flag = await runTask(taskFile("pde_data"), [
    "darcy",
    "--samples",
    "2",
    "--nu",
    "0.1",
    "--out",
    `${dir}/x.hdf5`,
  ]);
  ok(flag.code !== 0 && /--nu is a burgers option/.test(flag.err), flag.err);
  await Deno.remove(dir, { recursive: true });
});
