#!/usr/bin/env bash
# Model 1.6.0, call 1 of 2 (ONE H200, well under 9.5 min): preflight, the 6 fits (5 folds + final) of the one-pass
# recipe (training/config-1.6.json), aggregation, ONNX export and parity. Packs $OUT/release.tgz (model, manifest,
# oof.csv, train.log; ~12 MB) and $OUT/fits.log. Call 2 (device-release-2.sh) takes release.tgz back.
#
#   device run (kind nvidia-h200), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz"]:
#   bash training/device-release-1.sh [extra train.py flags]
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
CFG=training/config-1.6.json
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
DATA=/tmp/d/dermoscopy
COMMON=(--data "$DATA" --weights .cache/mobilenet_v2_imagenet.npz --config "$CFG" --cache /tmp/cache "$@")
nvidia-smi --query-gpu=name --format=csv,noheader

# 0. preflight: every stage incl. LOSO on 300 images, 1 epoch, 2 folds (about a minute); a broken change stops here
SM=(--smoke --set smokeImages=300 --set train.folds=2 --set bootstrap=20 --set gate.modality.augmentedPositives=100)
python3 training/train.py "${COMMON[@]}" "${SM[@]}" --out /tmp/smoke --work /tmp/smoke-work --cache /tmp/smoke-cache > /tmp/smoke.out 2>&1 \
  && python3 training/train.py "${COMMON[@]}" "${SM[@]}" --loso ham10000,derm7pt --out /tmp/smoke --work /tmp/smoke-work --cache /tmp/smoke-cache >> /tmp/smoke.out 2>&1 \
  || { grep -v UserWarning /tmp/smoke.out | tail -40; tail -30 /tmp/smoke-cache/logs/*.log; tar czf "$OUT/preflight-failed.tgz" -C /tmp smoke.out smoke-cache/logs; exit 1; }
grep -E "ONNX parity|LOSO done|done in" /tmp/smoke/train.log | tail -3
echo "preflight: $(( $(date +%s) - T0 )) s"

# 1. the 6 fits as parallel processes on the one GPU, then aggregation + export + parity (CPU)
timeout $(( 540 - ($(date +%s) - T0) )) python3 training/train.py "${COMMON[@]}" --out /tmp/release --work /tmp/work > "$OUT/fits.log" 2>&1
RC=$?
echo "train rc=$RC: $(( $(date +%s) - T0 )) s"
grep -E "^TTA|texture head|ONNX parity|graph vs pipeline|calibration ECE|modality gate|OOD gate|done in|Traceback|Error" /tmp/release/train.log | cut -c1-400
tar czf "$OUT/release.tgz" -C /tmp --exclude=.work release
ls -la "$OUT"
echo "total $(( $(date +%s) - T0 )) s"
exit $RC
