"""The run, phase by phase: fits, out-of-fold TTA comparison, texture heads, operating points, calibration,
gates, out-of-fold CSV, export and parity, manifest. Every phase is a function of the run context."""
from __future__ import annotations

import json
import os
import time
import traceback
from types import SimpleNamespace

import numpy as np
import torch
import torchvision

from .calibration import cross_fit, ece_bins, isotonic_apply, isotonic_fit, platt_apply, platt_fit, sigmoid_np
from .config import load_config, parse_args
from .data import prepare
from .export import Exported, check_parity, export_onnx
from .gates import modality_stage, ood_stage
from .heads import fit_balanced_head, texture_features, texture_head_oof, texture_scores_oof
from .log import Logger
from .loop import run_worker, spawn_jobs
from .loso import loso_report
from .manifest import build_manifest
from .release import export_stage, write_oof_csv
from .metrics import auc, auc_ci, choose_thresholds, evaluate_oof, heatmap_localisation, youden
from .model import FLIPS, tap_channels


def setup(args, cfg):
    os.makedirs(args.out, exist_ok=True)
    args.work = args.work or os.path.join(args.out, ".work")
    os.makedirs(args.work, exist_ok=True)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return dev


def make_context(args, cfg, dev, log):
    t0 = time.time()
    log(f"torch {torch.__version__} torchvision {torchvision.__version__} device {dev}"
        f" {torch.cuda.get_device_name(0) if dev.type == 'cuda' else ''}")
    rows, data, fold_of = prepare(args, cfg)
    if not data["clin_rows"]:
        raise SystemExit(f"no clinical photos: the modality gate needs {os.path.join(args.data, 'clinical.csv')} and its "
                         "images (pack the data folder with clinical/, see training/README.md)")
    c = SimpleNamespace(args=args, cfg=cfg, dev=dev, log=log, t0=t0, rows=rows, data=data, fold_of=fold_of,
                        patterns=cfg["patterns"], size=cfg["input"]["size"], bcc=data["bcc"], pat=data["pat"],
                        has_mask=data["has_mask"], trained=data["trained"], m_eval=data["m_eval"],
                        epochs=1 if args.smoke else cfg["train"]["epochs"], k=cfg["train"]["folds"])
    dx = data["dx"]
    log(f"{len(rows)} images ready in {time.time() - t0:.1f}s; BCC {int(c.bcc.sum())};"
        f" trained patterns {[p['id'] for p, t in zip(c.patterns, c.trained) if t]};"
        f" diagnosis groups {np.bincount(dx[dx >= 0], minlength=len(cfg['diagnosisGroups'])).tolist()}"
        f" (unmapped {int((dx < 0).sum())})")
    return c


def run_fits(c):
    args, k = c.args, c.k
    if args.loso:
        jobs = [] if args.jobs in ("none", "skip") else [f"loso-{s}" for s in args.loso.split(",")]
    else:
        jobs = ([str(f) for f in range(k)] + ([] if args.cv_only else ["final"]) if args.jobs == "all"
                else [] if args.jobs in ("none", "skip") else args.jobs.split(","))
    if args.set:
        c.log(f"config overrides: {args.set}")
    spawn_jobs(args, jobs, c.log)
    c.log(f"fits done in {time.time() - c.t0:.0f}s")


def check_work(c):
    missing = [j for j in [f"fold{f}.npz" for f in range(c.k)] + ([] if c.args.cv_only else ["final.pt", "final-features.npz"])
               if not os.path.exists(os.path.join(c.args.work, j))]
    if missing:
        raise SystemExit(f"cannot aggregate: {missing} missing in {c.args.work}")
    c.m_eval = np.asarray(c.m_eval)
    c.clin_rows, c.clin_fold = c.data["clin_rows"], c.data["clin_fold"]
    c.nc = len(c.clin_rows)
    c.log(f"{c.nc} clinical photos for the modality gate ({c.data['clin_unknown']} in groups unknown to labels.csv: hash-assigned folds)")
    c.groups = np.array([r["group"] for r in c.rows])
    c.sources = np.array([r["source"] for r in c.rows])
    c.clin_groups = np.array([r["group"] for r in c.clin_rows])
    c.clin_sources = np.array([r["source"] for r in c.clin_rows])
    c.nb = c.cfg["bootstrap"]
    c.n_out = 1 + len(c.patterns)
    c.fidx = {fl: i for i, fl in enumerate(FLIPS)}


