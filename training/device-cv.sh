#!/usr/bin/env bash
# Compare two training recipes out-of-fold in one device call (no final model, no export): recipe A on
# GPUs 0,1 and recipe B on GPUs 2,3 of a 4-GPU machine. Each recipe is a list of --set overrides.
#
#   device run (kind nvidia-h200-x4), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz"]:
#   A="--set version=a" B="--set version=b --set train.patternLossWeight=2" bash training/device-cv.sh
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
run() {  # name gpus overrides...
  local name=$1 gpus=$2; shift 2
  CUDA_VISIBLE_DEVICES=$gpus python3 training/train.py --data /tmp/d/dermoscopy --weights .cache/mobilenet_v2_imagenet.npz \
    --cv-only --out /tmp/$name --work /tmp/work-$name --cache /tmp/cache-$name "$@" > /tmp/$name.out 2>&1
  echo "$name rc=$? after $(( $(date +%s) - T0 )) s"
}
# shellcheck disable=SC2086
run a 0,1 ${A:-} &
# shellcheck disable=SC2086
run b 2,3 ${B:-} &
wait
for n in a b; do
  echo "==== $n: ${n^^} overrides"; grep -E "overrides|^fold . AUC|^TTA|coupling|texture head|failed|Error" /tmp/$n/train.log
  cp /tmp/$n/cv-summary.json "$OUT/cv-$n.json" 2>/dev/null; grep -v UserWarning /tmp/$n.out | tail -5 > "$OUT/tail-$n.txt"
done
echo "total $(( $(date +%s) - T0 )) s"
