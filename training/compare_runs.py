#!/usr/bin/env python3
"""Compare two training runs' outputs (behaviour preservation): oof.csv numerically, manifest JSON leaf by leaf
(skipping created/sha256/parity timings). Exit 1 if anything differs by more than --tol.

    python3 training/compare_runs.py /tmp/A/out /tmp/B/out [--tol 1e-6]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

SKIP = {"created", "sha256", "torch"}


def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            if k not in SKIP:
                yield from leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def differs(a, b, tol):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) > tol * max(1.0, abs(a))
    return a != b


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    bad = 0
    ra = list(csv.reader(open(os.path.join(args.a, "oof.csv"))))
    rb = list(csv.reader(open(os.path.join(args.b, "oof.csv"))))
    worst = 0.0
    for x, y in zip(ra, rb):
        for u, v in zip(x, y):
            try:
                worst = max(worst, abs(float(u) - float(v)))
            except ValueError:
                bad += u != v
    bad += len(ra) != len(rb) or ra[0] != rb[0]
    print(f"oof.csv: {len(ra)} vs {len(rb)} rows, max abs diff {worst:g}, non-numeric mismatches {bad}")
    bad += worst > args.tol
    for name in sorted(f for f in os.listdir(args.a) if f.endswith(".json")):
        ja, jb = json.load(open(os.path.join(args.a, name))), json.load(open(os.path.join(args.b, name)))
        la, lb = dict(leaves(ja)), dict(leaves(jb))
        diff = [k for k in sorted(set(la) | set(lb)) if differs(la.get(k), lb.get(k), args.tol)]
        print(f"{name}: {len(la)} leaves, {len(diff)} differ" + "".join(f"\n  {k}: {la.get(k)!r} vs {lb.get(k)!r}" for k in diff[:30]))
        bad += len(diff)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
