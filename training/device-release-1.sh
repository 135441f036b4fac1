#!/usr/bin/env bash
# Model 1.6.0, call 1 of 2 (ONE H200, ends by ~9.5 min whatever happens): preflight, the 6 fits (5 folds + final) of
# the one-pass recipe (training/config-1.6.json), aggregation, ONNX export and parity. Packs $OUT/release.tgz (model,
# manifest, oof.csv, train.log; ~12 MB) and $OUT/fits.log. Call 2 (device-release-2.sh) takes release.tgz back.
# In the background, on CPU cores the fits leave alone, the Phase A check (old train.py of 8998080 vs the bcc_mtl
# package, config.json, tiny CPU smoke, compared by compare_runs.py) -> $OUT/phaseA.txt; bounded, never delays the pack.
#
#   here, once: mkdir -p .cache && tar czf .cache/dermoscopy-full.tgz -C ../shared/data dermoscopy \
#               && cp ../shared/weights/mobilenet_v2_imagenet.npz .cache/ \
#               && git show 8998080:training/train.py > .cache/train-8998080.py
#   device run (kind nvidia-h200), carry [".cache/dermoscopy-full.tgz", ".cache/mobilenet_v2_imagenet.npz", ".cache/train-8998080.py"]:
#   bash training/device-release-1.sh [extra train.py flags]
#
# Time limits (seconds after the start; the call is killed at 600): PREFLIGHT_BY (default 200) stops the preflight,
# TRAIN_BY (545) stops the full run, PHASEA_BY (560) stops the Phase A check; PHASEA=0 skips it.
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
since() { echo $(( $(date +%s) - T0 )); }
left() { local l=$(( $1 - $(since) )); echo $(( l > 1 ? l : 1 )); }
PREFLIGHT_BY=${PREFLIGHT_BY:-200}
TRAIN_BY=${TRAIN_BY:-545}
PHASEA_BY=${PHASEA_BY:-560}
CFG=${CFG:-training/config-2.0.json}  # the recipe (config-1.6.json: the one tried and not shipped on 2026-12-02)
mkdir -p /tmp/d && tar xzf .cache/dermoscopy-full.tgz -C /tmp/d || exit 1
DATA=/tmp/d/dermoscopy
WEIGHTS=.cache/mobilenet_v2_imagenet.npz
COMMON=(--data "$DATA" --weights "$WEIGHTS" --config "$CFG" --cache /tmp/cache "$@")
nvidia-smi --query-gpu=name --format=csv,noheader || true
NCPU=$(nproc)
PIN_A=()
if command -v taskset >/dev/null && [ "$NCPU" -ge 12 ]; then  # Phase A on the last 6 cores (at nice 19); the GPU run anywhere
  PIN_A=(taskset -c "$(( NCPU - 6 ))-$(( NCPU - 1 ))")
fi

# Phase A (background, CPU only): old train.py (its smoke subset patched from 600 to 120 images, the same draw as
# bcc_mtl/data.py with smokeImages=120) and train.py, identical flags, deterministic on CPU; compare_runs.py.
phase_a() {
  local old=/tmp/phaseA/old-train.py
  mkdir -p /tmp/phaseA
  sed 's/rows = rng.sample(keep, 300) + rng.sample(rest, 300)/rows = rng.sample(keep, 60) + rng.sample(rest, 60)/' \
    .cache/train-8998080.py > "$old"
  grep -q 'rng.sample(keep, 60)' "$old" || { echo "phaseA: could not patch the old smoke subset"; return 1; }
  local pa=(--data "$DATA" --weights "$WEIGHTS" --config training/config.json --smoke --set train.folds=2
            --set bootstrap=20 --set train.batchSize=32 --set input.size=128 --set train.storeSize=144)
  export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
  nice -n 19 "${PIN_A[@]}" python3 "$old" "${pa[@]}" --out /tmp/phaseA/old --work /tmp/phaseA/old-work \
    --cache /tmp/phaseA/old-cache > /tmp/phaseA/old.log 2>&1 &
  local p1=$!
  nice -n 19 "${PIN_A[@]}" python3 training/train.py "${pa[@]}" --set smokeImages=120 --out /tmp/phaseA/new \
    --work /tmp/phaseA/new-work --cache /tmp/phaseA/new-cache > /tmp/phaseA/new.log 2>&1 &
  local p2=$!
  wait $p1; local r1=$?
  wait $p2; local r2=$?
  echo "phaseA: old rc=$r1 new rc=$r2 at $(since) s"
  [ $r1 = 0 ] && [ $r2 = 0 ] || { for f in old new; do echo "---- $f"; grep -v Warning /tmp/phaseA/$f.log | tail -15; done; return 1; }
  python3 training/compare_runs.py /tmp/phaseA/old /tmp/phaseA/new
  echo "phaseA: compare_runs rc=$? (0 = identical within 1e-6)"
}
PA_PID=
if [ "${PHASEA:-1}" = 1 ] && [ -f .cache/train-8998080.py ]; then
  # timeout (its own process group) ends the check and its worker processes by PHASEA_BY
  timeout "$(left "$PHASEA_BY")" bash -c "$(declare -f since phase_a); T0=$T0 DATA=$DATA WEIGHTS=$WEIGHTS; \
    PIN_A=(${PIN_A[*]}); phase_a" > "$OUT/phaseA.txt" 2>&1 &
  PA_PID=$!
