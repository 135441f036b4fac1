#!/usr/bin/env bash
# Model 1.6.0, call 2 of 2 (ONE H200, under ~7 min): leave-one-source-out fits (ham10000 held out, derm7pt held out,
# as two parallel processes), the LOSO report merged into the manifest, and int8 (per-channel, gate and texture heads
# float) with the count of flipped triage decisions. Needs call 1's release.tgz copied to .cache/release.tgz.
#
#   after call 1: cp <files_at>/release.tgz .cache/release.tgz
#   device run (kind nvidia-h200), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz", ".cache/release.tgz"]:
#   bash training/device-release-2.sh
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
CFG=training/config-1.6.json
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
tar xzf .cache/release.tgz -C /tmp || exit 1   # -> /tmp/release/{bcc-mtl-mnv2.onnx,.json,oof.csv,train.log}
DATA=/tmp/d/dermoscopy
NAME=$(python3 -c "import json;print(json.load(open('$CFG'))['modelName'])")
python3 training/train.py --data "$DATA" --weights .cache/mobilenet_v2_imagenet.npz --config "$CFG" --cache /tmp/cache \
  --loso ham10000,derm7pt --out /tmp/release --work /tmp/work > /tmp/loso.out 2>&1
echo "loso rc=$?: $(( $(date +%s) - T0 )) s"; grep -v UserWarning /tmp/loso.out | tail -3; cat /tmp/release/loso.csv
python3 training/quantize.py --model /tmp/release/$NAME.json --data "$DATA" --out /tmp/release --float-heads > /tmp/release/quantize.log 2>&1
echo "quantize rc=$?: $(( $(date +%s) - T0 )) s"; grep -E "flipped|quantized|done in" /tmp/release/quantize.log
tar czf "$OUT/release2.tgz" -C /tmp/release --exclude=.work .
ls -la "$OUT"
echo "total $(( $(date +%s) - T0 )) s"