def load_oof(c):
    """Out-of-fold logits and flipped-back maps of every flip: L [flips,N,8], Lc (clinical), cams4, alpha per row."""
    L = np.zeros((len(FLIPS), len(c.rows), c.n_out), np.float32)
    Lc = np.zeros((len(FLIPS), c.nc, c.n_out), np.float32)
    cams4 = None
    alpha_fold = np.zeros((len(c.rows), c.n_out), np.float32)  # each held-out row: its fold model's learned coupling
    for f in range(c.k):
        z = np.load(os.path.join(c.args.work, f"fold{f}.npz"))
        te = z["te"]
        L[:, te] = z["logits"]
        if cams4 is None:
            cams4 = np.zeros((len(FLIPS), len(c.rows)) + z["cm"].shape[2:], np.float32)
        cams4[:, te] = z["cm"]
        sel = c.clin_fold == f
        Lc[:, sel] = z["lc"][:, sel]
        alpha_fold[te] = z["alpha"] if "alpha" in z.files else 0.0
        c.log(f"fold {f + 1} AUC (no flips) {auc(c.bcc[te], L[0, te, 0]):.4f}")
    return L, Lc, cams4, alpha_fold


def tta_row(c, lg, cams, ii, vname):
    bcc, pat, groups, sources, nb = c.bcc, c.pat, c.groups, c.sources, c.nb
    pb = sigmoid_np(lg[:, 0])
    row = {"flips": c.cfg["tta"]["variants"][vname], "passes": len(ii), "bccAuc": {"all": auc_ci(bcc, pb, groups, nb, 1)}}
    for src in sorted(set(sources)):
        ss = sources == src
        row["bccAuc"][src] = auc_ci(bcc[ss], pb[ss], groups[ss], nb, 1)
    row["patternAuc"] = {}
    for j, p in enumerate(c.patterns):
        if c.trained[j]:
            known = ~np.isnan(pat[:, j])
            row["patternAuc"][p["id"]] = auc_ci(pat[known, j], sigmoid_np(lg[known, 1 + j]), groups[known], nb, 2 + j)
    mask_sel = (bcc == 1) & c.has_mask
    hm = heatmap_localisation(cams[mask_sel], c.m_eval[mask_sel])
    row["heatmapRatio"] = hm["ratio"]
    row["heatmapMedianPerImageRatio"] = hm["medianPerImageRatio"]
    return row, pb


def compare_tta(c, L, cams4):
    """Test-time flip variants (averaging logits and flipped-back maps), compared out-of-fold."""
    tcfg = c.cfg["tta"]
    variants = tcfg["variants"]
    order = sorted(variants, key=lambda v: len(variants[v]))  # cheapest first
    sel_src = c.sources == tcfg.get("selectOn", "ham10000")
    tta_table, tta_sel_auc = {}, {}
    for vname in order:
        ii = [c.fidx[fl] for fl in variants[vname]]
        row, pb = tta_row(c, L[ii].mean(0), cams4[ii].mean(0), ii, vname)
        tta_table[vname] = row
        tta_sel_auc[vname] = auc(c.bcc[sel_src], pb[sel_src])
        c.log(f"TTA {vname:6s} flips {variants[vname]}: AUC all {row['bccAuc']['all']['value']} "
              + " ".join(f"{s2} {row['bccAuc'][s2]['value']}" for s2 in sorted(set(c.sources)))
              + " " + " ".join(f"{pid} {v['value']}" for pid, v in row["patternAuc"].items())
              + f" heatmap ratio {row['heatmapRatio']} (selection AUC {tta_sel_auc[vname]:.5f})")
    return tta_table, tta_sel_auc, order


