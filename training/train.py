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


def read_clinical(data_dir):
    """clinical.csv: close-up (non-dermoscopic) photos of the derm7pt lesions; negatives of the modality gate."""
    p = os.path.join(data_dir, "clinical.csv")
    if not os.path.exists(p):
        return []
    with open(p, newline="") as f:
        return list(csv.DictReader(f))


def load_eval_images(data_dir, rows, size_eval):
    """Decode only the evaluation-size copy (clinical photos are never trained on by the backbone)."""
    def one(r):
        im = Image.open(os.path.join(data_dir, r["image"])).convert("RGB")
        return np.asarray(im.resize((size_eval, size_eval), Image.BILINEAR), dtype=np.uint8)
    if not rows:
        return np.zeros((0, size_eval, size_eval, 3), np.uint8)
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        return np.stack(list(ex.map(one, rows)))


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

    def __init__(self, n_out=8, dropout=0.2, n_diagnoses=0, coupling=None):
        super().__init__()
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        self.head = nn.Conv2d(1280, n_out, 1)
        # Training-only auxiliary task (which diagnosis): not exported, it only shapes the features.
        self.aux = nn.Linear(1280, n_diagnoses) if n_diagnoses else None
        self.dropout = dropout
        # Learned coupling: map j += alpha_j * BCC map (config train.coupling; alpha_j starts at the configured
        # value). A pattern with a handful of positives borrows the BCC evidence its labels say it shares.
        # Still one linear 1x1 head, so fold_coupling() merges it into the head weights before export.
        init = torch.zeros(n_out) if coupling is None else torch.as_tensor(coupling, dtype=torch.float32)
        self.register_buffer("coupling_mask", (init != 0).float())
        self.coupling = nn.Parameter(init.clone())

    def coupled(self, cam):
        a = self.coupling * self.coupling_mask
        return cam + a[None, :, None, None] * cam[:, :1]

    @torch.no_grad()
    def fold_coupling(self):
        """Merge alpha into the head (W_j += alpha_j W_0, b_j += alpha_j b_0); returns the alphas merged."""
        a = (self.coupling * self.coupling_mask).detach().clone()
        w0, b0 = self.head.weight[0:1].clone(), self.head.bias[0].clone()
        self.head.weight += a[:, None, None, None] * w0
        self.head.bias += a * b0
        self.coupling.zero_()
        self.coupling_mask.zero_()
        return a.cpu().numpy()

    def forward(self, x, with_aux=False):
        f = self.features(x)
        if self.training and self.dropout > 0:
            f = F.dropout(f, self.dropout)
        cam = self.coupled(self.head(f))
        if with_aux:
            return cam.mean(dim=(2, 3)), cam, self.aux(f.mean(dim=(2, 3)))
        return cam.mean(dim=(2, 3)), cam


FLIPS = ["none", "h", "v", "hv"]  # h = mirror left-right (width axis), v = up-down (height axis)


def flip_dims(flip):
    return {"none": [], "h": [3], "v": [2], "hv": [2, 3]}[flip]


def tap_stats(h):
    """Mean and standard deviation over space of each channel of an intermediate map: [N, 2C]."""
    mu = h.mean(dim=(2, 3))
    d = h - mu[:, :, None, None]
    return torch.cat([mu, torch.sqrt((d * d).mean(dim=(2, 3)) + 1e-6)], 1)


class StandardisedHead(nn.Module):
    """A binary head on features: body((x - mean) / std)[:, 0] is the logit (modality gate, texture heads)."""

    def __init__(self, mean, std, body):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.body = body

    def forward(self, pooled):
        return self.body((pooled - self.mean) / self.std)[:, 0]


