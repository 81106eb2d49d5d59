#!/usr/bin/env bash
# Training throughput on a simulated cluster for K up to 64: iterations per second of temporal
# order T = 400 and of sequential MNIST (T = 784), per mode (exact, pipelined(8), stale(1,dc),
# decoupled), under launch/simulate.sh.
#
#   launch/scaling_throughput.sh [--out DIR] [--platform NAME] [--ranks "1 2 4 8 16 32 64"]
#                                [--modes "exact pipelined decoupled"] [--tasks "temporal400 mnist"]
#
# Each point runs N1 and N2 iterations (default 20 and 60) with validation only at the end and
# takes the difference, so start-up and the final check cancel: simulated seconds per iteration of
# training alone. MNIST's throughput depends only on its shapes (784 steps of one pixel, 10
# classes), so without MNIST_DIR (the four IDX files, launch/fetch-mnist.sh) it runs on
# MNIST-shaped files of random pixels that this script writes. Writes DIR/throughput.csv and
# DIR/throughput.md (speed-up against K = 1 of the same task, measured in the same run).
set -euo pipefail
CALLER_DIR=$PWD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=out/throughput-sim platform=infiniband ranks="1 2 4 8 16 32 64" modes="exact pipelined decoupled"
tasks="temporal400 mnist"
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=${2:?}; shift 2 ;;
    --platform) platform=${2:?}; shift 2 ;;
    --ranks) ranks=${2:?}; shift 2 ;;
    --modes) modes=${2:?}; shift 2 ;;
    --tasks) tasks=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$here/scaling_throughput.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/scaling_throughput.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
[[ $out == /* ]] || out=$CALLER_DIR/$out
mkdir -p "$out"
n1=${N1:-20} n2=${N2:-60}

mnist_dir=${MNIST_DIR:-}
if [[ $tasks == *mnist* && -z $mnist_dir ]]; then
  mnist_dir=$out/mnist-shaped
  python3 - "$mnist_dir" <<'PY'
import os, random, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = random.Random(1)
def images(path, n):
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(bytes(rng.getrandbits(8) for _ in range(n * 784)))
def labels(path, n):
    with open(path, "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(rng.randrange(10) for _ in range(n)))
for stem, n in (("train", 2000), ("t10k", 1000)):
    p = os.path.join(d, f"{stem}-images-idx3-ubyte")
    if not os.path.exists(p):
        images(p, n)
        labels(os.path.join(d, f"{stem}-labels-idx1-ubyte"), n)
PY
fi

task_options() {
  case $1 in
    temporal400) echo "--task temporal -T 400" ;;
    mnist) echo "--task mnist --data-dir $mnist_dir" ;;
  esac
}
mode_options() {
  case $1 in
    exact) echo "--sync exact" ;;
    pipelined) echo "--sync pipelined --micro-batches 8" ;;
    stale) echo "--sync stale --staleness 1 --staleness-compensation dc" ;;
    decoupled) echo "--decoupled" ;;
  esac
}
seconds_of() { grep -E '^\{.*"result"' | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["seconds"])'; }

csv=$out/throughput.csv
[[ -s $csv ]] || echo "task,mode,platform,K,seconds_per_iteration,real_seconds" >"$csv"
for task in $tasks; do
  for mode in $modes; do
    for K in $ranks; do
      [[ $K == 1 && $mode == decoupled ]] && continue
      grep -q "^$task,$mode,$platform,$K," "$csv" && continue
      t=()
      start=$(date +%s.%N)
      for n in "$n1" "$n2"; do
        # shellcheck disable=SC2046  # the option strings are meant to be word-split
        t+=("$("$here/simulate.sh" "$K" "$platform" $(task_options "$task") $(mode_options "$mode") --seed 1 \
          --max-iterations "$n" --check-every 1000000 --validation-samples 1000 --no-progress 2>/dev/null | seconds_of)")
      done
      real=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
      per=$(awk -v a="${t[0]}" -v b="${t[1]}" -v n="$((n2 - n1))" 'BEGIN{printf "%.6f", (b - a) / n}')
      echo "$task,$mode,$platform,$K,$per,$real" | tee -a "$csv"
    done
  done
done
python3 - "$csv" "$out/throughput.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
base = {(r["task"], r["platform"]): float(r["seconds_per_iteration"]) for r in rows if r["K"] == "1" and r["mode"] == "exact"}
lines = ["| task | mode | platform | K | simulated ms per iteration | iterations/s | vs K = 1 exact |", "|---|---|---|---|---|---|---|"]
for r in sorted(rows, key=lambda r: (r["task"], r["platform"], r["mode"] != "exact", r["mode"], int(r["K"]))):
    s = float(r["seconds_per_iteration"])
    b = base.get((r["task"], r["platform"]))
    lines.append(f"| {r['task']} | {r['mode']} | {r['platform']} | {r['K']} | {s * 1e3:.2f} | {1 / s:.1f} | "
                 + (f"{b / s:.2f}× |" if b else "— |"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