def coupling_summary(c, L, alpha_fold):
    """A coupled pattern's own evidence, without the BCC map it borrows: logit_j - alpha_j * logit_BCC."""
    pat = c.pat
    report = {}
    for j, p in enumerate(c.patterns):
        if c.trained[j] and alpha_fold[:, 1 + j].any():
            known = ~np.isnan(pat[:, j])
            own = L[0, :, 1 + j] - alpha_fold[:, 1 + j] * L[0, :, 0]
            report[p["id"]] = {
                "alphaByFold": sorted({round(float(a), 4) for a in alpha_fold[:, 1 + j]}),
                "aucCoupled1Pass": round(auc(pat[known, j], L[0, known, 1 + j]), 4),
                "aucOwnMapOnly1Pass": round(auc(pat[known, j], own[known]), 4),
                "aucOfBccOutput": round(auc(pat[known, j], L[0, known, 0]), 4)}
            c.log(f"coupling {p['id']}: {report[p['id']]}")
    return report


def cv_only_summary(c, tta_table, coupling_report):
    try:
        texture = texture_head_oof(c.args, c.cfg, c.k, c.fold_of, c.pat, c.trained, c.dev, c.log)
    except Exception as e:  # an experiment must not cost the run's other numbers
        c.log("texture heads failed: " + "".join(traceback.format_exception(e)))
        texture = {"error": str(e)}
    with open(os.path.join(c.args.out, "cv-summary.json"), "w") as f:
        json.dump({"overrides": c.args.set, "version": c.cfg["version"], "size": c.size, "epochs": c.epochs,
                   "tta": tta_table, "coupling": coupling_report, "textureHeads": texture}, f, indent=1)
    c.log(f"cv-only: done in {time.time() - c.t0:.0f}s -> {os.path.join(c.args.out, 'cv-summary.json')}")


def choose_tta(c, tta_sel_auc, order):
    tcfg = c.cfg["tta"]
    best = max(tta_sel_auc.values())
    chosen = next(v for v in order if tta_sel_auc[v] >= best - tcfg["tolerance"])
    if tcfg.get("ship"):
        # A deployment choice over the measured one: every flip is a full network pass on the
        # serving CPU (4 flips quadrupled hook latency, bench/README.md).
        chosen = tcfg["ship"]
        c.log(f"TTA: config ships {chosen} (the AUC rule would pick a variant within {tcfg['tolerance']} of {best:.5f})")
    flips = tcfg["variants"][chosen]
    c.log(f"TTA shipped: {chosen} {flips} (best {tcfg.get('selectOn', 'ham10000')} AUC {best:.5f}; "
          f"cheapest within {tcfg['tolerance']})")
    return chosen, flips, [c.fidx[fl] for fl in flips]


def shipped_predictions(c, L, Lc, cams4, ii):
    lg = L[ii].mean(0)
    lgc = Lc[ii].mean(0)
    return SimpleNamespace(lg=lg, lgc=lgc, cams=cams4[ii].mean(0), logit_bcc=lg[:, 0].astype(np.float64),
                           p_bcc=sigmoid_np(lg[:, 0]).astype(np.float32), p_pat=sigmoid_np(lg[:, 1:]).astype(np.float32),
                           p_bcc_clin=sigmoid_np(lgc[:, 0]).astype(np.float32),
                           p_pat_clin=sigmoid_np(lgc[:, 1:]).astype(np.float32))