else
  echo "phaseA: skipped (PHASEA=0 or no .cache/train-8998080.py)" > "$OUT/phaseA.txt"
fi

# 0. preflight: every stage of this call on 300 images, 1 epoch, 2 folds (about a minute); a broken change stops here.
#    (The LOSO preflight is call 2's: LOSO is not needed here, and this call has the least time to spare.)
# PREFLIGHT=0 skips it (when the same change passed a CPU smoke run here: training/README.md).
SM=(--smoke --set smokeImages=300 --set train.folds=2 --set bootstrap=20 --set gate.modality.augmentedPositives=100)
RC=0
[ "${PREFLIGHT:-1}" = 1 ] && { timeout "$(left "$PREFLIGHT_BY")" python3 training/train.py "${COMMON[@]}" "${SM[@]}" \
  --out /tmp/smoke --work /tmp/smoke-work --cache /tmp/smoke-cache > /tmp/smoke.out 2>&1; RC=$?; }
if [ $RC != 0 ]; then
  echo "preflight failed (rc=$RC; 124 = stopped at ${PREFLIGHT_BY} s) at $(since) s"
  grep -v UserWarning /tmp/smoke.out | tail -40; tail -30 /tmp/smoke-cache/logs/*.log 2>/dev/null
  tar czf "$OUT/preflight-failed.tgz" -C /tmp smoke.out $(cd /tmp && ls -d smoke-cache/logs smoke/train.log 2>/dev/null)
  [ -n "$PA_PID" ] && wait "$PA_PID"
  exit 1
fi
grep -E "ONNX parity|done in" /tmp/smoke/train.log 2>/dev/null | tail -2 | cut -c1-300
echo "preflight: $(since) s"

# 1. the 6 fits as parallel processes on the one GPU, then aggregation + export + parity; stopped at TRAIN_BY
#    (timeout kills the whole process group, the fit workers too) so that the pack below always happens.
timeout "$(left "$TRAIN_BY")" python3 training/train.py "${COMMON[@]}" --out /tmp/release --work /tmp/work > "$OUT/fits.log" 2>&1
RC=$?
echo "train rc=$RC (124 = stopped at ${TRAIN_BY} s): $(since) s"
grep -E "^TTA|texture head|ONNX parity|graph vs pipeline|calibration ECE|modality gate|OOD gate|done in|Traceback|Error" /tmp/release/train.log | cut -c1-400
[ $RC != 0 ] && tail -n 20 /tmp/cache/logs/*.log 2>/dev/null | grep -v Warning | cut -c1-300
mkdir -p /tmp/release
tar czf "$OUT/release.tgz" -C /tmp --exclude=.work release
if [ -n "$PA_PID" ]; then
  wait "$PA_PID"; PRC=$?
  [ $PRC = 124 ] && echo "phaseA: stopped at ${PHASEA_BY} s before it finished (rc 124)" >> "$OUT/phaseA.txt"
  tail -n 40 /tmp/phaseA/old.log /tmp/phaseA/new.log 2>/dev/null | grep -v Warning | cut -c1-300 > "$OUT/phaseA-logs.txt"
  echo "phaseA rc=$PRC:"; cat "$OUT/phaseA.txt"
fi
ls -la "$OUT"
echo "total $(since) s"
exit $RC
