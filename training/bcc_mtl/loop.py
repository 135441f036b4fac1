"""Training loop, prediction, one fit (worker) and the parallel fit processes."""
from __future__ import annotations

import copy
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .augment import augment, preprocess
from .config import coupling_init
from .data import prepare
from .losses import multitask_losses, total_loss
from .metrics import auc
from .model import FLIPS, MultiTaskCAM, flip_dims, load_imagenet, reestimate_bn, tap_stats

ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train.py")  # the worker command


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def sampling_weights(bcc, is_derm, share):
    """Per-image weights so that a drawn batch holds about bccShare BCC and derm7ptShare derm7pt images."""
    w = np.ones(len(bcc))
    pos = bcc == 1
    w[pos] *= (share["bccShare"] / (1 - share["bccShare"])) * ((~pos).sum() / max(pos.sum(), 1))
    d = is_derm
    if d.any() and (~d).any():  # one source only (a LOSO fit): no share to set; it would zero every weight
        wd, wh = w[d].sum(), w[~d].sum()
        w[d] *= (share["derm7ptShare"] / (1 - share["derm7ptShare"])) * (wh / max(wd, 1e-9))
    return w / w.sum()


class Ema:
    """Exponential moving average of weights and BN statistics: a steadier final model."""

    def __init__(self, net, decay):
        self.model = copy.deepcopy(net).eval()
        self.decay = decay
        es, ns = self.model.state_dict(), net.state_dict()
        self.ema_f = [es[k] for k in es if es[k].dtype.is_floating_point]
        self.net_f = [ns[k] for k in es if es[k].dtype.is_floating_point]
        self.ema_i = [es[k] for k in es if not es[k].dtype.is_floating_point]
        self.net_i = [ns[k] for k in es if not es[k].dtype.is_floating_point]

    @torch.no_grad()
    def update(self, step):
        d = min(self.decay, (1 + step) / (10 + step))
        if hasattr(torch, "_foreach_lerp_"):
            torch._foreach_lerp_(self.ema_f, self.net_f, 1 - d)  # one fused launch instead of ~300
        else:
            for ve, v2 in zip(self.ema_f, self.net_f):
                ve.lerp_(v2, 1 - d)
        for ve, v2 in zip(self.ema_i, self.net_i):
            ve.copy_(v2)


def build_net(idx, data, cfg, weights_npz, seed, dev):
    """ImageNet start, head initialised (untrained pattern maps silent), BN re-estimated on real images."""
    tcfg = cfg["train"]
    n_dx = len(cfg["diagnosisGroups"])
    net = MultiTaskCAM(1 + len(cfg["patterns"]), tcfg["featureDropout"], n_dx, coupling_init(cfg))
    load_imagenet(net, weights_npz)
    nn.init.normal_(net.head.weight, std=0.01)
    nn.init.zeros_(net.head.bias)
    with torch.no_grad():
        untrained = [1 + j for j, p in enumerate(cfg["patterns"]) if not data["trained"][j]]
        net.head.weight[untrained] = 0  # no labels: keep these maps silent (p = 0.5, never used)
    net = net.to(dev).to(memory_format=torch.channels_last)
    with torch.no_grad():
        pick = np.random.RandomState(seed).choice(idx, size=min(384, len(idx)), replace=False)
        xb = torch.from_numpy(np.asarray(data["x_eval"][np.sort(pick)])).to(dev).permute(0, 3, 1, 2).float() / 255
        reestimate_bn(net, preprocess(xb, cfg).contiguous(memory_format=torch.channels_last))
    return net


def make_optimizer(net, tcfg):
    head_params = list(net.head.parameters()) + [net.coupling]
    hp = {id(p) for p in head_params}
    opt = torch.optim.AdamW([
        {"params": [p for p in net.parameters() if id(p) not in hp], "lr": tcfg["lrBackbone"]},
        {"params": head_params, "lr": tcfg["lrHead"]},
    ], weight_decay=tcfg["weightDecay"])
    return opt, [g["lr"] for g in opt.param_groups]


