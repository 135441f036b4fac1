#!/usr/bin/env python3
"""Train, cross-validate, fit, export and check the BCC multitask model.

One command (see training/README.md):
    python3 training/train.py --data <dermoscopy dir> --weights <mobilenet_v2_imagenet.npz> --out <dir>

Writes to --out: <name>.onnx, <name>.json (manifest + model card), oof.csv, train.log.
Everything is seeded; GPU kernels (cuDNN autotuning, atomics) may still differ in the last bits.
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
LOG = None


def log(*a):
    msg = " ".join(str(x) for x in a)
    print(msg, flush=True)
    if LOG:
        LOG.write(msg + "\n")
        LOG.flush()


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


# ---------------------------------------------------------------- data

def read_rows(data_dir):
    with open(os.path.join(data_dir, "labels.csv"), newline="") as f:
        return list(csv.DictReader(f))


def _load(args):
    path, mask_path, size_train, size_eval = args
    im = Image.open(path).convert("RGB")
    # PIL's resize antialiases when shrinking, like sharp; "fill" = stretch the whole image.
    tr = np.asarray(im.resize((size_train, size_train), Image.BILINEAR), dtype=np.uint8)
    ev = np.asarray(im.resize((size_eval, size_eval), Image.BILINEAR), dtype=np.uint8)
    if mask_path:
        m = Image.open(mask_path).convert("L")
        mtr = np.asarray(m.resize((size_train, size_train), Image.BILINEAR), dtype=np.uint8)
        mev = np.asarray(m.resize((size_eval, size_eval), Image.NEAREST), dtype=np.uint8)
    else:
        mtr = np.zeros((size_train, size_train), np.uint8)
        mev = np.zeros((size_eval, size_eval), np.uint8)
    return tr, ev, mtr, mev


def load_dataset(data_dir, rows, patterns, size_train, size_eval):
    jobs = [(os.path.join(data_dir, r["image"]), os.path.join(data_dir, r["mask"]) if r["mask"] else "",
             size_train, size_eval) for r in rows]
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        out = list(ex.map(_load, jobs, chunksize=32))
    x_train = np.stack([o[0] for o in out])
    x_eval = np.stack([o[1] for o in out])
    m_train = np.stack([o[2] for o in out])
    m_eval = np.stack([o[3] for o in out])
    bcc = np.array([float(r["bcc"]) for r in rows], np.float32)
    # NaN = not annotated: contributes no loss.
    pat = np.array([[float(r[p["id"]]) if r[p["id"]] != "" else np.nan for p in patterns] for r in rows], np.float32)
    has_mask = np.array([bool(r["mask"]) for r in rows])
    return x_train, x_eval, m_train, m_eval, bcc, pat, has_mask


def diagnosis_index(rows, groups_cfg):
    """Source diagnosis text -> index of its group (config diagnosisGroups); -1 = no group (no loss)."""
    lookup = {}
    for k, g in enumerate(groups_cfg):
        for name in g["match"]:
            lookup[name] = k
    out = []
    for r in rows:
        d = r["diagnosis"].strip().lower()
        k = lookup.get(d, -1)
        if k == -1:
            k = next((lookup[n] for n in lookup if n.endswith("*") and d.startswith(n[:-1])), -1)
        out.append(k)
    return np.array(out, np.int64)


def grouped_folds(rows, k, seed):
    """Assign whole lesion groups to folds, stratified by (has BCC, source, has arborizing)."""
    groups = {}
    for i, r in enumerate(rows):
        groups.setdefault(r["group"], []).append(i)
    strata = {}
    for g, idx in groups.items():
        key = (max(float(rows[i]["bcc"]) >= 0.5 for i in idx), rows[idx[0]]["source"],
               max(float(rows[i].get("arborizing_telangiectasia") or 0) >= 0.5 for i in idx))
        strata.setdefault(key, []).append(g)
    rng = random.Random(seed)
    fold_of = np.zeros(len(rows), np.int64)
    offset = 0
    for key in sorted(strata):
        gs = sorted(strata[key])
        rng.shuffle(gs)
        for j, g in enumerate(gs):
            for i in groups[g]:
                fold_of[i] = (j + offset) % k
        offset += len(gs)
    return fold_of


# ---------------------------------------------------------------- model

class MultiTaskCAM(nn.Module):
    """MobileNetV2 features -> 1x1 conv to 8 maps (BCC + 7 patterns); logit = spatial mean of its map.

    Because the head is linear, mean(conv(f)) == linear(mean(f)): the class activation map is exact,
    part of the graph, and equals Grad-CAM of the usual GAP + linear head.
    """

    def __init__(self, n_out=8, dropout=0.2, n_diagnoses=0):
        super().__init__()
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        self.head = nn.Conv2d(1280, n_out, 1)
        # Training-only auxiliary task (which diagnosis): not exported, it only shapes the features.
        self.aux = nn.Linear(1280, n_diagnoses) if n_diagnoses else None
        self.dropout = dropout

    def forward(self, x, with_aux=False):
        f = self.features(x)
        if self.training and self.dropout > 0:
            f = F.dropout(f, self.dropout)
        cam = self.head(f)
        if with_aux:
            return cam.mean(dim=(2, 3)), cam, self.aux(f.mean(dim=(2, 3)))
        return cam.mean(dim=(2, 3)), cam


class Exported(nn.Module):
    """The serving graph: probabilities plus raw maps."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        logits, cam = self.net(image)
        return torch.sigmoid(logits[:, 0]), torch.sigmoid(logits[:, 1:]), cam


