"""The gates, out-of-fold and shipped: modality (dermoscopic vs clinical photo) and OOD distance."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from .heads import fit_balanced_head, fit_ood, head_prob, highest_threshold_keeping, ood_distance, ood_note
from .metrics import auc_ci, wilson


def positive_weights(sources_pos, gcfg):
    """gate.modality.balanceSources: each source of positives (and the augmented copies) weighs the same in total."""
    if not gcfg.get("balanceSources"):
        return None
    u, inv, cnt = np.unique(sources_pos, return_inverse=True, return_counts=True)
    return 1.0 / cnt[inv.reshape(-1)]


def gate_training_set(Fd, Fc, trd, trc, aug, sources, fold_of_aug_ok, gcfg):
    """Positives: dermoscopic rows trd (+ augmented copies whose source row is usable); negatives: clinical rows trc."""
    pos = [Fd[trd]]
    src = [sources[trd]]
    if aug is not None:
        pos.append(aug[fold_of_aug_ok])
        src.append(np.full(int(fold_of_aug_ok.sum()), "augmented"))
    P = np.concatenate(pos)
    X = np.concatenate([P, Fc[trc]])
    yy = np.concatenate([np.ones(len(P)), np.zeros(int(trc.sum()))])
    wp = positive_weights(np.concatenate(src), gcfg)
    w = None if wp is None else np.concatenate([wp, np.ones(int(trc.sum()))])
    return X, yy, w


def gate_threshold(pd_, sources, gcfg):
    """Highest threshold keeping the acceptance; gate.modality.acceptanceBy = "source": for every source."""
    if gcfg.get("acceptanceBy") == "source":
        return min(highest_threshold_keeping(pd_[sources == s], gcfg["acceptance"]) for s in sorted(set(sources)))
    return highest_threshold_keeping(pd_, gcfg["acceptance"])


def modality_oof(c, feats, gcfg, kind, use_taps, taps):
    """Per fold: head fit on the fold model's training-fold features, applied to the held-out fold."""
    targets = gcfg["targets"]
    pd_, pc_ = np.zeros(len(c.rows)), np.zeros(c.nc)
    for f in range(c.k):
        Fd, Fc, Td, Tc = feats[f][:4]
        A = feats[f][4] if len(feats[f]) > 4 else None
        if use_taps:
            Fd, Fc = np.concatenate([Fd, Td], 1), np.concatenate([Fc, Tc], 1)
        aug, ok = None, None
        if A is not None:
            aug = np.concatenate([A["fa"], A["ta"]], 1) if use_taps else A["fa"]
            ok = c.fold_of[A["aug_idx"]] != f
        trd, trc = c.fold_of != f, c.clin_fold != f
        X, yy, w = gate_training_set(Fd, Fc, trd, trc, aug, c.sources, ok, gcfg)
        head = fit_balanced_head(X, yy, gcfg, c.dev, kind, c.cfg["seed"] + f, weights=w)
        pd_[~trd] = head_prob(head, Fd[~trd])
        if (~trc).any():
            pc_[~trc] = head_prob(head, Fc[~trc])
    thr = gate_threshold(pd_, c.sources, gcfg)
    acc = wilson(int((pd_ >= thr).sum()), len(pd_))
    rej = wilson(int((pc_ < thr).sum()), c.nc)
    ok = acc["value"] >= targets["dermoscopicAccepted"] and rej["value"] is not None and rej["value"] >= targets["clinicalRejected"]
    c.log(f"modality gate ({kind}, {'pooled + taps ' + str(taps) if use_taps else 'pooled'}) out-of-fold: threshold {thr}; "
          f"dermoscopic accepted {acc}; clinical rejected {rej}; targets met {ok}")
    return {"kind": kind, "taps": bool(use_taps), "pd": pd_, "pc": pc_, "threshold": thr, "accepted": acc, "rejected": rej, "ok": ok}


def modality_tries(c, feats, gcfg, taps):
    """In order, until one meets the targets: logistic, then MLP, on pooled features; then both on pooled + tap features."""
    first = gcfg.get("head", "logistic")
    plan = [(first, False), ("mlp" if first == "logistic" else "logistic", False)]
    if taps:
        plan += [(first, True), (plan[1][0], True)]
    tried = []
    for kind, use_taps in plan:
        tried.append(modality_oof(c, feats, gcfg, kind, use_taps, taps))
        if tried[-1]["ok"]:
            break
    mod = next((t for t in tried if t["ok"]), max(tried, key=lambda t: (t["rejected"]["value"] or 0)))
    return mod, tried