def gpu_tensors(data, dev):
    """Training arrays on the device. Soft consensus labels (npm run consensus --soft) train as BCE targets;
    metrics use hard labels."""
    return {"x": torch.from_numpy(np.array(data["x_train"])).to(dev), "m": torch.from_numpy(np.array(data["m_train"])).to(dev),
            "y": torch.from_numpy(data["bcc_target"]).to(dev), "yp": torch.from_numpy(data["pat_target"]).to(dev),
            "has_mask": torch.from_numpy(data["has_mask"]).to(dev), "dx": torch.from_numpy(data["dx"]).to(dev)}


def flip_pair_batch(x01, m, bi, gen):
    """Flip consistency: the first half of the batch again, flipped (h, v or both, one draw per batch)."""
    half = x01.shape[0] // 2
    fl = FLIPS[1 + int(torch.randint(0, 3, (1,), device=x01.device, generator=gen).item())]
    d = flip_dims(fl)
    return (torch.cat([x01[:half], torch.flip(x01[:half], d)]), torch.cat([m[:half], torch.flip(m[:half], d)]),
            torch.cat([bi[:half], bi[:half]]), d)


def consistency_loss(logits, cam, d, map_weight):
    """Mean squared difference between the two views' logits and maps (the flipped view's maps flipped back):
    the one-pass network learns the flip average that test-time flips would otherwise compute."""
    half = logits.shape[0] // 2
    return (((logits[:half] - logits[half:]) ** 2).mean()
            + map_weight * ((cam[:half] - torch.flip(cam[half:], d)) ** 2).mean())


def train_step(net, opt, g, bi, cfg, gen, pos_weight, dev):
    """One optimiser step on the batch of row indices bi; returns the loss terms."""
    tcfg = cfg["train"]
    x01, m = augment(g["x"][bi], g["m"][bi], cfg["input"]["size"], tcfg["augment"], gen)
    fc = tcfg.get("flipConsistency") or {}
    w_cons = fc.get("weight", 0.0)
    if w_cons > 0:
        x01, m, bi, d = flip_pair_batch(x01, m, bi, gen)
    x = preprocess(x01, cfg).contiguous(memory_format=torch.channels_last)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        logits, cam, aux = net(x, with_aux=True)
    logits, cam, aux = logits.float(), cam.float(), aux.float()
    batch = {k: g[k][bi] for k in ("y", "yp", "has_mask", "dx")}
    parts = multitask_losses(logits, cam, aux, m, batch, pos_weight)
    loss = total_loss(parts, tcfg)
    if w_cons > 0:
        loss = loss + w_cons * consistency_loss(logits, cam, d, fc.get("mapWeight", 0.02))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return [loss.item()] + [p.item() for p in parts[:3]]


@torch.no_grad()
def flip_average(teacher, x, dev):
    """The teacher through every flip of FLIPS, as the 4-flip graph computes it: logits averaged, maps flipped
    back and averaged (logit = spatial mean of the averaged map still holds, the head is linear)."""
    ls, cs = 0.0, 0.0
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        for fl in FLIPS:
            d = flip_dims(fl)
            lg, cam = teacher(torch.flip(x, d) if d else x)
            cam = cam.float()
            ls = ls + lg.float()
            cs = cs + (torch.flip(cam, d) if d else cam)
    return ls / len(FLIPS), cs / len(FLIPS)


