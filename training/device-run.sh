#!/usr/bin/env bash
# One device call: train (5 folds + final, spread over the machine's GPUs), aggregate and export the
# model twice (the config as it is, and with the overrides in $ALT; default: the TTA variant the AUC rule picks), quantize the
# shipped one, and pack everything into at most 4 files under $OUT (the device returns 8 files).
#
#   device run, carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz"]:
#   bash training/device-run.sh [extra train.py flags, e.g. --set input.size=320]
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
DATA=/tmp/d/dermoscopy
W=.cache/mobilenet_v2_imagenet.npz
COMMON=(--data "$DATA" --weights "$W" --work /tmp/work --cache /tmp/cache "$@")
nvidia-smi --query-gpu=name --format=csv,noheader | sort | uniq -c

# 0. preflight: every stage on 600 images, 1 epoch, 2 folds (about a minute); a broken change stops here
python3 training/train.py "${COMMON[@]}" --smoke --set train.folds=2 --set bootstrap=20 --out /tmp/smoke --work /tmp/smoke-work \
  --cache /tmp/smoke-cache > /tmp/smoke.out 2>&1 || { grep -v UserWarning /tmp/smoke.out | tail -40; tail -30 /tmp/smoke-cache/logs/*.log; exit 1; }
grep -E "coupling|ONNX parity|done in" /tmp/smoke/train.log | tail -4
echo "preflight: $(( $(date +%s) - T0 )) s"

# 1. the fits (parallel processes over the GPUs); stop here if any failed
python3 training/train.py "${COMMON[@]}" --out /tmp/fits --no-aggregate 2>&1 | grep -v UserWarning | tee "$OUT/fits.log" | grep -E "done in|fits done|coupling|AUC \(no flips\)|Error|error" || true
[ -f /tmp/work/final.pt ] || { echo "fits failed"; exit 1; }
echo "fits: $(( $(date +%s) - T0 )) s"

# 2. two aggregations side by side (CPU): what the config ships, and what the TTA rule would pick
python3 training/train.py "${COMMON[@]}" --out /tmp/ship --jobs none > /tmp/ship.out 2>&1 &
A=$!
# shellcheck disable=SC2086
python3 training/train.py "${COMMON[@]}" ${ALT:---set tta.ship=null} --out /tmp/rule --jobs none > /tmp/rule.out 2>&1 &
B=$!
wait $A; RA=$?
echo "aggregate (shipped variant) rc=$RA: $(( $(date +%s) - T0 )) s"
grep -E "^TTA|coupling|texture head|ONNX parity|graph vs pipeline|calibration ECE|modality gate|OOD gate|done in|Traceback|Error" /tmp/ship/train.log; grep -v UserWarning /tmp/ship.out | tail -3

# 3. int8 of the shipped model while the second aggregation finishes
if [ $RA -eq 0 ] && [ $(( $(date +%s) - T0 )) -lt "${QUANTIZE_BEFORE_S:-420}" ]; then
  NAME=$(python3 -c "import json,sys;print(json.load(open('training/config.json'))['modelName'])")
  python3 training/quantize.py --model /tmp/ship/$NAME.json --data "$DATA" --out /tmp/ship > /tmp/ship/quantize.log 2>&1
  echo "quantize rc=$?: $(( $(date +%s) - T0 )) s"; tail -3 /tmp/ship/quantize.log
fi
wait $B; echo "aggregate (rule) rc=$?"
grep -E "^TTA shipped|texture head|done in" /tmp/rule/train.log; grep -v UserWarning /tmp/rule.out | tail -3

tar czf "$OUT/ship.tgz" -C /tmp ship
tar czf "$OUT/rule.tgz" -C /tmp --exclude='*.tgz' rule
echo "total $(( $(date +%s) - T0 )) s"