class Exported(nn.Module):
    """The serving graph: test-time flips averaged in-graph (logits and flipped-back maps), BCC and
    pattern probabilities, raw maps, the modality gate's probability and the OOD distance.

    The flipped copies are concatenated along the batch axis, run through the network once, reshaped to
    [flips, N, ...] (constant -1 for N: dynamic batch), flipped back and averaged. The 1x1 head is
    linear, so head(mean of feature maps) == mean of the per-flip maps, and logit = spatial mean still holds.
    """

    def __init__(self, net, flips=("none",), modality=None, ood=None, size=224, feat_hw=(7, 7), taps=(), texture=None,
                 modality_taps=True):
        super().__init__()
        self.modality_taps = bool(modality_taps)
        self.net = net
        self.flips = list(flips)
        self.modality = modality
        self.taps = [int(t) for t in taps]  # earlier blocks whose mean/std-pooled maps also feed the modality head
        # Texture heads (config textureHeads): these pattern maps are a 1x1 conv over the last feature map plus
        # each tapped block's map and squared map, average-pooled to the CAM grid; spatial mean = the head's logit.
        self.texture_channels = [] if texture is None else [int(c) for c in texture["channels"]]
        self.texture_taps = bool(texture and texture.get("useTaps"))
        if texture is not None:
            self.register_buffer("tex_w", torch.as_tensor(texture["weight"], dtype=torch.float32))
            self.register_buffer("tex_b", torch.as_tensor(texture["bias"], dtype=torch.float32))
            with torch.no_grad():  # pooling kernel per tapped block: its map side / the CAM grid side
                h, self.tap_kernels = torch.zeros(1, 3, size, size), {}
                for bi, m in enumerate(net.features):
                    h = m(h)
                    if bi in self.taps:
                        kh, kw = h.shape[2] // feat_hw[0], h.shape[3] // feat_hw[1]
                        assert kh * feat_hw[0] == h.shape[2] and kw * feat_hw[1] == h.shape[3], "tap map not a multiple of the CAM grid"
                        self.tap_kernels[bi] = (kh, kw)
        self.register_buffer("rev_h_in", torch.arange(size - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_w_in", torch.arange(size - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_h_f", torch.arange(feat_hw[0] - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_w_f", torch.arange(feat_hw[1] - 1, -1, -1, dtype=torch.int64))
        self.feat_hw = tuple(int(v) for v in feat_hw)
        if ood is not None:
            self.register_buffer("ood_mu", torch.as_tensor(ood["mu"], dtype=torch.float32))
            self.register_buffer("ood_w", torch.as_tensor(ood["w"], dtype=torch.float32))
        self.has_ood = ood is not None

    def _flip(self, x, flip, rev_h, rev_w):
        # index_select (ONNX Gather with constant indices) instead of torch.flip: exports on every opset.
        if flip in ("v", "hv"):
            x = x.index_select(2, rev_h)
        if flip in ("h", "hv"):
            x = x.index_select(3, rev_w)
        return x

    def averaged_features(self, image):
        """(feature maps averaged over the flips, flipped back; tap statistics averaged over the flips or None;
        the texture maps [last features, pooled tap maps, pooled squared tap maps] likewise, or None)."""
        nf = len(self.flips)
        plain = nf == 1 and self.flips[0] == "none"
        h = image if plain else torch.cat([self._flip(image, fl, self.rev_h_in, self.rev_w_in) for fl in self.flips], 0)
        tapped, pooled_maps, pooled_sq = [], [], []
        for bi, m in enumerate(self.net.features):
            h = m(h)
            if bi in self.taps:
                tapped.append(tap_stats(h))
                if self.texture_taps:
                    kh, kw = self.tap_kernels[bi]
                    pooled_maps.append(F.avg_pool2d(h, (kh, kw)) if (kh, kw) != (1, 1) else h)
                    pooled_sq.append(F.avg_pool2d(h * h, (kh, kw)) if (kh, kw) != (1, 1) else h * h)
        t = torch.cat(tapped, 1) if tapped and self.modality_taps else None
        x = torch.cat([h] + pooled_maps + pooled_sq, 1) if self.texture_taps else h
        if not plain:
            if t is not None:
                t = t.reshape(nf, -1, t.shape[1]).mean(dim=0)
            xs = x.reshape(nf, -1, x.shape[1], self.feat_hw[0], self.feat_hw[1])
            acc = None
            for i, fl in enumerate(self.flips):
                fi = self._flip(xs[i], fl, self.rev_h_f, self.rev_w_f)
                acc = fi if acc is None else acc + fi
            x = acc / nf
        c = self.net.head.in_channels
        return (x[:, :c] if self.texture_taps else x), t, (x if self.texture_channels else None)

    def forward(self, image):
        f, t, tex = self.averaged_features(image)
        cam = self.net.head(f)
        if tex is not None:
            tmaps = F.conv2d(tex, self.tex_w[:, :, None, None], self.tex_b)
            chans = [tmaps[:, self.texture_channels.index(ci):self.texture_channels.index(ci) + 1]
                     if ci in self.texture_channels else cam[:, ci:ci + 1] for ci in range(cam.shape[1])]
            cam = torch.cat(chans, 1)
        logits = cam.mean(dim=(2, 3))
        outs = [torch.sigmoid(logits[:, 0]), torch.sigmoid(logits[:, 1:]), cam]
        pooled = f.mean(dim=(2, 3))
        if self.modality is not None:
            outs.append(torch.sigmoid(self.modality(pooled if t is None else torch.cat([pooled, t], 1))))
        if self.has_ood:
            y = (pooled - self.ood_mu) @ self.ood_w
            outs.append(torch.sqrt((y * y).sum(dim=1)))
        return tuple(outs)


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
    net = MultiTaskCAM(1 + len(cfg["patterns"]), tcfg["featureDropout"], n_dx, coupling_init(cfg))
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

    head_params = list(net.head.parameters()) + [net.coupling]
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
    es, ns = ema.state_dict(), net.state_dict()
    ema_f = [es[k] for k in es if es[k].dtype.is_floating_point]
    net_f = [ns[k] for k in es if es[k].dtype.is_floating_point]
    ema_i = [es[k] for k in es if not es[k].dtype.is_floating_point]
    net_i = [ns[k] for k in es if not es[k].dtype.is_floating_point]
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
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
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
                if hasattr(torch, "_foreach_lerp_"):
                    torch._foreach_lerp_(ema_f, net_f, 1 - d)  # one fused launch instead of ~300
                else:
                    for ve, v2 in zip(ema_f, net_f):
                        ve.lerp_(v2, 1 - d)
                for ve, v2 in zip(ema_i, net_i):
                    ve.copy_(v2)
            sums += [loss.item(), l_bcc.item(), l_pat.item(), l_mask.item()]
        if ep == 0 or (ep + 1) % 4 == 0 or ep == epochs - 1:
            s = sums / steps_per_epoch
            log(f"    epoch {ep + 1:2d}/{epochs} loss {s[0]:.4f} bcc {s[1]:.4f} pat {s[2]:.4f} mask {s[3]:.4f}")
    ema = ema.eval()
    # From here on the coupling lives inside the head: predict_tta, the saved weights and the export see one conv.
    ema.coupling_learned = ema.fold_coupling()
    if ema.coupling_learned.any():
        log("    coupling to the BCC map (learned): " + ", ".join(
            f"{cfg['patterns'][j - 1]['id']} {ema.coupling_learned[j]:.4f}" for j in np.nonzero(ema.coupling_learned)[0]))
    return ema


def coupling_init(cfg):
    """train.coupling {pattern id: initial alpha} -> per-output vector (0 = not coupled; BCC is output 0)."""
    c = cfg["train"].get("coupling") or {}
    unknown = set(c) - {p["id"] for p in cfg["patterns"]}
    if unknown:
        raise SystemExit(f"train.coupling names unknown patterns: {sorted(unknown)}")
    return [0.0] + [float(c.get(p["id"], 0.0)) for p in cfg["patterns"]]


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


@torch.no_grad()
def predict_tta(net, x_u8, cfg, dev, bs=256, cam_rows=None, taps=()):
    """Every flip of FLIPS: logits [4,N,8], pooled features [4,N,1280] and, for cam_rows, the maps
    flipped back to the original orientation [4,len(cam_rows),8,h,w]. Averages are taken later."""
    mean, std = cfg["input"]["mean"], cfg["input"]["std"]
    n = len(x_u8)
    if n == 0:
        return (np.zeros((len(FLIPS), 0, net.head.out_channels), np.float32),
                np.zeros((len(FLIPS), 0, net.head.in_channels), np.float32), None, None)
    want = np.zeros(n, bool)
    if cam_rows is not None:
        want[cam_rows] = True
    # Full fp32 (no TF32) so the features the gate heads are fit on match the exported graph's arithmetic.
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    logits, feats, cams, tapf = [[] for _ in FLIPS], [[] for _ in FLIPS], [[] for _ in FLIPS], [[] for _ in FLIPS]
    for i in range(0, n, bs):
        x = torch.from_numpy(np.asarray(x_u8[i:i + bs])).to(dev).permute(0, 3, 1, 2).float() / 255
        x = normalise(x, mean, std)
        w = torch.from_numpy(want[i:i + bs]).to(dev)
        for j, fl in enumerate(FLIPS):
            d = flip_dims(fl)
            xf = torch.flip(x, d) if d else x
            h = xf.contiguous(memory_format=torch.channels_last)
            tapped = []
            for bi, m in enumerate(net.features):
                h = m(h)
                if bi in taps:
                    tapped.append(tap_stats(h.float()))
            if tapped:
                tapf[j].append(torch.cat(tapped, 1).cpu())
            f = h.float()
            cam = net.head(f).float()
            logits[j].append(cam.mean(dim=(2, 3)).cpu())
            feats[j].append(f.mean(dim=(2, 3)).cpu())
            if bool(w.any()):
                c = cam[w]
                cams[j].append((torch.flip(c, d) if d else c).cpu())
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    L = np.stack([torch.cat(v).numpy() for v in logits])
    Fe = np.stack([torch.cat(v).numpy() for v in feats])
    C = np.stack([torch.cat(v).numpy() for v in cams]) if cam_rows is not None and len(cam_rows) else None
    T = np.stack([torch.cat(v).numpy() for v in tapf]) if taps else None
    return L, Fe, C, T


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
    """AUC with a 95% percentile CI from a bootstrap over lesion groups.

    Each resample is a multiset of groups; its AUC (ties count one half, as with average ranks) is
    computed from per-score-level weighted counts, so one resample costs a few bincounts, not a sort."""
    y, s, groups = np.asarray(y), np.asarray(s), np.asarray(groups)
    point = auc(y, s)
    ug, inv = np.unique(groups, return_inverse=True)
    inv = inv.reshape(-1)
    _, lvl = np.unique(s, return_inverse=True)
    lvl = lvl.reshape(-1)
    nl = int(lvl.max()) + 1 if len(lvl) else 0
    yp = (y == 1).astype(np.float64)
    yn = (y == 0).astype(np.float64)
    rng = np.random.RandomState(seed)
    vals = []
    for _ in range(n_boot):
        cnt = np.bincount(rng.randint(0, len(ug), len(ug)), minlength=len(ug)).astype(np.float64)
        w = cnt[inv]
        P = np.bincount(lvl, w * yp, minlength=nl)
        N = np.bincount(lvl, w * yn, minlength=nl)
        tp, tn = P.sum(), N.sum()
        if tp == 0 or tn == 0:
            continue
        below = np.cumsum(N) - N
        vals.append(float((P * (below + 0.5 * N)).sum() / (tp * tn)))
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
    okr = np.where(sens >= cfg["thresholds"].get("reviewSensitivity", 0.99))[0]
    review = float(cand[okr[-1]])
    return {"triage": triage, "balanced": balanced, "specific": specific, "review": review}


def youden(y, s):
    cand = np.unique(s)
    best, bt = -1, 0.5
    for t in cand:
        j = ((s >= t) & (y == 1)).sum() / (y == 1).sum() + ((s < t) & (y == 0)).sum() / (y == 0).sum() - 1
        if j > best:
            best, bt = j, t
    return float(bt)


# ---------------------------------------------------------------- calibration

def logit_np(p):
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def sigmoid_np(z):
    return 1 / (1 + np.exp(-np.asarray(z, np.float64)))


def platt_fit(z, y, iters=100):
    """Logistic regression of y on one logit: Newton's method (tiny ridge for stability)."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    X = np.stack([z, np.ones_like(z)], 1)
    w = np.array([1.0, 0.0])
    for _ in range(iters):
        p = sigmoid_np(X @ w)
        g = X.T @ (p - y) + 1e-6 * w
        H = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(H, g)
        w = w - step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def isotonic_fit(p, y):
    """Pool-adjacent-violators on (raw probability, label); returns breakpoints (block mean x, block value)
    for piecewise-linear interpolation, x strictly increasing, y non-decreasing."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    ux, inv = np.unique(p, return_inverse=True)
    inv = inv.reshape(-1)
    wts = np.bincount(inv).astype(np.float64)
    ys = np.bincount(inv, y) / wts
    blocks = []  # [sum_w, sum_wy, sum_wx]
    for xv, yv, wv in zip(ux, ys, wts):
        blocks.append([wv, wv * yv, wv * xv])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] >= blocks[-1][1] / blocks[-1][0]:
            b = blocks.pop()
            blocks[-1] = [blocks[-1][0] + b[0], blocks[-1][1] + b[1], blocks[-1][2] + b[2]]
    xs = np.array([b[2] / b[0] for b in blocks])
    vs = np.array([b[1] / b[0] for b in blocks])
    return xs, vs


def isotonic_apply(points, p):
    xs, vs = points
    if len(xs) == 1:
        return np.full(len(p), vs[0])
    return np.interp(np.asarray(p, np.float64), xs, vs)


def ece_bins(p, y, bins):
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    idx = np.clip(np.floor(p * bins).astype(int), 0, bins - 1)
    rel, e = [], 0.0
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        if n == 0:
            continue
        mp, ob = float(p[sel].mean()), float(y[sel].mean())
        e += n / len(p) * abs(mp - ob)
        rel.append({"lo": round(b / bins, 4), "hi": round((b + 1) / bins, 4), "n": n,
                    "meanPredicted": round(mp, 4), "observed": round(ob, 4)})
    return round(float(e), 4), rel


def cross_fit(fit, apply, x, y, fold_of):
    """Fit on the other folds' out-of-fold values, apply to this fold, pool. Returns (values, fit per fold)."""
    out = np.zeros(len(x), np.float64)
    fits = {}
    for f in np.unique(fold_of):
        tr, te = fold_of != f, fold_of == f
        fits[int(f)] = fit(x[tr], y[tr])
        out[te] = apply(fits[int(f)], x[te])
    return out, fits


# ---------------------------------------------------------------- gate heads on pooled features

def standardiser(X):
    X = np.asarray(X, np.float64)
    return X.mean(0), np.sqrt(X.var(0) + 1e-4)


def fit_balanced_head(X, y, gcfg, dev, kind, seed):
    """Class-balanced, L2-penalised binary head on standardised features: the modality gate (y 1 = dermoscopic,
    0 = clinical) and the texture heads (y = pattern present)."""
    mean, std = standardiser(X)
    Xs = torch.as_tensor((np.asarray(X, np.float64) - mean) / std, dtype=torch.float64, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float64, device=dev)
    npos, nneg = float((y == 1).sum()), float((y == 0).sum())
    sw = torch.full_like(yt, 0.5 / max(nneg, 1))
    sw[yt == 1] = 0.5 / max(npos, 1)
    d = Xs.shape[1]
    l2 = gcfg["l2"]
    torch.manual_seed(seed)
    if kind == "logistic":
        lin = nn.Linear(d, 1).double().to(dev)
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
        opt = torch.optim.LBFGS(lin.parameters(), lr=1, max_iter=500, history_size=20, tolerance_grad=1e-9,
                                tolerance_change=1e-12, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            z = lin(Xs)[:, 0]
            loss = (sw * F.binary_cross_entropy_with_logits(z, yt, reduction="none")).sum() + 0.5 * l2 * (lin.weight ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        body = nn.Sequential(lin)
    else:
        h = gcfg["mlpHidden"]
        body = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 1)).double().to(dev)
        opt = torch.optim.Adam(body.parameters(), lr=gcfg["mlpLr"])
        for _ in range(gcfg["mlpSteps"]):
            opt.zero_grad()
            z = body(Xs)[:, 0]
            reg = sum((m.weight ** 2).sum() for m in body if isinstance(m, nn.Linear))
            loss = (sw * F.binary_cross_entropy_with_logits(z, yt, reduction="none")).sum() + 0.5 * l2 * reg
            loss.backward()
            opt.step()
    body = body.float().cpu().eval()
    return StandardisedHead(mean, std, body).eval()


@torch.no_grad()
def head_prob(head, X):
    return torch.sigmoid(head(torch.as_tensor(np.asarray(X), dtype=torch.float32))).numpy().astype(np.float64)


def tap_channels(taps):
    """Channels of each tapped MobileNetV2 block, in tap order."""
    feats = torchvision.models.mobilenet_v2(weights=None).features.eval()
    out, h = [], torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        for bi, m in enumerate(feats):
            h = m(h)
            if bi in taps:
                out.append(int(h.shape[1]))
    return out


def texture_features(fd, td, flips_idx, chans, use_taps):
    """[pooled last-block features, then per tapped block its channel means, then per tapped block its raw
    second moments E[h^2]] averaged over the given flips: the spatial means of the maps the exported graph
    builds (Exported.averaged_features). td holds [mean, std] per block (tap_stats): E[h^2] = std^2 - 1e-6 + mean^2."""
    fd = fd[flips_idx].astype(np.float64)
    if not use_taps:
        return fd.mean(0)
    td = td[flips_idx].astype(np.float64)
    mus, sqs, o = [], [], 0
    for c in chans:
        mu, sd = td[:, :, o:o + c], td[:, :, o + c:o + 2 * c]
        mus.append(mu)
        sqs.append(sd * sd - 1e-6 + mu * mu)
        o += 2 * c
    assert o == td.shape[2], (o, td.shape)
    return np.concatenate([fd] + mus + sqs, 2).mean(0)


def texture_scores_oof(X, y, known, fold_of, k, l2, dev, seed, X_other=None, fold_other=None):
    """Out-of-fold texture-head scores: per fold f, a class-balanced L2 logistic regression on the fold
    model's features X[f] of the training folds' annotated rows, applied to the held-out fold (and to
    the rows of X_other[f] whose fold_other is f). Returns (scores of all rows, scores of the other rows)."""
    sc = np.zeros(len(y))
    so = None if X_other is None else np.zeros(len(fold_other))
    for f in range(k):
        tr = known & (fold_of != f)
        head = fit_balanced_head(X[f][tr], y[tr], {"l2": l2}, dev, "logistic", seed + f)
        sc[fold_of == f] = head_prob(head, X[f][fold_of == f])
        if so is not None and (fold_other == f).any():
            so[fold_other == f] = head_prob(head, X_other[f][fold_other == f])
    return sc, so


def texture_head_oof(args, cfg, k, fold_of, pat, trained, dev):
    """Experiment (cv-only): pattern heads fit on frozen multi-scale texture features of each fold model
    (class-balanced L2 logistic regression on the training folds' annotated rows), scored on the held-out
    fold. Training rows' features come from a model that was trained on them (in-sample), as for any
    stacked head; the held-out scores are honest."""
    taps = cfg["gate"]["modality"].get("taps", [])
    if not taps:
        return {}
    chans = tap_channels(taps)
    fidx = {fl: i for i, fl in enumerate(FLIPS)}
    out = {}
    for vname, flips in cfg["tta"]["variants"].items():
        ii = [fidx[fl] for fl in flips]
        X = None
        for f in range(k):
            z = np.load(os.path.join(args.work, f"fold{f}.npz"))
            Xf = texture_features(z["fd"], z["td"], ii, chans, True)
            X = np.zeros((k,) + Xf.shape) if X is None else X
            X[f] = Xf
        for j, p in enumerate(cfg["patterns"]):
            if not trained[j]:
                continue
            known = ~np.isnan(pat[:, j])
            for l2 in cfg.get("textureHeads", {}).get("compareL2", [1.0, 10.0, 100.0]):
                for cols, cname in ((slice(0, 1280), "pooled"), (slice(0, None), "pooled+taps")):
                    sc, _ = texture_scores_oof(X[:, :, cols], pat[:, j], known, fold_of, k, l2, dev, cfg["seed"])
                    a = auc(pat[known, j], sc[known])
                    out.setdefault(p["id"], []).append({"tta": vname, "features": cname, "l2": l2, "auc": round(a, 4)})
                    log(f"texture head {p['id']} {vname} {cname} l2 {l2}: out-of-fold AUC {a:.4f}")
    return out


def fit_ood(X, k, shrink):
    """Mean and top-k principal axes of dermoscopic pooled features; eigenvalues shrunk toward their mean
    (lambda' = (1 - a) lambda + a mean(lambda)). Returns mu [d] and w = V / sqrt(lambda') [d,k]."""
    X = np.asarray(X, np.float64)
    mu = X.mean(0)
    C = np.cov((X - mu).T)
    lam, V = np.linalg.eigh(C)
    order = np.argsort(lam)[::-1][:k]
    lam, V = np.maximum(lam[order], 0), V[:, order]
    lam_s = (1 - shrink) * lam + shrink * lam.mean()
    return {"mu": mu, "w": V / np.sqrt(lam_s), "eigenvalues": lam, "shrunk": lam_s}


def ood_distance(o, X):
    y = (np.asarray(X, np.float64) - o["mu"]) @ o["w"]
    return np.sqrt((y * y).sum(1))


def ood_note(ins, oof, thr, pct):
    """What the shipped (in-sample) mean/PCA does to the training images, against the out-of-fold threshold."""
    pi, po = float(np.percentile(ins, pct)), float(np.percentile(oof, pct))
    mi, mo = float(np.median(ins)), float(np.median(oof))
    flagged = float((np.asarray(ins) > thr).mean())
    head = ("mean and PCA are the final model's on all dermoscopic images; the threshold is from out-of-fold distances. "
            f"In-sample distances of the final model: median {mi:.3f} vs {mo:.3f} out-of-fold, {pct}th percentile "
            f"{pi:.3f} vs {po:.3f}; ")
    if pi <= po:
        return head + (f"smaller, so the out-of-fold threshold is conservative (it flags {100 * flagged:.2f}% of the "
                       "training images themselves).")
    return head + (f"smaller in the median but not in the tail, so the out-of-fold threshold is not conservative on the "
                   f"training images: it flags {100 * flagged:.2f}% of them (nominal {100 - pct:g}%).")


def highest_threshold_keeping(p, rate):
    """Highest threshold t with mean(p >= t) >= rate (floored to 6 decimals, which only raises the rate)."""
    p = np.sort(np.asarray(p, np.float64))
    u = np.unique(p)
    acc = (len(p) - np.searchsorted(p, u, side="left")) / len(p)
    t = float(u[acc >= rate].max())
    return math.floor(t * 1e6) / 1e6


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

def export_onnx(wrapped, path, size, input_name, out_names):
    wrapped = wrapped.float().cpu().eval()
    dummy = torch.zeros(2, 3, size, size)
    kw = dict(input_names=[input_name], output_names=out_names, opset_version=17,
              dynamic_axes={input_name: {0: "N"}, **{n: {0: "N"} for n in out_names}})
    try:
        torch.onnx.export(wrapped, (dummy,), path, dynamo=False, **kw)
    except TypeError:
        torch.onnx.export(wrapped, (dummy,), path, **kw)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return wrapped


def check_parity(wrapped, path, x_u8, cfg, out_names):
    """ONNX Runtime (CPU) vs PyTorch (CPU) on the same real images: absolute and relative differences of every
    output, and the same images run as batches of 1 and 3 (dynamic batch) against the full batch."""
    import onnxruntime as ort
    mean, std = cfg["input"]["mean"], cfg["input"]["std"]
    x = torch.from_numpy(np.ascontiguousarray(x_u8)).permute(0, 3, 1, 2).float() / 255
    x = normalise(x, mean, std).contiguous()
    with torch.no_grad():
        ref = [t.numpy() for t in wrapped(x)]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    onnx_names = [o.name for o in sess.get_outputs()]
    assert onnx_names == out_names, onnx_names
    feed = cfg["input"]["name"]
    got = sess.run(None, {feed: x.numpy()})
    diffs = {"maxAbsDiff": {n: float(np.abs(a - b).max()) for n, a, b in zip(out_names, ref, got)},
             "relative": {n: float((np.abs(a - b) / np.maximum(1.0, np.abs(a))).max()) for n, a, b in zip(out_names, ref, got)}}
    diffs["maxAbsDiff"]["camMaxAbs"] = float(np.abs(ref[2]).max())
    diffs["maxAbsDiff"]["oodMax"] = float(np.abs(ref[out_names.index("ood")]).max()) if "ood" in out_names else None
    one = sess.run(None, {feed: x.numpy()[:1]})
    three = sess.run(None, {feed: x.numpy()[1:4]})
    dyn = 0.0
    for a, b, c in zip(got, one, three):
        assert b.shape[0] == 1 and c.shape[0] == 3, (b.shape, c.shape)
        dyn = max(dyn, float((np.abs(a[:1] - b) / np.maximum(1.0, np.abs(a[:1]))).max()),
                  float((np.abs(a[1:4] - c) / np.maximum(1.0, np.abs(a[1:4]))).max()))
    diffs["dynamicBatch"] = {"batchSizes": [1, 3, int(len(x))], "maxRelativeDiff": dyn}
    shapes = {o.name: [d if isinstance(d, int) else str(d) for d in o.shape] for o in sess.get_outputs()}
    return diffs, shapes, ref


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- main

def cached_dataset(args, cfg, rows, clin_rows):
    """Decode once per machine; parallel workers memory-map the arrays instead of decoding again."""
    names = ["x_train", "x_eval", "m_train", "m_eval"]
    key = hashlib.sha256(json.dumps([len(rows), rows[0]["image"], rows[-1]["image"], cfg["train"]["storeSize"],
                                     cfg["input"]["size"], bool(args.smoke), len(clin_rows),
                                     clin_rows[0]["image"] if clin_rows else ""]).encode()).hexdigest()[:12]
    d = os.path.join(args.cache, key)
    if not all(os.path.exists(os.path.join(d, n + ".npy")) for n in names + ["x_clin"]):
        os.makedirs(d, exist_ok=True)
        arrays = load_dataset(args.data, rows, cfg["patterns"], cfg["train"]["storeSize"], cfg["input"]["size"])
        arrays = list(arrays[:4]) + [load_eval_images(args.data, clin_rows, cfg["input"]["size"])]
        for n, arr in zip(names + ["x_clin"], arrays):
            np.save(os.path.join(d, n + ".tmp.npy"), arr)
            os.replace(os.path.join(d, n + ".tmp.npy"), os.path.join(d, n + ".npy"))
    return [np.load(os.path.join(d, n + ".npy"), mmap_mode="r") for n in names + ["x_clin"]]


def clinical_folds(clin_rows, rows, fold_of, k):
    """A clinical photo takes the fold of its lesion (group); a group unknown to labels.csv gets a stable hash fold."""
    import zlib
    fold_by_group = {r["group"]: int(fold_of[i]) for i, r in enumerate(rows)}
    out = np.array([fold_by_group.get(r["group"], zlib.crc32(r["group"].encode()) % k) for r in clin_rows], np.int64)
    unknown = sum(r["group"] not in fold_by_group for r in clin_rows)
    return out, unknown


def prepare(args, cfg):
    rows = read_rows(args.data)
    if args.smoke:
        rng = random.Random(0)
        keep = [r for r in rows if r["bcc"] == "1" or r["source"] == "derm7pt"]
        rest = [r for r in rows if not (r["bcc"] == "1" or r["source"] == "derm7pt")]
        rows = rng.sample(keep, 300) + rng.sample(rest, 300)
    clin_rows = read_clinical(args.data)
    if args.smoke:
        present = {r["group"] for r in rows}
        clin_rows = [r for r in clin_rows if r["group"] in present] + [r for r in clin_rows if r["group"] not in present][:30]
    patterns = cfg["patterns"]
    x_train, x_eval, m_train, m_eval, x_clin = cached_dataset(args, cfg, rows, clin_rows)
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
    clin_fold, unknown = clinical_folds(clin_rows, rows, fold_of, cfg["train"]["folds"])
    data.update(x_clin=x_clin, clin_rows=clin_rows, clin_fold=clin_fold, clin_unknown=unknown,
                clin_bcc=np.array([float(r["bcc"]) >= 0.5 for r in clin_rows], np.float32))
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
        np.save(os.path.join(args.work, "final-alpha.npy"), net.coupling_learned)
        # Pooled features of every flip, dermoscopic and clinical: the shipped gate heads are fit on these.
        taps = cfg["gate"]["modality"].get("taps", [])
        _, fd, _, td = predict_tta(net, data["x_eval"], cfg, dev, taps=taps)
        lc, fc, _, tc = predict_tta(net, data["x_clin"], cfg, dev, taps=taps)
        np.savez(os.path.join(args.work, "final-features.npz"), fd=fd, fc=fc,
                 **({"td": td, "tc": tc} if taps else {}))
    else:
        f = int(job)
        tr, te = np.where(fold_of != f)[0], np.where(fold_of == f)[0]
        log(f"fold {f + 1}/{cfg['train']['folds']}: train {len(tr)} (BCC {int(bcc[tr].sum())}) test {len(te)} (BCC {int(bcc[te].sum())})")
        net = train_one(tr, data, cfg, args.weights, cfg["seed"] + f, dev, epochs)
        # Every flip: logits and flipped-back maps of the held-out images, pooled features of all images
        # (dermoscopic and clinical) for the out-of-fold gate heads.
        taps = cfg["gate"]["modality"].get("taps", [])
        ld, fd, cm, td = predict_tta(net, data["x_eval"], cfg, dev, cam_rows=te, taps=taps)
        lc, fc, _, tc = predict_tta(net, data["x_clin"], cfg, dev, taps=taps)
        np.savez(os.path.join(args.work, f"fold{f}.npz"), te=te, logits=ld[:, te], cm=cm, fd=fd, fc=fc, lc=lc,
                 alpha=net.coupling_learned,
                 **({"td": td, "tc": tc} if taps else {}))
        log(f"  fold {f + 1} AUC (no flips) {auc(bcc[te], ld[0, te, 0]):.4f}")
    log(f"  {job} done in {time.time() - t0:.0f}s")


def spawn_jobs(args, jobs):
    """Runs the fits as parallel processes: one small network leaves most of a big GPU idle."""
    procs = []
    logs = os.path.join(args.cache, "logs")
    os.makedirs(logs, exist_ok=True)
    ngpu = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for i, job in enumerate(jobs):
        env = dict(os.environ)
        if ngpu > 1:  # spread the fits over the GPUs of the machine (one process per fit)
            vis = os.environ.get("CUDA_VISIBLE_DEVICES")
            ids = [v for v in vis.split(",") if v.strip()] if vis else [str(j) for j in range(ngpu)]
            env["CUDA_VISIBLE_DEVICES"] = ids[i % len(ids)]
        cmd = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--weights", args.weights, "--out", args.out,
               "--config", args.config, "--work", args.work, "--cache", args.cache, "--worker", job] + (["--smoke"] if args.smoke else [])
        for item in args.set:
            cmd += ["--set", item]
        logf = open(os.path.join(logs, f"worker-{job}.log"), "w")
        procs.append((job, subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env), logf))
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


