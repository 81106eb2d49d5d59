#!/usr/bin/env bash
# Is the simulated cluster's clock right? Runs temporal order T = 120 to solved for real and under
# the simulator (launch/simulate.sh on the loopback platform, which models this machine's
# shared-memory link), alternately, in the same window: K = 1, K = 2 exact, K = 2 pipelined (M
# automatic), one thread per rank. Prints each pair's time to solve (the summary's seconds:
# validation included, start-up not) and the ratio simulated / real.
#
#   launch/calibrate.sh [--repeats N] [--seed S] [-- extra tptt options]
#
# Run it on an otherwise idle machine: the real runs are wall-clock timings. Environment: BUILD_DIR
# (default build/, the real tptt), SMPI_BUILD_DIR (default build-smpi/).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repeats=2 seed=1 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --repeats) repeats=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$here/calibrate.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/calibrate.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
tptt=${BUILD_DIR:-$here/../build}/tptt
[[ -x $tptt ]] || { echo "launch/calibrate.sh: no $tptt (build first: launch/run.sh or launch/test.sh)" >&2; exit 3; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run=(-T 120 --seed "$seed" --threads 1 --no-progress ${extra[@]+"${extra[@]}"})
seconds() { grep -E '^\{.*"result"' | tail -1 | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["seconds"], r.get("solved_at"))'; }

printf '%-22s %6s %12s %12s %8s\n' run repeat "real s" "simulated s" "sim/real"
for r in $(seq 1 "$repeats"); do
  for config in "1" "2 --sync exact" "2 --sync pipelined --micro-batches auto"; do
    read -r K mode <<<"$config"
    # shellcheck disable=SC2086  # mode is meant to be word-split
    if [[ $K == 1 ]]; then
      real=$("$tptt" train "${run[@]}" 2>/dev/null | seconds)
    else
      real=$(TPTT=$tptt "$here/mpirun.sh" "$K" "${run[@]}" $mode 2>/dev/null | seconds)
    fi
    # shellcheck disable=SC2086
    sim=$("$here/simulate.sh" "$K" loopback "${run[@]}" $mode 2>/dev/null | seconds)
    read -r real_s real_at <<<"$real"
    read -r sim_s sim_at <<<"$sim"
    label="K=$K ${mode:-}"
    [[ $real_at == "$sim_at" ]] || label="$label (solved at $real_at real, $sim_at simulated)"
    printf '%-22s %6s %12.2f %12.2f %8.3f\n' "${label/--sync /}" "$r" "$real_s" "$sim_s" \
      "$(awk -v a="$sim_s" -v b="$real_s" 'BEGIN{print a / b}')"
  done
done
