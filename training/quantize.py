#!/usr/bin/env python3
"""Static int8 quantization of the shipped ONNX model, calibrated on development images.

    python3 training/quantize.py --model models/bcc-mtl-mnv2.json --data <dermoscopy dir> --out <dir>

Writes <dir>/bcc-mtl-mnv2-int8.onnx and <dir>/bcc-mtl-mnv2-int8.json (the fp32 manifest with file,
sha256 and version changed and a `quantization` section: calibration set, AUC of fp32 vs int8 on
the development images, output agreement). Everything else of the fp32 manifest is carried over as it
is: the outputs (bcc, patterns, cam, dermoscopy, ood), thresholds, gate, calibration and tta sections;
the int8 model uses the fp32 operating points and gate thresholds unchanged.

The backbone (and the TTA flips, which the graph does) is quantized; the gate heads after the pooled
features (the nodes that feed only `dermoscopy` and `ood`) stay float, so their arithmetic adds no
error of its own. The report counts how often the int8 model's triage, modality and OOD decisions differ
from the fp32 model's on the dermoscopic development images and the clinical photos.

The fold models are not kept, so the comparison runs on all development images (the final model saw
them in training): it measures what quantization changes, not how well the model generalises.
Needs numpy, pillow, onnx, onnxruntime.
"""
from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image
from scipy.stats import rankdata


def preprocess(path: str, inp: dict) -> np.ndarray:
    """As the service does (src/imaging/preprocess.ts): RGB, resize, (x/255 - mean)/std, NCHW."""
    im = Image.open(path).convert("RGB")
    size = inp["size"]
    if inp["resize"] == "cover":
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    x = np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    cc = inp.get("colorConstancy")
    if cc:  # manifest input.colorConstancy (shades of grey): per-channel gain on the resized image
        p = float(cc["p"])
        e = np.maximum(np.power(np.mean(np.power(x.astype(np.float64), p), axis=(0, 1)), 1.0 / p), 1e-6)
        g = np.clip(e.mean() / e, cc["gainClamp"][0], cc["gainClamp"][1])
        x = np.minimum(1.0, x * g).astype(np.float32)
    x = (x - np.array(inp["mean"], np.float32)) / np.array(inp["std"], np.float32)
    return x.transpose(2, 0, 1)[None]


class Reader(CalibrationDataReader):
    def __init__(self, tensors: list, name: str):
        self.it = iter([{name: t} for t in tensors])

    def get_next(self):
        return next(self.it, None)


