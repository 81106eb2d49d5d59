#!/usr/bin/env bash
# The measurements of docs/generalisation.md for one model trained at T = 100 (a checkpoint of
# `tptt train --checkpoint`): accuracy at other test lengths, accuracy with the markers of a
# length-100 sequence moved D steps later inside a length-200 one (temporal, temporal3), and
# the largest eigenvalues of its W_hh with their periods.
#
# usage: launch/generalisation_probe.sh CHECKPOINT [WORKDIR]
#   TPTT     the binary (default build/tptt);  SAMPLES  sequences per point (default 2000)
#   LENGTHS  test lengths (default "100 101 110 120 130 140 150 160 170 180 190 199 200 201")
#   OFFSETS  marker offsets D (default "0 10 20 ... 100");  NICE  niceness (default 19)
# One process at a time, one thread. Prints one line per measurement.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { sed -n '2,12p' "$0"; exit 2; }
model=$1
[[ $model == /* ]] || model=$CALLER_DIR/$model
work=${2:-$(mktemp -d)}
[[ $work == /* ]] || work=$CALLER_DIR/$work
mkdir -p "$work"
TPTT=${TPTT:-$PWD/build/tptt}
SAMPLES=${SAMPLES:-2000}
NICE=${NICE:-19}
read -r -a lengths <<<"${LENGTHS:-100 101 110 120 130 140 150 160 170 180 190 199 200 201}"
read -r -a offsets <<<"${OFFSETS:-0 10 20 30 40 50 60 70 80 90 100}"
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
ev() { nice -n "$NICE" "$TPTT" eval --model "$model" --samples "$SAMPLES" --threads 1 "$@"; }

first=$(ev --length 100)
task=$(field task <<<"$first")
iterations=$(field iterations <<<"$first")
echo "model $model: task $task, $iterations iterations, trained at T = $(field trained_length <<<"$first")"
for L in "${lengths[@]}"; do echo "length $L accuracy $(ev --length "$L" | field accuracy)"; done
if [[ $task == temporal || $task == temporal3 ]]; then
  for D in "${offsets[@]}"; do
    echo "markers-of-100 offset $D in 200 accuracy $(ev --length 200 --marker-length 100 --marker-offset "$D" | field accuracy)"
  done
fi
# W_hh: `--resume` of a copy up to its own iteration count trains nothing and saves the parameters.
cp "$model" "$work/model.ckpt"
nice -n "$NICE" "$TPTT" train --resume "$work/model.ckpt" --max-iterations "$iterations" --threads 1 --no-progress \
  --save-params "$work/params.npy" >/dev/null 2>"$work/save-params.err"
case $task in temporal|temporal3) inputs=6 ;; perm) inputs=100 ;; adding) inputs=2 ;; *) inputs=1 ;; esac
hidden=$(python3 -c "
import sys
text = open('$work/model.ckpt', 'rb').read().decode('latin-1')
import re
m = re.search(r'\bhidden = (\d+)', text)
print(m.group(1) if m else 100)")
eig=$work/whh_eigen
[[ -x $eig ]] || g++ -O2 -std=c++20 -I/usr/include/eigen3 launch/whh_eigen.cpp -o "$eig" 2>/dev/null
"$eig" "$work/params.npy" "$inputs" "$hidden" 4 | sed 's/^/W_hh eigenvalue: /'
