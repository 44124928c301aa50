/**
 * A model: a module tree with its parameter arena and BatchNorm buffers, PyTorch-style
 * initialisation, train/eval forward and backward, and `state_dict` save/load as safetensors
 * with PyTorch's names and layouts.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { readback, type Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import { BatchNorm2d } from "./layers.ts";
import { later, type Module, type StepContext } from "./module.ts";
import { ParameterArena } from "./params.ts";
import { mulberry32 } from "../util/random.ts";

/**
 * The safetensors `__metadata__` key under which our writers store module order: a JSON array (as
 * a string) of module names, depth-first, as PyTorch's `named_modules()` lists them. A state dict
 * alone does not carry it (writers may sort names: `fc` before `layer1`).
 */
export const MODULE_ORDER_KEY = "module_order";

/** Options of {@link Model.loadStateDict}. */
export interface LoadOptions {
  /** Every parameter and buffer must be present and nothing extra (default true, as PyTorch). */
  strict?: boolean;
}

/** A module tree bound to its parameters on the GPU. */
export class Model {
  /** The root module. */
  readonly root: Module;
  /** Parameters and gradients. */
  readonly arena: ParameterArena;
  /** The BatchNorm layers, in model order. */
  readonly batchNorms: BatchNorm2d[];
  /** Every module, depth-first, with qualified names. */
  readonly modules: Module[];
  /** The GPU. */
  readonly gpu: Gpu;
  /** Σw² of each parameter as initialised (float64), e.g. for the sphere's ρ0 without a readback. */
  readonly initialSumSquares: Map<string, number> = new Map();

  /**
   * Builds the arena, binds the parameters and initialises them (PyTorch's defaults) with a
   * seeded generator; BatchNorm buffers start at mean 0, variance 1.
   * @param gpu The GPU.
   * @param root The module tree.
   * @param seed Seed of the initialisation (default 0).
   */
  constructor(gpu: Gpu, root: Module, seed = 0) {
    this.gpu = gpu;
    this.root = root;
    this.modules = root.modules("");
    const specs = this.modules.flatMap((m) =>
      m.paramSpecs().map((s) => ({ ...s, name: m.qualified(s.name), local: s.name }))
    );
    this.arena = new ParameterArena(
      gpu,
      specs.map((s) => ({ name: s.name, shape: s.shape, complex: s.complex })),
    );
    for (const m of this.modules) m.bind(this.arena);
    const random = mulberry32(seed);
    specs.forEach((s, i) => {
      const v = new Float32Array(s.shape.reduce((p, d) => p * d, 1));
      s.init(v, random);
      const p = this.arena.params[i];
      gpu.device.queue.writeBuffer(p.value.buffer, p.value.byteOffset, v);
      let sq = 0;
      for (const x of v) sq += x * x;
      this.initialSumSquares.set(p.name, sq);
    });
    this.batchNorms = this.modules.filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
    // The layer that reads the input batch need not compute the batch's gradient.
    root.readsNetworkInput();
    for (const bn of this.batchNorms) {
      const init = new Float32Array(2 * bn.channels);
      init.fill(1, bn.channels);
      bn.running = upload(gpu, init, [2, bn.channels], "f32", `${bn.name}.running`);
    }
  }

  /**
   * Records the forward pass.
   * @param rec The step's recorder.
   * @param x Input batch.
   * @param train Train mode.
   * @param tap Called with each Linear/Conv1D module and its input (see `StepContext.tap`).
   * @returns The output (logits).
   */
  forward(rec: Recorder, x: Tensor, train: boolean, tap?: StepContext["tap"]): Tensor {
    // Layers release the activations they saved once backward is recorded; the input stays the
    // caller's, so they get a non-owning view of it.
    return this.root.forward(x.view(0, x.shape), { rec, train, tap });
  }

  /**
   * Records the backward pass of the last train-mode forward, filling the gradient arena.
   * @param rec The step's recorder.
   * @param dy dL/d(output).
   */
  backward(rec: Recorder, dy: Tensor): void {
    const ctx: StepContext = { rec, train: true };
    const dx = this.root.backward(dy, ctx);
    later(rec, dx);
  }

  /**
   * Metadata for saved state dicts: `{module_order: "[...]"}`, every named module but the root,
   * in module order.
   * @returns String metadata for `writeSafetensors`.
   */
  metadata(): Record<string, string> {
    return { [MODULE_ORDER_KEY]: JSON.stringify(this.modules.map((m) => m.name).filter((n) => n)) };
  }

  /** Names and shapes of everything in the state dict, in model order. */
  stateEntries(): {
    name: string;
    shape: number[];
    kind: "param" | "running_mean" | "running_var" | "num_batches_tracked";
    /** Complex parameters: `C64`, `shape` without the (real, imaginary) axis. */
    dtype?: "C64";
  }[] {
    const out: ReturnType<Model["stateEntries"]> = [];
    for (const m of this.modules) {
      for (const s of m.paramSpecs()) {
        out.push(
          s.complex
            ? { name: m.qualified(s.name), shape: s.shape.slice(0, -1), kind: "param", dtype: "C64" }
            : { name: m.qualified(s.name), shape: s.shape, kind: "param" },
        );
      }
      if (m instanceof BatchNorm2d) {
        out.push({ name: m.qualified("running_mean"), shape: [m.channels], kind: "running_mean" });
        out.push({ name: m.qualified("running_var"), shape: [m.channels], kind: "running_var" });
        out.push({ name: m.qualified("num_batches_tracked"), shape: [], kind: "num_batches_tracked" });
      }
    }
    return out;
  }

