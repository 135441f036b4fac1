#!/usr/bin/env bash
# Model 1.6.0, call 2 of 2 (ONE H200, ends by ~9.5 min whatever happens): int8 (per-channel, gate and texture heads
# float, with the count of flipped triage decisions; CPU, in the background from the start), a LOSO preflight
# (300 images, 1 epoch), leave-one-source-out fits (ham10000 held out, derm7pt held out, as two parallel processes)
# and the LOSO report merged into the manifest (and into the int8 manifest). Needs call 1's release.tgz copied to
# .cache/release.tgz. Packs $OUT/release2.tgz (whatever exists by then; all but the fp32 .onnx of call 1).
#
#   after call 1: cp <files_at>/release.tgz .cache/release.tgz
#   device run (kind nvidia-h200), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz", ".cache/release.tgz"]:
#   bash training/device-release-2.sh
#
# Time limits (seconds after the start; the call is killed at 600): PREFLIGHT_BY (150), LOSO_BY (540), QUANT_BY (540).
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
since() { echo $(( $(date +%s) - T0 )); }
left() { local l=$(( $1 - $(since) )); echo $(( l > 1 ? l : 1 )); }
PREFLIGHT_BY=${PREFLIGHT_BY:-150}
LOSO_BY=${LOSO_BY:-540}
QUANT_BY=${QUANT_BY:-540}
CFG=${CFG:-training/config-2.0.json}  # the recipe (config-1.6.json: the one tried and not shipped on 2026-12-02)
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
tar xzf .cache/release.tgz -C /tmp || exit 1   # -> /tmp/release/{bcc-mtl-mnv2.onnx,.json,oof.csv,train.log}
DATA=/tmp/d/dermoscopy
NAME=$(python3 -c "import json;print(json.load(open('$CFG'))['modelName'])")
[ -f "/tmp/release/$NAME.json" ] || { echo "no /tmp/release/$NAME.json in .cache/release.tgz (call 1 did not finish?)"; exit 1; }
COMMON=(--data "$DATA" --weights .cache/mobilenet_v2_imagenet.npz --config "$CFG" "$@")
nvidia-smi --query-gpu=name --format=csv,noheader || true

# int8 in the background (CPU only; it needs only call 1's model), stopped at QUANT_BY
( timeout "$(left "$QUANT_BY")" nice -n 5 python3 training/quantize.py --model "/tmp/release/$NAME.json" --data "$DATA" \
    --out /tmp/release --float-heads > /tmp/release/quantize.log 2>&1; echo $? > /tmp/quantize.rc ) &
QPID=$!
finish() {  # wait for int8 (bounded by QUANT_BY), merge the LOSO section into its manifest, pack
  wait "$QPID"
  echo "quantize rc=$(cat /tmp/quantize.rc 2>/dev/null) (124 = stopped at ${QUANT_BY} s): $(since) s"
  grep -E "flipped|quantized|done in|Error" /tmp/release/quantize.log | cut -c1-300
  rm -f /tmp/release/pre.onnx
  if [ -f "/tmp/release/$NAME-int8.json" ]; then
    python3 -c "
import json, sys
m, q = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
if 'loso' in m:
    q['loso'] = m['loso']
    json.dump(q, open(sys.argv[2], 'w'), indent=2); open(sys.argv[2], 'a').write('\n'); print('loso section copied into the int8 manifest')
" "/tmp/release/$NAME.json" "/tmp/release/$NAME-int8.json"
  fi
  # the fp32 graph stays out (unchanged, it is in call 1's release.tgz): the pack stays well under the 16 MiB a file
  tar czf "$OUT/release2.tgz" -C /tmp/release --exclude=.work --exclude="./$NAME.onnx" .
  ls -la "$OUT"
  echo "total $(since) s"
}

# 0. preflight: LOSO on 300 images, 1 epoch, 2 folds; a broken change stops here (int8 still finishes and is packed)
timeout "$(left "$PREFLIGHT_BY")" python3 training/train.py "${COMMON[@]}" --smoke --set smokeImages=300 --set train.folds=2 \
  --set bootstrap=20 --set gate.modality.augmentedPositives=100 --loso ham10000,derm7pt \
  --out /tmp/smoke --work /tmp/smoke-work --cache /tmp/smoke-cache > /tmp/smoke.out 2>&1
RC=$?
if [ $RC != 0 ]; then
  echo "LOSO preflight failed (rc=$RC; 124 = stopped at ${PREFLIGHT_BY} s) at $(since) s"
  grep -v UserWarning /tmp/smoke.out | tail -40; tail -30 /tmp/smoke-cache/logs/*.log 2>/dev/null
  tar czf "$OUT/preflight-failed.tgz" -C /tmp smoke.out $(cd /tmp && ls -d smoke-cache/logs 2>/dev/null)
  finish
  exit 1
fi
grep -E "LOSO done" /tmp/smoke/train.log | tail -1
echo "preflight: $(since) s"

# 1. LOSO fits + report into /tmp/release (loso.json, loso.csv, loso-predictions.csv, manifest section)
timeout "$(left "$LOSO_BY")" python3 training/train.py "${COMMON[@]}" --cache /tmp/cache --loso ham10000,derm7pt \
  --out /tmp/release --work /tmp/work > /tmp/release/loso.log 2>&1
RC=$?
echo "loso rc=$RC (124 = stopped at ${LOSO_BY} s): $(since) s"; grep -v UserWarning /tmp/release/loso.log | tail -3 | cut -c1-400
cat /tmp/release/loso.csv 2>/dev/null
[ $RC != 0 ] && tail -n 20 /tmp/cache/logs/*.log 2>/dev/null | grep -v Warning | cut -c1-300
finish
[ $RC = 0 ] && exit "$(cat /tmp/quantize.rc 2>/dev/null || echo 1)"
exit $RC
