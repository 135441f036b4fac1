"""Release outputs: the out-of-fold CSV, and the final model exported with its gates and checked for parity."""
from __future__ import annotations

import csv
import os
from types import SimpleNamespace

import numpy as np
import torch

from .calibration import isotonic_apply, platt_apply, sigmoid_np
from .export import Exported, check_parity, export_onnx
from .heads import head_prob, ood_distance
from .model import MultiTaskCAM


def clinical_calibrated(c, sp, cal):
    cal_apply = platt_apply if cal.method == "platt" else isotonic_apply
    x_for_cal = (lambda lg0: lg0.astype(np.float64)) if cal.method == "platt" else (lambda lg0: sigmoid_np(lg0))
    out = np.zeros(c.nc)
    for f in range(c.k):
        ss = c.clin_fold == f
        if ss.any():
            out[ss] = cal_apply(cal.fits[f], x_for_cal(sp.lgc[ss, 0]))
    return out


def write_oof_csv(c, L, Lc, order, sp, cal, gate, ood):
    """Out-of-fold predictions (no images): dermoscopic rows, then the clinical photos."""
    variants = c.cfg["tta"]["variants"]
    cal_clin = clinical_calibrated(c, sp, cal)
    vcols = {v: sigmoid_np(L[[c.fidx[fl] for fl in variants[v]]].mean(0)[:, 0]) for v in order}
    vcols_c = {v: sigmoid_np(Lc[[c.fidx[fl] for fl in variants[v]]].mean(0)[:, 0]) for v in order}
    with open(os.path.join(c.args.out, "oof.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "group", "source", "fold", "bcc", "p_bcc", "p_bcc_calibrated"]
                   + [f"p_bcc_{v.replace('-', '')}" for v in order] + [f"p_{p['id']}" for p in c.patterns]
                   + ["p_dermoscopy", "ood"])
        for i, r in enumerate(c.rows):
            w.writerow([r["image"], r["group"], r["source"], int(c.fold_of[i]), int(c.bcc[i]), f"{sp.p_bcc[i]:.6f}", f"{cal.cf_cal[i]:.6f}"]
                       + [f"{vcols[v][i]:.6f}" for v in order] + [f"{v:.6f}" for v in sp.p_pat[i]]
                       + [f"{gate.p_derm[i]:.6f}", f"{ood.d[i]:.4f}"])
        for i, r in enumerate(c.clin_rows):
            w.writerow([r["image"], r["group"], r["source"], int(c.clin_fold[i]), int(c.data["clin_bcc"][i]), f"{sp.p_bcc_clin[i]:.6f}",
                        f"{cal_clin[i]:.6f}"] + [f"{vcols_c[v][i]:.6f}" for v in order] + [f"{v:.6f}" for v in sp.p_pat_clin[i]]
                       + [f"{gate.p_derm_clin[i]:.6f}", f"{ood.c[i]:.4f}"])


def final_net(c):
    net = MultiTaskCAM(1 + len(c.patterns), c.cfg["train"]["featureDropout"], len(c.cfg["diagnosisGroups"]))
    net.load_state_dict(torch.load(os.path.join(c.args.work, "final.pt"), map_location="cpu"))  # coupling already folded in
    alpha_path = os.path.join(c.args.work, "final-alpha.npy")
    alpha = np.load(alpha_path) if os.path.exists(alpha_path) else np.zeros(c.n_out, np.float32)
    return net.float().cpu().eval(), alpha


def pipeline_parity(c, ref, pick, gate, ood, final, tex):
    """The graph's gate outputs against the training pipeline's features (GPU, TF32) of the same final model."""
    pipe = {"dermoscopy": float(np.abs(ref[3][:len(pick)] - head_prob(gate.head, gate.Md[pick])).max()),
            "ood": float(np.abs(ref[4][:len(pick)] - ood_distance(ood.final, final.Fd[pick])).max())}
    for pid, head in tex.final_heads.items():
        j = tex.pid_index[pid]
        pipe[pid] = float(np.abs(ref[1][:len(pick), j] - head_prob(head, tex.X_final[pick])).max())
    return pipe


def extra_outputs(cfg, tex):
    """config export.outputs: "features" always possible; "textureFeatures" only with texture heads over tapped blocks."""
    want = (cfg.get("export") or {}).get("outputs") or []
    return tuple(o for o in want if o == "features" or (o == "textureFeatures" and tex.export and tex.export["useTaps"]))


def export_stage(c, flips, gate, ood, tex, final, taps, sp):
    """Final model + TTA + gate heads in one graph; ONNX Runtime parity on real images."""
    net, alpha_final = final_net(c)
    cam_hw = list(sp.cams.shape[-2:])
    mod = gate.mod
    emit = extra_outputs(c.cfg, tex)
    wrapped = Exported(net, flips, gate.head, {"mu": ood.final["mu"], "w": ood.final["w"]}, c.size, cam_hw,
                       taps=taps if (mod["taps"] or tex.export) else (), modality_taps=mod["taps"],
                       texture=tex.export, emit=emit).eval()
    x_eval = c.data["x_eval"]
    onnx_path = os.path.join(c.args.out, f"{c.cfg['modelName']}.onnx")
    out_names = ["bcc", "patterns", "cam", "dermoscopy", "ood"] + list(emit)
    export_onnx(wrapped, onnx_path, c.size, c.cfg["input"]["name"], out_names)
    # Parity is about arithmetic (PyTorch vs ONNX Runtime), checked on real held-out (validation-fold) development
    # images of each fold and on real clinical photos (they exercise the gate outputs).
    pick = np.concatenate([np.where(c.fold_of == f)[0][:13] for f in range(c.k)])
    pick_c = np.arange(min(15, c.nc))
    x_par = np.concatenate([np.asarray(x_eval[pick]), np.asarray(c.data["x_clin"][pick_c])])
    diffs, shapes, ref = check_parity(wrapped, onnx_path, x_par, c.cfg, out_names)
    c.log(f"ONNX parity on {len(x_par)} real images ({len(pick)} dermoscopic, {len(pick_c)} clinical): {diffs}; outputs {shapes}")
    pipe = pipeline_parity(c, ref, pick, gate, ood, final, tex)
    c.log(f"graph vs pipeline gate outputs (max abs diff, final model, {len(pick)} images): {pipe}")
    parity_ok = max(diffs["maxAbsDiff"]["bcc"], diffs["maxAbsDiff"]["patterns"], diffs["maxAbsDiff"]["dermoscopy"],
                    diffs["relative"]["cam"], diffs["relative"]["ood"]) <= 1e-4
    if not parity_ok:
        c.log(f"WARNING: ONNX parity above 1e-4: {diffs}")
    return SimpleNamespace(onnx_path=onnx_path, cam_hw=cam_hw, emit=emit, shapes=shapes, alpha_final=alpha_final, diffs=diffs, pipe=pipe,
                           parity_ok=parity_ok, n_par=len(x_par), n_pick=len(pick), n_pick_c=len(pick_c))