  /**
   * Reads parameters and buffers back, named and shaped as PyTorch's `state_dict()`.
   * @returns Tensors ready for {@link writeSafetensors} (num_batches_tracked as I64).
   */
  async stateDict(): Promise<TensorToWrite[]> {
    const params = this.arena.params;
    const running = this.batchNorms.map((b) => b.running!);
    const values = await readback(this.gpu, ...params.map((p) => p.value), ...running);
    const byName = new Map<string, Float32Array>();
    params.forEach((p, i) => byName.set(p.name, values[i] as Float32Array));
    const bnByName = new Map(
      this.batchNorms.map((b, i) => [b.name, { bn: b, v: values[params.length + i] as Float32Array }]),
    );
    return this.stateEntries().map((e): TensorToWrite => {
      if (e.kind === "param") {
        return {
          name: e.name,
          shape: e.shape,
          data: byName.get(e.name)!,
          ...(e.dtype ? { dtype: e.dtype } : {}),
        };
      }
      const owner = e.name.slice(0, e.name.lastIndexOf("."));
      const { bn, v } = bnByName.get(owner)!;
      if (e.kind === "num_batches_tracked") {
        return { name: e.name, shape: [], data: [bn.batchesTracked], dtype: "I64" };
      }
      const c = bn.channels;
      return {
        name: e.name,
        shape: e.shape,
        data: e.kind === "running_mean" ? v.subarray(0, c) : v.subarray(c, 2 * c),
      };
    });
  }

  /**
   * Loads a state dict. Errors list every missing, unexpected and wrong-shaped tensor.
   * @param tensors Tensors by PyTorch name (as read from a safetensors file).
   * @param options `strict` (default true).
   */
  loadStateDict(tensors: WeightTensor[], options: LoadOptions = {}): void {
    const strict = options.strict ?? true;
    const given = new Map(tensors.map((t) => [t.name, t]));
    const entries = this.stateEntries();
    const missing: string[] = [], wrong: string[] = [];
    for (const e of entries) {
      const t = given.get(e.name);
      // A complex parameter comes as C64 of its shape, or as real pairs (`view_as_real`), shape + [2].
      const want = e.dtype === "C64" && t?.dtype !== "C64" ? [...e.shape, 2] : e.shape;
      if (!t) missing.push(e.name);
      else if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
        // The dtypes are named only where a complex tensor is involved.
        const c = e.dtype === "C64" || t.dtype === "C64";
        wrong.push(
          `${e.name}: expected ${c ? `${e.dtype ?? "real"} ` : ""}[${e.shape}], got ${
            c ? `${t.dtype} ` : ""
          }[${t.shape}]`,
        );
      } else if (t.dtype === "C64" && e.dtype !== "C64") {
        wrong.push(`${e.name}: expected a real tensor [${e.shape}], got C64`);
      }
    }
    const known = new Set(entries.map((e) => e.name));
    const unexpected = tensors.map((t) => t.name).filter((n) => !known.has(n));
    if (wrong.length || (strict && (missing.length || unexpected.length))) {
      const parts = [
        missing.length && strict ? `missing: ${missing.join(", ")}` : "",
        unexpected.length && strict ? `unexpected: ${unexpected.join(", ")}` : "",
        wrong.length ? `wrong shape: ${wrong.join("; ")}` : "",
      ].filter((s) => s);
      throw new OptionError(`Cannot load state dict: ${parts.join(" | ")}`);
    }
    const bnByName = new Map(this.batchNorms.map((b) => [b.name, b]));
    const runningNew = new Map<BatchNorm2d, Float32Array<ArrayBuffer>>();
    for (const e of entries) {
      const t = given.get(e.name);
      if (!t) continue;
      const v = t.values();
      if (e.kind === "param") {
        const p = this.arena.get(e.name)!;
        this.gpu.device.queue.writeBuffer(p.value.buffer, p.value.byteOffset, Float32Array.from(v));
        continue;
      }
      const bn = bnByName.get(e.name.slice(0, e.name.lastIndexOf(".")))!;
      if (e.kind === "num_batches_tracked") {
        bn.batchesTracked = v[0];
        continue;
      }
      const cur: Float32Array<ArrayBuffer> = runningNew.get(bn) ??
        new Float32Array(2 * bn.channels).fill(1, bn.channels);
      cur.set(v, e.kind === "running_mean" ? 0 : bn.channels);
      runningNew.set(bn, cur);
    }
    for (const [bn, v] of runningNew) {
      this.gpu.device.queue.writeBuffer(bn.running!.buffer, bn.running!.byteOffset, v);
    }
  }

  /** Frees the arena and buffers. */
  release(): void {
    this.arena.release();
    for (const bn of this.batchNorms) bn.running?.release();
  }
}

/** Runs one eval-mode forward and reads the output back (a convenience for inference and tests). */
export async function predict(model: Model, x: Tensor): Promise<Float32Array> {
  const rec = new Recorder(model.gpu);
  const y = model.forward(rec, x, false);
  await rec.submit();
  const [v] = await readback(model.gpu, y);
  y.release();
  return v as Float32Array;
}
