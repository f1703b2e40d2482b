#!/usr/bin/env python3
# Golden values for TFTBlocksTests / TFTTests from pytorch-forecasting's own sub-modules
# (pytorch_forecasting/models/temporal_fusion_transformer/sub_modules.py). The TFT class restates
# TemporalFusionTransformer.__init__/forward of _tft.py for full-length windows.
#
#   python3 Tests/LayersTests/Fixtures/tft_golden.py grn|grn_same|vsn_temporal|vsn_static|vsn_single|attention|tft|bench_count
#
# Needs torch and pytorch-forecasting (or a copy of its sub_modules.py saved as pf_sub_modules.py next to this file).
import math, sys
import torch, torch.nn as nn
try:
    import pf_sub_modules as m
except ImportError:
    from pytorch_forecasting.models.temporal_fusion_transformer import sub_modules as m
torch.set_default_dtype(torch.float64)

def fill(module):
    # every parameter p (by dotted name) element i := 0.3 sin(0.7 i + 0.1 len(name) + 0.2 (Σ bytes mod 13))
    for name, p in module.named_parameters():
        s = 0.2 * (sum(name.encode()) % 13)
        with torch.no_grad():
            flat = torch.tensor([0.3 * math.sin(0.7 * i + 0.1 * len(name) + s) for i in range(p.numel())])
            p.copy_(flat.view_as(p))

def inp(shape, a):
    n = 1
    for d in shape: n *= d
    return torch.tensor([math.sin(a * (i + 1) + 0.5) for i in range(n)]).view(*shape)

def show(label, t):
    print(label, [round(float(x), 6) for x in t.detach().flatten()])

def names(module):
    print("names", [(n, list(p.shape)) for n, p in module.named_parameters()])

which = sys.argv[1]
if which == "grn":
    g = m.GatedResidualNetwork(3, 2, 5, 0.0, context_size=4).eval(); fill(g); names(g)
    x = inp((2, 3, 3), 0.9); c = inp((2, 4), 1.3)
    show("out", g(x, c[:, None].expand(-1, 3, -1)))
if which == "grn_same":
    g = m.GatedResidualNetwork(4, 3, 4, 0.0).eval(); fill(g); names(g)
    show("out", g(inp((3, 4), 0.8)))
if which == "vsn_temporal":
    v = m.VariableSelectionNetwork({"a": 4, "b": 4, "c": 2}, 6, dropout=0.0, context_size=5).eval(); fill(v); names(v)
    xs = {"a": inp((2, 3, 1), 0.7), "b": inp((2, 3, 1), 1.1), "c": inp((2, 3, 1), 1.7)}
    c = inp((2, 5), 0.4)
    out, w = v(xs, c[:, None].expand(-1, 3, -1))
    show("out", out); show("weights", w)
if which == "vsn_static":
    v = m.VariableSelectionNetwork({"cat": 3, "r": 4}, 6, input_embedding_flags={"cat": True}, dropout=0.0).eval(); fill(v); names(v)
    xs = {"cat": inp((2, 3), 0.6), "r": inp((2, 1), 1.9)}
    out, w = v(xs)
    show("out", out); show("weights", w)
if which == "vsn_single":
    v = m.VariableSelectionNetwork({"a": 3}, 5, dropout=0.0, context_size=4).eval(); fill(v); names(v)
    out, w = v({"a": inp((2, 3, 1), 0.5)}, inp((2, 3, 4), 0.3))
    show("out", out); show("weights", w)
if which == "attention":
    a = m.InterpretableMultiHeadAttention(2, 6, dropout=0.0).eval(); fill(a); names(a)
    L, H = 3, 2
    x = inp((2, L + H, 6), 0.45)
    dec = torch.arange(H)
    mask = torch.cat([torch.zeros(H, L, dtype=torch.bool), dec[None, :] >= dec[:, None]], dim=1)[None].expand(2, -1, -1)
    out, attn = a(x[:, L:], x, x, mask)
    show("out", out); show("weights", attn.mean(dim=2))

