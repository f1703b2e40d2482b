#!/usr/bin/env python3
# Golden values of Mamba2Tests.testMatchesPyTorchReferenceMixer: the output, the input gradient and one
# checksum per parameter gradient (Σ_i ∂ℓ/∂θ_i · cos(0.13 i)) of a reference Mamba-2 mixer in float64 with
# deterministic parameters; the Swift block runs without its dt clamp to match it.
#
#   python3 Tests/LayersTests/Fixtures/mamba2_golden.py        (needs torch; tested with 2.13 CPU)
#
# The mixer below is the chunked-SSD reference ("ssd_minimal_discrete" of mamba_ssm) that the project's PyTorch
# benchmark (`cgmbench --torch-python`, ../shared/bench-reference/pytorch_models.py) times, restated here so
# the test's numbers can be regenerated from the repository alone. ngroups = 1 (B, C shared by all heads).
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def segsum(x):
    """Stable segment sum: x [..., T] -> [..., T, T], out[i, j] = sum_{j<k<=i} x_k, -inf above the diagonal."""
    T = x.size(-1)
    x = x.unsqueeze(-1).expand(*x.shape, T)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    x_segsum = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=0)
    return x_segsum.masked_fill(~mask, -torch.inf)


def ssd_chunked(X, A, Bm, Cm, chunk):
    """Mamba-2 SSD over chunks. X [b,l,h,p] (already x·dt), A [b,l,h] (already A·dt), Bm, Cm [b,l,n]; l % chunk == 0."""
    b, l, h, p = X.shape
    n = Bm.shape[-1]
    c = l // chunk
    X = X.reshape(b, c, chunk, h, p)
    A = A.reshape(b, c, chunk, h).permute(0, 3, 1, 2)  # b h c l
    Bm = Bm.reshape(b, c, chunk, n)
    Cm = Cm.reshape(b, c, chunk, n)
    A_cumsum = torch.cumsum(A, dim=-1)
    Lmat = torch.exp(segsum(A))                                         # 1. intra-chunk (quadratic form)
    CB = torch.einsum("bcln,bcsn->bcls", Cm, Bm)
    Y_diag = torch.einsum("bcls,bhcls,bcshp->bclhp", CB, Lmat, X)
    decay_states = torch.exp(A_cumsum[..., -1:] - A_cumsum)             # 2. state at each chunk's end
    states = torch.einsum("bcln,bhcl,bclhp->bchpn", Bm, decay_states, X)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)  # 3. inter-chunk recurrence
    decay_chunk = torch.exp(segsum(F.pad(A_cumsum[..., -1], (1, 0))))
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)[:, :-1]
    Y_off = torch.einsum("bcln,bchpn,bhcl->bclhp", Cm, states, torch.exp(A_cumsum))  # 4. state -> output
    return (Y_diag + Y_off).reshape(b, l, h, p)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x, z=None):
        if z is not None:
            x = x * F.silu(z)  # gated RMSNorm, norm_before_gate=False (the Mamba-2 default)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mamba2Mixer(nn.Module):
    def __init__(self, d_model, expand, headdim, d_state, d_conv, chunk):
        super().__init__()
        self.d_inner = expand * d_model
        self.nheads = self.d_inner // headdim
        self.headdim, self.d_state, self.chunk = headdim, d_state, chunk
        self.conv_dim = self.d_inner + 2 * d_state
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner + 2 * d_state + self.nheads, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim, padding=d_conv - 1, bias=True)
        self.dt_bias = nn.Parameter(torch.zeros(self.nheads))
        self.A_log = nn.Parameter(torch.zeros(self.nheads))
        self.D = nn.Parameter(torch.ones(self.nheads))
        self.norm = RMSNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, u):
        b, l, _ = u.shape
        z, xBC, dt = torch.split(self.in_proj(u), [self.d_inner, self.conv_dim, self.nheads], dim=-1)
        dt = F.softplus(dt + self.dt_bias)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :l].transpose(1, 2))
        x, Bm, Cm = torch.split(xBC, [self.d_inner, self.d_state, self.d_state], dim=-1)
        x = x.reshape(b, l, self.nheads, self.headdim)
        Xd, Ad = x * dt.unsqueeze(-1), -torch.exp(self.A_log) * dt
        pad = (-l) % self.chunk  # zero padding at the end is exact for a causal scan
        Xd, Ad = F.pad(Xd, (0, 0, 0, 0, 0, pad)), F.pad(Ad, (0, 0, 0, pad))
        Bp, Cp = F.pad(Bm, (0, 0, 0, pad)), F.pad(Cm, (0, 0, 0, pad))
        y = ssd_chunked(Xd, Ad, Bp, Cp, self.chunk)[:, :l] + x * self.D.view(1, 1, -1, 1)
        return self.out_proj(self.norm(y.reshape(b, l, self.d_inner), z))


def fill(t, off, scale):
    t.data.copy_(torch.tensor([scale * math.sin(0.7 * i + off) for i in range(t.numel())]).view_as(t))


m = Mamba2Mixer(d_model=8, expand=2, headdim=4, d_state=4, d_conv=3, chunk=4)
fill(m.in_proj.weight, .1, .35); fill(m.conv1d.weight, .2, .5); fill(m.conv1d.bias, .3, .2)
fill(m.norm.weight, .4, .1); m.norm.weight.data += 1; fill(m.out_proj.weight, .5, .25)
m.dt_bias.data[:] = torch.tensor([-4., -3., -2.5, -5.]); m.A_log.data[:] = torch.log(torch.tensor([1., 2., 4., 8.]))
m.D.data[:] = torch.tensor([1., .5, -.3, 2.])
u = torch.tensor([math.sin(0.3 * i + 0.1) for i in range(96)]).view(2, 6, 8).requires_grad_()
out = m(u)
R = torch.tensor([math.cos(0.11 * i) for i in range(96)]).view_as(out)
(out * R).sum().backward()
print("goldenOut", [float(f"{x:.9g}") for x in out.detach().flatten().tolist()])
print("goldenDu", [float(f"{x:.9g}") for x in u.grad.flatten().tolist()])
for name, p in m.named_parameters():
    print("m." + name, float(f"{sum(g * math.cos(0.13 * i) for i, g in enumerate(p.grad.flatten().tolist())):.9g}"))
