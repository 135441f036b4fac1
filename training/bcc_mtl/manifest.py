"""The manifest + model card written beside the ONNX graph."""
from __future__ import annotations

import datetime as dt

import numpy as np
import torch

from .export import sha256

FLIP_WORDS = {"none": "identity", "h": "horizontal flip", "v": "vertical flip", "hv": "both flips"}


def extra_output_entries(exp):
    out = {}
    if "features" in exp.emit:
        out["features"] = {"name": "features", "shape": ["N"] + exp.shapes["features"][1:],
                           "description": "the last feature map (MobileNetV2 block 18 output) that the 1x1 CAM conv reads; "
                                          "a new pattern head w, b on its spatial mean has logit = mean over the grid of "
                                          "(w . features[:, :, i, j]) + b, and that map is its exact class-activation map"}
    if "textureFeatures" in exp.emit:
        out["textureFeatures"] = {"name": "textureFeatures", "shape": ["N"] + exp.shapes["textureFeatures"][1:],
                                  "description": "what the texture heads' 1x1 conv reads: the last feature map, then each tapped "
                                                 "block's map average-pooled to the CAM grid, then each tapped block's squared map "
                                                 "average-pooled (channels in that order; see modelCard.textureHeads)"}
    return out


def outputs_section(c, exp):
    n = len(c.patterns)
    return {**_base_outputs(c, exp, n), **extra_output_entries(exp)}


def _base_outputs(c, exp, n):
    return {"bcc": {"name": "bcc", "shape": ["N"]},
            "patterns": {"name": "patterns", "shape": ["N", n]},
            "cam": {"name": "cam", "shape": ["N", 1 + n] + exp.cam_hw, "channels": ["bcc"] + [p["id"] for p in c.patterns]},
            "dermoscopy": {"name": "dermoscopy", "shape": ["N"]},
            "ood": {"name": "ood", "shape": ["N"]}}


def patterns_section(c, pat_thr, exp, tex):
    a = exp.alpha_final
    return [{"id": p["id"], "display": p["display"], "role": p["role"], "trained": c.trained[j],
             "threshold": None if pat_thr[p["id"]] is None else round(pat_thr[p["id"]], 6),
             **({"bccCoupling": round(float(a[1 + j]), 6)} if a[1 + j] else {}),
             **({"head": "texture"} if p["id"] in tex.final_heads else {})}
            for j, p in enumerate(c.patterns)]


def calibration_section(c, cal, chosen):
    return {
        **cal.final,
        "fittedOn": f"out-of-fold logits of the shipped TTA variant ({chosen}), all {len(c.rows)} development images "
                    f"({int(c.bcc.sum())} BCC), 5-fold lesion-grouped CV",
        "ece": {"bins": cal.bins, "before": cal.ece_before, "after": cal.ece_after, "afterKind": "cross-fitted out-of-fold",
                "target": cal.ccfg["targetEce"], "bySource": cal.by_source,
                "alternatives": {"platt": cal.ece_platt, "isotonic": cal.ece_iso}},
        "reliability": {"before": cal.rel_before, "after": cal.rel_after},
        "note": "the bcc output and every threshold stay on the raw probability; the service applies this map for display",
    }


def tta_section(c, parts):
    tcfg = c.cfg["tta"]
    return {
        "flips": parts.flips,
        "variant": parts.chosen,
        "averaging": "logits (and class-activation maps flipped back to the input orientation) averaged over the flips "
                     "inside the graph; pooled features averaged likewise",
        "selection": (f"config tta.ship = {tcfg['ship']}: each flip is a full pass on the serving CPU; the variants table shows what the flips would add"
                      if tcfg.get("ship") else
                      f"best out-of-fold {tcfg.get('selectOn', 'ham10000')} BCC AUC, unless within {tcfg['tolerance']} of a cheaper variant (then the cheaper)"),
        "variants": parts.tta_table,
    }


def architecture_text(c, parts):
    mod, taps, flips, cam_hw = parts.gate.mod, parts.taps, parts.flips, parts.exp.cam_hw
    return ("MobileNetV2 1.0 backbone (ImageNet start from google-coral test_data, Apache-2.0), "
            f"1x1-conv class-activation head, {1 + len(c.patterns)} maps of {cam_hw[0]}x{cam_hw[1]}; logit = spatial mean; "
            f"test-time augmentation in the graph: {', '.join(FLIP_WORDS[fl] for fl in flips)} "
            f"({len(flips)} passes, logits and flipped-back maps averaged); gate heads on the 1280-d pooled "
            f"features: modality ({mod['kind']} head{', with mean/std-pooled maps of blocks ' + str(taps) if mod['taps'] else ''}, output 'dermoscopy') and out-of-distribution distance "
            f"(Mahalanobis, top-{parts.ood.kc} PCA, output 'ood')")


