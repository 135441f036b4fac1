"""Metrics: AUC with lesion-bootstrap CIs, Wilson intervals, operating points, heatmap localisation, out-of-fold evaluation."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


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