def texture_inputs(c, ii, use_taps, chans):
    Xd, Xc = [], []
    for f in range(c.k):
        z = np.load(os.path.join(c.args.work, f"fold{f}.npz"))
        Xd.append(texture_features(z["fd"], z["td"] if use_taps else None, ii, chans, use_taps))
        Xc.append(texture_features(z["fc"], z["tc"] if use_taps else None, ii, chans, use_taps))
    zf_t = np.load(os.path.join(c.args.work, "final-features.npz"))
    X_final = texture_features(zf_t["fd"], zf_t["td"] if use_taps else None, ii, chans, use_taps)
    return Xd, Xc, X_final


def texture_stage(c, ii, chosen, sp):
    """Texture heads (config textureHeads): for the named patterns, replace the jointly trained head by a
    class-balanced L2 logistic regression on frozen features of the network (pooled last block, plus the
    tapped blocks' means and second moments). Out-of-fold: fit on each fold model's training-fold annotated
    rows, scored on its held-out rows (training rows' features are in-sample for that model, as for any
    stacked head). It stays a class-activation head: exported as a 1x1 conv over maps whose spatial means are
    these features. Replaces sp.p_pat / sp.p_pat_clin columns in place."""
    tex_cfg = c.cfg.get("textureHeads") or {}
    pid_index = {p["id"]: j for j, p in enumerate(c.patterns)}
    tex_patterns = [pid for pid in tex_cfg.get("patterns", []) if c.trained[pid_index[pid]]]
    t = SimpleNamespace(report={}, export=None, final_heads={}, X_final=None, cfg=tex_cfg, pid_index=pid_index)
    if not tex_patterns:
        return t
    tex_taps = list(c.cfg["gate"]["modality"].get("taps", []))
    use_taps = tex_cfg.get("features", "pooled+taps") == "pooled+taps" and bool(tex_taps)
    chans = tap_channels(tex_taps) if use_taps else []
    l2 = float(tex_cfg["l2"])
    Xd, Xc, t.X_final = texture_inputs(c, ii, use_taps, chans)
    ws, bs_ = [], []
    for pid in tex_patterns:
        j = pid_index[pid]
        known = ~np.isnan(c.pat[:, j])
        sc, scc = texture_scores_oof(Xd, c.pat[:, j], known, c.fold_of, c.k, l2, c.dev, c.cfg["seed"] + 50, Xc, c.clin_fold)
        t.report[pid] = {
            "jointHeadAuc": auc_ci(c.pat[known, j], sp.p_pat[known, j], c.groups[known], c.nb, 40 + j),
            "textureHeadAuc": auc_ci(c.pat[known, j], sc[known], c.groups[known], c.nb, 40 + j)}
        c.log(f"texture head {pid} ({tex_cfg.get('features', 'pooled+taps')}, L2 {l2}, {chosen}): out-of-fold AUC "
              f"{t.report[pid]['textureHeadAuc']} vs jointly trained head {t.report[pid]['jointHeadAuc']}")
        sp.p_pat[:, j] = sc.astype(np.float32)
        sp.p_pat_clin[:, j] = scc.astype(np.float32)
        head = fit_balanced_head(t.X_final[known], c.pat[known, j], {"l2": l2}, c.dev, "logistic", c.cfg["seed"] + 150 + j)
        t.final_heads[pid] = head
        lin = head.body[0]
        w = lin.weight.detach().double().numpy()[0] / head.std.double().numpy()
        ws.append(w)
        bs_.append(float(lin.bias.detach().double().numpy()[0] - (w * head.mean.double().numpy()).sum()))
    t.export = {"channels": [1 + pid_index[pid] for pid in tex_patterns], "weight": np.stack(ws).astype(np.float32),
                "bias": np.array(bs_, np.float32), "useTaps": use_taps}
    return t


def operating_points(c, sp):
    thresholds = choose_thresholds(c.bcc, sp.p_bcc, c.cfg)
    pat_thr = {}
    for j, p in enumerate(c.patterns):
        known = ~np.isnan(c.pat[:, j])
        pat_thr[p["id"]] = youden(c.pat[known, j], sp.p_pat[known, j]) if c.trained[j] else None
    metrics = evaluate_oof(c.rows, c.bcc, c.pat, sp.p_bcc, sp.p_pat, sp.cams, c.m_eval, c.has_mask, thresholds, pat_thr,
                           c.trained, c.cfg)
    c.log(json.dumps({"thresholds": thresholds, "patternThresholds": pat_thr}))
    c.log(json.dumps(metrics, indent=1))
    return thresholds, pat_thr, metrics


