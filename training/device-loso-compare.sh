#!/usr/bin/env bash
# One device call (ONE H200): leave-one-source-out of two recipes side by side, so a recipe's cross-source
# figures sit beside the shipped recipe's: training/config.json (model 1.5.0's) and training/config-1.6.json.
# Each `--loso ham10000,derm7pt` run starts two fits (train on one source, evaluate on the other); all four share
# the GPU. Packs $OUT/loso-compare.tgz (loso.json, loso.csv, loso-predictions.csv, logs) whatever finishes by LOSO_BY.
#
#   device run (kind nvidia-h200), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz"]:
#   bash training/device-loso-compare.sh
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
LOSO_BY=${LOSO_BY:-540}
T0=$(date +%s)
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
run() {  # name config [train.py flags]
  local name=$1 cfg=$2; shift 2
  mkdir -p "/tmp/loso/$name"
  timeout "$(( LOSO_BY - ($(date +%s) - T0) ))" python3 training/train.py --data /tmp/d/dermoscopy --weights .cache/mobilenet_v2_imagenet.npz \
    --config "$cfg" --loso ham10000,derm7pt --out "/tmp/loso/$name" --work "/tmp/work-$name" --cache "/tmp/cache-$name" "$@" \
    > "/tmp/loso/$name/loso.log" 2>&1
  echo "$name rc=$? at $(( $(date +%s) - T0 )) s"
}
run v1.5-recipe training/config.json "$@" &
run v1.6-recipe training/config-1.6.json "$@" &
wait
for n in v1.5-recipe v1.6-recipe; do echo "== $n"; grep -v UserWarning "/tmp/loso/$n/loso.log" | grep -iE "loso|held out|error|Traceback" | tail -12 | cut -c1-600; cat "/tmp/loso/$n/loso.csv" 2>/dev/null; done
tar czf "$OUT/loso-compare.tgz" -C /tmp loso
echo "total $(( $(date +%s) - T0 )) s"