def apply_overrides(cfg, sets):
    """--set a.b.c=<JSON> (a bare word is taken as a string). Workers get the same --set flags."""
    for item in sets:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise SystemExit(f"--set wants PATH=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = cfg
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise SystemExit(f"--set {path}: {key!r} is not a section of the config")
            node = node[key]
        node[keys[-1]] = value
    return cfg


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
    ap.add_argument("--cv-only", action="store_true",
                    help="cross-validation folds only, then the out-of-fold TTA table (compare recipes; no final model, no export)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                    help="override a config value, e.g. --set input.size=288 --set train.storeSize=320 (repeatable)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    cfg = apply_overrides(json.load(open(args.config)), args.set)
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
    if not data["clin_rows"]:
        raise SystemExit(f"no clinical photos: the modality gate needs {os.path.join(args.data, 'clinical.csv')} and its "
                         "images (pack the data folder with clinical/, see training/README.md)")
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
    jobs = ([str(f) for f in range(k)] + ([] if args.cv_only else ["final"]) if args.jobs == "all"
            else [] if args.jobs in ("none", "skip") else args.jobs.split(","))
    if args.set:
        log(f"config overrides: {args.set}")
    spawn_jobs(args, jobs)
    log(f"fits done in {time.time() - t0:.0f}s")
    if args.no_aggregate:
        return
    missing = [j for j in [f"fold{f}.npz" for f in range(k)] + ([] if args.cv_only else ["final.pt", "final-features.npz"])
               if not os.path.exists(os.path.join(args.work, j))]
    if missing:
        raise SystemExit(f"cannot aggregate: {missing} missing in {args.work}")
    m_eval = np.asarray(m_eval)
    clin_rows, clin_fold = data["clin_rows"], data["clin_fold"]
    nc = len(clin_rows)
    log(f"{nc} clinical photos for the modality gate ({data['clin_unknown']} in groups unknown to labels.csv: hash-assigned folds)")
    groups = np.array([r["group"] for r in rows])
    sources = np.array([r["source"] for r in rows])
    clin_groups = np.array([r["group"] for r in clin_rows])
    clin_sources = np.array([r["source"] for r in clin_rows])
    nb = cfg["bootstrap"]
    n_out = 1 + len(patterns)

    # ---- out-of-fold logits and flipped-back maps of every flip
    L = np.zeros((len(FLIPS), len(rows), n_out), np.float32)
    Lc = np.zeros((len(FLIPS), nc, n_out), np.float32)
    cams4 = None
    alpha_fold = np.zeros((len(rows), n_out), np.float32)  # each held-out row: its fold model's learned coupling
    for f in range(k):
        z = np.load(os.path.join(args.work, f"fold{f}.npz"))
        te = z["te"]
        L[:, te] = z["logits"]
        if cams4 is None:
            cams4 = np.zeros((len(FLIPS), len(rows)) + z["cm"].shape[2:], np.float32)
        cams4[:, te] = z["cm"]
        sel = clin_fold == f
        Lc[:, sel] = z["lc"][:, sel]
        alpha_fold[te] = z["alpha"] if "alpha" in z.files else 0.0
        log(f"fold {f + 1} AUC (no flips) {auc(bcc[te], L[0, te, 0]):.4f}")
    fidx = {fl: i for i, fl in enumerate(FLIPS)}

    # ---- test-time flip variants (averaging logits and flipped-back maps), compared out-of-fold
    tcfg = cfg["tta"]
    variants = tcfg["variants"]
    order = sorted(variants, key=lambda v: len(variants[v]))  # cheapest first
    sel_src = sources == tcfg.get("selectOn", "ham10000")
    mask_sel = (bcc == 1) & has_mask
    tta_table, tta_sel_auc = {}, {}
    for vname in order:
        ii = [fidx[fl] for fl in variants[vname]]
        lg = L[ii].mean(0)
        pb = sigmoid_np(lg[:, 0])
        row = {"flips": variants[vname], "passes": len(ii), "bccAuc": {"all": auc_ci(bcc, pb, groups, nb, 1)}}
        for src in sorted(set(sources)):
            ss = sources == src
            row["bccAuc"][src] = auc_ci(bcc[ss], pb[ss], groups[ss], nb, 1)
        row["patternAuc"] = {}
        for j, p in enumerate(patterns):
            if trained[j]:
                known = ~np.isnan(pat[:, j])
                row["patternAuc"][p["id"]] = auc_ci(pat[known, j], sigmoid_np(lg[known, 1 + j]), groups[known], nb, 2 + j)
        hm = heatmap_localisation(cams4[ii].mean(0)[mask_sel], m_eval[mask_sel])
        row["heatmapRatio"] = hm["ratio"]
        row["heatmapMedianPerImageRatio"] = hm["medianPerImageRatio"]
        tta_table[vname] = row
        tta_sel_auc[vname] = auc(bcc[sel_src], pb[sel_src])
        log(f"TTA {vname:6s} flips {variants[vname]}: AUC all {row['bccAuc']['all']['value']} "
            + " ".join(f"{s2} {row['bccAuc'][s2]['value']}" for s2 in sorted(set(sources)))
            + " " + " ".join(f"{pid} {v['value']}" for pid, v in row["patternAuc"].items())
            + f" heatmap ratio {row['heatmapRatio']} (selection AUC {tta_sel_auc[vname]:.5f})")
    # A coupled pattern's own evidence, without the BCC map it borrows: logit_j - alpha_j * logit_BCC.
    coupling_report = {}
    for j, p in enumerate(patterns):
        if trained[j] and alpha_fold[:, 1 + j].any():
            known = ~np.isnan(pat[:, j])
            own = L[0, :, 1 + j] - alpha_fold[:, 1 + j] * L[0, :, 0]
            coupling_report[p["id"]] = {
                "alphaByFold": sorted({round(float(a), 4) for a in alpha_fold[:, 1 + j]}),
                "aucCoupled1Pass": round(auc(pat[known, j], L[0, known, 1 + j]), 4),
                "aucOwnMapOnly1Pass": round(auc(pat[known, j], own[known]), 4),
                "aucOfBccOutput": round(auc(pat[known, j], L[0, known, 0]), 4)}
            log(f"coupling {p['id']}: {coupling_report[p['id']]}")
    if args.cv_only:
        try:
            texture = texture_head_oof(args, cfg, k, fold_of, pat, trained, dev)
        except Exception as e:  # an experiment must not cost the run's other numbers
            import traceback
            log("texture heads failed: " + "".join(traceback.format_exception(e)))
            texture = {"error": str(e)}
        with open(os.path.join(args.out, "cv-summary.json"), "w") as f:
            json.dump({"overrides": args.set, "version": cfg["version"], "size": size, "epochs": epochs,
                       "tta": tta_table, "coupling": coupling_report, "textureHeads": texture}, f, indent=1)
        log(f"cv-only: done in {time.time() - t0:.0f}s -> {os.path.join(args.out, 'cv-summary.json')}")
        return

    best = max(tta_sel_auc.values())
    chosen = next(v for v in order if tta_sel_auc[v] >= best - tcfg["tolerance"])
    if tcfg.get("ship"):
        # A deployment choice over the measured one: every flip is a full network pass on the
        # serving CPU (4 flips quadrupled hook latency, bench/README.md).
        chosen = tcfg["ship"]
        log(f"TTA: config ships {chosen} (the AUC rule would pick a variant within {tcfg['tolerance']} of {best:.5f})")
    flips = variants[chosen]
    ii = [fidx[fl] for fl in flips]
    log(f"TTA shipped: {chosen} {flips} (best {tcfg.get('selectOn', 'ham10000')} AUC {best:.5f}; "
        f"cheapest within {tcfg['tolerance']})")

    lg = L[ii].mean(0)
    cams = cams4[ii].mean(0)
    logit_bcc = lg[:, 0].astype(np.float64)
    p_bcc = sigmoid_np(lg[:, 0]).astype(np.float32)
    p_pat = sigmoid_np(lg[:, 1:]).astype(np.float32)
    lgc = Lc[ii].mean(0)
    p_bcc_clin = sigmoid_np(lgc[:, 0]).astype(np.float32)
    p_pat_clin = sigmoid_np(lgc[:, 1:]).astype(np.float32)
    del cams4

    # ---- texture heads (config textureHeads): for the named patterns, replace the jointly trained head by a
    # class-balanced L2 logistic regression on frozen features of the network (pooled last block, plus the
    # tapped blocks' means and second moments). Out-of-fold: fit on each fold model's training-fold annotated
    # rows, scored on its held-out rows (training rows' features are in-sample for that model, as for any
    # stacked head). It stays a class-activation head: exported as a 1x1 conv over maps whose spatial means are
    # these features.
    tex_cfg = cfg.get("textureHeads") or {}
    pid_index = {p["id"]: j for j, p in enumerate(patterns)}
    tex_patterns = [pid for pid in tex_cfg.get("patterns", []) if trained[pid_index[pid]]]
    texture_report, tex_export, tex_final_heads = {}, None, {}
    if tex_patterns:
        tex_taps = list(cfg["gate"]["modality"].get("taps", []))
        use_taps = tex_cfg.get("features", "pooled+taps") == "pooled+taps" and bool(tex_taps)
        chans = tap_channels(tex_taps) if use_taps else []
        l2 = float(tex_cfg["l2"])
        Xd, Xc = [], []
        for f in range(k):
            z = np.load(os.path.join(args.work, f"fold{f}.npz"))
            Xd.append(texture_features(z["fd"], z["td"] if use_taps else None, ii, chans, use_taps))
            Xc.append(texture_features(z["fc"], z["tc"] if use_taps else None, ii, chans, use_taps))
        zf_t = np.load(os.path.join(args.work, "final-features.npz"))
        X_final = texture_features(zf_t["fd"], zf_t["td"] if use_taps else None, ii, chans, use_taps)
        ws, bs_ = [], []
        for pid in tex_patterns:
            j = pid_index[pid]
            known = ~np.isnan(pat[:, j])
            sc, scc = texture_scores_oof(Xd, pat[:, j], known, fold_of, k, l2, dev, cfg["seed"] + 50, Xc, clin_fold)
            texture_report[pid] = {
                "jointHeadAuc": auc_ci(pat[known, j], p_pat[known, j], groups[known], nb, 40 + j),
                "textureHeadAuc": auc_ci(pat[known, j], sc[known], groups[known], nb, 40 + j)}
            log(f"texture head {pid} ({tex_cfg.get('features', 'pooled+taps')}, L2 {l2}, {chosen}): out-of-fold AUC "
                f"{texture_report[pid]['textureHeadAuc']} vs jointly trained head {texture_report[pid]['jointHeadAuc']}")
            p_pat[:, j] = sc.astype(np.float32)
            p_pat_clin[:, j] = scc.astype(np.float32)
            head = fit_balanced_head(X_final[known], pat[known, j], {"l2": l2}, dev, "logistic", cfg["seed"] + 150 + j)
            tex_final_heads[pid] = head
            lin = head.body[0]
            w = lin.weight.detach().double().numpy()[0] / head.std.double().numpy()
            ws.append(w)
            bs_.append(float(lin.bias.detach().double().numpy()[0] - (w * head.mean.double().numpy()).sum()))
        tex_export = {"channels": [1 + pid_index[pid] for pid in tex_patterns], "weight": np.stack(ws).astype(np.float32),
                      "bias": np.array(bs_, np.float32), "useTaps": use_taps}

    thresholds = choose_thresholds(bcc, p_bcc, cfg)
    pat_thr = {}
    for j, p in enumerate(patterns):
        known = ~np.isnan(pat[:, j])
        pat_thr[p["id"]] = youden(pat[known, j], p_pat[known, j]) if trained[j] else None
    metrics = evaluate_oof(rows, bcc, pat, p_bcc, p_pat, cams, m_eval, has_mask, thresholds, pat_thr, trained, cfg)
    log(json.dumps({"thresholds": thresholds, "patternThresholds": pat_thr}))
    log(json.dumps(metrics, indent=1))

    # ---- calibration of the BCC probability (Platt on out-of-fold logits; cross-fitted ECE)
    ccfg = cfg["calibration"]
    bins = ccfg["bins"]
    y64 = bcc.astype(np.float64)
    p64 = p_bcc.astype(np.float64)
    platt_apply = lambda ab, z: sigmoid_np(ab[0] * z + ab[1])
    cf_platt, platt_fits = cross_fit(platt_fit, platt_apply, logit_bcc, y64, fold_of)
    cf_iso, iso_fits = cross_fit(isotonic_fit, isotonic_apply, p64, y64, fold_of)
    ece_before, rel_before = ece_bins(p64, y64, bins)
    ece_platt, rel_platt = ece_bins(cf_platt, y64, bins)
    ece_iso, rel_iso = ece_bins(cf_iso, y64, bins)
    cal_method = "platt" if (ece_platt <= ccfg["targetEce"] or ece_platt <= ece_iso) else "isotonic"
    cf_cal, rel_after, ece_after = ((cf_platt, rel_platt, ece_platt) if cal_method == "platt" else (cf_iso, rel_iso, ece_iso))
    cal_fits = platt_fits if cal_method == "platt" else iso_fits
    log(f"calibration ECE ({bins} bins): before {ece_before}; cross-fitted after Platt {ece_platt}, isotonic {ece_iso}; ships {cal_method}")
    ece_by_source = {}
    for src in sorted(set(sources)):
        ss = sources == src
        ece_by_source[src] = {"n": int(ss.sum()), "positives": int(bcc[ss].sum()),
                              "before": ece_bins(p64[ss], y64[ss], bins)[0], "after": ece_bins(cf_cal[ss], y64[ss], bins)[0]}
    if cal_method == "platt":
        slope, intercept = platt_fit(logit_bcc, y64)
        cal_final = {"method": "platt", "slope": round(slope, 6), "intercept": round(intercept, 6),
                     "appliesTo": "bcc", "formula": "calibrated = sigmoid(slope * logit(bcc) + intercept)"}
    else:
        xs, vs = isotonic_fit(p64, y64)
        pts = []
        for xv, vv in zip(xs, vs):
            xr, vr = round(float(xv), 6), round(float(min(max(vv, 0.0), 1.0)), 6)
            if pts and xr <= pts[-1][0]:
                continue
            pts.append([xr, max(vr, pts[-1][1]) if pts else vr])
        if len(pts) == 1:
            pts.append([1.0, max(pts[0][1], 1.0 if pts[0][0] < 1.0 else pts[0][1])])
        cal_final = {"method": "isotonic", "points": pts, "appliesTo": "bcc",
                     "formula": "calibrated = piecewise-linear interpolation of points at bcc (clamped at the ends)"}
    log(f"calibration shipped: {cal_final if cal_method == 'platt' else {'points': len(cal_final['points'])}}; by source {ece_by_source}")

    # ---- pooled features of the shipped flips, per fold model (out-of-fold gates) and of the final model
    def vfeat(arr):
        return arr[ii].mean(0).astype(np.float64)
    gcfg = cfg["gate"]["modality"]
    taps = list(gcfg.get("taps", []))
    feats = []
    for f in range(k):
        z = np.load(os.path.join(args.work, f"fold{f}.npz"))
        feats.append((vfeat(z["fd"]), vfeat(z["fc"]), vfeat(z["td"]) if taps else None, vfeat(z["tc"]) if taps else None))
    zf = np.load(os.path.join(args.work, "final-features.npz"))
    Fd_final, Fc_final = vfeat(zf["fd"]), vfeat(zf["fc"])
    Td_final, Tc_final = (vfeat(zf["td"]), vfeat(zf["tc"])) if taps else (None, None)

    # ---- modality gate: dermoscopic (labels.csv) vs clinical close-ups (clinical.csv), out-of-fold
    targets = gcfg["targets"]

    def modality_oof(kind, use_taps):
        pd_, pc_ = np.zeros(len(rows)), np.zeros(nc)
        for f in range(k):
            Fd, Fc, Td, Tc = feats[f]
            if use_taps:
                Fd, Fc = np.concatenate([Fd, Td], 1), np.concatenate([Fc, Tc], 1)
            trd, trc = fold_of != f, clin_fold != f
            X = np.concatenate([Fd[trd], Fc[trc]])
            yy = np.concatenate([np.ones(int(trd.sum())), np.zeros(int(trc.sum()))])
            head = fit_balanced_head(X, yy, gcfg, dev, kind, cfg["seed"] + f)
            pd_[~trd] = head_prob(head, Fd[~trd])
            if (~trc).any():
                pc_[~trc] = head_prob(head, Fc[~trc])
        thr = highest_threshold_keeping(pd_, gcfg["acceptance"])
        acc = wilson(int((pd_ >= thr).sum()), len(pd_))
        rej = wilson(int((pc_ < thr).sum()), nc)
        ok = acc["value"] >= targets["dermoscopicAccepted"] and rej["value"] is not None and rej["value"] >= targets["clinicalRejected"]
        log(f"modality gate ({kind}, {'pooled + taps ' + str(taps) if use_taps else 'pooled'}) out-of-fold: threshold {thr}; "
            f"dermoscopic accepted {acc}; clinical rejected {rej}; targets met {ok}")
        return {"kind": kind, "taps": bool(use_taps), "pd": pd_, "pc": pc_, "threshold": thr, "accepted": acc, "rejected": rej, "ok": ok}

    # In order, until one meets the targets: logistic, then MLP, on pooled features; then both on pooled + tap features.
    first = gcfg.get("head", "logistic")
    plan = [(first, False), ("mlp" if first == "logistic" else "logistic", False)]
    if taps:
        plan += [(first, True), (plan[1][0], True)]
    tried = []
    for kind, use_taps in plan:
        tried.append(modality_oof(kind, use_taps))
        if tried[-1]["ok"]:
            break
    mod = next((t for t in tried if t["ok"]), max(tried, key=lambda t: (t["rejected"]["value"] or 0)))
    p_derm, p_derm_clin, mod_thr = mod["pd"], mod["pc"], mod["threshold"]
    Md_final = np.concatenate([Fd_final, Td_final], 1) if mod["taps"] else Fd_final
    Mc_final = np.concatenate([Fc_final, Tc_final], 1) if mod["taps"] else Fc_final
    head_final = fit_balanced_head(np.concatenate([Md_final, Mc_final]),
                              np.concatenate([np.ones(len(Md_final)), np.zeros(len(Mc_final))]), gcfg, dev, mod["kind"], cfg["seed"] + 100)
    ins_d, ins_c = head_prob(head_final, Md_final), head_prob(head_final, Mc_final)
    y_mod = np.concatenate([np.ones(len(rows)), np.zeros(nc)])
    by_src_mod = {}
    for src in sorted(set(sources)):
        ss = sources == src
        by_src_mod[src] = {"dermoscopicAccepted": wilson(int((p_derm[ss] >= mod_thr).sum()), int(ss.sum()))}
    for src in sorted(set(clin_sources)):
        ss = clin_sources == src
        by_src_mod[src] = {"clinicalRejected": wilson(int((p_derm_clin[ss] < mod_thr).sum()), int(ss.sum()))}
    mod_desc = ("logistic regression (L2 %g, class-balanced)" % gcfg["l2"] if mod["kind"] == "logistic"
                else "MLP %d-%d-1 ReLU (L2 %g, class-balanced, Adam %d full-batch steps)" % (Md_final.shape[1], gcfg["mlpHidden"], gcfg["l2"], gcfg["mlpSteps"]))
    feat_desc = ("pooled features (1280-d global average of the last feature map)" if not mod["taps"] else
                 f"pooled features (1280-d global average of the last feature map) and the per-channel spatial mean and "
                 f"standard deviation of the outputs of backbone blocks {taps} ({Td_final.shape[1]}-d)")
    gate_modality = {
        "output": "dermoscopy", "threshold": mod_thr, "rejectBelow": True,
        "features": "pooled+taps" if mod["taps"] else "pooled", "taps": taps if mod["taps"] else [],
        "method": f"{mod_desc} on standardised {feat_desc}, "
                  f"averaged over the TTA flips; positives: dermoscopic development images, negatives: clinical close-up "
                  f"photos; threshold = highest with out-of-fold dermoscopic acceptance >= {gcfg['acceptance']}; "
                  f"shipped head refit on all images with the final model's features",
        "metrics": {
            "kind": "out-of-fold: per CV fold, the fold model's features, head fit on training-fold images (dermoscopic and "
                    "clinical photos of training-fold lesions), applied to the held-out fold; 95% CI: Wilson, AUC by bootstrap over lesions",
            "dermoscopicAccepted": mod["accepted"], "clinicalRejected": mod["rejected"],
            "auc": auc_ci(y_mod, np.concatenate([p_derm, p_derm_clin]), np.concatenate([groups, clin_groups]), nb, 11),
            "bySource": by_src_mod,
            "targets": targets, "targetsMet": bool(mod["ok"]),
            "inSampleFinalHead": {"dermoscopicAccepted": wilson(int((ins_d >= mod_thr).sum()), len(ins_d)),
                                  "clinicalRejected": wilson(int((ins_c < mod_thr).sum()), len(ins_c))},
        },
        "tried": [{"head": t["kind"], "features": "pooled+taps" if t["taps"] else "pooled", "threshold": t["threshold"], "dermoscopicAccepted": t["accepted"],
                   "clinicalRejected": t["rejected"], "targetsMet": bool(t["ok"])} for t in tried],
    }

    # ---- out-of-distribution distance: Mahalanobis in a whitened top-k PCA space of dermoscopic features
    ocfg = cfg["gate"]["ood"]
    kc, shrink = ocfg["components"], ocfg["shrinkage"]
    ood_d, ood_c = np.zeros(len(rows)), np.zeros(nc)
    for f in range(k):
        Fd, Fc = feats[f][:2]
        o = fit_ood(Fd[fold_of != f], kc, shrink)
        ood_d[fold_of == f] = ood_distance(o, Fd[fold_of == f])
        if (clin_fold == f).any():
            ood_c[clin_fold == f] = ood_distance(o, Fc[clin_fold == f])
    ood_thr = math.ceil(float(np.percentile(ood_d, ocfg["percentile"])) * 1e4) / 1e4
    ood_final = fit_ood(Fd_final, kc, shrink)
    ins_ood = ood_distance(ood_final, Fd_final)
    by_src_ood = {}
    for src in sorted(set(sources)):
        ss = sources == src
        by_src_ood[src] = {"dermoscopicFlagged": wilson(int((ood_d[ss] > ood_thr).sum()), int(ss.sum()))}
    for src in sorted(set(clin_sources)):
        ss = clin_sources == src
        by_src_ood[src] = {"clinicalFlagged": wilson(int((ood_c[ss] > ood_thr).sum()), int(ss.sum()))}
    gate_ood = {
        "output": "ood", "threshold": ood_thr, "rejectAbove": True, "components": kc, "shrinkage": shrink,
        "method": f"Mahalanobis distance of the pooled features (averaged over the TTA flips) from the dermoscopic training "
                  f"images in a whitened top-{kc} PCA space: sqrt(sum_i ((f - mu) . v_i)^2 / lambda_i), eigenvalues shrunk "
                  f"toward their mean (lambda' = {1 - shrink:g} lambda + {shrink:g} mean lambda); threshold = "
                  f"{ocfg['percentile']}th percentile of out-of-fold dermoscopic distances",
        "metrics": {
            "kind": "out-of-fold: per CV fold, mean and PCA of the fold model's training-fold dermoscopic features; held-out "
                    "dermoscopic images and held-out clinical photos scored; 95% CI: Wilson",
            "dermoscopicFlagged": wilson(int((ood_d > ood_thr).sum()), len(ood_d)),
            "clinicalFlagged": wilson(int((ood_c > ood_thr).sum()), nc),
            "clinicalVsDermoscopicAuc": auc_ci(1 - y_mod, np.concatenate([ood_d, ood_c]), np.concatenate([groups, clin_groups]), nb, 12),
            "bySource": by_src_ood,
            "medianDistance": {"dermoscopicOutOfFold": round(float(np.median(ood_d)), 4),
                               "clinicalOutOfFold": round(float(np.median(ood_c)), 4) if nc else None,
                               "dermoscopicInSampleFinal": round(float(np.median(ins_ood)), 4)},
        },
        "note": ood_note(ins_ood, ood_d, ood_thr, ocfg["percentile"]),
    }
    log(f"OOD gate out-of-fold: threshold {ood_thr}; dermoscopic flagged {gate_ood['metrics']['dermoscopicFlagged']}; "
        f"clinical flagged {gate_ood['metrics']['clinicalFlagged']}; in-sample 99.5th pct {float(np.percentile(ins_ood, 99.5)):.3f}")

    # ---- out-of-fold predictions (no images): dermoscopic rows and clinical photos
    cal_apply = platt_apply if cal_method == "platt" else isotonic_apply
    x_for_cal = (lambda lg0: lg0.astype(np.float64)) if cal_method == "platt" else (lambda lg0: sigmoid_np(lg0))
    cal_clin = np.zeros(nc)
    for f in range(k):
        ss = clin_fold == f
        if ss.any():
            cal_clin[ss] = cal_apply(cal_fits[f], x_for_cal(lgc[ss, 0]))
    vcols = {v: sigmoid_np(L[[fidx[fl] for fl in variants[v]]].mean(0)[:, 0]) for v in order}
    vcols_c = {v: sigmoid_np(Lc[[fidx[fl] for fl in variants[v]]].mean(0)[:, 0]) for v in order}
    with open(os.path.join(args.out, "oof.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "group", "source", "fold", "bcc", "p_bcc", "p_bcc_calibrated"]
                   + [f"p_bcc_{v.replace('-', '')}" for v in order] + [f"p_{p['id']}" for p in patterns]
                   + ["p_dermoscopy", "ood"])
        for i, r in enumerate(rows):
            w.writerow([r["image"], r["group"], r["source"], int(fold_of[i]), int(bcc[i]), f"{p_bcc[i]:.6f}", f"{cf_cal[i]:.6f}"]
                       + [f"{vcols[v][i]:.6f}" for v in order] + [f"{v:.6f}" for v in p_pat[i]]
                       + [f"{p_derm[i]:.6f}", f"{ood_d[i]:.4f}"])
        for i, r in enumerate(clin_rows):
            w.writerow([r["image"], r["group"], r["source"], int(clin_fold[i]), int(data["clin_bcc"][i]), f"{p_bcc_clin[i]:.6f}",
                        f"{cal_clin[i]:.6f}"] + [f"{vcols_c[v][i]:.6f}" for v in order] + [f"{v:.6f}" for v in p_pat_clin[i]]
                       + [f"{p_derm_clin[i]:.6f}", f"{ood_c[i]:.4f}"])

    # ---- export: final model + TTA + gate heads in one graph
    net = MultiTaskCAM(1 + len(patterns), cfg["train"]["featureDropout"], len(cfg["diagnosisGroups"]))
    net.load_state_dict(torch.load(os.path.join(args.work, "final.pt"), map_location="cpu"))  # coupling already folded in
    alpha_path = os.path.join(args.work, "final-alpha.npy")
    alpha_final = np.load(alpha_path) if os.path.exists(alpha_path) else np.zeros(n_out, np.float32)
    net = net.float().cpu().eval()
    cam_hw = list(cams.shape[-2:])
    wrapped = Exported(net, flips, head_final, {"mu": ood_final["mu"], "w": ood_final["w"]}, size, cam_hw,
                       taps=taps if (mod["taps"] or tex_export) else (), modality_taps=mod["taps"],
                       texture=tex_export).eval()
    x_eval = data["x_eval"]
    name = cfg["modelName"]
    onnx_path = os.path.join(args.out, f"{name}.onnx")
    out_names = ["bcc", "patterns", "cam", "dermoscopy", "ood"]
    export_onnx(wrapped, onnx_path, size, cfg["input"]["name"], out_names)
    # Parity is about arithmetic (PyTorch vs ONNX Runtime), checked on real held-out (validation-fold) development
    # images of each fold and on real clinical photos (they exercise the gate outputs).
    pick = np.concatenate([np.where(fold_of == f)[0][:13] for f in range(k)])
    pick_c = np.arange(min(15, nc))
    x_par = np.concatenate([np.asarray(x_eval[pick]), np.asarray(data["x_clin"][pick_c])])
    diffs, shapes, ref = check_parity(wrapped, onnx_path, x_par, cfg, out_names)
    log(f"ONNX parity on {len(x_par)} real images ({len(pick)} dermoscopic, {len(pick_c)} clinical): {diffs}; outputs {shapes}")
    # The graph's gate outputs against the training pipeline's features (GPU, TF32) of the same final model.
    pipe = {"dermoscopy": float(np.abs(ref[3][:len(pick)] - head_prob(head_final, Md_final[pick])).max()),
            "ood": float(np.abs(ref[4][:len(pick)] - ood_distance(ood_final, Fd_final[pick])).max())}
    for pid, head in tex_final_heads.items():
        j = pid_index[pid]
        pipe[pid] = float(np.abs(ref[1][:len(pick), j] - head_prob(head, X_final[pick])).max())
    log(f"graph vs pipeline gate outputs (max abs diff, final model, {len(pick)} images): {pipe}")
    parity_ok = max(diffs["maxAbsDiff"]["bcc"], diffs["maxAbsDiff"]["patterns"], diffs["maxAbsDiff"]["dermoscopy"],
                    diffs["relative"]["cam"], diffs["relative"]["ood"]) <= 1e-4
    if not parity_ok:
        log(f"WARNING: ONNX parity above 1e-4: {diffs}")

    tcfg_ema = cfg["train"]["emaDecay"]
    flip_words = {"none": "identity", "h": "horizontal flip", "v": "vertical flip", "hv": "both flips"}
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
                            "channels": ["bcc"] + [p["id"] for p in patterns]},
                    "dermoscopy": {"name": "dermoscopy", "shape": ["N"]},
                    "ood": {"name": "ood", "shape": ["N"]}},
        "patterns": [{"id": p["id"], "display": p["display"], "role": p["role"], "trained": trained[j],
                      "threshold": None if pat_thr[p["id"]] is None else round(pat_thr[p["id"]], 6),
                      **({"bccCoupling": round(float(alpha_final[1 + j]), 6)} if alpha_final[1 + j] else {}),
                      **({"head": "texture"} if p["id"] in tex_final_heads else {})}
                     for j, p in enumerate(patterns)],
        "thresholds": {k2: round(v, 6) for k2, v in thresholds.items()},
        "gate": {"modality": gate_modality, "ood": gate_ood},
        "calibration": {
            **cal_final,
            "fittedOn": f"out-of-fold logits of the shipped TTA variant ({chosen}), all {len(rows)} development images "
                        f"({int(bcc.sum())} BCC), 5-fold lesion-grouped CV",
            "ece": {"bins": bins, "before": ece_before, "after": ece_after, "afterKind": "cross-fitted out-of-fold",
                    "target": ccfg["targetEce"], "bySource": ece_by_source,
                    "alternatives": {"platt": ece_platt, "isotonic": ece_iso}},
            "reliability": {"before": rel_before, "after": rel_after},
            "note": "the bcc output and every threshold stay on the raw probability; the service applies this map for display",
        },
        "tta": {
            "flips": flips,
            "variant": chosen,
            "averaging": "logits (and class-activation maps flipped back to the input orientation) averaged over the flips "
                         "inside the graph; pooled features averaged likewise",
            "selection": (f"config tta.ship = {tcfg['ship']}: each flip is a full pass on the serving CPU; the variants table shows what the flips would add"
                          if tcfg.get("ship") else
                          f"best out-of-fold {tcfg.get('selectOn', 'ham10000')} BCC AUC, unless within {tcfg['tolerance']} of a cheaper variant (then the cheaper)"),
            "variants": tta_table,
        },
        "modelCard": {
            "intendedUse": "Research use, decision support for triage of dermoscopic images of skin lesions referred to "
                           "dermatology; not for diagnosis, not for clinical decisions, non-commercial.",
            "licence": "research use, not for clinical decisions, non-commercial (inherits the terms of HAM10000, CC BY-NC 4.0, and derm7pt, academic research use only)",
            "architecture": "MobileNetV2 1.0 backbone (ImageNet start from google-coral test_data, Apache-2.0), "
                            f"1x1-conv class-activation head, {1 + len(patterns)} maps of {cam_hw[0]}x{cam_hw[1]}; logit = spatial mean; "
                            f"test-time augmentation in the graph: {', '.join(flip_words[fl] for fl in flips)} "
                            f"({len(flips)} passes, logits and flipped-back maps averaged); gate heads on the 1280-d pooled "
                            f"features: modality ({mod['kind']} head{', with mean/std-pooled maps of blocks ' + str(taps) if mod['taps'] else ''}, output 'dermoscopy') and out-of-distribution distance "
                            f"(Mahalanobis, top-{kc} PCA, output 'ood')",
            "textureHeads": ({
                "patterns": list(tex_final_heads),
                "method": f"class-balanced logistic regression (L2 {tex_cfg.get('l2')}, standardised features) on frozen features of "
                          f"the trained network: {'the pooled last block plus the means and second moments of blocks ' + str(taps) if tex_export['useTaps'] else 'the pooled last block'}"
                          f", averaged over the TTA flips; fit after training (out-of-fold: per fold model on its training folds' annotated "
                          f"rows; shipped: final model, all annotated rows). In the graph: a 1x1 conv over the last feature map and the "
                          f"tapped blocks' maps and squared maps average-pooled to the {cam_hw[0]}x{cam_hw[1]} grid, so the map's spatial mean is the logit.",
                "outOfFold": texture_report,
                "selection": tex_cfg.get("selection", ""),
            } if tex_final_heads else None),
            "trainingData": [
                {"name": "HAM10000", "images": int((data['is_derm'] == 0).sum()), "bcc": int(bcc[~data['is_derm']].sum()),
                 "licence": "CC BY-NC 4.0", "citation": "Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018); lesion masks: Tschandl et al., HAM10000 segmentations"},
                {"name": "derm7pt", "images": int(data['is_derm'].sum()), "bcc": int(bcc[data['is_derm']].sum()),
                 "licence": "academic research use only, no redistribution",
                 "citation": "Kawahara J. et al., IEEE JBHI 23(2), 2019"},
                {"name": "derm7pt clinical close-ups (modality gate negatives only)", "images": nc,
                 "licence": "academic research use only, no redistribution",
                 "citation": "Kawahara J. et al., IEEE JBHI 23(2), 2019"},
            ],
            "training": {"folds": k, "grouping": "lesion (labels.csv group)", "epochs": epochs, "seed": cfg["seed"],
                         "losses": "BCE (BCC), masked BCE (annotated patterns only), share of positive BCC map outside the lesion mask (BCC images with masks), auxiliary diagnosis-group cross-entropy (training only, not exported)",
                         "ema": tcfg_ema,
                         "patternCoupling": {"initial": cfg["train"].get("coupling") or {},
                                             "finalModel": {p["id"]: round(float(alpha_final[1 + j]), 6)
                                                            for j, p in enumerate(patterns) if alpha_final[1 + j]},
                                             "outOfFold": coupling_report},
                         "sampling": cfg["train"]["sampling"], "torch": torch.__version__,
                         "config": "training/config.json", "smoke": bool(args.smoke)},
            "thresholdSelection": {"triage": f"highest threshold with out-of-fold sensitivity >= {cfg['thresholds']['triageSensitivity']}",
                                   "balanced": "Youden's J on out-of-fold predictions",
                                   "specific": f"lowest threshold with out-of-fold specificity >= {cfg['thresholds']['specificSpecificity']}",
                                   "review": f"highest threshold with out-of-fold sensitivity >= {cfg['thresholds'].get('reviewSensitivity', 0.99)}",
                                   "patterns": "Youden's J on annotated out-of-fold rows",
                                   "on": f"raw bcc output of the shipped TTA variant ({chosen})"},
            "metrics": {"kind": f"out-of-fold, 5-fold lesion-grouped cross-validation on the development set, TTA variant {chosen}; "
                                "95% CI: AUC by bootstrap over lesions, proportions by Wilson",
                        **metrics},
            "onnxParity": {"images": int(len(x_par)), "dermoscopicImages": int(len(pick)), "clinicalImages": int(len(pick_c)),
                           "maxAbsDiff": diffs["maxAbsDiff"], "relative": diffs["relative"],
                           "relativeDefinition": "max over elements of |onnx - torch| / max(1, |torch|)",
                           "dynamicBatch": diffs["dynamicBatch"], "graphVsPipeline": pipe,
                           "within1e-4": parity_ok,
                           "within1e-4Definition": "bcc, patterns and dermoscopy absolute; cam and ood relative"},
            "limits": [
                "Only pigment network and arborizing telangiectasia were annotated in the training data; ulceration, "
                "blue-gray ovoid nests, multiple blue-gray globules, leaf-like areas and spoke-wheel areas are NOT assessed "
                "by this model (their outputs are untrained and must be ignored).",
                "Pattern heads learned from 616 derm7pt images only (arborizing telangiectasia: 18 positives); pattern outputs are weak evidence.",
                "Trained on dermoscopic images from HAM10000 (Vienna, Queensland) and derm7pt; other dermatoscopes, "
                "skin types and clinical (non-dermoscopic) photographs are outside its experience.",
                f"The modality gate was trained on one set of clinical close-up photos ({nc}, derm7pt) of the same lesions as the "
                "derm7pt dermoscopic images; other cameras, phone photos, non-skin images and other clinics' photos were never "
                "seen, so its rejection rate there is unknown. The OOD distance is a heuristic with an out-of-fold threshold "
                f"flagging about {100 - ocfg['percentile']:g}% of development dermoscopic images.",
                "The modality gate's out-of-fold acceptance of dermoscopic images differs by source: "
                + ", ".join(f"{src} {by_src_mod[src]['dermoscopicAccepted']['value']}" for src in sorted(set(sources)))
                + f" (all {mod['accepted']['value']}); dermoscopic images like the smaller source's are rejected more often "
                "than the overall rate says.",
                "Thresholds were chosen on out-of-fold predictions and applied to the final model trained on all images; "
                "they apply to the raw bcc output. The calibration map is for displaying probabilities only.",
                "Heatmaps show where the BCC evidence lies at 32-pixel granularity; they are not a segmentation.",
            ] + ([
                f"The {', '.join(patterns[pid_index[pid]]['display'] for pid in tex_final_heads)} output(s) come from a texture head fit "
                "on frozen features after training (see textureHeads); its out-of-fold AUC was measured on the same folds on which "
                "this recipe was chosen, so it is slightly optimistic."
            ] if tex_final_heads else []) + [
                f"{patterns[j]['display']} shares BCC evidence by design: its map is its own map plus "
                f"{alpha_final[1 + j]:.3f} x the BCC map (coupling learned in training, config train.coupling). As an input "
                f"to the BCC rule it is therefore not independent of the network's BCC score. Out-of-fold AUC (1 pass): "
                f"{coupling_report[patterns[j]['id']]['aucCoupled1Pass']} coupled, "
                f"{coupling_report[patterns[j]['id']]['aucOwnMapOnly1Pass']} its own map alone, "
                f"{coupling_report[patterns[j]['id']]['aucOfBccOutput']} the BCC output alone."
                for j in range(len(patterns)) if alpha_final[1 + j] and patterns[j]["id"] in coupling_report
            ],
        },
    }
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log(f"done in {time.time() - t0:.0f}s -> {onnx_path}")


if __name__ == "__main__":
    main()
