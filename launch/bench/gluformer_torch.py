#!/usr/bin/env python3
"""PyTorch CPU reference for `cgmbench --only gluformer`: GluFormer's small configuration
(configs/gluformer-small.yaml's model) built the way the GluFormer reference builds it.

    token embedding (462 = 461 glucose tokens + padding) + sinusoidal positions
    nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model 64, nhead 4, dim_feedforward 128, dropout 0.1,
                          activation relu, batch_first, norm_first False)) × 2 with a causal mask
    linear head to 461 tokens, next-token cross-entropy (ignore_index -100), AdamW lr 1e-3

Training: batch 16 windows of 288 random-walk tokens, forward + backward + step, same batch reused.
Generation: 3 samples × 288 steps after a 276-token context, top-k 10, re-running the whole window for every
token (the reference has no KV cache), window restarted from its last 144 tokens when it reaches 288 (as
GluFormerGenerator). Timing as cgmbench's Harness: warm up ≥ 2 calls and 1.5 s, then `trials` trials of
~`trial_seconds`. Prints one JSON line: train_tokens_per_s_median, generate_tokens_per_s_median, torch, threads.

    OMP_NUM_THREADS=1 /work/torch213/bin/python launch/bench/gluformer_torch.py --threads 1
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn

B, L, CONTEXT, SAMPLES, STEPS = 16, 288, 276, 3, 288
D, HEADS, LAYERS, FF, DROPOUT = 64, 4, 2, 128, 0.1
PAD, VOCAB = 461, 461


def positional(positions, d):
    i = torch.arange(0, d, 2, dtype=torch.float64)
    angle = positions.to(torch.float64)[..., None] / torch.pow(10000.0, i / d)
    pe = torch.zeros(*positions.shape, d, dtype=torch.float64)
    pe[..., 0::2] = torch.sin(angle)
    pe[..., 1::2] = torch.cos(angle)
    return pe.float()


class GluFormer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB + 1, D)
        layer = nn.TransformerEncoderLayer(D, HEADS, FF, DROPOUT, activation="relu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = nn.Linear(D, VOCAB)

    def forward(self, tokens):
        s = tokens.shape[1]
        x = self.embedding(tokens) + positional(torch.arange(s), D)
        mask = nn.Transformer.generate_square_subsequent_mask(s)
        return self.head(self.encoder(x, mask=mask, is_causal=True))


def random_walk(n, gen):
    g, out = 120.0, []
    steps = (torch.rand(n, generator=gen) * 8 - 4).tolist()
    for d in steps:
        g = min(max(g + d, 45.0), 380.0)
        out.append(int(round(g)) - 40)
    return out


def measure(body, trials, trial_seconds):
    t0, n = time.perf_counter(), 0
    while n < 2 or time.perf_counter() - t0 < 1.5:
        body()
        n += 1
    per_call = (time.perf_counter() - t0) / n
    k = max(1, round(trial_seconds / per_call))
    rates = []
    for _ in range(trials):
        s = time.perf_counter()
        for _ in range(k):
            body()
        rates.append(k / (time.perf_counter() - s))
    return sorted(rates)[len(rates) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--trial-seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = GluFormer()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    tokens = torch.tensor([random_walk(L, gen) for _ in range(B)])
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)

    def train_step():
        model.train()
        logits = model(inputs)
        loss = loss_fn(logits.reshape(-1, VOCAB), targets.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    train = measure(train_step, args.trials, args.trial_seconds) * B * (L - 1)

    context = torch.tensor([random_walk(CONTEXT, gen)] * SAMPLES)
    sample_gen = torch.Generator().manual_seed(1)

    @torch.no_grad()
    def generate():
        model.eval()
        window = context.clone()
        for _ in range(STEPS):
            if window.shape[1] >= L:
                window = window[:, -(L // 2):]
            logits = model(window)[:, -1]
            top, idx = logits.topk(10, dim=-1)
            choice = torch.multinomial(torch.softmax(top, dim=-1), 1, generator=sample_gen)
            window = torch.cat([window, idx.gather(1, choice)], dim=1)

    trials = max(1, min(args.trials, 3))
    generate_rate = measure(generate, trials, args.trial_seconds) * SAMPLES * STEPS
    print(json.dumps({"train_tokens_per_s_median": train, "generate_tokens_per_s_median": generate_rate,
                      "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
