#!/usr/bin/env python3
"""Reference trajectories for Tests/OptimTests, computed with real PyTorch (torch.optim).

Writes optim_fixtures.json next to this script (a GENERATED file: do not edit it, rerun this).

    python3 Tests/OptimTests/Fixtures/make_optim_fixtures.py

Contents
  - two float32 parameters, "w" (3, 4) with weight decay and "b" (5,) without (a second param group
    with weight_decay 0, which is what ParameterStore's per-entry weightDecay flag means), and a fixed
    sequence of 6 gradients defined below (deterministic formulas, no RNG);
  - the parameter trajectory (values after every step) of SGD, Adam and AdamW configurations, and of
    Adam and Nesterov SGD stepped under OneCycleLR (learning rate and beta1 / momentum cycled);
  - clip_grad_norm_ on each gradient of the sequence for two max norms (pre-clip norm, clipped grads);
  - learning-rate (and momentum / beta1) sequences of OneCycleLR, StepLR, cosine-with-warmup
    (HuggingFace's get_cosine_with_min_lr_schedule_with_warmup lambda on torch LambdaLR) and
    ReduceLROnPlateau (on a metric sequence exercising patience, cooldown, threshold and min lr).

Every optimizer runs the single-tensor CPU path (foreach=False), the one CGMTrain mirrors.
Float32 values are written as the exact doubles they represent.
"""

import json
import math
import os
import platform

import numpy as np
import torch

torch.set_default_dtype(torch.float32)
STEPS = 6


# ---------------------------------------------------------------- parameters and gradients

def initial_parameters():
    w = np.array([[0.5 - 0.13 * i + 0.07 * j * (-1) ** i for j in range(4)] for i in range(3)], dtype=np.float32)
    b = np.array([0.25, -0.75, 1.5, -0.02, 0.9], dtype=np.float32)
    return {"w": w, "b": b}


def gradients():
    """Six steps of gradients: smooth, mixed sign, a large step (4) to make clipping bite, a zero element."""
    seq = []
    for k in range(STEPS):
        scale = 6.0 if k == 4 else 1.0
        w = np.array([[scale * math.sin(1.3 * k + 0.7 * i + 0.31 * j) for j in range(4)] for i in range(3)],
                     dtype=np.float32)
        b = np.array([scale * math.cos(0.9 * k - 0.5 * i) * (0.1 if i == 3 else 1.0) for i in range(5)],
                     dtype=np.float32)
        if k == 2:
            b[1] = 0.0
        seq.append({"w": w, "b": b})
    return seq


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def make_params(init):
    return {name: torch.nn.Parameter(torch.tensor(v)) for name, v in init.items()}


def groups(params, wd_key, wd):
    """w decays, b does not: two param groups."""
    return [{"params": [params["w"]], wd_key: wd}, {"params": [params["b"]], wd_key: 0.0}]


def run_optimizer(make, init, grads):
    params = make_params(init)
    opt = make(params)
    trajectory = []
    for g in grads:
        for name, p in params.items():
            p.grad = torch.tensor(g[name])
        opt.step()
        trajectory.append({name: floats(p.detach().numpy()) for name, p in params.items()})
    return trajectory


# ---------------------------------------------------------------- optimizers

