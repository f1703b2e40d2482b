#!/usr/bin/env python3
# Golden values for the SSM-CGM "paper" blocks (issue 18), computed in float64 NumPy straight from the
# equations of SSM-CGM Appendix A — not from the Swift code. Parameters and inputs use the same
# deterministic fill as tft_golden.py, by parameter name relative to the block:
#   p[name][i] = 0.3 sin(0.7 i + 0.1 len(name) + 0.2 (Σ utf8(name) mod 13)),  x[i] = sin(a (i + 1) + 0.5)
# Weights are (out, in) and act as y = x Wᵀ + b (PyTorch's nn.Linear convention).
#
#   python3 Tests/LayersTests/Fixtures/ssm_cgm_paper_golden.py grn_context|grn_same|vsn_temporal|vsn_static
import math, sys
import numpy as np

def fill(name, shape):
    s = 0.2 * (sum(name.encode()) % 13)
    n = int(np.prod(shape))
    return np.array([0.3 * math.sin(0.7 * i + 0.1 * len(name) + s) for i in range(n)]).reshape(shape)

def inp(shape, a):
    n = int(np.prod(shape))
    return np.array([math.sin(a * (i + 1) + 0.5) for i in range(n)]).reshape(shape)

def elu(x): return np.where(x > 0, x, np.expm1(x))
def sigmoid(x): return 1 / (1 + np.exp(-x))
def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True); var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b

def grn(u, c, d_in, d_hidden, d_out, d_ctx, prefix=""):
    # A.5 eq. 4: ẑ = W₂ φ(W₁[u; c] + b₁) + b₂;  eq. 5: g = σ(W_g[u; c] + b_g);  eq. 6: z = LN(u + g ⊙ ẑ),
    # with u replaced by W_skip u when dim(u) ≠ dim(ẑ). W₁ = [fc1 | fc1_context], W_g = [gate | gate_context].
    uc = u
    W1 = fill(prefix + "fc1.weight", (d_hidden, d_in)); Wg = fill(prefix + "gate.weight", (d_out, d_in))
    if c is not None:
        uc = np.concatenate([u, np.broadcast_to(c[:, None, :], u.shape[:-1] + (d_ctx,))], axis=-1)
        W1 = np.concatenate([W1, fill(prefix + "fc1_context.weight", (d_hidden, d_ctx))], axis=1)
        Wg = np.concatenate([Wg, fill(prefix + "gate_context.weight", (d_out, d_ctx))], axis=1)
    z_hat = elu(uc @ W1.T + fill(prefix + "fc1.bias", (d_hidden,))) @ fill(prefix + "fc2.weight", (d_out, d_hidden)).T + fill(prefix + "fc2.bias", (d_out,))
    g = sigmoid(uc @ Wg.T + fill(prefix + "gate.bias", (d_out,)))
    skip = u if d_in == d_out else u @ fill(prefix + "skip_layer.weight", (d_out, d_in)).T + fill(prefix + "skip_layer.bias", (d_out,))
    return layer_norm(skip + g * z_hat, fill(prefix + "norm.weight", (d_out,)), fill(prefix + "norm.bias", (d_out,)))

def vsn(xs, c, names, d_embed, d_hidden, d_score, d_out, d_ctx):
    # A.6 eqs. 11–14 (7–10 for static variables with s̄ omitted): e_i = E_i x_i; ẽ_i = GRN_i([e_i; c]);
    # s_i = vᵀ ẽ_i + a; α = softmax over i; r = Σ α_i P_i e_i.
    es = [x @ fill("embed.%s.weight" % n, (d_embed, x.shape[-1])).T for x, n in zip(xs, names)]
    scores = [grn(e, c, d_embed, d_hidden, d_score, d_ctx, "grns.%s." % n) @ fill("score.weight", (1, d_score)).T
              + fill("score.bias", (1,)) for e, n in zip(es, names)]
    s = np.concatenate(scores, axis=-1)
    alpha = np.exp(s - s.max(-1, keepdims=True)); alpha /= alpha.sum(-1, keepdims=True)
    r = sum(alpha[..., i:i + 1] * (e @ fill("projections.%s.weight" % n, (d_out, d_embed)).T)
            for i, (e, n) in enumerate(zip(es, names)))
    return r, alpha

def show(label, t):
    print(label, [round(float(x), 6) for x in np.asarray(t).flatten()])

which = sys.argv[1]
if which == "grn_context":   # In 3, Hd 4, Out 5, context 2 broadcast over 3 steps
    show("out", grn(inp((2, 3, 3), 0.9), inp((2, 2), 1.3), 3, 4, 5, 2))
if which == "grn_same":      # In = Out = 4, Hd 3, no context
    show("out", grn(inp((3, 4), 0.8), None, 4, 3, 4, None))
if which == "vsn_temporal":  # variables a (1), b (1), c (2); De 3, Hd 4, D 5, Out 6; context 2 over 3 steps
    r, a = vsn([inp((2, 3, 1), 0.7), inp((2, 3, 1), 1.1), inp((2, 3, 2), 1.7)], inp((2, 2), 0.4), ["a", "b", "c"], 3, 4, 5, 6, 2)
    show("out", r); show("weights", a)
if which == "vsn_static":    # variables x (2), y (1); De 2, Hd 3, D 4, Out 3; no context (s̄ omitted)
    r, a = vsn([inp((2, 2), 0.6), inp((2, 1), 1.9)], None, ["x", "y"], 2, 3, 4, 3, None)
    show("out", r); show("weights", a)
