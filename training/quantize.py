#!/usr/bin/env python3
"""Static int8 quantization of the shipped ONNX model, calibrated on development images.

    python3 training/quantize.py --model models/bcc-mtl-mnv2.json --data <dermoscopy dir> --out <dir>

Writes <dir>/bcc-mtl-mnv2-int8.onnx and <dir>/bcc-mtl-mnv2-int8.json (the fp32 manifest with file,
sha256 and version changed and a `quantization` section: calibration set, AUC of fp32 vs int8 on
the development images, output agreement). The fold models are not kept, so the AUC comparison runs
on all development images (the final model saw them in training): it measures what quantization
changes, not how well the model generalises. Needs numpy, pillow, onnx, onnxruntime.
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

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
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


def run(sess: ort.InferenceSession, name: str, tensors: list) -> tuple:
    outs = [sess.run(None, {name: np.concatenate(tensors[i:i + 32])}) for i in range(0, len(tensors), 32)]
    return tuple(np.concatenate([o[k] for o in outs]) for k in range(3))


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="fp32 manifest (the .onnx beside it)")
    ap.add_argument("--data", required=True, help="folder with labels.csv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261126)
    args = ap.parse_args()
    t0 = time.time()
    manifest = json.load(open(args.model))
    fp32 = os.path.join(os.path.dirname(args.model), manifest["file"])
    inp = manifest["input"]
    rows = list(csv.DictReader(open(os.path.join(args.data, "labels.csv"), newline="")))
    rng = random.Random(args.seed)
    # Calibration: a stratified draw (BCC and both sources represented).
    bcc_rows = [r for r in rows if r["bcc"] == "1"]
    other = [r for r in rows if r["bcc"] != "1"]
    calib = rng.sample(bcc_rows, min(len(bcc_rows), args.calibration // 4)) + rng.sample(other, args.calibration - min(len(bcc_rows), args.calibration // 4))
    calib_t = [preprocess(os.path.join(args.data, r["image"]), inp) for r in calib]
    os.makedirs(args.out, exist_ok=True)
    pre = os.path.join(args.out, "pre.onnx")
    quant_pre_process(fp32, pre)
    stem = manifest["file"][:-len(".onnx")] + "-int8"
    int8 = os.path.join(args.out, stem + ".onnx")
    quantize_static(pre, int8, Reader(calib_t, inp["name"]), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    os.remove(pre)
    print(f"quantized in {time.time() - t0:.0f}s", flush=True)

    # Agreement on every development image.
    tensors = [preprocess(os.path.join(args.data, r["image"]), inp) for r in rows]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    a = run(ort.InferenceSession(fp32, so, providers=["CPUExecutionProvider"]), inp["name"], tensors)
    b = run(ort.InferenceSession(int8, so, providers=["CPUExecutionProvider"]), inp["name"], tensors)
    y = np.array([int(r["bcc"]) for r in rows])
    src = np.array([r["source"] for r in rows])
    aucs = {"all": (auc(y, a[0]), auc(y, b[0]))}
    for s in sorted(set(src)):
        aucs[s] = (auc(y[src == s], a[0][src == s]), auc(y[src == s], b[0][src == s]))
    cam_corr = float(np.mean([np.corrcoef(a[2][i, 0].ravel(), b[2][i, 0].ravel())[0, 1] for i in range(len(rows))]))
    t = manifest["thresholds"]["triage"]
    flips = int(((a[0] >= t) != (b[0] >= t)).sum())
    report = {
        "method": "onnxruntime static quantization, QDQ, per-channel int8 weights, uint8 activations (MinMax calibration)",
        "onnxruntime": ort.__version__,
        "calibration": {"images": len(calib), "seed": args.seed, "bcc": min(len(bcc_rows), args.calibration // 4)},
        "evaluatedOn": f"all {len(rows)} development images (fold models are not kept; the final model trained on these)",
        "bccAuc": {k: {"fp32": round(v[0], 4), "int8": round(v[1], 4), "delta": round(v[1] - v[0], 4)} for k, v in aucs.items()},
        "maxAbsDiff": {"bcc": float(np.abs(a[0] - b[0]).max()), "patterns": float(np.abs(a[1] - b[1]).max())},
        "meanBccCamCorrelation": round(cam_corr, 4),
        "triageDecisionsChanged": flips,
        "thresholds": "the fp32 operating points, unchanged",
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
