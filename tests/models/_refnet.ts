/**
 * A float64 reference of a model's train-mode forward and backward, built from the kernels'
 * references by walking the same module tree: the ground truth for whole-network tests.
 * @module
 */
import {
  batchNormBackwardRef,
  batchNormRef,
  conv2dBackwardRef,
  conv2dRef,
  matmulRef,
  type Ref,
} from "../reference/kernels.ts";
import { BatchNorm2d, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU } from "../../models/layers.ts";
import { poolRef } from "../reference/kernels.ts";
import { VGG } from "../../models/vgg.ts";
import { WideBlock, WideResNet } from "../../models/wrn.ts";
import type { Module } from "../../models/module.ts";
import { Sequential } from "../../models/module.ts";
import { BasicBlock, Bottleneck, ResNet } from "../../models/resnet.ts";
import { ConvTranspose2d, Tanh, UNet2d } from "../../models/operators/unet.ts";

/** ConvTranspose2d with stride = kernel in float64: y[b, o, k·i + a, k·j + c] = Σ x[b, ci, i, j]·w[ci, o, a, c] + bias. */
function convTransposeRef(x: Ref, w: Ref, bias: Ref): Ref {
  const [B, C, H, W] = x.shape, [, O, k] = w.shape;
  const y = new Float64Array(B * O * k * H * k * W);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < k * H; i++) {
        for (let j = 0; j < k * W; j++) {
          let s = bias.data[o];
          for (let c = 0; c < C; c++) {
            s += x.data[((b * C + c) * H + Math.floor(i / k)) * W + Math.floor(j / k)] *
              w.data[((c * O + o) * k + (i % k)) * k + (j % k)];
          }
          y[((b * O + o) * k * H + i) * k * W + j] = s;
        }
      }
    }
  }
  return { data: y, shape: [B, O, k * H, k * W] };
}

/** Channel concatenation (axis 1) of NCHW tensors, and its split. */
function catRef(a: Ref, b: Ref): Ref {
  const [B, Ca, H, W] = a.shape, Cb = b.shape[1], hw = H * W;
  const y = new Float64Array(B * (Ca + Cb) * hw);
  for (let n = 0; n < B; n++) {
    y.set(a.data.subarray(n * Ca * hw, (n + 1) * Ca * hw), n * (Ca + Cb) * hw);
    y.set(b.data.subarray(n * Cb * hw, (n + 1) * Cb * hw), (n * (Ca + Cb) + Ca) * hw);
  }
  return { data: y, shape: [B, Ca + Cb, H, W] };
}
function splitRef(y: Ref, Ca: number): [Ref, Ref] {
  const [B, C, H, W] = y.shape, Cb = C - Ca, hw = H * W;
  const a = new Float64Array(B * Ca * hw), b = new Float64Array(B * Cb * hw);
  for (let n = 0; n < B; n++) {
    a.set(y.data.subarray(n * C * hw, (n * C + Ca) * hw), n * Ca * hw);
    b.set(y.data.subarray((n * C + Ca) * hw, (n + 1) * C * hw), n * Cb * hw);
  }
  return [{ data: a, shape: [B, Ca, H, W] }, { data: b, shape: [B, Cb, H, W] }];
}

type Params = Map<string, Ref>;

export class RefNet {
  readonly grads = new Map<string, Float64Array>();
  #saved = new Map<Module, unknown>();
  constructor(readonly params: Params) {}

