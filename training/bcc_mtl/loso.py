"""Leave-one-source-out (LOSO): train on every source but one, measure on the one left out (issue #21's estimate of
how the model and gate behave on an unseen clinic/dermatoscope). Fits in the workers, report in the aggregation."""
from __future__ import annotations

import csv
import json
import os

import numpy as np

from .calibration import sigmoid_np
from .gates import gate_threshold, gate_training_set
from .heads import fit_balanced_head, head_prob, texture_features, texture_scores_oof
from .loop import gate_positive_features, predict_tta, train_one
from .metrics import auc_ci, binary_at, choose_thresholds, heatmap_localisation, wilson
from .model import tap_channels


def loso_fit(args, cfg, held, dev, log, rows, data, epochs):
    """Worker job loso-<source>: fit on the other sources, one-pass logits/maps/features of everything."""
    src = np.array([r["source"] for r in rows])
    tr, te = np.where(src != held)[0], np.where(src == held)[0]
    if len(te) == 0:
        raise SystemExit(f"loso-{held}: no rows of source {held}")
    log(f"LOSO: train on {len(tr)} images of {sorted(set(src[tr]))}, held out {len(te)} of {held}")
    d_epochs = min(1, (cfg["train"].get("distil") or {}).get("epochs", 0)) if args.smoke else None
    net = train_one(tr, data, cfg, args.weights, cfg["seed"] + 200 + len(held), dev, epochs, log, d_epochs)
    taps = cfg["gate"]["modality"].get("taps", [])
    ld, fd, cm, td = predict_tta(net, data["x_eval"], cfg, dev, cam_rows=te, taps=taps, flips=("none",))
    lc, fc, _, tc = predict_tta(net, data["x_clin"], cfg, dev, taps=taps, flips=("none",))
    np.savez(os.path.join(args.work, f"loso-{held}.npz"), te=te, tr=tr, logits=ld[0], cm=cm[0], fd=fd[0], fc=fc[0], lc=lc[0],
             trained=np.array([bool((data["pat"][tr, j] == 1).any()) for j in range(len(cfg["patterns"]))]),
             **({"td": td[0], "tc": tc[0]} if taps else {}), **gate_positive_features(net, data, cfg, dev, taps))


def sensitivity_at_specificity(y, s, spec=0.9):
    """Highest sensitivity over thresholds whose specificity is >= spec (and that threshold)."""
    best = (0.0, None)
    for t in np.unique(s):
        if ((s < t) & (y == 0)).sum() / max((y == 0).sum(), 1) >= spec:
            se = ((s >= t) & (y == 1)).sum() / max((y == 1).sum(), 1)
            if se > best[0]:
                best = (float(se), float(t))
    return best


def loso_gate(c, z, tr, te, taps):
    """Gate cross-fit over the lesion-grouped folds: positives = training-source images (and augmented copies of
    them) of the other folds, negatives = clinical photos of the other folds; threshold from the training source's
    out-of-fold scores; the held-out source is only scored."""
    gcfg = c.cfg["gate"]["modality"]
    use_taps = bool(taps)
    Fd = np.concatenate([z["fd"], z["td"]], 1) if use_taps else z["fd"]
    Fc = np.concatenate([z["fc"], z["tc"]], 1) if use_taps else z["fc"]
    aug = None
    if "fa" in z.files:
        aug = np.concatenate([z["fa"][0], z["ta"][0]], 1) if use_taps else z["fa"][0]
    in_tr = np.zeros(len(c.rows), bool)
    in_tr[tr] = True
    pd_, pc_ = np.zeros(len(c.rows)), np.zeros(c.nc)
    for f in range(c.k):
        ok = None if aug is None else in_tr[z["aug_idx"]] & (c.fold_of[z["aug_idx"]] != f)
        X, yy, w = gate_training_set(Fd.astype(np.float64), Fc.astype(np.float64), in_tr & (c.fold_of != f),
                                     c.clin_fold != f, aug, c.sources, ok, gcfg)
        head = fit_balanced_head(X, yy, gcfg, c.dev, gcfg.get("head", "logistic"), c.cfg["seed"] + 500 + f, weights=w)
        pd_[c.fold_of == f] = head_prob(head, Fd[c.fold_of == f])
        pc_[c.clin_fold == f] = head_prob(head, Fc[c.clin_fold == f])
    thr = gate_threshold(pd_[tr], c.sources[tr], gcfg)
    return {"threshold": thr, "dermoscopicAccepted": wilson(int((pd_[te] >= thr).sum()), len(te)),
            "clinicalRejected": wilson(int((pc_ < thr).sum()), c.nc),
            "trainingSourceAcceptedOutOfFold": wilson(int((pd_[tr] >= thr).sum()), len(tr))}, pd_, pc_, thr