def optimizer_cases(init, grads):
    cases = {
        "sgd_plain": (
            {"kind": "sgd", "lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
            lambda p: torch.optim.SGD(groups(p, "weight_decay", 0.0), lr=0.1, foreach=False)),
        "sgd_momentum_nesterov_wd": (
            {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.01, "nesterov": True},
            lambda p: torch.optim.SGD(groups(p, "weight_decay", 0.01), lr=0.05, momentum=0.9, nesterov=True,
                                      foreach=False)),
        "sgd_momentum_dampening_wd": (
            {"kind": "sgd", "lr": 0.03, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05, "nesterov": False},
            lambda p: torch.optim.SGD(groups(p, "weight_decay", 0.05), lr=0.03, momentum=0.8, dampening=0.3,
                                      foreach=False)),
        "adam_default": (
            {"kind": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
            lambda p: torch.optim.Adam(groups(p, "weight_decay", 0.0), lr=0.01, foreach=False)),
        "adam_wd": (
            {"kind": "adam", "lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
            lambda p: torch.optim.Adam(groups(p, "weight_decay", 0.1), lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                       foreach=False)),
        "adamw": (
            {"kind": "adamw", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
            lambda p: torch.optim.AdamW(groups(p, "weight_decay", 0.1), lr=0.01, weight_decay=0.1, foreach=False)),
        "adamw_default_wd": (
            {"kind": "adamw", "lr": 0.05, "beta1": 0.85, "beta2": 0.995, "eps": 1e-8, "weight_decay": 0.01},
            lambda p: torch.optim.AdamW(groups(p, "weight_decay", 0.01), lr=0.05, betas=(0.85, 0.995),
                                        foreach=False)),
    }
    return {name: {"config": config, "trajectory": run_optimizer(make, init, grads)}
            for name, (config, make) in cases.items()}


def scheduled_cases(init, grads):
    """Optimizers stepped under OneCycleLR (lr and beta1 / momentum change every step)."""
    def run(make_opt, config):
        params = make_params(init)
        opt = make_opt(params)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config["max_lr"], total_steps=STEPS,
                                                    pct_start=config["pct_start"])
        trajectory = []
        for g in grads:
            for name, p in params.items():
                p.grad = torch.tensor(g[name])
            opt.step()
            sched.step()
            trajectory.append({name: floats(p.detach().numpy()) for name, p in params.items()})
        return trajectory

    adam = {"kind": "adam", "lr": 1.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05,
            "max_lr": 0.05, "pct_start": 0.4}
    sgd = {"kind": "sgd", "lr": 1.0, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.01, "nesterov": True,
           "max_lr": 0.1, "pct_start": 0.3}
    return {
        "adam_onecycle": {"config": adam, "trajectory": run(
            lambda p: torch.optim.Adam(groups(p, "weight_decay", 0.05), lr=1.0, foreach=False), adam)},
        "sgd_nesterov_onecycle": {"config": sgd, "trajectory": run(
            lambda p: torch.optim.SGD(groups(p, "weight_decay", 0.01), lr=1.0, momentum=0.9, nesterov=True,
                                      foreach=False), sgd)},
    }


# ---------------------------------------------------------------- clipping

def clip_cases(grads):
    out = []
    for max_norm in (1.0, 10.0):
        for k, g in enumerate(grads):
            params = make_params({name: np.zeros_like(v) for name, v in g.items()})
            for name, p in params.items():
                p.grad = torch.tensor(g[name])
            norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm, foreach=False)
            out.append({"max_norm": max_norm, "step": k, "norm": float(norm),
                        "clipped": {name: floats(p.grad.numpy()) for name, p in params.items()}})
    return out


# ---------------------------------------------------------------- schedulers

def dummy_optimizer(kind, lr):
    p = [torch.nn.Parameter(torch.zeros(1))]
    if kind == "adam":
        return torch.optim.Adam(p, lr=lr, foreach=False)
    return torch.optim.SGD(p, lr=lr, momentum=0.9, foreach=False)


def momentum_of(opt):
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g["momentum"]


def run_stepped(opt, sched, steps, momentum=False):
    """lr (and momentum) after construction and after each of `steps` calls to step()."""
    lrs, moms = [opt.param_groups[0]["lr"]], [momentum_of(opt)]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(momentum_of(opt))
    out = {"lr": lrs}
    if momentum:
        out["momentum"] = moms
    return out


def cosine_with_min_lr_lambda(current_step, *, num_warmup_steps, num_training_steps, num_cycles=0.5,
                              min_lr_rate=0.0):
    """transformers.optimization._get_cosine_with_min_lr_schedule_with_warmup_lr_lambda, verbatim."""
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def scheduler_cases():
    cases = {}

    opt = dummy_optimizer("adam", 1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=30)
    cases["onecycle_adam_default"] = {
        "config": {"optimizer": "adam", "max_lr": 0.01, "total_steps": 30, "pct_start": 0.3, "anneal": "cos",
                   "div_factor": 25.0, "final_div_factor": 1e4, "three_phase": False, "cycle_momentum": True,
                   "base_momentum": 0.85, "max_momentum": 0.95},
        **run_stepped(opt, sched, 30, momentum=True)}

    opt = dummy_optimizer("sgd", 1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=20, pct_start=0.25,
                                                anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
                                                three_phase=True, base_momentum=0.8, max_momentum=0.9)
    cases["onecycle_sgd_three_phase_linear"] = {
        "config": {"optimizer": "sgd", "max_lr": 0.2, "total_steps": 20, "pct_start": 0.25, "anneal": "linear",
                   "div_factor": 10.0, "final_div_factor": 100.0, "three_phase": True, "cycle_momentum": True,
                   "base_momentum": 0.8, "max_momentum": 0.9},
        **run_stepped(opt, sched, 20, momentum=True)}

    opt = dummy_optimizer("adam", 0.003)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.003, total_steps=17, pct_start=0.4,
                                                cycle_momentum=False)
    cases["onecycle_no_momentum"] = {
        "config": {"optimizer": "adam", "max_lr": 0.003, "total_steps": 17, "pct_start": 0.4, "anneal": "cos",
                   "div_factor": 25.0, "final_div_factor": 1e4, "three_phase": False, "cycle_momentum": False,
                   "base_momentum": 0.85, "max_momentum": 0.95},
        **run_stepped(opt, sched, 17, momentum=True)}

    opt = dummy_optimizer("sgd", 0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    cases["steplr"] = {"config": {"base_lr": 0.1, "step_size": 4, "gamma": 0.5}, **run_stepped(opt, sched, 30)}

    for name, base, warmup, total, ratio in (("cosine_warmup", 0.001, 5, 30, 0.0),
                                              ("cosine_warmup_min_ratio", 0.02, 3, 20, 0.1)):
        opt = dummy_optimizer("adam", base)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s, w=warmup, t=total, r=ratio: cosine_with_min_lr_lambda(
            s, num_warmup_steps=w, num_training_steps=t, min_lr_rate=r))
        cases[name] = {"config": {"base_lr": base, "warmup_steps": warmup, "total_steps": total, "min_lr_ratio": ratio},
                       **run_stepped(opt, sched, total)}

    # ReduceLROnPlateau: metric sequences with improvements, plateaus within the threshold, cooldown
    # (bad epochs ignored), repeated reductions down to min_lr, and reductions refused by eps.
    plateau_metrics = [1.0, 0.9, 0.85, 0.8496, 0.86, 0.85, 0.84, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.69,
                       0.6899, 0.70, 0.71, 0.72, 0.65, 0.66, 0.67, 0.68, 0.69, 0.70, 0.71, 0.72, 0.73, 0.74,
                       0.75, 0.76]
    plateau_cases = {
        "plateau_min_rel_cooldown_minlr": dict(mode="min", factor=0.5, patience=2, threshold=0.01,
                                               threshold_mode="rel", cooldown=2, min_lr=0.0126, eps=1e-8),
        "plateau_max_abs": dict(mode="max", factor=0.3, patience=0, threshold=0.005, threshold_mode="abs",
                                cooldown=1, min_lr=0.0, eps=1e-8),
        "plateau_eps_refuses": dict(mode="min", factor=0.9, patience=1, threshold=1e-4, threshold_mode="rel",
                                    cooldown=0, min_lr=0.0, eps=0.0095),
        "plateau_defaults": dict(),
    }
    for name, kwargs in plateau_cases.items():
        opt = dummy_optimizer("sgd", 0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs, bests, bad, cool = [], [], [], []
        for m in plateau_metrics:
            sched.step(m)
            lrs.append(opt.param_groups[0]["lr"])
            bests.append(sched.best)
            bad.append(sched.num_bad_epochs)
            cool.append(sched.cooldown_counter)
        config = {"base_lr": 0.1, "mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4,
                  "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8}
        config.update(kwargs)
        cases[name] = {"config": config, "metrics": plateau_metrics, "lr": lrs, "best": bests,
                       "num_bad_epochs": bad, "cooldown_counter": cool}
    return cases


def main():
    init = initial_parameters()
    grads = gradients()
    out = {
        "generated_by": (f"GENERATED by Tests/OptimTests/Fixtures/make_optim_fixtures.py with torch {torch.__version__}, "
                         f"numpy {np.__version__}, Python {platform.python_version()}; do not edit"),
        "steps": STEPS,
        "shapes": {name: list(v.shape) for name, v in init.items()},
        "weight_decay": {"w": True, "b": False},
        "initial": {name: floats(v) for name, v in init.items()},
        "gradients": [{name: floats(v) for name, v in g.items()} for g in grads],
        "optimizers": optimizer_cases(init, grads),
        "optimizers_with_onecycle": scheduled_cases(init, grads),
        "clipping": clip_cases(grads),
        "schedulers": scheduler_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
