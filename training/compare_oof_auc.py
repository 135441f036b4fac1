"""Paired lesion-bootstrap difference of BCC AUC between two out-of-fold CSVs (same images, same folds).

Usage: python3 training/compare_oof_auc.py A.csv B.csv [column of A, default p_bcc] [column of B, default p_bcc]
Prints, per source and for all images, AUC of A, AUC of B, B - A and its 95% CI (1,000 resamples of lesions).
"""
import csv
import sys

import numpy as np


def load(path):
    return {r["image"]: r for r in csv.DictReader(open(path)) if r["source"] != "derm7pt-clinical"}


def auc(y, s):
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    ranks = (np.bincount(inv, weights=ranks) / cnt)[inv]  # ties share their mean rank
    n1 = y.sum()
    return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1))


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    ca = sys.argv[3] if len(sys.argv) > 3 else "p_bcc"
    cb = sys.argv[4] if len(sys.argv) > 4 else "p_bcc"
    images = sorted(set(a) & set(b))
    for src in ("ham10000", "derm7pt", None):
        ii = [i for i in images if src is None or a[i]["source"] == src]
        y = np.array([int(a[i]["bcc"]) for i in ii])
        sa = np.array([float(a[i][ca]) for i in ii])
        sb = np.array([float(b[i][cb]) for i in ii])
        _, gi = np.unique([a[i]["group"] for i in ii], return_inverse=True)
        members = [np.where(gi == k)[0] for k in range(gi.max() + 1)]
        rng = np.random.RandomState(0)
        diffs = []
        for _ in range(1000):
            pick = np.concatenate([members[k] for k in rng.randint(0, len(members), len(members))])
            if y[pick].min() != y[pick].max():
                diffs.append(auc(y[pick], sb[pick]) - auc(y[pick], sa[pick]))
        print(f"{src or 'all'} {len(ii)} A {auc(y, sa):.4f} B {auc(y, sb):.4f} diff {auc(y, sb) - auc(y, sa):+.4f} "
              f"CI [{np.percentile(diffs, 2.5):+.4f}, {np.percentile(diffs, 97.5):+.4f}]")


if __name__ == "__main__":
    main()
