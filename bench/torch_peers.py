"""PyTorch on the CPU as a peer of `deno task bench:peers`: the same matmul shapes, convolutions and
training steps, float32, with as many threads as the host has cores (or --threads). Prints one JSON
object. Used by bench/peers.ts; run alone: python3 bench/torch_peers.py --quick."""

import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def median_seconds(fn, reps):
    """Median seconds of one call over `reps` samples, each of enough calls to last ≥ 20 ms."""
    # Warm up for ≥ 0.2 s (oneDNN builds its primitives and the threads spin up on first use), then
    # estimate one call from the last warm-up call.
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        if time.perf_counter() - start >= 0.2:
            break
    inner = max(1, int(0.02 / max(time.perf_counter() - t0, 1e-6)))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def matmul_gflops(m, k, n, trans_a, reps):
    a = torch.rand(k, m) if trans_a else torch.rand(m, k)
    b = torch.rand(k, n)
    op = (lambda: a.t() @ b) if trans_a else (lambda: a @ b)
    return 2 * m * k * n / median_seconds(op, reps) / 1e9


def conv_gflops(b, c, h, w, reps):
    """3×3, padding 1, C → C channels, as bench/_ours.ts oursConv: forward, and backward (data + filter)."""
    x = torch.rand(b, c, h, w, requires_grad=True)
    wt = torch.rand(c, c, 3, 3, requires_grad=True)
    flops = 2 * b * c * c * 9 * h * w
    fwd = median_seconds(lambda: F.conv2d(x, wt, padding=1), reps)
    y = F.conv2d(x, wt, padding=1)
    dy = torch.rand_like(y)

    def backward():
        torch.autograd.grad(y, (x, wt), dy, retain_graph=True)

    bwd = median_seconds(backward, reps)
    return {"fwd": flops / fwd / 1e9, "bwd": 2 * flops / bwd / 1e9}


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """The CIFAR-style ResNet of models/resnet.ts: 3×3 stem, stages of BasicBlocks, global pool, linear."""

    def __init__(self, blocks, widths, in_ch, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def train_images_per_s(blocks, widths, in_ch, size, classes, batch, steps):
    torch.manual_seed(0)
    model = ResNet(blocks, widths, in_ch, classes)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.full((batch, in_ch, size, size), 0.5)
    y = torch.arange(batch) % classes

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return batch / median_seconds(step, steps)


class Gpt2(nn.Module):
    """The GPT-2 layout of models/transformer: learned positions, pre-LayerNorm blocks (fused qkv,
    causal attention, tanh GELU MLP), a final LayerNorm and a head tied to the token embedding."""

    def __init__(self, vocab, dim, layers, heads, seq):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(seq, dim)
        self.h = nn.ModuleList()
        for _ in range(layers):
            self.h.append(nn.ModuleDict({
                "ln_1": nn.LayerNorm(dim), "c_attn": nn.Linear(dim, 3 * dim), "c_proj": nn.Linear(dim, dim),
                "ln_2": nn.LayerNorm(dim), "c_fc": nn.Linear(dim, 4 * dim), "mlp_proj": nn.Linear(4 * dim, dim),
            }))
        self.ln_f = nn.LayerNorm(dim)
        self.heads = heads
        self.register_buffer("mask", torch.triu(torch.full((seq, seq), float("-inf")), 1))

    def forward(self, ids):
        b, t = ids.shape
        x = self.wte(ids) + self.wpe.weight[:t]
        d, h = x.shape[-1], self.heads
        for blk in self.h:
            q, k, v = blk["c_attn"](blk["ln_1"](x)).split(d, dim=-1)
            q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            att = torch.softmax(q @ k.transpose(-2, -1) / (d // h) ** 0.5 + self.mask[:t, :t], dim=-1)
            x = x + blk["c_proj"]((att @ v).transpose(1, 2).reshape(b, t, d))
            x = x + blk["mlp_proj"](F.gelu(blk["c_fc"](blk["ln_2"](x)), approximate="tanh"))
        return self.ln_f(x) @ self.wte.weight.t()


def train_lm_tokens_per_s(vocab, dim, layers, heads, batch, seq, steps):
    torch.manual_seed(0)
    model = Gpt2(vocab, dim, layers, heads, seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = (torch.arange(batch * seq) * 7919 % vocab).view(batch, seq)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(ids).view(-1, vocab), ids.view(-1)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()

    return batch * seq / median_seconds(step, steps)


class SpectralConv2d(nn.Module):
    """FNO Fourier layer: rfft2, the low modes (kx in [0, m1) and [n1 − m1, n1), ky in [0, m2)) mixed
    by complex weights, irfft2."""

    def __init__(self, c, m1, m2):
        super().__init__()
        self.m1, self.m2 = m1, m2
        scale = 1 / (c * c)
        self.weights1 = nn.Parameter(scale * torch.rand(c, c, m1, m2, dtype=torch.cfloat))
        self.weights2 = nn.Parameter(scale * torch.rand(c, c, m1, m2, dtype=torch.cfloat))

    def forward(self, x):
        n1, n2 = x.shape[-2:]
        f = torch.fft.rfft2(x)
        out = torch.zeros(x.shape[0], self.weights1.shape[1], n1, n2 // 2 + 1, dtype=torch.cfloat)
        m1, m2 = self.m1, self.m2
        out[:, :, :m1, :m2] = torch.einsum("bixy,ioxy->boxy", f[:, :, :m1, :m2], self.weights1)
        out[:, :, -m1:, :m2] = torch.einsum("bixy,ioxy->boxy", f[:, :, -m1:, :m2], self.weights2)
        return torch.fft.irfft2(out, s=(n1, n2))


class Fno2d(nn.Module):
    """FNO2d as PDEBench builds it: fc0 on [u, x, y], padding 2, four (spectral + 1×1 conv) layers with
    GELU between, crop, fc1 (→ 128), GELU, fc2."""

    def __init__(self, modes=12, width=20):
        super().__init__()
        self.fc0 = nn.Linear(3, width)
        self.convs = nn.ModuleList([SpectralConv2d(width, modes, modes) for _ in range(4)])
        self.ws = nn.ModuleList([nn.Conv2d(width, width, 1) for _ in range(4)])
        self.fc1, self.fc2 = nn.Linear(width, 128), nn.Linear(128, 1)

    def forward(self, x):
        h = F.pad(self.fc0(x).permute(0, 3, 1, 2), [0, 2, 0, 2])
        for i in range(4):
            h = self.convs[i](h) + self.ws[i](h)
            if i < 3:
                h = F.gelu(h)
        h = h[..., :-2, :-2].permute(0, 2, 3, 1)
        return self.fc2(F.gelu(self.fc1(h)))


def train_fno_samples_per_s(batch, side, steps):
    torch.manual_seed(0)
    model = Fno2d()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    x, y = torch.rand(batch, side, side, 3), torch.rand(batch, side, side, 1)

    def step():
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()

    return batch / median_seconds(step, steps)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    reps = 3 if a.quick else 5
    squares = [256, 512, 1024] if a.quick else [64, 128, 256, 512, 1024]
    matmul = {f"{n}x{n}x{n}": matmul_gflops(n, n, n, False, reps) for n in squares}
    if not a.quick:
        matmul["4096x64x64"] = matmul_gflops(4096, 64, 64, False, reps)
        matmul["64x4096x64 (AᵀA)"] = matmul_gflops(64, 4096, 64, True, reps)
        matmul["8192x256x32"] = matmul_gflops(8192, 256, 32, False, reps)
    stages = [(128, 16, 16)] if a.quick else [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]
    conv = {f"32x{c}x{h}x{w} k3": conv_gflops(32, c, h, w, reps) for c, h, w in stages}
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "matmul": matmul,
        "conv": conv,
        "train_small_b128": train_images_per_s([1, 1, 1], [16, 32, 64], 1, 28, 10, 128, 3),
    }
    out["train_lm"] = {"gpt2 V10000 d64 L2 H2, 8x64": train_lm_tokens_per_s(10000, 64, 2, 2, 8, 64, 3)}
    out["train_fno"] = {"FNO2d m12 w20, 50x32x32": train_fno_samples_per_s(50, 32, 3)}
    if not a.quick:
        out["train_lm"]["gpt2 V10000 d128 L2 H4, 32x64"] = train_lm_tokens_per_s(10000, 128, 2, 4, 32, 64, 3)
        out["train_resnet18_b32"] = train_images_per_s([2, 2, 2, 2], [64, 128, 256, 512], 3, 32, 10, 32, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