def load_imagenet(net, npz_path):
    w = np.load(npz_path)
    sd = {k: torch.tensor(w[k].astype(np.float32)) for k in w.files if k.startswith("features.")}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    missing = [m for m in missing if m.startswith("features.")]
    if missing or unexpected:
        raise SystemExit(f"ImageNet weights do not fit: missing={missing[:5]} unexpected={unexpected[:5]}")


@torch.no_grad()
def reestimate_bn(net, x):
    """The shipped weights have BN folded into the convs (BN = identity with stats 0/1).
    Give every BN the statistics of its real input and an affine that undoes them, so the
    network is unchanged in eval mode and BN in train mode starts near the identity."""
    stats = {}
    hooks = []
    for name, mod in net.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            def pre(m, inp, name=name):
                t = inp[0].float()
                stats[name] = (t.mean(dim=(0, 2, 3)), t.var(dim=(0, 2, 3), unbiased=False))
            hooks.append(mod.register_forward_pre_hook(pre))
    net.eval()
    net(x)
    for h in hooks:
        h.remove()
    for name, mod in net.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            mu, var = stats[name]
            mod.running_mean.copy_(mu)
            mod.running_var.copy_(var)
            mod.weight.copy_(torch.sqrt(var + mod.eps))
            mod.bias.copy_(mu)


# ---------------------------------------------------------------- augmentation (on the GPU)