def isotonic_points(p64, y64):
    xs, vs = isotonic_fit(p64, y64)
    pts = []
    for xv, vv in zip(xs, vs):
        xr, vr = round(float(xv), 6), round(float(min(max(vv, 0.0), 1.0)), 6)
        if pts and xr <= pts[-1][0]:
            continue
        pts.append([xr, max(vr, pts[-1][1]) if pts else vr])
    if len(pts) == 1:
        pts.append([1.0, max(pts[0][1], 1.0 if pts[0][0] < 1.0 else pts[0][1])])
    return pts


def calibration_stage(c, sp):
    """Calibration of the BCC probability (Platt on out-of-fold logits; cross-fitted ECE)."""
    ccfg = c.cfg["calibration"]
    bins = ccfg["bins"]
    y64 = c.bcc.astype(np.float64)
    p64 = sp.p_bcc.astype(np.float64)
    cf_platt, platt_fits = cross_fit(platt_fit, platt_apply, sp.logit_bcc, y64, c.fold_of)
    cf_iso, iso_fits = cross_fit(isotonic_fit, isotonic_apply, p64, y64, c.fold_of)
    ece_before, rel_before = ece_bins(p64, y64, bins)
    ece_platt, rel_platt = ece_bins(cf_platt, y64, bins)
    ece_iso, rel_iso = ece_bins(cf_iso, y64, bins)
    method = "platt" if (ece_platt <= ccfg["targetEce"] or ece_platt <= ece_iso) else "isotonic"
    cf_cal, rel_after, ece_after = ((cf_platt, rel_platt, ece_platt) if method == "platt" else (cf_iso, rel_iso, ece_iso))
    c.log(f"calibration ECE ({bins} bins): before {ece_before}; cross-fitted after Platt {ece_platt}, isotonic {ece_iso}; ships {method}")
    by_source = {}
    for src in sorted(set(c.sources)):
        ss = c.sources == src
        by_source[src] = {"n": int(ss.sum()), "positives": int(c.bcc[ss].sum()),
                          "before": ece_bins(p64[ss], y64[ss], bins)[0], "after": ece_bins(cf_cal[ss], y64[ss], bins)[0]}
    if method == "platt":
        slope, intercept = platt_fit(sp.logit_bcc, y64)
        final = {"method": "platt", "slope": round(slope, 6), "intercept": round(intercept, 6),
                 "appliesTo": "bcc", "formula": "calibrated = sigmoid(slope * logit(bcc) + intercept)"}
    else:
        final = {"method": "isotonic", "points": isotonic_points(p64, y64), "appliesTo": "bcc",
                 "formula": "calibrated = piecewise-linear interpolation of points at bcc (clamped at the ends)"}
    c.log(f"calibration shipped: {final if method == 'platt' else {'points': len(final['points'])}}; by source {by_source}")
    return SimpleNamespace(method=method, final=final, cf_cal=cf_cal, fits=platt_fits if method == "platt" else iso_fits,
                           bins=bins, ece_before=ece_before, ece_after=ece_after, ece_platt=ece_platt, ece_iso=ece_iso,
                           rel_before=rel_before, rel_after=rel_after, by_source=by_source, ccfg=ccfg)


