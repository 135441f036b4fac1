"""Heads on frozen features: modality gate and texture heads (class-balanced L2), OOD distance."""
from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .metrics import auc
from .model import FLIPS, StandardisedHead, tap_channels


def standardiser(X):
    X = np.asarray(X, np.float64)
    return X.mean(0), np.sqrt(X.var(0) + 1e-4)


def fit_balanced_head(X, y, gcfg, dev, kind, seed, weights=None):
    """Class-balanced, L2-penalised binary head on standardised features: the modality gate (y 1 = dermoscopic,
    0 = clinical) and the texture heads (y = pattern present)."""
    mean, std = standardiser(X)
    Xs = torch.as_tensor((np.asarray(X, np.float64) - mean) / std, dtype=torch.float64, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float64, device=dev)
    npos, nneg = float((y == 1).sum()), float((y == 0).sum())
    sw = torch.full_like(yt, 0.5 / max(nneg, 1))
    sw[yt == 1] = 0.5 / max(npos, 1)
    if weights is not None:  # relative weights within each class (e.g. each source of positives counts equally)
        wt = torch.as_tensor(np.asarray(weights, np.float64), device=dev)
        for cls in (0, 1):
            sel = yt == cls
            if sel.any():
                sw[sel] = 0.5 * wt[sel] / wt[sel].sum()
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


def texture_head_oof(args, cfg, k, fold_of, pat, trained, dev, log):
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
