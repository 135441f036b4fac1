#!/usr/bin/env python3
"""SIMULATED dermatologists' annotations, for exercising the consensus -> retraining loop.

Reads a labels.csv (the development set's format) and writes the long-format annotation sheet that
`npm run consensus` reads:

    image,annotator,label,value      (value 1, 0, or empty = no vote)

Each simulated annotator votes on every selected image for `bcc` and for every pattern column that
has labels in the selected rows (in the development set: pigment_network and
arborizing_telangiectasia on derm7pt images), flipping the reference label with their own error
rates: P(vote 1 | label 1) = sensitivity, P(vote 0 | label 0) = specificity, the same for every
label. With probability --missing a vote is left empty (the annotator skipped it).

--simulate-unannotated <pattern> adds one of the five patterns nobody has labelled, to show a
hospital training a new head. Its hidden "truth" is SIMULATED by a rule, not seen in any image:
present with probability 0.6 on BCC images and 0.03 on the others (seeded coin flips). A head
trained on it learns "looks like BCC", not the pattern: the resulting model shows the plumbing
(the manifest marks the pattern trained, the service assesses it) and must never be installed.

Pure Python + numpy. Everything is seeded (--seed). --truth writes what was simulated (annotators'
nominal and realised rates per label, the simulated pattern's hidden labels) so the consensus
report can be checked against it.

    python3 training/simulate-annotations.py --labels ../shared/data/dermoscopy/labels.csv \\
        --out .cache/annotations/annotations.csv --truth .cache/annotations/truth.json \\
        --simulate-unannotated ulceration
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np

BASE_COLUMNS = ["image", "mask", "group", "source", "diagnosis", "bcc"]
UNANNOTATED_RULE = {"pBccPositive": 0.6, "pOtherPositive": 0.03}
# Names carry the mark into every row of the sheet and into the consensus report.
DEFAULT_ANNOTATORS = "SIMULATED-derm1:0.92:0.96,SIMULATED-derm2:0.85:0.93,SIMULATED-derm3:0.78:0.90,SIMULATED-derm4:0.70:0.85"


def parse_annotators(spec):
    """'name:sensitivity:specificity,...' -> list of (name, sens, spec)."""
    out = []
    for part in spec.split(","):
        bits = part.strip().split(":")
        if len(bits) != 3:
            raise SystemExit(f"--annotators: expected name:sensitivity:specificity, got {part!r}")
        name, se, sp = bits[0], float(bits[1]), float(bits[2])
        if not (0 <= se <= 1 and 0 <= sp <= 1) or not name:
            raise SystemExit(f"--annotators: rates must lie in [0, 1], got {part!r}")
        out.append((name, se, sp))
    if len({n for n, _, _ in out}) != len(out):
        raise SystemExit("--annotators: names must be unique")
    return out


def select_rows(rows, source, limit, rng):
    picked = [r for r in rows if source == "all" or r["source"] == source]
    if limit and limit < len(picked):
        keep = np.sort(rng.choice(len(picked), size=limit, replace=False))
        picked = [picked[i] for i in keep]
    return picked


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", required=True, help="labels.csv to simulate from")
    ap.add_argument("--out", required=True, help="annotation sheet to write (image,annotator,label,value)")
    ap.add_argument("--truth", help="JSON of what was simulated")
    ap.add_argument("--source", default="derm7pt", help="rows of this source only (default derm7pt: the rows with pattern labels), or 'all'")
    ap.add_argument("--limit", type=int, default=0, help="at most this many images (a random, seeded subset)")
    ap.add_argument("--annotators", default=DEFAULT_ANNOTATORS, help=f"name:sensitivity:specificity,... (default {DEFAULT_ANNOTATORS})")
    ap.add_argument("--missing", type=float, default=0.1, help="share of votes left empty (default 0.1)")
    ap.add_argument("--simulate-unannotated", metavar="PATTERN", help="also simulate this unlabelled pattern (SIMULATED truth, see above)")
    ap.add_argument("--seed", type=int, default=20261126)
    return ap.parse_args()


def main():
    args = parse_args()
    if not 0 <= args.missing < 1:
        raise SystemExit("--missing must lie in [0, 1)")
    annotators = parse_annotators(args.annotators)
    rng = np.random.default_rng(args.seed)

    with open(args.labels, newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        rows = list(reader)
    patterns = [c for c in columns if c not in BASE_COLUMNS]
    rows = select_rows(rows, args.source, args.limit, rng)
    if not rows:
        raise SystemExit(f"no rows with source {args.source!r} in {args.labels}")

    truth = {}  # label -> list of 0/1/None per selected row
    truth["bcc"] = [int(r["bcc"]) if r["bcc"] in ("0", "1") else None for r in rows]
    for p in patterns:
        vals = [int(r[p]) if r[p] in ("0", "1") else None for r in rows]
        if any(v is not None for v in vals):
            truth[p] = vals
    simulated = args.simulate_unannotated
    if simulated:
        if simulated not in patterns:
            raise SystemExit(f"--simulate-unannotated: {simulated!r} is not a pattern column of {args.labels}")
        if simulated in truth:
            raise SystemExit(f"--simulate-unannotated: {simulated!r} already has labels; pick an unlabelled pattern")
        u = rng.random(len(rows))
        truth[simulated] = [int(u[i] < (UNANNOTATED_RULE["pBccPositive"] if b == 1 else UNANNOTATED_RULE["pOtherPositive"]))
                            if b is not None else None for i, b in enumerate(truth["bcc"])]

    labels = list(truth)
    realised = {name: {lab: {"tp": 0, "pos": 0, "tn": 0, "neg": 0} for lab in labels} for name, _, _ in annotators}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["image", "annotator", "label", "value"])
        for i, r in enumerate(rows):
            for name, se, sp in annotators:
                for lab in labels:
                    t = truth[lab][i]
                    if t is None:
                        continue
                    # Draw both numbers every time, so one annotator's missing vote does not shift the others' draws.
                    skip, u = rng.random() < args.missing, rng.random()
                    if skip:
                        w.writerow([r["image"], name, lab, ""])
                        continue
                    vote = int(u < se) if t == 1 else int(u >= sp)
                    c = realised[name][lab]
                    if t == 1:
                        c["pos"] += 1
                        c["tp"] += vote
                    else:
                        c["neg"] += 1
                        c["tn"] += 1 - vote
                    w.writerow([r["image"], name, lab, vote])

    def rate(k, n):
        return round(k / n, 4) if n else None

    summary = {
        "SIMULATED": "annotations simulated from labels.csv by training/simulate-annotations.py; not real dermatologists",
        "labelsFile": args.labels,
        "source": args.source,
        "images": len(rows),
        "seed": args.seed,
        "missing": args.missing,
        "labels": labels,
        "positives": {lab: int(sum(v == 1 for v in truth[lab])) for lab in labels},
        "annotators": {name: {"nominal": {"sensitivity": se, "specificity": sp},
                              "realised": {lab: {"sensitivity": rate(c["tp"], c["pos"]), "specificity": rate(c["tn"], c["neg"]),
                                                 "votes": c["pos"] + c["neg"]} for lab, c in realised[name].items()}}
                       for name, se, sp in annotators},
    }
    if simulated:
        summary["simulatedPattern"] = {
            "id": simulated,
            "warning": "SIMULATED truth, not seen in any image: a model trained on it must never be installed",
            "rule": f"present with probability {UNANNOTATED_RULE['pBccPositive']} on BCC images, "
                    f"{UNANNOTATED_RULE['pOtherPositive']} on the others (seeded)",
            "truth": {r["image"]: truth[simulated][i] for i, r in enumerate(rows)},
        }
    if args.truth:
        os.makedirs(os.path.dirname(os.path.abspath(args.truth)), exist_ok=True)
        with open(args.truth, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    print(f"SIMULATED annotations: {len(rows)} images x {len(annotators)} annotators x labels {labels} -> {args.out}",
          file=sys.stderr)
    for lab in labels:
        print(f"  {lab}: {summary['positives'][lab]} positive of {sum(v is not None for v in truth[lab])}"
              + (" (SIMULATED truth)" if lab == simulated else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