def texture_card(parts):
    tex, taps, cam_hw = parts.tex, parts.taps, parts.exp.cam_hw
    if not tex.final_heads:
        return None
    return {
        "patterns": list(tex.final_heads),
        "method": f"class-balanced logistic regression (L2 {tex.cfg.get('l2')}, standardised features) on frozen features of "
                  f"the trained network: {'the pooled last block plus the means and second moments of blocks ' + str(taps) if tex.export['useTaps'] else 'the pooled last block'}"
                  f", averaged over the TTA flips; fit after training (out-of-fold: per fold model on its training folds' annotated "
                  f"rows; shipped: final model, all annotated rows). In the graph: a 1x1 conv over the last feature map and the "
                  f"tapped blocks' maps and squared maps average-pooled to the {cam_hw[0]}x{cam_hw[1]} grid, so the map's spatial mean is the logit.",
        "outOfFold": tex.report,
        "selection": tex.cfg.get("selection", ""),
    }


def training_data_card(c):
    d, bcc = c.data["is_derm"], c.bcc
    return [
        {"name": "HAM10000", "images": int((d == 0).sum()), "bcc": int(bcc[~d].sum()),
         "licence": "CC BY-NC 4.0", "citation": "Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018); lesion masks: Tschandl et al., HAM10000 segmentations"},
        {"name": "derm7pt", "images": int(d.sum()), "bcc": int(bcc[d].sum()),
         "licence": "academic research use only, no redistribution",
         "citation": "Kawahara J. et al., IEEE JBHI 23(2), 2019"},
        {"name": "derm7pt clinical close-ups (modality gate negatives only)", "images": c.nc,
         "licence": "academic research use only, no redistribution",
         "citation": "Kawahara J. et al., IEEE JBHI 23(2), 2019"},
    ]


def training_card(c, parts):
    a = parts.exp.alpha_final
    return {"folds": c.k, "grouping": "lesion (labels.csv group)", "epochs": c.epochs, "seed": c.cfg["seed"],
            "losses": "BCE (BCC), masked BCE (annotated patterns only), share of positive BCC map outside the lesion mask (BCC images with masks), auxiliary diagnosis-group cross-entropy (training only, not exported)",
            "ema": c.cfg["train"]["emaDecay"],
            "patternCoupling": {"initial": c.cfg["train"].get("coupling") or {},
                                "finalModel": {p["id"]: round(float(a[1 + j]), 6) for j, p in enumerate(c.patterns) if a[1 + j]},
                                "outOfFold": parts.coupling},
            "sampling": c.cfg["train"]["sampling"], "torch": torch.__version__,
            "config": "training/config.json", "smoke": bool(c.args.smoke)}


def threshold_card(c, chosen):
    t = c.cfg["thresholds"]
    return {"triage": f"highest threshold with out-of-fold sensitivity >= {t['triageSensitivity']}",
            "balanced": "Youden's J on out-of-fold predictions",
            "specific": f"lowest threshold with out-of-fold specificity >= {t['specificSpecificity']}",
            "review": f"highest threshold with out-of-fold sensitivity >= {t.get('reviewSensitivity', 0.99)}",
            "patterns": "Youden's J on annotated out-of-fold rows",
            "on": f"raw bcc output of the shipped TTA variant ({chosen})"}


def parity_card(exp):
    d = exp.diffs
    return {"images": int(exp.n_par), "dermoscopicImages": int(exp.n_pick), "clinicalImages": int(exp.n_pick_c),
            "maxAbsDiff": d["maxAbsDiff"], "relative": d["relative"],
            "relativeDefinition": "max over elements of |onnx - torch| / max(1, |torch|)",
            "dynamicBatch": d["dynamicBatch"], "graphVsPipeline": exp.pipe,
            "within1e-4": exp.parity_ok,
            "within1e-4Definition": "bcc, patterns and dermoscopy absolute; cam and ood relative"}


