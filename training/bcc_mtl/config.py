"""Config loading, --set overrides, command line."""
from __future__ import annotations

import argparse
import json
import os
import tempfile


def apply_overrides(cfg, sets):
    """--set a.b.c=<JSON> (a bare word is taken as a string). Workers get the same --set flags."""
    for item in sets:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise SystemExit(f"--set wants PATH=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = cfg
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise SystemExit(f"--set {path}: {key!r} is not a section of the config")
            node = node[key]
        node[keys[-1]] = value
    return cfg


def coupling_init(cfg):
    """train.coupling {pattern id: initial alpha} -> per-output vector (0 = not coupled; BCC is output 0)."""
    c = cfg["train"].get("coupling") or {}
    unknown = set(c) - {p["id"] for p in cfg["patterns"]}
    if unknown:
        raise SystemExit(f"train.coupling names unknown patterns: {sorted(unknown)}")
    return [0.0] + [float(c.get(p["id"], 0.0)) for p in cfg["patterns"]]


def parse_args(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=os.path.join(here, "config.json"))
    ap.add_argument("--smoke", action="store_true", help="tiny subset, 1 epoch: checks every stage runs")
    ap.add_argument("--work", help="folder for per-fit results (default <out>/.work)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bcc-train-cache"), help="decoded-image cache")
    ap.add_argument("--jobs", default="all", help="fits to run: 'all' (5 folds + final), 'none' (aggregate fits already in --work), or a list like 0,1,final")
    ap.add_argument("--no-aggregate", action="store_true", help="only run the fits (split a run over several sessions)")
    ap.add_argument("--cv-only", action="store_true",
                    help="cross-validation folds only, then the out-of-fold TTA table (compare recipes; no final model, no export)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                    help="override a config value, e.g. --set input.size=288 --set train.storeSize=320 (repeatable)")
    ap.add_argument("--loso", help="leave-one-source-out only: comma list of sources to hold out (e.g. ham10000,derm7pt); "
                    "fits them (unless --jobs none), writes loso.json, loso.csv, loso-predictions.csv to --out and adds a "
                    "'loso' section to the manifest in --out if there is one")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def load_config(args):
    with open(args.config) as f:
        return apply_overrides(json.load(f), args.set)