class TFT(nn.Module):
    """pytorch-forecasting's TemporalFusionTransformer.__init__/forward (_tft.py) for full-length windows,
    real time-varying inputs and static categoricals/reals, composed from its sub-modules."""
    def __init__(self, past, future, static_cats, static_reals, hidden, heads, layers, dropout, hc, nq):
        super().__init__()
        self.past, self.future, self.static_cats, self.static_reals = past, future, static_cats, static_reals
        self.layers = layers
        self.input_embeddings = nn.Module()
        self.input_embeddings.embeddings = nn.ModuleDict({n: nn.Embedding(c, e) for n, (c, e) in static_cats.items()})
        reals = list(static_reals) + [n for n in past + future]
        self.prescalers = nn.ModuleDict({n: nn.Linear(1, hc) for n in dict.fromkeys(reals)})
        sizes = {n: e for n, (c, e) in static_cats.items()}; sizes.update({n: hc for n in static_reals})
        self.static_variable_selection = m.VariableSelectionNetwork(sizes, hidden, dict.fromkeys(static_cats, True), dropout, prescalers=self.prescalers)
        self.encoder_variable_selection = m.VariableSelectionNetwork({n: hc for n in past}, hidden, {}, dropout, hidden, prescalers=self.prescalers)
        self.decoder_variable_selection = m.VariableSelectionNetwork({n: hc for n in future}, hidden, {}, dropout, hidden, prescalers=self.prescalers)
        self.static_context_variable_selection = m.GatedResidualNetwork(hidden, hidden, hidden, dropout)
        self.static_context_initial_hidden_lstm = m.GatedResidualNetwork(hidden, hidden, hidden, dropout)
        self.static_context_initial_cell_lstm = m.GatedResidualNetwork(hidden, hidden, hidden, dropout)
        self.static_context_enrichment = m.GatedResidualNetwork(hidden, hidden, hidden, dropout)
        self.lstm_encoder = nn.LSTM(hidden, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0, batch_first=True)
        self.lstm_decoder = nn.LSTM(hidden, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0, batch_first=True)
        self.post_lstm_gate_encoder = m.GatedLinearUnit(hidden, dropout=dropout)
        self.post_lstm_gate_decoder = self.post_lstm_gate_encoder
        self.post_lstm_add_norm_encoder = m.AddNorm(hidden, trainable_add=False)
        self.post_lstm_add_norm_decoder = self.post_lstm_add_norm_encoder
        self.static_enrichment = m.GatedResidualNetwork(hidden, hidden, hidden, dropout, context_size=hidden)
        self.multihead_attn = m.InterpretableMultiHeadAttention(n_head=heads, d_model=hidden, dropout=dropout)
        self.post_attn_gate_norm = m.GateAddNorm(hidden, dropout=dropout, trainable_add=False)
        self.pos_wise_ff = m.GatedResidualNetwork(hidden, hidden, hidden, dropout=dropout)
        self.pre_output_gate_norm = m.GateAddNorm(hidden, dropout=None, trainable_add=False)
        self.output_layer = nn.Linear(hidden, nq)

    def forward(self, past, future, statics):
        B, L, _ = past.shape; H = future.shape[1]; T = L + H
        emb = {}
        cols = list(self.static_cats) + list(self.static_reals)
        for j, n in enumerate(cols):
            if n in self.static_cats: emb[n] = self.input_embeddings.embeddings[n](statics[:, j].long())
            else: emb[n] = statics[:, j:j + 1]
        static_embedding, static_w = self.static_variable_selection(emb)
        ctx = self.static_context_variable_selection(static_embedding)[:, None].expand(-1, T, -1)
        enc, enc_w = self.encoder_variable_selection({n: past[..., i:i + 1] for i, n in enumerate(self.past)}, ctx[:, :L])
        dec, dec_w = self.decoder_variable_selection({n: future[..., i:i + 1] for i, n in enumerate(self.future)}, ctx[:, L:])
        h0 = self.static_context_initial_hidden_lstm(static_embedding).expand(self.layers, -1, -1).contiguous()
        c0 = self.static_context_initial_cell_lstm(static_embedding).expand(self.layers, -1, -1).contiguous()
        eo, (h, c) = self.lstm_encoder(enc, (h0, c0))
        do, _ = self.lstm_decoder(dec, (h, c))
        lo = torch.cat([self.post_lstm_add_norm_encoder(self.post_lstm_gate_encoder(eo), enc),
                        self.post_lstm_add_norm_decoder(self.post_lstm_gate_decoder(do), dec)], dim=1)
        enr = self.static_context_enrichment(static_embedding)
        ai = self.static_enrichment(lo, enr[:, None].expand(-1, T, -1))
        steps = torch.arange(H)
        mask = torch.cat([torch.zeros(H, L, dtype=torch.bool), steps[None, :] >= steps[:, None]], 1)[None].expand(B, -1, -1)
        ao, aw = self.multihead_attn(q=ai[:, L:], k=ai, v=ai, mask=mask)
        ao = self.post_attn_gate_norm(ao, ai[:, L:])
        out = self.pre_output_gate_norm(self.pos_wise_ff(ao), lo[:, L:])
        return self.output_layer(out), static_w, enc_w, dec_w, aw.mean(dim=2)

if which == "tft":
    net = TFT(["cgm", "tod"], ["tod", "meal"], {"site": (3, 3)}, ["age"], hidden=4, heads=2, layers=2, dropout=0.1, hc=3, nq=3).eval()
    fill(net); names(net)
    B, L, H = 2, 4, 2
    past, future = inp((B, L, 2), 0.35), inp((B, H, 2), 0.55)
    statics = torch.tensor([[2.0, 0.4], [0.0, -0.6]])
    y, sw, ew, dw, aw = net(past, future, statics)
    show("prediction", y); show("static", sw); show("encoder", ew); show("decoder", dw); show("attention", aw)
if which == "bench_count":
    known = ["tod_sin", "tod_cos", "dow_sin", "dow_cos"]
    unknown = ["glucose", "insulin", "carbs", "heart_rate", "steps", "basal"]
    net = TFT(known + unknown, known, {"subject": (4, 3)}, [], hidden=128, heads=8, layers=4, dropout=0.2, hc=8, nq=3)
    print("count", sum(p.numel() for p in net.parameters()))