def auc(y: np.ndarray, s: np.ndarray) -> float:
    npos, nneg = int((y == 1).sum()), int((y == 0).sum())
    r = rankdata(s)
    return float((r[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def run(sess: ort.InferenceSession, name: str, tensors: list) -> dict:
    """All outputs by name, over batches of 32."""
    names = [o.name for o in sess.get_outputs()]
    if not tensors:
        return {}
    outs = [sess.run(None, {name: np.concatenate(tensors[i:i + 32])}) for i in range(0, len(tensors), 32)]
    return {n: np.concatenate([o[k] for o in outs]) for k, n in enumerate(names)}


def gate_only_nodes(model: onnx.ModelProto, main_outputs: list, gate_outputs: list) -> list:
    """Names of the nodes that feed only the gate outputs (not bcc/patterns/cam)."""
    producer = {}
    for n in model.graph.node:
        for o in n.output:
            producer[o] = n

    def ancestors(outs):
        seen, stack = set(), [o for o in outs if o in producer]
        while stack:
            node = producer[stack.pop()]
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(i for i in node.input if i in producer)
        return seen
    main, gate = ancestors(main_outputs), ancestors(gate_outputs)
    return [n.name for n in model.graph.node if id(n) in gate and id(n) not in main]


def head_nodes(model: onnx.ModelProto, names: list) -> list:
    """Nodes after the backbone that feed the pattern/texture heads: the texture 1x1 conv, the pooled squared tap
    maps and the channel assembly (kept float: the squared maps quantize badly, issue #17)."""
    keep = []
    for n in model.graph.node:
        ins = " ".join(n.input)
        if n.op_type in ("Mul", "Pow") and "features" in ins and any(o for o in n.output):
            keep.append(n.name)  # squared tap maps
        elif n.op_type == "Conv" and ("tex_w" in ins or "tex_b" in ins):
            keep.append(n.name)  # the texture 1x1 conv (its weight is exported folded, as onnx::Conv_*; the bias keeps its name)
    return keep + list(names)


def preprocess_all(paths: list, inp: dict) -> list:
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        return list(ex.map(lambda p: preprocess(p, inp), paths))


def changed(a: np.ndarray, b: np.ndarray) -> dict:
    n = int(len(a))
    k = int((a != b).sum())
    return {"changed": k, "n": n, "rate": round(k / n, 4) if n else None}


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="fp32 manifest (the .onnx beside it)")
    ap.add_argument("--data", required=True, help="folder with labels.csv (and clinical.csv, if there)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--limit", type=int, default=0, help="evaluate on this many development images (0 = all; for a smoke run)")
    ap.add_argument("--float-heads", action="store_true", help="keep the texture/pattern head nodes float too")
    ap.add_argument("--calibrate-method", choices=["minmax", "percentile", "entropy"], default="minmax",
                    help="activation range calibration (percentile: 99.999th, onnxruntime's default)")
    return ap.parse_args()


def quantize(args, manifest, fp32, inp, calib_t):
    pre = os.path.join(args.out, "pre.onnx")
    quant_pre_process(fp32, pre)
    pm = onnx.load(pre)
    for i, n in enumerate(pm.graph.node):
        if not n.name:
            n.name = f"node_{i}_{n.op_type}"
    onnx.save(pm, pre)
    main_outs = [manifest["outputs"][k]["name"] for k in ("bcc", "patterns", "cam")]
    gate_outs = [manifest["outputs"][k]["name"] for k in ("dermoscopy", "ood") if k in manifest["outputs"]]
    exclude = gate_only_nodes(pm, main_outs, gate_outs) if gate_outs else []
    if args.float_heads:
        exclude = head_nodes(pm, exclude)
    stem = manifest["file"][:-len(".onnx")] + "-int8"
    int8 = os.path.join(args.out, stem + ".onnx")
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[args.calibrate_method]
    quantize_static(pre, int8, Reader(calib_t, inp["name"]), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                    calibrate_method=method)
    os.remove(pre)
    return int8, stem, exclude


def main() -> None:
    args = parse_args()
    t0 = time.time()
    manifest = json.load(open(args.model))
    fp32 = os.path.join(os.path.dirname(args.model), manifest["file"])
    inp = manifest["input"]
    rows = list(csv.DictReader(open(os.path.join(args.data, "labels.csv"), newline="")))
    clin_path = os.path.join(args.data, "clinical.csv")
    clin = list(csv.DictReader(open(clin_path, newline=""))) if os.path.exists(clin_path) else []
    rng = random.Random(args.seed)
    # Calibration: a stratified draw (BCC and both sources represented); dermoscopic images only, as served.
    bcc_rows = [r for r in rows if r["bcc"] == "1"]
    other = [r for r in rows if r["bcc"] != "1"]
    n_cal_bcc = min(len(bcc_rows), args.calibration // 4)
    calib = rng.sample(bcc_rows, n_cal_bcc) + rng.sample(other, args.calibration - n_cal_bcc)
    calib_t = preprocess_all([os.path.join(args.data, r["image"]) for r in calib], inp)
    os.makedirs(args.out, exist_ok=True)
    int8, stem, exclude = quantize(args, manifest, fp32, inp, calib_t)
    print(f"quantized in {time.time() - t0:.0f}s; {len(exclude)} gate-only nodes kept float", flush=True)

    # Agreement on the development images (and the clinical photos, for the gates).
    if args.limit:
        ev_rows = rng.sample(bcc_rows, min(len(bcc_rows), args.limit // 4))
        ev_rows += rng.sample(other, args.limit - len(ev_rows))
        ev_clin = clin[:max(1, args.limit // 4)]
    else:
        ev_rows, ev_clin = rows, clin
    tensors = preprocess_all([os.path.join(args.data, r["image"]) for r in ev_rows], inp)
    tensors_c = preprocess_all([os.path.join(args.data, r["image"]) for r in ev_clin], inp)
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 4
    s32 = ort.InferenceSession(fp32, so, providers=["CPUExecutionProvider"])
    s8 = ort.InferenceSession(int8, so, providers=["CPUExecutionProvider"])
    a, b = run(s32, inp["name"], tensors), run(s8, inp["name"], tensors)
    ac, bc = run(s32, inp["name"], tensors_c), run(s8, inp["name"], tensors_c)
    print(f"evaluated in {time.time() - t0:.0f}s", flush=True)
    o = {k: manifest["outputs"][k]["name"] for k in manifest["outputs"]}
    y = np.array([int(r["bcc"]) for r in ev_rows])
    src = np.array([r["source"] for r in ev_rows])
    aucs = {"all": (auc(y, a[o["bcc"]]), auc(y, b[o["bcc"]]))}
    for s in sorted(set(src)):
        aucs[s] = (auc(y[src == s], a[o["bcc"]][src == s]), auc(y[src == s], b[o["bcc"]][src == s]))
    cam_a, cam_b = a[o["cam"]], b[o["cam"]]
    cam_corr = float(np.mean([np.corrcoef(cam_a[i, 0].ravel(), cam_b[i, 0].ravel())[0, 1] for i in range(len(ev_rows))]))
    t = manifest["thresholds"]["triage"]
    decisions = {"triage": {"threshold": t, "dermoscopic": changed(a[o["bcc"]] >= t, b[o["bcc"]] >= t)}}
    flipped = decisions["triage"]["dermoscopic"]
    print(f"triage decisions flipped by int8: {flipped['changed']} of {flipped['n']} ({flipped['rate']}; target < 0.01)", flush=True)
    max_abs = {"bcc": float(np.abs(a[o["bcc"]] - b[o["bcc"]]).max()),
               "patterns": float(np.abs(a[o["patterns"]] - b[o["patterns"]]).max())}
    gate = manifest.get("gate", {})
    if "modality" in gate and "dermoscopy" in o:
        tm, on = gate["modality"]["threshold"], o["dermoscopy"]
        decisions["modality"] = {"threshold": tm, "dermoscopic": changed(a[on] >= tm, b[on] >= tm)}
        rates = {"dermoscopicAccepted": {"fp32": round(float((a[on] >= tm).mean()), 4), "int8": round(float((b[on] >= tm).mean()), 4)}}
        if ac:
            decisions["modality"]["clinical"] = changed(ac[on] >= tm, bc[on] >= tm)
            rates["clinicalRejected"] = {"fp32": round(float((ac[on] < tm).mean()), 4), "int8": round(float((bc[on] < tm).mean()), 4)}
        decisions["modality"]["inSampleRates"] = rates
        max_abs["dermoscopy"] = float(np.abs(a[on] - b[on]).max())
    if "ood" in gate and "ood" in o:
        td, on = gate["ood"]["threshold"], o["ood"]
        decisions["ood"] = {"threshold": td, "dermoscopic": changed(a[on] > td, b[on] > td)}
        rates = {"dermoscopicFlagged": {"fp32": round(float((a[on] > td).mean()), 4), "int8": round(float((b[on] > td).mean()), 4)}}
        if ac:
            decisions["ood"]["clinical"] = changed(ac[on] > td, bc[on] > td)
            rates["clinicalFlagged"] = {"fp32": round(float((ac[on] > td).mean()), 4), "int8": round(float((bc[on] > td).mean()), 4)}
        decisions["ood"]["inSampleRates"] = rates
        max_abs["ood"] = float(np.abs(a[on] - b[on]).max())
        max_abs["oodRelative"] = float((np.abs(a[on] - b[on]) / np.maximum(1.0, np.abs(a[on]))).max())
    report = {
        "method": f"onnxruntime static quantization, QDQ, per-channel int8 weights, uint8 activations ({args.calibrate_method} calibration)"
                  + ("; gate heads after the pooled features kept float" if exclude else "")
                  + ("; texture/pattern heads kept float" if args.float_heads else ""),
        "onnxruntime": ort.__version__,
        "calibration": {"images": len(calib), "seed": args.seed, "bcc": n_cal_bcc},
        "evaluatedOn": f"{'all ' if not args.limit else ''}{len(ev_rows)} development images and {len(ev_clin)} clinical photos "
                       f"(fold models are not kept; the final model trained on these)",
        "bccAuc": {k: {"fp32": round(v[0], 4), "int8": round(v[1], 4), "delta": round(v[1] - v[0], 4)} for k, v in aucs.items()},
        "maxAbsDiff": max_abs,
        "meanBccCamCorrelation": round(cam_corr, 4),
        "triageDecisionsChanged": decisions["triage"]["dermoscopic"]["changed"],
        "decisionsChanged": decisions,
        "floatNodes": len(exclude),
        "thresholds": "the fp32 operating points and gate thresholds, unchanged",
    }
    print(json.dumps(report, indent=1), flush=True)
    m = copy.deepcopy(manifest)
    m["file"] = stem + ".onnx"
    m["sha256"] = sha256(int8)
    m["version"] = f"{manifest['version']}+int8"
    m["quantization"] = report
    with open(os.path.join(args.out, stem + ".json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    print(f"done in {time.time() - t0:.0f}s -> {int8}", flush=True)


if __name__ == "__main__":
    main()