def modality_by_source(c, p_derm, p_derm_clin, thr):
    out = {}
    for src in sorted(set(c.sources)):
        ss = c.sources == src
        out[src] = {"dermoscopicAccepted": wilson(int((p_derm[ss] >= thr).sum()), int(ss.sum()))}
    for src in sorted(set(c.clin_sources)):
        ss = c.clin_sources == src
        out[src] = {"clinicalRejected": wilson(int((p_derm_clin[ss] < thr).sum()), int(ss.sum()))}
    return out


def modality_stage(c, feats, final, taps):
    """Modality gate: dermoscopic (labels.csv) vs clinical close-ups (clinical.csv), out-of-fold; shipped head refit
    on the final model's features of all images."""
    gcfg = c.cfg["gate"]["modality"]
    mod, tried = modality_tries(c, feats, gcfg, taps)
    thr = mod["threshold"]
    Md = np.concatenate([final.Fd, final.Td], 1) if mod["taps"] else final.Fd
    Mc = np.concatenate([final.Fc, final.Tc], 1) if mod["taps"] else final.Fc
    A = getattr(final, "aug", None)
    if A is None:
        head = fit_balanced_head(np.concatenate([Md, Mc]), np.concatenate([np.ones(len(Md)), np.zeros(len(Mc))]),
                                 gcfg, c.dev, mod["kind"], c.cfg["seed"] + 100)
    else:
        aug = np.concatenate([A["fa"], A["ta"]], 1) if mod["taps"] else A["fa"]
        X, yy, w = gate_training_set(Md, Mc, np.ones(len(Md), bool), np.ones(len(Mc), bool), aug, c.sources,
                                     np.ones(len(aug), bool), gcfg)
        head = fit_balanced_head(X, yy, gcfg, c.dev, mod["kind"], c.cfg["seed"] + 100, weights=w)
    ins_d, ins_c = head_prob(head, Md), head_prob(head, Mc)
    y_mod = np.concatenate([np.ones(len(c.rows)), np.zeros(c.nc)])
    by_src = modality_by_source(c, mod["pd"], mod["pc"], thr)
    mod_desc = ("logistic regression (L2 %g, class-balanced)" % gcfg["l2"] if mod["kind"] == "logistic"
                else "MLP %d-%d-1 ReLU (L2 %g, class-balanced, Adam %d full-batch steps)" % (Md.shape[1], gcfg["mlpHidden"], gcfg["l2"], gcfg["mlpSteps"]))
    feat_desc = ("pooled features (1280-d global average of the last feature map)" if not mod["taps"] else
                 f"pooled features (1280-d global average of the last feature map) and the per-channel spatial mean and "
                 f"standard deviation of the outputs of backbone blocks {taps} ({final.Td.shape[1]}-d)")
    section = {
        "output": "dermoscopy", "threshold": thr, "rejectBelow": True,
        "features": "pooled+taps" if mod["taps"] else "pooled", "taps": taps if mod["taps"] else [],
        "method": f"{mod_desc} on standardised {feat_desc}, "
                  f"averaged over the TTA flips; positives: dermoscopic development images, negatives: clinical close-up "
                  f"photos{'; plus ' + str(gcfg.get('augmentedPositives')) + ' device-augmented dermoscopic copies' if A is not None else ''}"
                  f"{'; each source of positives weighted equally' if gcfg.get('balanceSources') else ''}; threshold = highest with out-of-fold dermoscopic acceptance >= {gcfg['acceptance']}"
                  f"{' in every source' if gcfg.get('acceptanceBy') == 'source' else ''}; "
                  f"shipped head refit on all images with the final model's features",
        "metrics": {
            "kind": "out-of-fold: per CV fold, the fold model's features, head fit on training-fold images (dermoscopic and "
                    "clinical photos of training-fold lesions), applied to the held-out fold; 95% CI: Wilson, AUC by bootstrap over lesions",
            "dermoscopicAccepted": mod["accepted"], "clinicalRejected": mod["rejected"],
            "auc": auc_ci(y_mod, np.concatenate([mod["pd"], mod["pc"]]), np.concatenate([c.groups, c.clin_groups]), c.nb, 11),
            "bySource": by_src,
            "targets": gcfg["targets"], "targetsMet": bool(mod["ok"]),
            "inSampleFinalHead": {"dermoscopicAccepted": wilson(int((ins_d >= thr).sum()), len(ins_d)),
                                  "clinicalRejected": wilson(int((ins_c < thr).sum()), len(ins_c))},
        },
        "tried": [{"head": t["kind"], "features": "pooled+taps" if t["taps"] else "pooled", "threshold": t["threshold"], "dermoscopicAccepted": t["accepted"],
                   "clinicalRejected": t["rejected"], "targetsMet": bool(t["ok"])} for t in tried],
    }
    return SimpleNamespace(section=section, mod=mod, head=head, Md=Md, p_derm=mod["pd"], p_derm_clin=mod["pc"], thr=thr,
                           by_src=by_src, y_mod=y_mod)


