#!/usr/bin/env bash
# The simulated cluster tells the truth about the numbers (ctest label `smpi`):
#
#   smpi_exact.sh TPTT SOURCE_DIR
#
# exact mode on K = 4 ranks, once under SimGrid's SMPI (the smpicxx build, launch/simulate.sh)
# and once under real mpirun, must end with the same parameters bit for bit (the same parameter
# hash on every rank of both), and within the exact-mode tolerance of the one-process run (the
# float32 sums of K segments differ from one process's in order: tests/mpi/compare_runs.py,
# 1e-5). The SMPI executable is $TPTT_SMPI_TPTT (launch/test_smpi.sh builds it and sets it);
# without it the test is skipped (exit 77), so that the quick loop does not build SimGrid.
set -uo pipefail
tptt=$1 src=$2
smpi_tptt=${TPTT_SMPI_TPTT:-}
if [[ -z $smpi_tptt ]]; then
  echo "SKIP: TPTT_SMPI_TPTT is not set (launch/test_smpi.sh builds the SMPI tree and runs this test)"
  exit 77
fi
[[ -x $smpi_tptt ]] || { echo "FAIL: no SMPI executable at $smpi_tptt"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-smpi-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# T = 13 is divisible by none of 2, 3, 4; 20 iterations, a check every 5 (as tests/mpi).
base=(--task temporal -T 13 -H 16 -B 4 --seed 3 --max-iterations 20 --check-every 5 --validation-samples 40
      --validation-batch 10 --no-progress --param-hash)
args=("${base[@]}" --threads 1)

"$tptt" train "${args[@]}" --save-params "$work/p1.npy" >"$work/o1" 2>"$work/e1" || { cat "$work/e1"; fail "K = 1 run"; }
TPTT=$tptt "$src/launch/mpirun.sh" 4 "${args[@]}" --save-params "$work/real.npy" >"$work/oreal" 2>"$work/ereal" ||
  { cat "$work/ereal"; fail "real K = 4 run"; }
SMPI_BUILD_DIR=$(dirname "$smpi_tptt") "$src/launch/simulate.sh" 4 infiniband "${args[@]}" \
  --save-params "$work/sim.npy" >"$work/osim" 2>"$work/esim" || { cat "$work/esim"; fail "simulated K = 4 run"; }

hashes() { grep -o 'rank [0-9]*: param_hash [0-9a-f]*' "$1" | sort; }
real=$(hashes "$work/ereal") sim=$(hashes "$work/esim")
echo "== real mpirun K = 4:"; echo "$real"
echo "== simulated K = 4 (SMPI, infiniband):"; echo "$sim"
[[ $(wc -l <<<"$sim") == 4 && -n $sim ]] || fail "the simulated run printed $(wc -l <<<"$sim") rank hashes, not 4"
[[ $real == "$sim" ]] || fail "simulated and real K = 4 differ"
[[ $(awk '{print $4}' <<<"$sim" | sort -u | wc -l) == 1 ]] || fail "the simulated ranks' replicas differ"
grep -q '"simulated":"infiniband' "$work/osim" || fail "the simulated summary does not name its platform: $(cat "$work/osim")"
cmp -s "$work/real.npy" "$work/sim.npy" || fail "simulated and real parameter files differ"
python3 "$src/tests/mpi/compare_runs.py" params "$work/p1.npy" "$work/sim.npy" --layout 6,16,4 ||
  fail "simulated K = 4 is not within the exact-mode tolerance of K = 1"
echo "== K = 1: $(grep -o 'param_hash [0-9a-f]*' "$work/e1")"

# A simulated rank runs one thread: more is refused with the option's name, exit 2.
SMPI_BUILD_DIR=$(dirname "$smpi_tptt") "$src/launch/simulate.sh" 2 infiniband "${base[@]}" --threads 2 \
  >"$work/o2" 2>"$work/e2"
rc=$?
[[ $rc == 2 ]] && grep -q -- "--threads 2" "$work/e2" || fail "--threads 2 under SMPI: exit $rc, $(tail -2 "$work/e2")"

[[ $failures == 0 ]] && echo "PASS: simulated K = 4 equals real K = 4 bit for bit, and K = 1 within 1e-5"
exit $((failures > 0))