def loso_pigment(c, z, te, taps):
    """Pigment network on the held-out source: texture head cross-fit (lesion-grouped folds) on the held-out source's
    own annotations, over features of a backbone that never saw that source. None when it has no annotations."""
    j = next((j for j, p in enumerate(c.patterns) if p["id"] == "pigment_network"), None)
    if j is None:
        return None
    known = np.zeros(len(c.rows), bool)
    known[te] = ~np.isnan(c.pat[te, j])
    if known.sum() == 0 or c.pat[known, j].min() == c.pat[known, j].max():
        return {"value": None, "note": "the held-out source has no pigment-network annotations"}
    chans = tap_channels(taps) if taps else []
    X = texture_features(z["fd"][None], z["td"][None] if taps else None, [0], chans, bool(taps))
    l2 = float((c.cfg.get("textureHeads") or {}).get("l2", 10.0))
    sc, _ = texture_scores_oof([X] * c.k, c.pat[:, j], known, c.fold_of, c.k, l2, c.dev, c.cfg["seed"] + 600)
    se, t = sensitivity_at_specificity(c.pat[known, j], sc[known], 0.9)
    return {"sensitivityAtSpecificity0.9": round(se, 4), "auc": auc_ci(c.pat[known, j], sc[known], c.groups[known], c.nb, 61),
            "n": int(known.sum()), "positives": int((c.pat[known, j] == 1).sum()),
            "note": "texture head (L2 logistic, pooled+taps) cross-fit over lesion-grouped folds on the held-out source's own "
                    "annotations; the backbone never saw the source (pattern labels exist in one source only, so a head "
                    "trained without that source cannot be measured)"}


def loso_one(c, held, z, taps):
    te, tr = z["te"], z["tr"]
    bcc = c.bcc
    p = sigmoid_np(z["logits"][:, 0])
    thr = choose_thresholds(bcc[tr], p[tr], c.cfg)  # from the training source (in-sample for this model)
    r = {"heldOut": held, "trainedOn": sorted(set(c.sources[tr])), "images": int(len(te)), "bcc": int(bcc[te].sum())}
    r["bccAuc"] = auc_ci(bcc[te], p[te], c.groups[te], c.nb, 71) if 0 < bcc[te].sum() < len(te) else None
    r["triage"] = {"threshold": thr["triage"], "thresholdFrom": "training sources, in-sample", **binary_at(bcc[te], p[te], thr["triage"])}
    r["gate"], pd_, pc_, gthr = loso_gate(c, z, tr, te, taps)
    r["pigmentNetwork"] = loso_pigment(c, z, te, taps)
    sel = (bcc[te] == 1) & c.has_mask[te]
    r["heatmap"] = heatmap_localisation(z["cm"][sel], c.m_eval[te][sel]) if sel.sum() else {"n": 0}
    pn = [j for j, pp in enumerate(c.patterns) if pp["id"] == "pigment_network"]
    if pn and bool(z["trained"][pn[0]]):
        pnp = sigmoid_np(z["logits"][te, 1 + pn[0]]) >= 0.5
        r["consistency"] = {"pigmentNetworkPredictedNonBcc": wilson(int((pnp & (p[te] < thr["balanced"])).sum()), int(pnp.sum()))}
    else:
        r["consistency"] = None
    return r, p, pd_, pc_, gthr


def loso_report(c, sources):
    """Per held-out source: BCC AUC, triage sens/spec, gate acceptance/refusal, pigment network, heatmap; loso.json,
    loso.csv (one row per source) and per-image predictions loso-predictions.csv."""
    taps = list(c.cfg["gate"]["modality"].get("taps", []))
    report, rows_out = {}, []
    with open(os.path.join(c.args.out, "loso-predictions.csv"), "w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(["heldOut", "image", "source", "bcc", "p_bcc", "p_dermoscopy"])
        for held in sources:
            z = np.load(os.path.join(c.args.work, f"loso-{held}.npz"))
            r, p, pd_, pc_, gthr = loso_one(c, held, z, taps)
            report[held] = r
            c.log(f"LOSO {held}: {json.dumps(r)}")
            for i in z["te"]:
                w.writerow([held, c.rows[i]["image"], c.rows[i]["source"], int(c.bcc[i]), f"{p[i]:.6f}", f"{pd_[i]:.6f}"])
            for i, cr in enumerate(c.clin_rows):
                w.writerow([held, cr["image"], cr["source"], int(c.data["clin_bcc"][i]), "", f"{pc_[i]:.6f}"])
            pn = r["pigmentNetwork"] or {}
            rows_out.append([held, r["images"], r["bcc"], (r["bccAuc"] or {}).get("value"), r["triage"]["sensitivity"]["value"],
                             r["triage"]["specificity"]["value"], r["gate"]["dermoscopicAccepted"]["value"],
                             r["gate"]["clinicalRejected"]["value"], pn.get("sensitivityAtSpecificity0.9"),
                             r["heatmap"].get("ratio"),
                             (r["consistency"] or {}).get("pigmentNetworkPredictedNonBcc", {}).get("value")])
    with open(os.path.join(c.args.out, "loso.csv"), "w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(["held_out", "images", "bcc", "bcc_auc", "triage_sensitivity", "triage_specificity", "gate_dermoscopic_accepted",
                    "gate_clinical_rejected", "pigment_network_sensitivity_at_spec_0.9", "heatmap_ratio",
                    "pigment_network_predicted_non_bcc"])
        w.writerows(rows_out)
    out = {"kind": "leave-one-source-out: fit on the other sources (same recipe and epochs), one pass, measured on the held-out "
                   "source; gate cross-fit over lesion-grouped folds (clinical photos of held-out folds are the negatives "
                   "scored); triage threshold from the training sources", "sources": report}
    with open(os.path.join(c.args.out, "loso.json"), "w") as fp:
        json.dump(out, fp, indent=1)
    return out