def ood_oof(c, feats, kc, shrink):
    ood_d, ood_c = np.zeros(len(c.rows)), np.zeros(c.nc)
    for f in range(c.k):
        Fd, Fc = feats[f][:2]
        o = fit_ood(Fd[c.fold_of != f], kc, shrink)
        ood_d[c.fold_of == f] = ood_distance(o, Fd[c.fold_of == f])
        if (c.clin_fold == f).any():
            ood_c[c.clin_fold == f] = ood_distance(o, Fc[c.clin_fold == f])
    return ood_d, ood_c


def ood_stage(c, feats, final):
    """Out-of-distribution distance: Mahalanobis in a whitened top-k PCA space of dermoscopic features."""
    ocfg = c.cfg["gate"]["ood"]
    kc, shrink = ocfg["components"], ocfg["shrinkage"]
    ood_d, ood_c = ood_oof(c, feats, kc, shrink)
    thr = math.ceil(float(np.percentile(ood_d, ocfg["percentile"])) * 1e4) / 1e4
    o_final = fit_ood(final.Fd, kc, shrink)
    ins = ood_distance(o_final, final.Fd)
    by_src = {}
    for src in sorted(set(c.sources)):
        ss = c.sources == src
        by_src[src] = {"dermoscopicFlagged": wilson(int((ood_d[ss] > thr).sum()), int(ss.sum()))}
    for src in sorted(set(c.clin_sources)):
        ss = c.clin_sources == src
        by_src[src] = {"clinicalFlagged": wilson(int((ood_c[ss] > thr).sum()), int(ss.sum()))}
    y_mod = np.concatenate([np.ones(len(c.rows)), np.zeros(c.nc)])
    section = {
        "output": "ood", "threshold": thr, "rejectAbove": True, "components": kc, "shrinkage": shrink,
        "method": f"Mahalanobis distance of the pooled features (averaged over the TTA flips) from the dermoscopic training "
                  f"images in a whitened top-{kc} PCA space: sqrt(sum_i ((f - mu) . v_i)^2 / lambda_i), eigenvalues shrunk "
                  f"toward their mean (lambda' = {1 - shrink:g} lambda + {shrink:g} mean lambda); threshold = "
                  f"{ocfg['percentile']}th percentile of out-of-fold dermoscopic distances",
        "metrics": {
            "kind": "out-of-fold: per CV fold, mean and PCA of the fold model's training-fold dermoscopic features; held-out "
                    "dermoscopic images and held-out clinical photos scored; 95% CI: Wilson",
            "dermoscopicFlagged": wilson(int((ood_d > thr).sum()), len(ood_d)),
            "clinicalFlagged": wilson(int((ood_c > thr).sum()), c.nc),
            "clinicalVsDermoscopicAuc": auc_ci(1 - y_mod, np.concatenate([ood_d, ood_c]), np.concatenate([c.groups, c.clin_groups]), c.nb, 12),
            "bySource": by_src,
            "medianDistance": {"dermoscopicOutOfFold": round(float(np.median(ood_d)), 4),
                               "clinicalOutOfFold": round(float(np.median(ood_c)), 4) if c.nc else None,
                               "dermoscopicInSampleFinal": round(float(np.median(ins)), 4)},
        },
        "note": ood_note(ins, ood_d, thr, ocfg["percentile"]),
    }
    c.log(f"OOD gate out-of-fold: threshold {thr}; dermoscopic flagged {section['metrics']['dermoscopicFlagged']}; "
          f"clinical flagged {section['metrics']['clinicalFlagged']}; in-sample 99.5th pct {float(np.percentile(ins, 99.5)):.3f}")
    return SimpleNamespace(section=section, final=o_final, d=ood_d, c=ood_c, thr=thr, kc=kc, ocfg=ocfg)