def gate_features(c, ii):
    """Pooled features of the shipped flips, per fold model (out-of-fold gates) and of the final model."""
    def vfeat(arr):
        return arr[ii].mean(0).astype(np.float64)
    taps = list(c.cfg["gate"]["modality"].get("taps", []))
    def aug(z):  # augmented gate positives: one-pass features, usable when the shipped variant is one pass
        if "fa" not in z.files or ii != [0]:
            return None
        return {"aug_idx": z["aug_idx"], "fa": z["fa"][0].astype(np.float64), "ta": z["ta"][0].astype(np.float64) if taps else None}
    feats = []
    for f in range(c.k):
        z = np.load(os.path.join(c.args.work, f"fold{f}.npz"))
        t = (vfeat(z["fd"]), vfeat(z["fc"]), vfeat(z["td"]) if taps else None, vfeat(z["tc"]) if taps else None)
        a = aug(z)
        feats.append(t if a is None else t + (a,))
    zf = np.load(os.path.join(c.args.work, "final-features.npz"))
    final = SimpleNamespace(Fd=vfeat(zf["fd"]), Fc=vfeat(zf["fc"]),
                            Td=vfeat(zf["td"]) if taps else None, Tc=vfeat(zf["tc"]) if taps else None, aug=aug(zf))
    if c.cfg["gate"]["modality"].get("augmentedPositives") and final.aug is None:
        c.log("gate: augmented positives skipped (they are one-pass features; the shipped variant has flips)")
    return feats, final, taps


def run(args=None):
    args = parse_args(args)
    cfg = load_config(args)
    dev = setup(args, cfg)
    if args.worker:
        run_worker(args, cfg, args.worker, dev, Logger(None))
        return
    log = Logger(os.path.join(args.out, "train.log"))
    try:
        aggregate(make_context(args, cfg, dev, log))
    finally:
        log.close()


def loso_stage(c):
    """--loso: leave-one-source-out report; merged into the manifest in --out when there is one."""
    c.m_eval = np.asarray(c.m_eval)
    c.clin_rows, c.clin_fold = c.data["clin_rows"], c.data["clin_fold"]
    c.nc = len(c.clin_rows)
    c.groups = np.array([r["group"] for r in c.rows])
    c.sources = np.array([r["source"] for r in c.rows])
    c.nb = c.cfg["bootstrap"]
    out = loso_report(c, c.args.loso.split(","))
    mpath = os.path.join(c.args.out, f"{c.cfg['modelName']}.json")
    if os.path.exists(mpath):
        with open(mpath) as f:
            m = json.load(f)
        m["loso"] = out
        with open(mpath, "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")
        c.log(f"LOSO section added to {mpath}")
    c.log(f"LOSO done in {time.time() - c.t0:.0f}s")


def aggregate(c):
    run_fits(c)
    if c.args.no_aggregate:
        return
    if c.args.loso:
        loso_stage(c)
        return
    check_work(c)
    L, Lc, cams4, alpha_fold = load_oof(c)
    tta_table, tta_sel_auc, order = compare_tta(c, L, cams4)
    coupling_report = coupling_summary(c, L, alpha_fold)
    if c.args.cv_only:
        cv_only_summary(c, tta_table, coupling_report)
        return
    chosen, flips, ii = choose_tta(c, tta_sel_auc, order)
    sp = shipped_predictions(c, L, Lc, cams4, ii)
    del cams4
    tex = texture_stage(c, ii, chosen, sp)
    ops = operating_points(c, sp)
    cal = calibration_stage(c, sp)
    feats, final, taps = gate_features(c, ii)
    gate = modality_stage(c, feats, final, taps)
    ood = ood_stage(c, feats, final)
    write_oof_csv(c, L, Lc, order, sp, cal, gate, ood)
    exp = export_stage(c, flips, gate, ood, tex, final, taps, sp)
    parts = SimpleNamespace(chosen=chosen, flips=flips, tta_table=tta_table, coupling=coupling_report, tex=tex, ops=ops,
                            cal=cal, gate=gate, ood=ood, exp=exp, taps=taps)
    manifest = build_manifest(c, parts)
    with open(os.path.join(c.args.out, f"{c.cfg['modelName']}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    c.log(f"done in {time.time() - c.t0:.0f}s -> {exp.onnx_path}")
