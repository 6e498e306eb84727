#!/usr/bin/python3
"""tests/bench/torch_bench.py — the same Llama 2 shape and the same work as
`rlhfd bench train|sample`, in PyTorch on the CPU, for comparison.

  train:  one warm-up step, then --steps optimizer steps (forward + backward +
          AdamW) on --batch x --seq random tokens, loss = mean cross-entropy;
  sample: one prompt token, then --batch sequences (K) advance together for
          --steps new tokens each, with a KV cache, temperature-1 sampling.

The last line is `tokens_per_sec=<float>` as for rlhfd.  Run with Debian's
python3-torch: /usr/bin/python3 tests/bench/torch_bench.py train --threads 1.
The thread count goes into the environment before torch is imported.
"""
import argparse
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "sample"])
    p.add_argument("--dim", type=int, default=288)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--kv-heads", type=int, default=6)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


args = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402  (after the thread variables, on purpose)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight


def rope_tables(hs, T):
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
    ang = torch.outer(torch.arange(T).float(), freqs)
    return torch.cos(ang), torch.sin(ang)  # (T, hs/2)


def rope(x, cos, sin):
    # x (B, T, h, hs): rotate adjacent pairs (x[2i], x[2i+1]) as llama2.c does
    xr = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(3)


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.nh, self.nkv, self.hs = a.heads, a.kv_heads, a.dim // a.heads
        self.wq = nn.Linear(a.dim, a.dim, bias=False)
        self.wk = nn.Linear(a.dim, self.nkv * self.hs, bias=False)
        self.wv = nn.Linear(a.dim, self.nkv * self.hs, bias=False)
        self.wo = nn.Linear(a.dim, a.dim, bias=False)
        self.w1 = nn.Linear(a.dim, a.hidden, bias=False)
        self.w2 = nn.Linear(a.hidden, a.dim, bias=False)
        self.w3 = nn.Linear(a.dim, a.hidden, bias=False)
        self.n1, self.n2 = RMSNorm(a.dim), RMSNorm(a.dim)

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, T, C = x.shape
        h = self.n1(x)
        q = self.wq(h).view(B, T, self.nh, self.hs)
        k = self.wk(h).view(B, T, self.nkv, self.hs)
        v = self.wv(h).view(B, T, self.nkv, self.hs)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:  # (K, V) tensors (B, Tmax, nkv, hs)
            cache[0][:, pos:pos + T] = k
            cache[1][:, pos:pos + T] = v
            k, v = cache[0][:, :pos + T], cache[1][:, :pos + T]
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / (self.hs ** 0.5)
        S = k.shape[2]
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.wo(y)
        h = self.n2(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.emb = nn.Embedding(a.vocab, a.dim)
        self.blocks = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.dim)
        self.cos, self.sin = rope_tables(a.dim // a.heads, a.seq)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tok, caches=None, pos=0):
        T = tok.shape[1]
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        x = self.emb(tok)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if caches is None else caches[i], pos)
        return self.norm(x) @ self.emb.weight.t()  # tied classifier


def bench_train(a):
    m = Llama(a)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    data = torch.randint(0, a.vocab, (a.batch, a.seq + 1))
    x, y = data[:, :-1], data[:, 1:]
    total = 0.0
    for step in range(a.steps + 1):
        t0 = time.perf_counter()
        loss = F.cross_entropy(m(x).reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if step:
            total += dt
        print(f"{'step' if step else 'warm-up'} {step}: loss {loss.item():.4f}, "
              f"{dt * 1e3:.1f} ms, {a.batch * a.seq / dt:.0f} tokens/s", flush=True)
    return a.batch * a.seq * a.steps / total


@torch.no_grad()
def bench_sample(a):
    m = Llama(a)
    m.eval()
    K, hs = a.batch, a.dim // a.heads
    steps = min(a.steps, a.seq - 1)
    caches = [(torch.zeros(K, a.seq, a.kv_heads, hs), torch.zeros(K, a.seq, a.kv_heads, hs))
              for _ in range(a.layers)]
    tok = torch.ones(K, 1, dtype=torch.long)  # BOS
    m(tok, caches, 0)  # warm-up
    t0 = time.perf_counter()
    for pos in range(steps):
        logits = m(tok, caches, pos)[:, -1]
        tok = torch.multinomial(logits.softmax(-1), 1)
    dt = time.perf_counter() - t0
    print(f"sample: K {K}, {steps} tokens each, {dt * 1e3:.1f} ms", flush=True)
    return K * steps / dt


def main():
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} {args.mode}: dim {args.dim} "
          f"hidden {args.hidden} layers {args.layers} heads {args.heads} kv {args.kv_heads} "
          f"vocab {args.vocab} seq {args.seq} batch {args.batch}", flush=True)
    tps = bench_train(args) if args.mode == "train" else bench_sample(args)
    print(f"tokens_per_sec={tps:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
