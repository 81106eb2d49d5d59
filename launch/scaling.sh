#!/usr/bin/env bash
# Scaling of exact-semantics training on this machine: a grid of ranks × threads per rank,
# the message latency and bandwidth, and the performance model's predictions beside them.
#
#   launch/scaling.sh                               # RANKS="1 2", THREADS="1 2", T = 400
#   RANKS="1 2 4 8 16" THREADS="1" launch/scaling.sh --out out/scaling-16core
#   launch/scaling.sh --out out/s -- -T 120         # extra arguments after -- go to every bench run
#
# Writes into --out (default out/scaling):
#   runs.jsonl       one tptt_mpi_check bench result per (ranks, threads)
#   scaling.csv      ranks, threads, iterations/s, speed-up over 1 rank × 1 thread
#   scaling.png      iterations/s against ranks, a line per thread count, and the model
#   pingpong.json    latency, bandwidth and all-reduce time between the ranks (K ≥ 2)
#   trace-k1.json    the kernel timings of a K = 1 run, for the model
#   model.csv        launch/perf_model.py: predicted time per iteration for K = 1 … 64 over this
#                    machine's link, and the error against the measured K (one thread per rank);
#                    model.txt adds the kernel and link figures it used
# Environment: BUILD_DIR (default build), ITERATIONS (default 100), MPIRUN_ARGS (extra launcher
# options). Run it on an otherwise idle machine: every figure is a timing.
set -euo pipefail
CALLER_DIR=$PWD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=out/scaling
extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) [[ $# -ge 2 ]] || { echo "launch/scaling.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/scaling.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
[[ $out == /* ]] || out=$CALLER_DIR/$out
build=${BUILD_DIR:-$here/../build}
[[ $build == /* ]] || build=$CALLER_DIR/$build
check=$build/tests/mpi/tptt_mpi_check
[[ -x $check ]] || { echo "launch/scaling.sh: no $check (build first: cmake --build $build)" >&2; exit 3; }
command -v mpirun >/dev/null || { echo "launch/scaling.sh: mpirun not found (install Open MPI)" >&2; exit 3; }
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
ranks=${RANKS:-1 2}
threads=${THREADS:-1 2}
iterations=${ITERATIONS:-100}
cores=$(nproc)
mkdir -p "$out"
: >"$out/runs.jsonl"

launch() {  # launch K command...: mpirun with --oversubscribe where K × threads exceeds the cores
  local K=$1 t=$2
  shift 2
  local over=()
  (( K * t > cores )) && over=(--oversubscribe)
  # shellcheck disable=SC2086  # MPIRUN_ARGS is meant to be word-split
  mpirun "${over[@]}" --bind-to none ${MPIRUN_ARGS:-} -np "$K" "$@"
}

for t in $threads; do
  for K in $ranks; do
    echo "== $K rank(s) × $t thread(s)" >&2
    launch "$K" "$t" "$check" bench --threads "$t" --iterations "$iterations" -T 400 "${extra[@]}" | tee -a "$out/runs.jsonl"
  done
done
echo "== K = 1 trace for the model" >&2
launch 1 1 "$check" bench --threads 1 --iterations "$iterations" -T 400 "${extra[@]}" --trace "$out/trace-k1.json" \
  >"$out/k1-trace-run.jsonl"
max_k=$(tr ' ' '\n' <<<"$ranks" | sort -n | tail -1)
if (( max_k >= 2 )); then
  echo "== ping-pong over $max_k ranks" >&2
  launch "$max_k" 1 "$check" pingpong >"$out/pingpong.json"
  cat "$out/pingpong.json" >&2
fi

python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl") if l.startswith("{")]
base = next((r["iterations_per_s"] for r in runs if r["ranks"] == 1 and r["threads"] == 1), None)
with open(f"{out}/scaling.csv", "w") as f:
    f.write("ranks,threads,iterations_per_s,speedup\n")
    for r in runs:
        s = r["iterations_per_s"] / base if base else float("nan")
        f.write(f"{r['ranks']},{r['threads']},{r['iterations_per_s']:.3f},{s:.3f}\n")
print(open(f"{out}/scaling.csv").read(), end="")
EOF

model=(--trace "$out/trace-k1.json" --bench "$out/k1-trace-run.jsonl")
cat "$out/runs.jsonl" >>"$out/k1-trace-run.jsonl"
[[ -s $out/pingpong.json ]] && model+=(--pingpong "$out/pingpong.json")
python3 "$here/perf_model.py" "${model[@]}" --label "this machine" | tee "$out/model.txt"
grep -v '^#' "$out/model.txt" >"$out/model.csv"
"$here/plot.sh" scaling "$out/scaling.csv" --model "$out/model.csv" -o "$out/scaling.png"