def limits(c, parts):
    patterns, tex, a = c.patterns, parts.tex, parts.exp.alpha_final
    by_src_mod, mod = parts.gate.by_src, parts.gate.mod
    out = [
        "Only pigment network and arborizing telangiectasia were annotated in the training data; ulceration, "
        "blue-gray ovoid nests, multiple blue-gray globules, leaf-like areas and spoke-wheel areas are NOT assessed "
        "by this model (their outputs are untrained and must be ignored).",
        "Pattern heads learned from 616 derm7pt images only (arborizing telangiectasia: 18 positives); pattern outputs are weak evidence.",
        "Trained on dermoscopic images from HAM10000 (Vienna, Queensland) and derm7pt; other dermatoscopes, "
        "skin types and clinical (non-dermoscopic) photographs are outside its experience.",
        f"The modality gate was trained on one set of clinical close-up photos ({c.nc}, derm7pt) of the same lesions as the "
        "derm7pt dermoscopic images; other cameras, phone photos, non-skin images and other clinics' photos were never "
        "seen, so its rejection rate there is unknown. The OOD distance is a heuristic with an out-of-fold threshold "
        f"flagging about {100 - parts.ood.ocfg['percentile']:g}% of development dermoscopic images.",
        "The modality gate's out-of-fold acceptance of dermoscopic images differs by source: "
        + ", ".join(f"{src} {by_src_mod[src]['dermoscopicAccepted']['value']}" for src in sorted(set(c.sources)))
        + f" (all {mod['accepted']['value']}); dermoscopic images like the smaller source's are rejected more often "
        "than the overall rate says.",
        "Thresholds were chosen on out-of-fold predictions and applied to the final model trained on all images; "
        "they apply to the raw bcc output. The calibration map is for displaying probabilities only.",
        "Heatmaps show where the BCC evidence lies at 32-pixel granularity; they are not a segmentation.",
    ]
    if tex.final_heads:
        out.append(f"The {', '.join(patterns[tex.pid_index[pid]]['display'] for pid in tex.final_heads)} output(s) come from a texture head fit "
                   "on frozen features after training (see textureHeads); its out-of-fold AUC was measured on the same folds on which "
                   "this recipe was chosen, so it is slightly optimistic.")
    cr = parts.coupling
    out += [f"{patterns[j]['display']} shares BCC evidence by design: its map is its own map plus "
            f"{a[1 + j]:.3f} x the BCC map (coupling learned in training, config train.coupling). As an input "
            f"to the BCC rule it is therefore not independent of the network's BCC score. Out-of-fold AUC (1 pass): "
            f"{cr[patterns[j]['id']]['aucCoupled1Pass']} coupled, "
            f"{cr[patterns[j]['id']]['aucOwnMapOnly1Pass']} its own map alone, "
            f"{cr[patterns[j]['id']]['aucOfBccOutput']} the BCC output alone."
            for j in range(len(patterns)) if a[1 + j] and patterns[j]["id"] in cr]
    return out


def model_card(c, parts):
    thresholds, pat_thr, metrics = parts.ops
    return {
        "intendedUse": "Research use, decision support for triage of dermoscopic images of skin lesions referred to "
                       "dermatology; not for diagnosis, not for clinical decisions, non-commercial.",
        "licence": "research use, not for clinical decisions, non-commercial (inherits the terms of HAM10000, CC BY-NC 4.0, and derm7pt, academic research use only)",
        "architecture": architecture_text(c, parts),
        "textureHeads": texture_card(parts),
        "trainingData": training_data_card(c),
        "training": training_card(c, parts),
        "thresholdSelection": threshold_card(c, parts.chosen),
        "metrics": {"kind": f"out-of-fold, 5-fold lesion-grouped cross-validation on the development set, TTA variant {parts.chosen}; "
                            "95% CI: AUC by bootstrap over lesions, proportions by Wilson",
                    **metrics},
        "onnxParity": parity_card(parts.exp),
        "limits": limits(c, parts),
    }


def color_constancy_entry(cfg):
    cc = cfg["input"]["colorConstancy"]
    lo, hi = cc.get("gainClamp", [0.25, 4.0])
    return {"method": cc.get("method", "shades-of-grey"), "p": cc["p"], "gainClamp": [lo, hi],
            "appliesTo": "the resized RGB image (size x size, after resize), values x = byte / 255, before mean/std",
            "formula": f"e_c = (mean over pixels of x_c^p)^(1/p), floored at 1e-6; g_c = clamp((e_R + e_G + e_B) / 3 / e_c, {lo}, {hi}); "
                       "x'_c = min(1, x_c * g_c); then (x' - mean) / std"}


def build_manifest(c, parts):
    cfg, exp = c.cfg, parts.exp
    name = cfg["modelName"]
    thresholds, pat_thr, _ = parts.ops
    return {
        "name": name,
        "version": cfg["version"],
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "file": f"{name}.onnx",
        "sha256": sha256(exp.onnx_path),
        "opset": 17,
        "input": {"name": cfg["input"]["name"], "layout": "NCHW", "type": "float32", "size": c.size,
                  "resize": cfg["input"]["resize"], "mean": cfg["input"]["mean"], "std": cfg["input"]["std"],
                  **({"colorConstancy": color_constancy_entry(cfg)} if cfg["input"].get("colorConstancy") else {})},
        "outputs": outputs_section(c, exp),
        "patterns": patterns_section(c, pat_thr, exp, parts.tex),
        "thresholds": {k2: round(v, 6) for k2, v in thresholds.items()},
        "gate": {"modality": parts.gate.section, "ood": parts.ood.section},
        "calibration": calibration_section(c, parts.cal, parts.chosen),
        "tta": tta_section(c, parts),
        "modelCard": model_card(c, parts),
        **({"loso": parts.loso} if getattr(parts, "loso", None) else {}),
    }