  #grad(name: string, g: Float64Array): void {
    const cur = this.grads.get(name);
    if (cur) cur.forEach((_, i) => (cur[i] += g[i]));
    else this.grads.set(name, Float64Array.from(g));
  }

  forward(m: Module, x: Ref): Ref {
    const P = (n: string) => this.params.get(m.qualified(n))!;
    if (m instanceof Conv2d) {
      this.#saved.set(m, x);
      return conv2dRef(x, P("weight"), m.bias ? P("bias") : null, [m.stride, m.stride], [
        m.padding,
        m.padding,
      ]);
    }
    if (m instanceof BatchNorm2d) {
      this.#saved.set(m, x);
      return batchNormRef(x, m.affine ? P("weight") : null, m.affine ? P("bias") : null, m.eps).y;
    }
    if (m instanceof ReLU) {
      const y = { data: x.data.map((v) => (v > 0 ? v : 0)), shape: [...x.shape] };
      this.#saved.set(m, y);
      return y;
    }
    if (m instanceof GlobalAvgPool) {
      this.#saved.set(m, x);
      const [N, C, H, W] = x.shape, hw = H * W;
      return {
        data: Float64Array.from(
          { length: N * C },
          (_, i) => x.data.slice(i * hw, (i + 1) * hw).reduce((s, v) => s + v, 0) / hw,
        ),
        shape: [N, C],
      };
    }
    if (m instanceof Linear) {
      this.#saved.set(m, x);
      const y = matmulRef(x, P("weight"), { transB: true });
      if (m.bias) y.data.forEach((_, i) => (y.data[i] += P("bias").data[i % m.outF]));
      return y;
    }
    if (m instanceof MaxPool2d) {
      this.#saved.set(m, x);
      return poolRef(x, "max", m.kernel, m.stride, m.padding).y;
    }
    if (m instanceof Tanh) {
      const y = { data: x.data.map(Math.tanh), shape: [...x.shape] };
      this.#saved.set(m, y);
      return y;
    }
    if (m instanceof ConvTranspose2d) {
      this.#saved.set(m, x);
      return convTransposeRef(x, P("weight"), P("bias"));
    }
    if (m instanceof UNet2d) {
      const skips: Ref[] = [];
      let h = x;
      for (let i = 0; i < 4; i++) {
        skips.push(this.forward(m.encoders[i], h));
        h = this.forward(m.pools[i], skips[i]);
      }
      h = this.forward(m.bottleneck, h);
      for (let i = 3; i >= 0; i--) {
        h = this.forward(m.decoders[i], catRef(this.forward(m.upconvs[i], h), skips[i]));
      }
      return this.forward(m.conv, h);
    }
    if (m instanceof Flatten) {
      this.#saved.set(m, x.shape);
      return { data: x.data, shape: [x.shape[0], x.data.length / x.shape[0]] };
    }
    if (m instanceof VGG) {
      return [m.features, m.flatten, m.classifier].reduce((h, l) => this.forward(l, h), x);
    }
    if (m instanceof WideBlock) {
      const o = this.forward(m.relu1, this.forward(m.bn1, x));
      const h = [m.conv1, m.bn2, m.relu2, m.conv2].reduce((t, l) => this.forward(l, t), o);
      const sc = m.convShortcut ? this.forward(m.convShortcut, o) : x;
      return { data: h.data.map((v, i) => v + sc.data[i]), shape: h.shape };
    }
    if (m instanceof WideResNet) {
      return [m.conv1, ...m.groups, m.bn1, m.relu, m.pool, m.fc].reduce((h, l) => this.forward(l, h), x);
    }
    if (m instanceof Sequential) return m.layers.reduce((h, l) => this.forward(l, h), x);
    if (m instanceof BasicBlock) {
      let h = x;
      for (const l of [m.conv1, m.bn1, m.relu1, m.conv2, m.bn2]) h = this.forward(l, h);
      const sc = m.downsample ? this.forward(m.downsample, x) : x;
      return this.forward(m.out, { data: h.data.map((v, i) => v + sc.data[i]), shape: h.shape });
    }
    if (m instanceof ResNet) {
      return [m.conv1, m.bn1, m.relu, ...m.stages, m.pool, m.fc].reduce((h, l) => this.forward(l, h), x);
    }
    if (m instanceof Bottleneck) {
      const h = [m.conv1, m.bn1, m.relu1, m.conv2, m.bn2, m.relu2, m.conv3, m.bn3].reduce(
        (t, l) => this.forward(l, t),
        x,
      );
      const sc = m.downsample ? this.forward(m.downsample, x) : x;
      return this.forward(m.out, { data: h.data.map((v, i) => v + sc.data[i]), shape: h.shape });
    }
    throw new Error(`RefNet: no reference for ${m.constructor.name}`);
  }

  backward(m: Module, dy: Ref): Ref {
    const P = (n: string) => this.params.get(m.qualified(n))!;
    if (m instanceof Conv2d) {
      const x = this.#saved.get(m) as Ref;
      const g = conv2dBackwardRef(x, P("weight"), dy, [m.stride, m.stride], [m.padding, m.padding]);
      this.#grad(m.qualified("weight"), g.dw.data);
      if (m.bias) this.#grad(m.qualified("bias"), g.db.data);
      return g.dx;
    }
    if (m instanceof BatchNorm2d) {
      const x = this.#saved.get(m) as Ref;
      const g = batchNormBackwardRef(x, m.affine ? P("weight") : null, dy, m.eps);
      if (m.affine) {
        this.#grad(m.qualified("weight"), g.dgamma);
        this.#grad(m.qualified("bias"), g.dbeta);
      }
      return g.dx;
    }
    if (m instanceof ReLU) {
      const y = this.#saved.get(m) as Ref;
      return { data: dy.data.map((g, i) => (y.data[i] > 0 ? g : 0)), shape: [...dy.shape] };
    }
    if (m instanceof GlobalAvgPool) {
      const x = this.#saved.get(m) as Ref;
      const hw = x.shape[2] * x.shape[3];
      return { data: x.data.map((_, i) => dy.data[Math.floor(i / hw)] / hw), shape: [...x.shape] };
    }
    if (m instanceof Linear) {
      const x = this.#saved.get(m) as Ref;
      this.#grad(m.qualified("weight"), matmulRef(dy, x, { transA: true }).data);
      if (m.bias) {
        const db = new Float64Array(m.outF);
        dy.data.forEach((g, i) => (db[i % m.outF] += g));
        this.#grad(m.qualified("bias"), db);
      }
      return matmulRef(dy, P("weight"));
    }
    if (m instanceof MaxPool2d) {
      const x = this.#saved.get(m) as Ref;
      return poolRef(x, "max", m.kernel, m.stride, m.padding, dy).dx!;
    }
    if (m instanceof Flatten) return { data: dy.data, shape: this.#saved.get(m) as number[] };
    if (m instanceof Tanh) {
      const y = this.#saved.get(m) as Ref;
      return { data: dy.data.map((g, i) => g * (1 - y.data[i] ** 2)), shape: [...dy.shape] };
    }
    if (m instanceof ConvTranspose2d) {
      const x = this.#saved.get(m) as Ref, w = P("weight");
      const [B, C, H, W] = x.shape, [, O, k] = w.shape;
      const dx = new Float64Array(x.data.length),
        dw = new Float64Array(w.data.length),
        db = new Float64Array(O);
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < O; o++) {
          for (let i = 0; i < k * H; i++) {
            for (let j = 0; j < k * W; j++) {
              const g = dy.data[((b * O + o) * k * H + i) * k * W + j];
              db[o] += g;
              for (let c = 0; c < C; c++) {
                const xi = ((b * C + c) * H + Math.floor(i / k)) * W + Math.floor(j / k);
                const wi = ((c * O + o) * k + (i % k)) * k + (j % k);
                dx[xi] += g * w.data[wi];
                dw[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
      this.#grad(m.qualified("weight"), dw);
      this.#grad(m.qualified("bias"), db);
      return { data: dx, shape: [...x.shape] };
    }
    if (m instanceof UNet2d) {
      let g = this.backward(m.conv, dy);
      const dSkips: Ref[] = [];
      for (let i = 0; i < 4; i++) {
        const [du, ds] = splitRef(this.backward(m.decoders[i], g), m.upconvs[i].outC);
        dSkips[i] = ds;
        g = this.backward(m.upconvs[i], du);
      }
      g = this.backward(m.bottleneck, g);
      for (let i = 3; i >= 0; i--) {
        const de = this.backward(m.pools[i], g);
        g = this.backward(m.encoders[i], {
          data: de.data.map((v, k) => v + dSkips[i].data[k]),
          shape: de.shape,
        });
      }
      return g;
    }
    if (m instanceof VGG) {
      return [m.features, m.flatten, m.classifier].reverse().reduce((g, l) => this.backward(l, g), dy);
    }
    if (m instanceof WideBlock) {
      let go = [m.conv2, m.relu2, m.bn2, m.conv1].reduce((g, l) => this.backward(l, g), dy);
      if (m.convShortcut) {
        const gs = this.backward(m.convShortcut, dy);
        go = { data: go.data.map((v, i) => v + gs.data[i]), shape: go.shape };
      }
      const gx = this.backward(m.bn1, this.backward(m.relu1, go));
      return m.convShortcut ? gx : { data: gx.data.map((v, i) => v + dy.data[i]), shape: gx.shape };
    }
    if (m instanceof WideResNet) {
      return [m.conv1, ...m.groups, m.bn1, m.relu, m.pool, m.fc].reverse().reduce(
        (g, l) => this.backward(l, g),
        dy,
      );
    }
    if (m instanceof Sequential) return [...m.layers].reverse().reduce((g, l) => this.backward(l, g), dy);
    if (m instanceof BasicBlock) {
      const g = this.backward(m.out, dy);
      let main = g;
      for (const l of [m.bn2, m.conv2, m.relu1, m.bn1, m.conv1]) main = this.backward(l, main);
      const sc = m.downsample ? this.backward(m.downsample, g) : g;
      return { data: main.data.map((v, i) => v + sc.data[i]), shape: main.shape };
    }
    if (m instanceof ResNet) {
      return [m.conv1, m.bn1, m.relu, ...m.stages, m.pool, m.fc].reverse().reduce(
        (g, l) => this.backward(l, g),
        dy,
      );
    }
    if (m instanceof Bottleneck) {
      const g = this.backward(m.out, dy);
      const main = [m.bn3, m.conv3, m.relu2, m.bn2, m.conv2, m.relu1, m.bn1, m.conv1].reduce(
        (t, l) => this.backward(l, t),
        g,
      );
      const sc = m.downsample ? this.backward(m.downsample, g) : g;
      return { data: main.data.map((v, i) => v + sc.data[i]), shape: main.shape };
    }
    throw new Error(`RefNet: no reference backward for ${m.constructor.name}`);
  }
}

/** Mean cross-entropy and its gradient in float64. */
export function crossEntropyRef(z: Ref, labels: number[]): { loss: number; grad: Ref } {
  const [N, C] = z.shape, grad = new Float64Array(z.data.length);
  let loss = 0;
  for (let r = 0; r < N; r++) {
    const row = z.data.subarray(r * C, (r + 1) * C);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
    loss += (lse - row[labels[r]]) / N;
    for (let c = 0; c < C; c++) grad[r * C + c] = (Math.exp(row[c] - lse) - (c === labels[r] ? 1 : 0)) / N;
  }
  return { loss, grad: { data: grad, shape: [N, C] } };
}