def distil_step(net, teacher, opt, g, bi, cfg, gen, pos_weight, dev, dcfg):
    """One step of the one-pass student towards the teacher's flip average on the same augmented batch, plus the
    label losses: what the four flips bought is learned into one pass (issue #17)."""
    tcfg = cfg["train"]
    x01, m = augment(g["x"][bi], g["m"][bi], cfg["input"]["size"], tcfg["augment"], gen)
    x = preprocess(x01, cfg).contiguous(memory_format=torch.channels_last)
    t_logits, t_cam = flip_average(teacher, x, dev)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        logits, cam, aux = net(x, with_aux=True)
    logits, cam, aux = logits.float(), cam.float(), aux.float()
    batch = {k: g[k][bi] for k in ("y", "yp", "has_mask", "dx")}
    parts = multitask_losses(logits, cam, aux, m, batch, pos_weight)
    kd = ((logits - t_logits) ** 2).mean() + dcfg.get("mapWeight", 0.02) * ((cam - t_cam) ** 2).mean()
    loss = dcfg.get("labelWeight", 1.0) * total_loss(parts, tcfg) + dcfg.get("weight", 1.0) * kd
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return [loss.item(), parts[0].item(), kd.item(), parts[2].item()]


def distil(teacher, idx, g, w, cfg, seed, dev, epochs, pw, log):
    """Self-distillation of test-time flips (config train.distil): the student starts as a copy of the trained
    (EMA) network, BN frozen, and is trained `epochs` more epochs at lrScale of the learning rates (cosine to zero) to give
    in one pass the teacher's 4-flip logits and maps. Returns the student's EMA."""
    tcfg, dcfg = cfg["train"], cfg["train"]["distil"]
    teacher = teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    net = copy.deepcopy(teacher)
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    for mod in net.modules():  # BN frozen at the teacher's statistics: a short fine-tune, and no train/eval gap to the teacher
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.eval()
    ema = Ema(net, tcfg["emaDecay"])
    opt, base_lrs = make_optimizer(net, tcfg)
    base_lrs = [b * dcfg.get("lrScale", 0.15) for b in base_lrs]
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed + 7)
    rng = np.random.RandomState(seed + 8)
    bs = tcfg["batchSize"]
    steps_per_epoch = max(1, len(idx) // bs)
    total = steps_per_epoch * epochs
    step = 0
    for ep in range(epochs):
        draw = rng.choice(idx, size=steps_per_epoch * bs, replace=True, p=w)
        sums = np.zeros(4)
        for k in range(steps_per_epoch):
            for group, b in zip(opt.param_groups, base_lrs):
                group["lr"] = b * 0.5 * (1 + math.cos(math.pi * step / max(1, total)))
            bi = torch.from_numpy(draw[k * bs:(k + 1) * bs]).to(dev)
            sums += distil_step(net, teacher, opt, g, bi, cfg, gen, pw, dev, dcfg)
            step += 1
            ema.update(step)
        s = sums / steps_per_epoch
        log(f"    distil {ep + 1}/{epochs} loss {s[0]:.4f} bcc {s[1]:.4f} kd {s[2]:.4f} mask {s[3]:.4f}")
    return ema.model.eval()


def lr_factor(step, warm, total):
    return (step + 1) / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def train_one(idx, data, cfg, weights_npz, seed, dev, epochs, log, distil_epochs=None):
    """Trains one network on rows idx; then, when config train.distil.epochs > 0, distils its flips into one pass
    (distil_epochs overrides the configured count: the smoke run uses 1)."""
    tcfg = cfg["train"]
    seed_all(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    net = build_net(idx, data, cfg, weights_npz, seed, dev)
    ema = Ema(net, tcfg["emaDecay"])
    opt, base_lrs = make_optimizer(net, tcfg)
    w = sampling_weights(data["bcc"][idx], data["is_derm"][idx], tcfg["sampling"])
    bs = tcfg["batchSize"]
    steps_per_epoch = max(1, len(idx) // bs)
    total = steps_per_epoch * epochs
    warm = steps_per_epoch * tcfg["warmupEpochs"]
    rng = np.random.RandomState(seed + 1)
    pw = torch.tensor([tcfg["patternPosWeight"].get(p["id"], 1.0) for p in cfg["patterns"]], device=dev)
    g = gpu_tensors(data, dev)
    step = 0
    net.train()
    for ep in range(epochs):
        draw = rng.choice(idx, size=steps_per_epoch * bs, replace=True, p=w)
        sums = np.zeros(4)
        for k in range(steps_per_epoch):
            for group, b in zip(opt.param_groups, base_lrs):
                group["lr"] = b * lr_factor(step, warm, total)
            bi = torch.from_numpy(draw[k * bs:(k + 1) * bs]).to(dev)
            sums += train_step(net, opt, g, bi, cfg, gen, pw, dev)
            step += 1
            ema.update(step)
        if ep == 0 or (ep + 1) % 4 == 0 or ep == epochs - 1:
            s = sums / steps_per_epoch
            log(f"    epoch {ep + 1:2d}/{epochs} loss {s[0]:.4f} bcc {s[1]:.4f} pat {s[2]:.4f} mask {s[3]:.4f}")
    ema = ema.model.eval()
    d_epochs = (tcfg.get("distil") or {}).get("epochs", 0) if distil_epochs is None else distil_epochs
    if d_epochs > 0:
        ema = distil(ema, idx, g, w, cfg, seed, dev, d_epochs, pw, log)
    # From here on the coupling lives inside the head: predict_tta, the saved weights and the export see one conv.
    ema.coupling_learned = ema.fold_coupling()
    if ema.coupling_learned.any():
        log("    coupling to the BCC map (learned): " + ", ".join(
            f"{cfg['patterns'][j - 1]['id']} {ema.coupling_learned[j]:.4f}" for j in np.nonzero(ema.coupling_learned)[0]))
    return ema


@torch.no_grad()
def predict(net, x_u8, cfg, dev, bs=256):
    probs, pats, cams = [], [], []
    for i in range(0, len(x_u8), bs):
        x = torch.from_numpy(x_u8[i:i + bs]).to(dev).permute(0, 3, 1, 2).float() / 255
        x = preprocess(x, cfg).contiguous(memory_format=torch.channels_last)
        logits, cam = net(x)
        probs.append(torch.sigmoid(logits[:, 0]).cpu())
        pats.append(torch.sigmoid(logits[:, 1:]).cpu())
        cams.append(cam.float().cpu())
    return torch.cat(probs).numpy(), torch.cat(pats).numpy(), torch.cat(cams).numpy()


@torch.no_grad()
def predict_tta(net, x_u8, cfg, dev, bs=256, cam_rows=None, taps=(), flips=FLIPS):
    """Every flip of FLIPS: logits [4,N,8], pooled features [4,N,1280] and, for cam_rows, the maps
    flipped back to the original orientation [4,len(cam_rows),8,h,w]. Averages are taken later."""
    n = len(x_u8)
    if n == 0:
        return (np.zeros((len(flips), 0, net.head.out_channels), np.float32),
                np.zeros((len(flips), 0, net.head.in_channels), np.float32), None, None)
    want = np.zeros(n, bool)
    if cam_rows is not None:
        want[cam_rows] = True
    # Full fp32 (no TF32) so the features the gate heads are fit on match the exported graph's arithmetic.
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    logits, feats, cams, tapf = [[] for _ in flips], [[] for _ in flips], [[] for _ in flips], [[] for _ in flips]
    for i in range(0, n, bs):
        x = torch.from_numpy(np.asarray(x_u8[i:i + bs])).to(dev).permute(0, 3, 1, 2).float() / 255
        x = preprocess(x, cfg)
        w = torch.from_numpy(want[i:i + bs]).to(dev)
        for j, fl in enumerate(flips):
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


def augmented_copies(data, cfg, dev, n, seed):
    """n development images (seeded draw) through the training augmentation with the gate's device augmentation
    (config gate.modality.augment, merged over train.augment): extra, varied dermoscopic examples for the gate.
    Returns (row indices, uint8 images [n,size,size,3])."""
    idx = np.sort(np.random.RandomState(seed).choice(len(data["bcc"]), size=min(n, len(data["bcc"])), replace=False))
    aug = {**cfg["train"]["augment"], **(cfg["gate"]["modality"].get("augment") or {})}
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    out = []
    for i in range(0, len(idx), 256):
        xb = torch.from_numpy(np.asarray(data["x_train"][idx[i:i + 256]])).to(dev)
        x01, _ = augment(xb, torch.zeros(xb.shape[:3], dtype=torch.uint8, device=dev), cfg["input"]["size"], aug, gen)
        out.append((x01 * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
    return idx, np.concatenate(out)


def gate_positive_features(net, data, cfg, dev, taps):
    """One-pass features of augmented dermoscopic copies (config gate.modality.augmentedPositives; 0/absent = none)."""
    n = int(cfg["gate"]["modality"].get("augmentedPositives") or 0)
    if n <= 0:
        return {}
    idx, xa = augmented_copies(data, cfg, dev, n, cfg["seed"] + 300)
    _, fa, _, ta = predict_tta(net, xa, cfg, dev, taps=taps, flips=("none",))
    return {"aug_idx": idx, "fa": fa, **({"ta": ta} if taps else {})}


def run_worker(args, cfg, job, dev, log):
    """One fit: a cross-validation fold (its out-of-fold predictions) or the final model (its weights)."""
    rows, data, fold_of = prepare(args, cfg)
    epochs = 1 if args.smoke else cfg["train"]["epochs"]
    d_epochs = min(1, (cfg["train"].get("distil") or {}).get("epochs", 0)) if args.smoke else None
    bcc = data["bcc"]
    t0 = time.time()
    if job.startswith("loso-"):
        from .loso import loso_fit
        loso_fit(args, cfg, job[len("loso-"):], dev, log, rows, data, epochs)
    elif job == "final":
        log(f"final model on all {len(rows)} development images")
        net = train_one(np.arange(len(rows)), data, cfg, args.weights, cfg["seed"] + 100, dev, epochs, log, d_epochs)
        torch.save(net.state_dict(), os.path.join(args.work, "final.pt"))
        np.save(os.path.join(args.work, "final-alpha.npy"), net.coupling_learned)
        # Pooled features of every flip, dermoscopic and clinical: the shipped gate heads are fit on these.
        taps = cfg["gate"]["modality"].get("taps", [])
        _, fd, _, td = predict_tta(net, data["x_eval"], cfg, dev, taps=taps)
        lc, fc, _, tc = predict_tta(net, data["x_clin"], cfg, dev, taps=taps)
        np.savez(os.path.join(args.work, "final-features.npz"), fd=fd, fc=fc,
                 **({"td": td, "tc": tc} if taps else {}), **gate_positive_features(net, data, cfg, dev, taps))
    else:
        f = int(job)
        tr, te = np.where(fold_of != f)[0], np.where(fold_of == f)[0]
        log(f"fold {f + 1}/{cfg['train']['folds']}: train {len(tr)} (BCC {int(bcc[tr].sum())}) test {len(te)} (BCC {int(bcc[te].sum())})")
        net = train_one(tr, data, cfg, args.weights, cfg["seed"] + f, dev, epochs, log, d_epochs)
        # Every flip: logits and flipped-back maps of the held-out images, pooled features of all images
        # (dermoscopic and clinical) for the out-of-fold gate heads.
        taps = cfg["gate"]["modality"].get("taps", [])
        ld, fd, cm, td = predict_tta(net, data["x_eval"], cfg, dev, cam_rows=te, taps=taps)
        lc, fc, _, tc = predict_tta(net, data["x_clin"], cfg, dev, taps=taps)
        np.savez(os.path.join(args.work, f"fold{f}.npz"), te=te, logits=ld[:, te], cm=cm, fd=fd, fc=fc, lc=lc,
                 alpha=net.coupling_learned,
                 **({"td": td, "tc": tc} if taps else {}), **gate_positive_features(net, data, cfg, dev, taps))
        log(f"  fold {f + 1} AUC (no flips) {auc(bcc[te], ld[0, te, 0]):.4f}")
    log(f"  {job} done in {time.time() - t0:.0f}s")


def spawn_jobs(args, jobs, log):
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
        cmd = [sys.executable, ENTRY, "--data", args.data, "--weights", args.weights, "--out", args.out,
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
