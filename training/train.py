#!/usr/bin/env python3
"""Train, cross-validate, fit, export and check the BCC multitask model.

One command (see training/README.md):
    python3 training/train.py --data <dermoscopy dir> --weights <mobilenet_v2_imagenet.npz> --out <dir>

Writes to --out: <name>.onnx, <name>.json (manifest + model card), oof.csv, train.log.
Everything is seeded; GPU kernels (cuDNN autotuning, atomics) may still differ in the last bits.
The phases live in training/bcc_mtl/ (pipeline.py orchestrates them); this file is the entry point
that the device scripts, quantize.py and the worker processes call.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bcc_mtl.pipeline import run  # noqa: E402

if __name__ == "__main__":
    run()
