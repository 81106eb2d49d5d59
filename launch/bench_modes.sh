#!/usr/bin/env bash
# Throughput of the distributed modes: iterations per second for K ranks and each mode, at
# T = 400, H = 100, B = 20 unless overridden. One JSON line per run;
# run it on an otherwise idle machine.
#
#   launch/bench_modes.sh                      # K = 1 2 4, every mode, tptt
#   RANKS="1 2" ALGORITHMS="tptt tptt_hx" ITERATIONS=300 launch/bench_modes.sh -T 100
#
# Environment: BUILD_DIR (default build), RANKS, ALGORITHMS, ITERATIONS (default 200),
# MODES (';'-separated option sets). Extra arguments go to every run (-T, -H, -B).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${BUILD_DIR:-$here/../build}
check=$build/tests/mpi/tptt_mpi_check
[[ -x $check ]] || { echo "launch/bench_modes.sh: build $check first (cmake --build $build)" >&2; exit 3; }
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
ranks=${RANKS:-1 2 4}
algorithms=${ALGORITHMS:-tptt}
iterations=${ITERATIONS:-200}
modes=${MODES:-"--sync exact;--sync pipelined --micro-batches 4;--sync pipelined --micro-batches 10;--sync stale --staleness 1;--sync stale --staleness 2;--sync stale --staleness 1 --decoupled"}
cores=$(nproc)
IFS=';' read -r -a mode_list <<<"$modes"
for algorithm in $algorithms; do
  for mode in "${mode_list[@]}"; do
    [[ $mode == *--decoupled* && $algorithm == bptt ]] && continue  # bptt has no targets
    for K in $ranks; do
      over=()
      (( K > cores )) && over=(--oversubscribe)
      # shellcheck disable=SC2086  # $mode is a word list
      mpirun "${over[@]}" --bind-to none -np "$K" "$check" bench --algorithm "$algorithm" $mode \
        --iterations "$iterations" -T 400 -H 100 -B 20 "$@"
    done
  done
done
