"""Data: labels, decoding and the decoded-image cache, lesion-grouped folds, the run's arrays."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image


def read_rows(data_dir):
    with open(os.path.join(data_dir, "labels.csv"), newline="") as f:
        return list(csv.DictReader(f))


def read_clinical(data_dir):
    """clinical.csv: close-up (non-dermoscopic) photos of the derm7pt lesions; negatives of the modality gate."""
    p = os.path.join(data_dir, "clinical.csv")
    if not os.path.exists(p):
        return []
    with open(p, newline="") as f:
        return list(csv.DictReader(f))


def load_eval_images(data_dir, rows, size_eval):
    """Decode only the evaluation-size copy (clinical photos are never trained on by the backbone)."""
    def one(r):
        im = Image.open(os.path.join(data_dir, r["image"])).convert("RGB")
        return np.asarray(im.resize((size_eval, size_eval), Image.BILINEAR), dtype=np.uint8)
    if not rows:
        return np.zeros((0, size_eval, size_eval, 3), np.uint8)
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        return np.stack(list(ex.map(one, rows)))


def _load(args):
    path, mask_path, size_train, size_eval = args
    im = Image.open(path).convert("RGB")
    # PIL's resize antialiases when shrinking, like sharp; "fill" = stretch the whole image.
    tr = np.asarray(im.resize((size_train, size_train), Image.BILINEAR), dtype=np.uint8)
    ev = np.asarray(im.resize((size_eval, size_eval), Image.BILINEAR), dtype=np.uint8)
    if mask_path:
        m = Image.open(mask_path).convert("L")
        mtr = np.asarray(m.resize((size_train, size_train), Image.BILINEAR), dtype=np.uint8)
        mev = np.asarray(m.resize((size_eval, size_eval), Image.NEAREST), dtype=np.uint8)
    else:
        mtr = np.zeros((size_train, size_train), np.uint8)
        mev = np.zeros((size_eval, size_eval), np.uint8)
    return tr, ev, mtr, mev


def load_dataset(data_dir, rows, patterns, size_train, size_eval):
    jobs = [(os.path.join(data_dir, r["image"]), os.path.join(data_dir, r["mask"]) if r["mask"] else "",
             size_train, size_eval) for r in rows]
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        out = list(ex.map(_load, jobs, chunksize=32))
    x_train = np.stack([o[0] for o in out])
    x_eval = np.stack([o[1] for o in out])
    m_train = np.stack([o[2] for o in out])
    m_eval = np.stack([o[3] for o in out])
    bcc = np.array([float(r["bcc"]) for r in rows], np.float32)
    # NaN = not annotated: contributes no loss.
    pat = np.array([[float(r[p["id"]]) if r[p["id"]] != "" else np.nan for p in patterns] for r in rows], np.float32)
    has_mask = np.array([bool(r["mask"]) for r in rows])
    return x_train, x_eval, m_train, m_eval, bcc, pat, has_mask


def diagnosis_index(rows, groups_cfg):
    """Source diagnosis text -> index of its group (config diagnosisGroups); -1 = no group (no loss)."""
    lookup = {}
    for k, g in enumerate(groups_cfg):
        for name in g["match"]:
            lookup[name] = k
    out = []
    for r in rows:
        d = r["diagnosis"].strip().lower()
        k = lookup.get(d, -1)
        if k == -1:
            k = next((lookup[n] for n in lookup if n.endswith("*") and d.startswith(n[:-1])), -1)
        out.append(k)
    return np.array(out, np.int64)


def grouped_folds(rows, k, seed):
    """Assign whole lesion groups to folds, stratified by (has BCC, source, has arborizing)."""
    groups = {}
    for i, r in enumerate(rows):
        groups.setdefault(r["group"], []).append(i)
    strata = {}
    for g, idx in groups.items():
        key = (max(float(rows[i]["bcc"]) >= 0.5 for i in idx), rows[idx[0]]["source"],
               max(float(rows[i].get("arborizing_telangiectasia") or 0) >= 0.5 for i in idx))
        strata.setdefault(key, []).append(g)
    rng = random.Random(seed)
    fold_of = np.zeros(len(rows), np.int64)
    offset = 0
    for key in sorted(strata):
        gs = sorted(strata[key])
        rng.shuffle(gs)
        for j, g in enumerate(gs):
            for i in groups[g]:
                fold_of[i] = (j + offset) % k
        offset += len(gs)
    return fold_of


def cached_dataset(args, cfg, rows, clin_rows):
    """Decode once per machine; parallel workers memory-map the arrays instead of decoding again."""
    names = ["x_train", "x_eval", "m_train", "m_eval"]
    key = hashlib.sha256(json.dumps([len(rows), rows[0]["image"], rows[-1]["image"], cfg["train"]["storeSize"],
                                     cfg["input"]["size"], bool(args.smoke), len(clin_rows),
                                     clin_rows[0]["image"] if clin_rows else ""]).encode()).hexdigest()[:12]
    d = os.path.join(args.cache, key)
    if not all(os.path.exists(os.path.join(d, n + ".npy")) for n in names + ["x_clin"]):
        os.makedirs(d, exist_ok=True)
        arrays = load_dataset(args.data, rows, cfg["patterns"], cfg["train"]["storeSize"], cfg["input"]["size"])
        arrays = list(arrays[:4]) + [load_eval_images(args.data, clin_rows, cfg["input"]["size"])]
        for n, arr in zip(names + ["x_clin"], arrays):
            np.save(os.path.join(d, n + ".tmp.npy"), arr)
            os.replace(os.path.join(d, n + ".tmp.npy"), os.path.join(d, n + ".npy"))
    return [np.load(os.path.join(d, n + ".npy"), mmap_mode="r") for n in names + ["x_clin"]]


def clinical_folds(clin_rows, rows, fold_of, k):
    """A clinical photo takes the fold of its lesion (group); a group unknown to labels.csv gets a stable hash fold."""
    import zlib
    fold_by_group = {r["group"]: int(fold_of[i]) for i, r in enumerate(rows)}
    out = np.array([fold_by_group.get(r["group"], zlib.crc32(r["group"].encode()) % k) for r in clin_rows], np.int64)
    unknown = sum(r["group"] not in fold_by_group for r in clin_rows)
    return out, unknown


def prepare(args, cfg):
    rows = read_rows(args.data)
    if args.smoke:
        rng = random.Random(0)
        keep = [r for r in rows if r["bcc"] == "1" or r["source"] == "derm7pt"]
        rest = [r for r in rows if not (r["bcc"] == "1" or r["source"] == "derm7pt")]
        half = int(cfg.get("smokeImages", 600)) // 2  # config smokeImages (default 600): a smaller CPU check
        rows = rng.sample(keep, half) + rng.sample(rest, half)
    clin_rows = read_clinical(args.data)
    if args.smoke:
        present = {r["group"] for r in rows}
        clin_rows = [r for r in clin_rows if r["group"] in present] + [r for r in clin_rows if r["group"] not in present][:30]
    patterns = cfg["patterns"]
    x_train, x_eval, m_train, m_eval, x_clin = cached_dataset(args, cfg, rows, clin_rows)
    bcc = np.array([float(r["bcc"]) for r in rows], np.float32)
    pat = np.array([[float(r[p["id"]]) if r[p["id"]] != "" else np.nan for p in patterns] for r in rows], np.float32)
    has_mask = np.array([bool(r["mask"]) for r in rows])
    bcc_target, pat_target = bcc, pat
    bcc = (bcc >= 0.5).astype(np.float32)
    pat = np.where(np.isnan(pat), np.nan, (pat >= 0.5)).astype(np.float32)
    trained = [bool((pat[:, j] == 1).any()) for j in range(len(patterns))]
    data = dict(x_train=x_train, x_eval=x_eval, m_train=m_train, m_eval=m_eval, bcc=bcc, pat=pat, has_mask=has_mask,
                bcc_target=bcc_target, pat_target=pat_target,
                is_derm=np.array([r["source"] == "derm7pt" for r in rows]), trained=trained,
                dx=diagnosis_index(rows, cfg["diagnosisGroups"]))
    fold_of = grouped_folds(rows, cfg["train"]["folds"], cfg["seed"])
    groups = np.array([r["group"] for r in rows])
    for f in range(cfg["train"]["folds"]):
        assert not (set(groups[fold_of == f]) & set(groups[fold_of != f])), "a lesion crosses folds"
    clin_fold, unknown = clinical_folds(clin_rows, rows, fold_of, cfg["train"]["folds"])
    data.update(x_clin=x_clin, clin_rows=clin_rows, clin_fold=clin_fold, clin_unknown=unknown,
                clin_bcc=np.array([float(r["bcc"]) >= 0.5 for r in clin_rows], np.float32))
    return rows, data, fold_of
