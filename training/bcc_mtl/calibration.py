"""Calibration of the BCC probability: Platt, isotonic, ECE, cross-fitting."""
from __future__ import annotations

import numpy as np


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


def platt_apply(ab, z):
    return sigmoid_np(ab[0] * z + ab[1])
