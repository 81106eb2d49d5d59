#!/usr/bin/env bash
# `tptt sweep` under real mpirun (ctest label `mpi`): the runs dealt over K ranks give the same
# rows as the one-process sweep (timing aside), the per-rank files are merged and removed, a
# multi-rank rerun runs only what is missing, and a bad grid exits 2 with one message.
#   mpi_sweep.sh TPTT
set -uo pipefail

tptt=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-mpi-sweep.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun=(timeout 60 mpirun --oversubscribe --bind-to none)
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
without_seconds() { cut -d, -f1-9 "$1"; }  # runs.csv: alpha_f, alpha_g, seed, …, stop_reason

# 3 combinations x 2 seeds = 6 runs: 3 per rank with K = 2, 2/2/1/1 with K = 4.
args=(sweep --task temporal -T 20 -H 16 --max-iterations 300 --check-every 50 --validation-samples 100
      --validation-batch 100 --no-progress --grid "alpha_f=0.1,0.01,0.001;alpha_g=0.01" --seeds "1,2")

if ! "$tptt" "${args[@]}" --out "$work/solo" >"$work/out" 2>"$work/err"; then
  cat "$work/err"
  fail "one-process sweep failed"
  exit 1
fi
for K in 2 4; do
  dir=$work/k$K
  if ! "${mpirun[@]}" -np "$K" "$tptt" "${args[@]}" --out "$dir" >"$work/out" 2>"$work/err"; then
    cat "$work/err"
    fail "K = $K sweep failed"
    continue
  fi
  grep -q "6 to run on $K ranks" "$work/err" || fail "K = $K: the runs were not dealt over $K ranks: $(cat "$work/err")"
  # Which rank ran each run is in the run's log header ("sweep_rank"); the stderr lines are
  # only a report (mpirun's output forwarding may hold back the last lines of a rank).
  ranks_used=$(head -qn1 "$dir"/logs/*.jsonl | grep -o '"sweep_rank":[0-9]*' | sort -u | wc -l)
  [[ $ranks_used -eq $K ]] || fail "K = $K: runs ran on $ranks_used ranks"
  reported=$(grep -o "^tptt sweep: rank [0-9]*" "$work/err" | sort -u | wc -l)
  [[ $reported -eq $K ]] || echo "note: K = $K: stderr shows reports of $reported ranks"
  cmp -s <(without_seconds "$work/solo/runs.csv") <(without_seconds "$dir/runs.csv") ||
    fail "K = $K: runs.csv differs from the one-process sweep: $(diff "$work/solo/runs.csv" "$dir/runs.csv")"
  cmp -s "$work/solo/best.csv" "$dir/best.csv" || fail "K = $K: best.csv differs"
  ! ls "$dir"/runs.rank*.csv >/dev/null 2>&1 || fail "K = $K: per-rank files left after the merge: $(ls "$dir")"
  [[ $(grep -c "^best: " "$work/out") -eq 1 ]] || fail "K = $K: expected one 'best:' line on stdout: $(cat "$work/out")"
  echo "== K = $K: same rows as one process"
done

# A multi-rank rerun after a loss runs only the missing runs, on the ranks.
sed -i '3d;6d' "$work/k2/runs.csv"
"${mpirun[@]}" -np 2 "$tptt" "${args[@]}" --out "$work/k2" >"$work/out" 2>"$work/err" || fail "K = 2 rerun failed"
grep -q "4 already recorded, 2 to run on 2 ranks" "$work/err" || fail "K = 2 rerun: $(cat "$work/err")"
cmp -s <(without_seconds "$work/solo/runs.csv") <(without_seconds "$work/k2/runs.csv") || fail "K = 2 rerun: rows differ"

# Per-rank files of a stopped multi-rank sweep are merged by the next run, one process or many.
{ head -1 "$work/solo/runs.csv"; sed -n '2,3p' "$work/solo/runs.csv"; } >"$work/solo/runs.rank1.csv"
sed -i '2,3d' "$work/solo/runs.csv"
"$tptt" "${args[@]}" --out "$work/solo" >"$work/out" 2>"$work/err" || fail "merge run failed"
grep -q "6 already recorded, 0 to run" "$work/err" || fail "merge: the per-rank rows were not counted: $(cat "$work/err")"
cmp -s <(without_seconds "$work/solo/runs.csv") <(without_seconds "$work/k4/runs.csv") || fail "merge: rows differ"
[[ ! -e $work/solo/runs.rank1.csv ]] || fail "merge: runs.rank1.csv was not removed"
echo "== reruns and merges"

# A bad grid under mpirun: exit 2, one message.
"${mpirun[@]}" -np 2 "$tptt" sweep --grid "bogus=1" --out "$work/bad" >"$work/out" 2>"$work/err"
rc=$?
[[ $rc -eq 2 ]] || fail "bad grid: exit $rc, expected 2"
[[ $(grep -c "unknown key 'bogus'" "$work/err") -eq 1 ]] || fail "bad grid: message: $(cat "$work/err")"
[[ ! -e $work/bad ]] || fail "bad grid: --out was created"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