def augment(x_u8, m_u8, out_size, aug, gen):
    """x_u8: N,H,W,3 uint8 (cuda); m_u8: N,H,W uint8. Returns float images in 0..1 and masks."""
    n = x_u8.shape[0]
    dev = x_u8.device
    x = x_u8.permute(0, 3, 1, 2).float() / 255.0
    m = m_u8[:, None].float() / 255.0

    def U(lo, hi, shape=(n,)):
        return torch.rand(shape, device=dev, generator=gen) * (hi - lo) + lo

    theta = U(0, 2 * math.pi)  # dermoscopy has no up: any rotation
    s = U(*aug["scale"])
    asp = U(-aug["aspect"], aug["aspect"])
    sx, sy = 1 / (s * (1 + asp)), 1 / (s * (1 - asp))
    flip = torch.where(torch.rand(n, device=dev, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(theta), torch.sin(theta)
    A = torch.zeros(n, 2, 3, device=dev)
    A[:, 0, 0] = cos * sx * flip
    A[:, 0, 1] = -sin * sy
    A[:, 1, 0] = sin * sx * flip
    A[:, 1, 1] = cos * sy
    A[:, :, 2] = U(-aug["translate"], aug["translate"], (n, 2)) * 2
    grid = F.affine_grid(A, (n, 3, out_size, out_size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    # Resolution augmentation: dermatoscopes and exports differ in sharpness (HAM10000 copies are
    # 200x150, derm7pt 320 px); blurring some images keeps sharpness from becoming a source cue.
    if aug.get("lowres", 0) > 0:
        sel = torch.rand(n, device=dev, generator=gen) < aug["lowres"]
        if bool(sel.any()):
            side = int(torch.randint(aug["lowresMin"], out_size, (1,), device=dev, generator=gen).item())
            small = F.interpolate(x[sel], size=(side, side), mode="area")
            x[sel] = F.interpolate(small, size=(out_size, out_size), mode="bilinear", align_corners=False)

    b = U(1 - aug["brightness"], 1 + aug["brightness"])[:, None, None, None]
    c = U(1 - aug["contrast"], 1 + aug["contrast"])[:, None, None, None]
    sat = U(1 - aug["saturation"], 1 + aug["saturation"])[:, None, None, None]
    gain = U(1 - aug["channelGain"], 1 + aug["channelGain"], (n, 3))[:, :, None, None]
    x = x * b * gain
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * sat + gray
    return x.clamp(0, 1), m


def normalise(x01, mean, std):
    mean = torch.tensor(mean, device=x01.device)[None, :, None, None]
    std = torch.tensor(std, device=x01.device)[None, :, None, None]
    return (x01 - mean) / std


# ---------------------------------------------------------------- training

def sampling_weights(bcc, is_derm, share):
    """Per-image weights so that a drawn batch holds about bccShare BCC and derm7ptShare derm7pt images."""
    w = np.ones(len(bcc))
    pos = bcc == 1
    w[pos] *= (share["bccShare"] / (1 - share["bccShare"])) * ((~pos).sum() / max(pos.sum(), 1))
    d = is_derm
    wd, wh = w[d].sum(), w[~d].sum()
    w[d] *= (share["derm7ptShare"] / (1 - share["derm7ptShare"])) * (wh / max(wd, 1e-9))
    return w / w.sum()


def train_one(idx, data, cfg, weights_npz, seed, dev, epochs):
    tcfg = cfg["train"]
    seed_all(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    x_tr, m_tr, bcc, pat, has_mask, is_derm = (data["x_train"], data["m_train"], data["bcc"], data["pat"],
                                               data["has_mask"], data["is_derm"])
    n_dx = len(cfg["diagnosisGroups"])
    net = MultiTaskCAM(1 + len(cfg["patterns"]), tcfg["featureDropout"], n_dx)
    load_imagenet(net, weights_npz)
    nn.init.normal_(net.head.weight, std=0.01)
    nn.init.zeros_(net.head.bias)
    with torch.no_grad():
        untrained = [1 + j for j, p in enumerate(cfg["patterns"]) if not data["trained"][j]]
        net.head.weight[untrained] = 0  # no labels: keep these maps silent (p = 0.5, never used)
    net = net.to(dev).to(memory_format=torch.channels_last)
    mean, std = cfg["input"]["mean"], cfg["input"]["std"]
    size = cfg["input"]["size"]
    dx_gpu = torch.from_numpy(data["dx"]).to(dev)

    with torch.no_grad():
        pick = np.random.RandomState(seed).choice(idx, size=min(384, len(idx)), replace=False)
        xb = torch.from_numpy(np.asarray(data["x_eval"][np.sort(pick)])).to(dev).permute(0, 3, 1, 2).float() / 255
        reestimate_bn(net, normalise(xb, mean, std).contiguous(memory_format=torch.channels_last))
    ema = copy.deepcopy(net).eval()
    ema_decay = tcfg["emaDecay"]

    head_params = list(net.head.parameters())
    hp = {id(p) for p in head_params}
    opt = torch.optim.AdamW([
        {"params": [p for p in net.parameters() if id(p) not in hp], "lr": tcfg["lrBackbone"]},
        {"params": head_params, "lr": tcfg["lrHead"]},
    ], weight_decay=tcfg["weightDecay"])
    base_lrs = [g["lr"] for g in opt.param_groups]

    w = sampling_weights(bcc[idx], is_derm[idx], tcfg["sampling"])
    bs = tcfg["batchSize"]
    steps_per_epoch = max(1, len(idx) // bs)
    total = steps_per_epoch * epochs
    warm = steps_per_epoch * tcfg["warmupEpochs"]
    rng = np.random.RandomState(seed + 1)
    pw = torch.tensor([tcfg["patternPosWeight"].get(p["id"], 1.0) for p in cfg["patterns"]], device=dev)

    x_gpu = torch.from_numpy(np.array(x_tr)).to(dev)
    m_gpu = torch.from_numpy(np.array(m_tr)).to(dev)
    # Soft consensus labels (npm run consensus --soft) train as BCE targets; metrics use hard labels.
    bcc_gpu = torch.from_numpy(data["bcc_target"]).to(dev)
    pat_gpu = torch.from_numpy(data["pat_target"]).to(dev)
    hm_gpu = torch.from_numpy(has_mask).to(dev)
    step = 0
    net.train()
    for ep in range(epochs):
        draw = rng.choice(idx, size=steps_per_epoch * bs, replace=True, p=w)
        sums = np.zeros(4)
        for k in range(steps_per_epoch):
            lr_f = (step + 1) / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for g, b in zip(opt.param_groups, base_lrs):
                g["lr"] = b * lr_f
            bi = torch.from_numpy(draw[k * bs:(k + 1) * bs]).to(dev)
            x01, m = augment(x_gpu[bi], m_gpu[bi], size, tcfg["augment"], gen)
            x = normalise(x01, mean, std).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits, cam, aux = net(x, with_aux=True)
            logits, cam, aux = logits.float(), cam.float(), aux.float()
            l_dx = F.cross_entropy(aux, dx_gpu[bi], ignore_index=-1)
            y = bcc_gpu[bi]
            l_bcc = F.binary_cross_entropy_with_logits(logits[:, 0], y)
            yp = pat_gpu[bi]
            known = ~torch.isnan(yp)
            lp = F.binary_cross_entropy_with_logits(logits[:, 1:], torch.nan_to_num(yp), pos_weight=pw,
                                                    reduction="none")
            l_pat = (lp * known).sum() / known.sum().clamp(min=1)
            # Attention loss: share of positive BCC evidence that lies outside the lesion mask.
            sel = (y >= 0.5) & hm_gpu[bi]
            if sel.any():
                a = F.relu(cam[sel, 0])
                mm = F.adaptive_avg_pool2d(m[sel], a.shape[-2:])[:, 0]
                l_mask = ((a * (1 - mm)).sum(dim=(1, 2)) / (a.sum(dim=(1, 2)) + 1e-4)).mean()
            else:
                l_mask = torch.zeros((), device=dev)
            loss = (l_bcc + tcfg["patternLossWeight"] * l_pat + tcfg["maskLossWeight"] * l_mask
                    + tcfg["diagnosisLossWeight"] * l_dx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            # Exponential moving average of weights and BN statistics: a steadier final model.
            with torch.no_grad():
                d = min(ema_decay, (1 + step) / (10 + step))
                for (ke, ve), (k2, v2) in zip(ema.state_dict().items(), net.state_dict().items()):
                    if ve.dtype.is_floating_point:
                        ve.lerp_(v2, 1 - d)
                    else:
                        ve.copy_(v2)
            sums += [loss.item(), l_bcc.item(), l_pat.item(), l_mask.item()]
        if ep == 0 or (ep + 1) % 4 == 0 or ep == epochs - 1:
            s = sums / steps_per_epoch
            log(f"    epoch {ep + 1:2d}/{epochs} loss {s[0]:.4f} bcc {s[1]:.4f} pat {s[2]:.4f} mask {s[3]:.4f}")
    return ema.eval()


@torch.no_grad()
def predict(net, x_u8, cfg, dev, bs=256):
    mean, std = cfg["input"]["mean"], cfg["input"]["std"]
    probs, pats, cams = [], [], []
    for i in range(0, len(x_u8), bs):
        x = torch.from_numpy(x_u8[i:i + bs]).to(dev).permute(0, 3, 1, 2).float() / 255
        x = normalise(x, mean, std).contiguous(memory_format=torch.channels_last)
        logits, cam = net(x)
        probs.append(torch.sigmoid(logits[:, 0]).cpu())
        pats.append(torch.sigmoid(logits[:, 1:]).cpu())
        cams.append(cam.float().cpu())
    return torch.cat(probs).numpy(), torch.cat(pats).numpy(), torch.cat(cams).numpy()


# ---------------------------------------------------------------- metrics

def auc(y, s):
    """Mann-Whitney AUC with average ranks for ties."""
    from scipy.stats import rankdata
    y = np.asarray(y)
    s = np.asarray(s)
    npos, nneg = int((y == 1).sum()), int((y == 0).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def auc_ci(y, s, groups, n_boot, seed):
    """AUC with a 95% percentile CI from a bootstrap over lesion groups."""
    y, s, groups = np.asarray(y), np.asarray(s), np.asarray(groups)
    point = auc(y, s)
    ug, inv = np.unique(groups, return_inverse=True)
    members = [np.where(inv == g)[0] for g in range(len(ug))]
    rng = np.random.RandomState(seed)
    vals = []
    for _ in range(n_boot):
        pick = np.concatenate([members[g] for g in rng.randint(0, len(ug), len(ug))])
        v = auc(y[pick], s[pick])
        if not math.isnan(v):
            vals.append(v)
    lo, hi = (np.percentile(vals, [2.5, 97.5]) if vals else (float("nan"), float("nan")))
    return {"value": round(point, 4), "ci95": [round(float(lo), 4), round(float(hi), 4)], "n": int(len(y)),
            "positives": int((y == 1).sum())}


def wilson(k, n):
    if n == 0:
        return {"value": None, "ci95": [None, None], "k": 0, "n": 0}
    z = 1.959963984540054
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return {"value": round(p, 4), "ci95": [round(max(0, c - h), 4), round(min(1, c + h), 4)], "k": int(k), "n": int(n)}


def binary_at(y, s, t):
    pred = s >= t
    tp = int(((y == 1) & pred).sum())
    tn = int(((y == 0) & ~pred).sum())
    return {"sensitivity": wilson(tp, int((y == 1).sum())), "specificity": wilson(tn, int((y == 0).sum())),
            "accuracy": wilson(tp + tn, len(y))}


def choose_thresholds(y, s, cfg):
    cand = np.unique(s)
    sens = np.array([((s >= t) & (y == 1)).sum() / (y == 1).sum() for t in cand])
    spec = np.array([((s < t) & (y == 0)).sum() / (y == 0).sum() for t in cand])
    ok = np.where(sens >= cfg["thresholds"]["triageSensitivity"])[0]
    triage = float(cand[ok[-1]])
    balanced = float(cand[np.argmax(sens + spec - 1)])
    oks = np.where(spec >= cfg["thresholds"]["specificSpecificity"])[0]
    specific = float(cand[oks[0]])
    return {"triage": triage, "balanced": balanced, "specific": specific}


def youden(y, s):
    cand = np.unique(s)
    best, bt = -1, 0.5
    for t in cand:
        j = ((s >= t) & (y == 1)).sum() / (y == 1).sum() + ((s < t) & (y == 0)).sum() / (y == 0).sum() - 1
        if j > best:
            best, bt = j, t
    return float(bt)


def heatmap_localisation(cams, masks):
    """Per image: BCC map bilinearly upsampled, min-max normalised; mean inside vs outside the mask."""
    t = torch.from_numpy(cams[:, :1])
    up = F.interpolate(t, size=masks.shape[-2:], mode="bilinear", align_corners=False)[:, 0].numpy()
    ins, outs = [], []
    for u, m in zip(up, masks):
        lo, hi = u.min(), u.max()
        n = (u - lo) / (hi - lo) if hi > lo else np.zeros_like(u)
        inside = m > 127
        if inside.sum() == 0 or (~inside).sum() == 0:
            continue
        ins.append(float(n[inside].mean()))
        outs.append(float(n[~inside].mean()))
    ins, outs = np.array(ins), np.array(outs)
    return {"n": int(len(ins)), "meanInside": round(float(ins.mean()), 4), "meanOutside": round(float(outs.mean()), 4),
            "ratio": round(float(ins.mean() / outs.mean()), 3),
            "medianPerImageRatio": round(float(np.median(ins / np.maximum(outs, 1e-6))), 3)}


def evaluate_oof(rows, bcc, pat, p_bcc, p_pat, cams, m_eval, has_mask, thresholds, pat_thr, trained, cfg):
    groups = np.array([r["group"] for r in rows])
    sources = np.array([r["source"] for r in rows])
    nb = cfg["bootstrap"]
    out = {"bcc": {}, "patterns": {}, "consistency": {}, "heatmap": {}}
    for name, sel in [("all", np.ones(len(rows), bool))] + [(s, sources == s) for s in sorted(set(sources))]:
        row = {"auc": auc_ci(bcc[sel], p_bcc[sel], groups[sel], nb, 1)}
        for tn, t in thresholds.items():
            row[tn] = binary_at(bcc[sel], p_bcc[sel], t)
        out["bcc"][name] = row
    for j, p in enumerate(cfg["patterns"]):
        if not trained[j]:
            continue
        known = ~np.isnan(pat[:, j])
        out["patterns"][p["id"]] = {"auc": auc_ci(pat[known, j], p_pat[known, j], groups[known], nb, 2 + j),
                                    "threshold": pat_thr[p["id"]],
                                    **binary_at(pat[known, j], p_pat[known, j], pat_thr[p["id"]])}
    pos_idx = [j for j, p in enumerate(cfg["patterns"]) if p["role"] == "positive" and trained[j]]
    neg_idx = [j for j, p in enumerate(cfg["patterns"]) if p["role"] == "negative" and trained[j]]
    t = thresholds["balanced"]
    pred_bcc = p_bcc >= t
    present = np.stack([p_pat[:, j] >= pat_thr[p["id"]] if trained[j] else np.zeros(len(rows), bool)
                        for j, p in enumerate(cfg["patterns"])], 1)
    any_pos = present[:, pos_idx].any(1) if pos_idx else np.zeros(len(rows), bool)
    any_neg = present[:, neg_idx].any(1) if neg_idx else np.zeros(len(rows), bool)
    out["consistency"] = {
        "threshold": "balanced",
        "predictedBccWithPositivePattern": wilson(int((pred_bcc & any_pos).sum()), int(pred_bcc.sum())),
        "predictedNonBccWithPigmentNetwork": wilson(int((~pred_bcc & any_neg).sum()), int((~pred_bcc).sum())),
        "pigmentNetworkPredictedNonBcc": wilson(int((any_neg & ~pred_bcc).sum()), int(any_neg.sum())),
    }
    sel = (bcc == 1) & has_mask
    out["heatmap"]["bccWithMask"] = heatmap_localisation(cams[sel], m_eval[sel])
    return out


# ---------------------------------------------------------------- export

def export_onnx(net, path, size, input_name):
    net = net.float().cpu().eval()
    wrapped = Exported(net).eval()
    dummy = torch.zeros(2, 3, size, size)
    kw = dict(input_names=[input_name], output_names=["bcc", "patterns", "cam"], opset_version=17,
              dynamic_axes={input_name: {0: "N"}, "bcc": {0: "N"}, "patterns": {0: "N"}, "cam": {0: "N"}})
    try:
        torch.onnx.export(wrapped, (dummy,), path, dynamo=False, **kw)
    except TypeError:
        torch.onnx.export(wrapped, (dummy,), path, **kw)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return wrapped


def check_parity(wrapped, path, x_u8, cfg):
    import onnxruntime as ort
    mean, std = cfg["input"]["mean"], cfg["input"]["std"]
    x = torch.from_numpy(x_u8).permute(0, 3, 1, 2).float() / 255
    x = normalise(x, mean, std)
    with torch.no_grad():
        ref = [t.numpy() for t in wrapped(x)]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {cfg["input"]["name"]: x.numpy()})
    diffs = {n: float(np.abs(a - b).max()) for n, a, b in zip(["bcc", "patterns", "cam"], ref, got)}
    diffs["camMaxAbs"] = float(np.abs(ref[2]).max())
    shapes = {o.name: [d if isinstance(d, int) else str(d) for d in o.shape] for o in sess.get_outputs()}
    return diffs, shapes


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- main

def cached_dataset(args, cfg, rows):
    """Decode once per machine; parallel workers memory-map the arrays instead of decoding again."""
    names = ["x_train", "x_eval", "m_train", "m_eval"]
    key = hashlib.sha256(json.dumps([len(rows), rows[0]["image"], rows[-1]["image"], cfg["train"]["storeSize"],
                                     cfg["input"]["size"], bool(args.smoke)]).encode()).hexdigest()[:12]
    d = os.path.join(args.cache, key)
    if not all(os.path.exists(os.path.join(d, n + ".npy")) for n in names):
        os.makedirs(d, exist_ok=True)
        arrays = load_dataset(args.data, rows, cfg["patterns"], cfg["train"]["storeSize"], cfg["input"]["size"])
        for n, arr in zip(names, arrays[:4]):
            np.save(os.path.join(d, n + ".tmp.npy"), arr)
            os.replace(os.path.join(d, n + ".tmp.npy"), os.path.join(d, n + ".npy"))
    return [np.load(os.path.join(d, n + ".npy"), mmap_mode="r") for n in names]


def prepare(args, cfg):
    rows = read_rows(args.data)
    if args.smoke:
        rng = random.Random(0)
        keep = [r for r in rows if r["bcc"] == "1" or r["source"] == "derm7pt"]
        rest = [r for r in rows if not (r["bcc"] == "1" or r["source"] == "derm7pt")]
        rows = rng.sample(keep, 300) + rng.sample(rest, 300)
    patterns = cfg["patterns"]
    x_train, x_eval, m_train, m_eval = cached_dataset(args, cfg, rows)
    bcc = np.array([float(r["bcc"]) for r in rows], np.float32)
    pat = np.array([[float(r[p["id"]]) if r[p["id"]] != "" else np.nan for p in patterns] for r in rows], np.float32)
    has_mask = np.array([bool(r["mask"]) for r in rows])
    bcc_target, pat_target = bcc, pat
    bcc = (bcc >= 0.5).astype(np.float32)
    pat = np.where(np.isnan(pat), np.nan, (pat >= 0.5)).astype(np.float32)
    trained = [bool((pat[:, j] == 1).any()) for j in range(len(patterns))]
    data = dict(x_train=x_train, x_eval=x_eval, m_train=m_train, m_eval=m_eval, bcc=bcc, pat=pat, has_mask=has_mask,
                bcc_target=bcc_target, pat_target=pat_target,
                is_derm=np.array([r["source"] == "derm7pt" for r in rows]), trained=trained,
                dx=diagnosis_index(rows, cfg["diagnosisGroups"]))
    fold_of = grouped_folds(rows, cfg["train"]["folds"], cfg["seed"])
    groups = np.array([r["group"] for r in rows])
    for f in range(cfg["train"]["folds"]):
        assert not (set(groups[fold_of == f]) & set(groups[fold_of != f])), "a lesion crosses folds"
    return rows, data, fold_of


def run_worker(args, cfg, job, dev):
    """One fit: a cross-validation fold (its out-of-fold predictions) or the final model (its weights)."""
    rows, data, fold_of = prepare(args, cfg)
    epochs = 1 if args.smoke else cfg["train"]["epochs"]
    bcc = data["bcc"]
    t0 = time.time()
    if job == "final":
        log(f"final model on all {len(rows)} development images")
        net = train_one(np.arange(len(rows)), data, cfg, args.weights, cfg["seed"] + 100, dev, epochs)
        torch.save(net.state_dict(), os.path.join(args.work, "final.pt"))
    else:
        f = int(job)
        tr, te = np.where(fold_of != f)[0], np.where(fold_of == f)[0]
        log(f"fold {f + 1}/{cfg['train']['folds']}: train {len(tr)} (BCC {int(bcc[tr].sum())}) test {len(te)} (BCC {int(bcc[te].sum())})")
        net = train_one(tr, data, cfg, args.weights, cfg["seed"] + f, dev, epochs)
        pb, pp, cm = predict(net, np.asarray(data["x_eval"][te]), cfg, dev)
        np.savez(os.path.join(args.work, f"fold{f}.npz"), te=te, pb=pb, pp=pp, cm=cm)
        log(f"  fold {f + 1} AUC {auc(bcc[te], pb):.4f}")
    log(f"  {job} done in {time.time() - t0:.0f}s")


def spawn_jobs(args, jobs):
    """Runs the fits as parallel processes: one small network leaves most of a big GPU idle."""
    procs = []
    logs = os.path.join(args.cache, "logs")
    os.makedirs(logs, exist_ok=True)
    for job in jobs:
        cmd = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--weights", args.weights, "--out", args.out,
               "--config", args.config, "--work", args.work, "--cache", args.cache, "--worker", job] + (["--smoke"] if args.smoke else [])
        logf = open(os.path.join(logs, f"worker-{job}.log"), "w")
        procs.append((job, subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT), logf))
    failed = []
    for job, p, logf in procs:
        if p.wait() != 0:
            failed.append(job)
        logf.close()
    for job, _, _ in procs:
        with open(os.path.join(logs, f"worker-{job}.log")) as f:
            log(f"---- worker {job}\n" + f.read().rstrip())
    if failed:
        raise SystemExit(f"workers failed: {failed}")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"))
    ap.add_argument("--smoke", action="store_true", help="tiny subset, 1 epoch: checks every stage runs")
    ap.add_argument("--work", help="folder for per-fit results (default <out>/.work)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bcc-train-cache"), help="decoded-image cache")
    ap.add_argument("--jobs", default="all", help="fits to run: 'all' (5 folds + final), 'none' (aggregate fits already in --work), or a list like 0,1,final")
    ap.add_argument("--no-aggregate", action="store_true", help="only run the fits (split a run over several sessions)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    os.makedirs(args.out, exist_ok=True)
    args.work = args.work or os.path.join(args.out, ".work")
    os.makedirs(args.work, exist_ok=True)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if args.worker:
        run_worker(args, cfg, args.worker, dev)
        return
    LOG = open(os.path.join(args.out, "train.log"), "a")
    t0 = time.time()
    log(f"torch {torch.__version__} torchvision {torchvision.__version__} device {dev}"
        f" {torch.cuda.get_device_name(0) if dev.type == 'cuda' else ''}")
    rows, data, fold_of = prepare(args, cfg)
    patterns = cfg["patterns"]
    size = cfg["input"]["size"]
    bcc, pat, has_mask, trained = data["bcc"], data["pat"], data["has_mask"], data["trained"]
    m_eval = data["m_eval"]
    epochs = 1 if args.smoke else cfg["train"]["epochs"]
    log(f"{len(rows)} images ready in {time.time() - t0:.1f}s; BCC {int(bcc.sum())};"
        f" trained patterns {[p['id'] for p, t in zip(patterns, trained) if t]};"
        f" diagnosis groups {np.bincount(data['dx'][data['dx'] >= 0], minlength=len(cfg['diagnosisGroups'])).tolist()}"
        f" (unmapped {int((data['dx'] < 0).sum())})")
    k = cfg["train"]["folds"]
    jobs = ([str(f) for f in range(k)] + ["final"] if args.jobs == "all"
            else [] if args.jobs in ("none", "skip") else args.jobs.split(","))
    spawn_jobs(args, jobs)
    log(f"fits done in {time.time() - t0:.0f}s")
    if args.no_aggregate:
        return
    missing = [j for j in [f"fold{f}.npz" for f in range(k)] + ["final.pt"] if not os.path.exists(os.path.join(args.work, j))]
    if missing:
        raise SystemExit(f"cannot aggregate: {missing} missing in {args.work}")

    p_bcc = np.zeros(len(rows), np.float32)
    p_pat = np.zeros((len(rows), len(patterns)), np.float32)
    cams = None
    for f in range(k):
        z = np.load(os.path.join(args.work, f"fold{f}.npz"))
        if cams is None:
            cams = np.zeros((len(rows),) + z["cm"].shape[1:], np.float32)
        p_bcc[z["te"]], p_pat[z["te"]], cams[z["te"]] = z["pb"], z["pp"], z["cm"]
        log(f"fold {f + 1} AUC {auc(bcc[z['te']], z['pb']):.4f}")

    thresholds = choose_thresholds(bcc, p_bcc, cfg)
    pat_thr = {}
    for j, p in enumerate(patterns):
        known = ~np.isnan(pat[:, j])
        pat_thr[p["id"]] = youden(pat[known, j], p_pat[known, j]) if trained[j] else None
    metrics = evaluate_oof(rows, bcc, pat, p_bcc, p_pat, cams, np.asarray(m_eval), has_mask, thresholds, pat_thr, trained, cfg)
    log(json.dumps({"thresholds": thresholds, "patternThresholds": pat_thr}))
    log(json.dumps(metrics, indent=1))

    with open(os.path.join(args.out, "oof.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "group", "source", "fold", "bcc", "p_bcc"] + [f"p_{p['id']}" for p in patterns])
        for i, r in enumerate(rows):
            w.writerow([r["image"], r["group"], r["source"], int(fold_of[i]), int(bcc[i]), f"{p_bcc[i]:.6f}"] +
                       [f"{v:.6f}" for v in p_pat[i]])

    net = MultiTaskCAM(1 + len(patterns), cfg["train"]["featureDropout"], len(cfg["diagnosisGroups"]))
    net.load_state_dict(torch.load(os.path.join(args.work, "final.pt"), map_location="cpu"))
    net.eval()
    x_eval = data["x_eval"]
    name = cfg["modelName"]
    onnx_path = os.path.join(args.out, f"{name}.onnx")
    wrapped = export_onnx(net, onnx_path, size, cfg["input"]["name"])
    # Parity is about arithmetic (PyTorch vs ONNX Runtime), checked on real development images.
    pick = np.concatenate([np.where(fold_of == f)[0][:13] for f in range(k)])
    diffs, shapes = check_parity(wrapped, onnx_path, np.asarray(x_eval[pick]), cfg)
    log(f"ONNX parity on {len(pick)} real images: max abs diff {diffs}; outputs {shapes}")
    parity_ok = max(diffs["bcc"], diffs["patterns"], diffs["cam"]) <= 1e-4
    if not parity_ok:
        log(f"WARNING: ONNX parity above 1e-4: {diffs}")

    cam_hw = list(cams.shape[-2:])
    tcfg_ema = cfg["train"]["emaDecay"]
    manifest = {
        "name": name,
        "version": cfg["version"],
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "file": f"{name}.onnx",
        "sha256": sha256(onnx_path),
        "opset": 17,
        "input": {"name": cfg["input"]["name"], "layout": "NCHW", "type": "float32", "size": size,
                  "resize": cfg["input"]["resize"], "mean": cfg["input"]["mean"], "std": cfg["input"]["std"]},
        "outputs": {"bcc": {"name": "bcc", "shape": ["N"]},
                    "patterns": {"name": "patterns", "shape": ["N", len(patterns)]},
                    "cam": {"name": "cam", "shape": ["N", 1 + len(patterns)] + cam_hw,
                            "channels": ["bcc"] + [p["id"] for p in patterns]}},
        "patterns": [{"id": p["id"], "display": p["display"], "role": p["role"], "trained": trained[j],
                      "threshold": None if pat_thr[p["id"]] is None else round(pat_thr[p["id"]], 6)}
                     for j, p in enumerate(patterns)],
        "thresholds": {k2: round(v, 6) for k2, v in thresholds.items()},
        "modelCard": {
            "intendedUse": "Research use, decision support for triage of dermoscopic images of skin lesions referred to "
                           "dermatology; not for diagnosis, not for clinical decisions, non-commercial.",
            "licence": "research use, not for clinical decisions, non-commercial (inherits the terms of HAM10000, CC BY-NC 4.0, and derm7pt, academic research use only)",
            "architecture": "MobileNetV2 1.0 backbone (ImageNet start from google-coral test_data, Apache-2.0), "
                            f"1x1-conv class-activation head, {1 + len(patterns)} maps of {cam_hw[0]}x{cam_hw[1]}; logit = spatial mean",
            "trainingData": [
                {"name": "HAM10000", "images": int((data['is_derm'] == 0).sum()), "bcc": int(bcc[~data['is_derm']].sum()),
                 "licence": "CC BY-NC 4.0", "citation": "Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018); lesion masks: Tschandl et al., HAM10000 segmentations"},
                {"name": "derm7pt", "images": int(data['is_derm'].sum()), "bcc": int(bcc[data['is_derm']].sum()),
                 "licence": "academic research use only, no redistribution",
                 "citation": "Kawahara J. et al., IEEE JBHI 23(2), 2019"},
            ],
            "training": {"folds": k, "grouping": "lesion (labels.csv group)", "epochs": epochs, "seed": cfg["seed"],
                         "losses": "BCE (BCC), masked BCE (annotated patterns only), share of positive BCC map outside the lesion mask (BCC images with masks), auxiliary diagnosis-group cross-entropy (training only, not exported)",
                         "ema": tcfg_ema,
                         "sampling": cfg["train"]["sampling"], "torch": torch.__version__,
                         "config": "training/config.json", "smoke": bool(args.smoke)},
            "thresholdSelection": {"triage": f"highest threshold with out-of-fold sensitivity >= {cfg['thresholds']['triageSensitivity']}",
                                   "balanced": "Youden's J on out-of-fold predictions",
                                   "specific": f"lowest threshold with out-of-fold specificity >= {cfg['thresholds']['specificSpecificity']}",
                                   "patterns": "Youden's J on annotated out-of-fold rows"},
            "metrics": {"kind": "out-of-fold, 5-fold lesion-grouped cross-validation on the development set; 95% CI: "
                                "AUC by bootstrap over lesions, proportions by Wilson",
                        **metrics},
            "onnxParity": {"images": int(len(pick)), "maxAbsDiff": diffs, "within1e-4": parity_ok},
            "limits": [
                "Only pigment network and arborizing telangiectasia were annotated in the training data; ulceration, "
                "blue-gray ovoid nests, multiple blue-gray globules, leaf-like areas and spoke-wheel areas are NOT assessed "
                "by this model (their outputs are untrained and must be ignored).",
                "Pattern heads learned from 616 derm7pt images only (arborizing telangiectasia: 18 positives); pattern outputs are weak evidence.",
                "Trained on dermoscopic images from HAM10000 (Vienna, Queensland) and derm7pt; other dermatoscopes, "
                "skin types and clinical (non-dermoscopic) photographs are outside its experience.",
                "Thresholds were chosen on out-of-fold predictions and applied to the final model trained on all images.",
                "Heatmaps show where the BCC evidence lies at 32-pixel granularity; they are not a segmentation.",
            ],
        },
    }
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log(f"done in {time.time() - t0:.0f}s -> {onnx_path}")


if __name__ == "__main__":
    main()
