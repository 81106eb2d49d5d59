#!/usr/bin/env bash
# The experiment commands end to end on tiny runs (ctest label `cli`, a few seconds each):
#
#   experiments.sh TPTT curriculum   levels, t_max, rerun skips recorded levels, a lost level
#                                    reruns, another configuration is refused, SIGINT
#   experiments.sh TPTT sweep        runs.csv / best.csv, rerun skips, a larger grid runs only
#                                    the new runs, a lost run is reproduced, refusals
#   experiments.sh TPTT eval         a `tptt train --checkpoint` model at its own and another length
set -uo pipefail

if [[ $# -ne 2 || ! -x $1 ]]; then
  echo "usage: $0 path/to/tptt curriculum|sweep|eval" >&2
  exit 2
fi
tptt=$1 mode=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-exp.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# Runs tptt with stdout/stderr in $work/out, $work/err; sets rc.
run() {
  rc=0
  timeout 60 "$tptt" "$@" >"$work/out" 2>"$work/err" || rc=$?
}
without_seconds() { cut -d, -f"$1" "$2"; }  # the columns of a result file but its timing

# Tiny: H = 16, a check every 50 iterations on 100 sequences; each run well under a second.
small=(-H 16 --check-every 50 --validation-samples 100 --validation-batch 100 --no-progress)

case $mode in
curriculum)
  args=(curriculum --task temporal "${small[@]}" --max-iterations 300 --out "$work/c")
  run "${args[@]}"
  [[ $rc -eq 0 ]] || { fail "curriculum exited $rc: $(cat "$work/err")"; exit 1; }
  csv=$work/c/curriculum.csv
  head -1 "$csv" | grep -qx "task,algorithm,T,solved,solved_at,iterations,best_error,seconds,stop_reason" ||
    fail "curriculum.csv header: $(head -1 "$csv")"
  # Levels 10, 20, … all solved but the last; t_max the last solved one.
  levels=$(tail -n +2 "$csv" | wc -l)
  (( levels >= 2 )) || fail "expected at least two levels (T = 10 solved, then a failure): $(cat "$csv")"
  expected_T=10 t_max=0 n=0
  while IFS=, read -r task algorithm T solved solved_at _; do
    n=$((n + 1))
    [[ $task == temporal && $algorithm == tptt ]] || fail "row $n: task/algorithm $task/$algorithm"
    [[ $T == "$expected_T" ]] || fail "row $n: T = $T, expected $expected_T"
    if (( n < levels )); then
      [[ $solved == true && -n $solved_at ]] || fail "row $n (T = $T) is not solved but the search went on"
      t_max=$T
    else
      [[ $solved == false && -z $solved_at ]] || fail "the last level (T = $T) is solved: the search must end at a failure"
    fi
    [[ -s $work/c/T$T.jsonl ]] || fail "no metrics log T$T.jsonl"
    expected_T=$((expected_T + 10))
  done < <(tail -n +2 "$csv")
  [[ $(cat "$work/c/t_max.csv") == $'task,algorithm,t_max,capped\ntemporal,tptt,'"$t_max,false" ]] ||
    fail "t_max.csv: $(cat "$work/c/t_max.csv"), expected t_max $t_max"
  grep -q "^t_max = $t_max (temporal, tptt)" "$work/out" || fail "stdout lacks 't_max = $t_max': $(cat "$work/out")"
  echo "== curriculum: $levels levels, t_max = $t_max"

  # The same command again: nothing is trained, the results stay as they are.
  cp "$csv" "$work/first.csv"
  run "${args[@]}"
  [[ $rc -eq 0 ]] || fail "rerun exited $rc"
  grep -q "level(s) already in" "$work/err" || fail "rerun does not report the recorded levels"
  ! grep -q "T = .* (log" "$work/err" || fail "rerun trained again: $(cat "$work/err")"
  cmp -s "$csv" "$work/first.csv" || fail "rerun changed curriculum.csv"
  grep -q "^t_max = $t_max" "$work/out" || fail "rerun does not print t_max"

  # A search stopped before its last level: only that level runs, to the same result.
  head -n "$levels" "$work/first.csv" >"$csv"  # header + all but the last level
  last_T=$(( 10 * levels ))
  run "${args[@]}"
  [[ $rc -eq 0 ]] || fail "continued search exited $rc"
  trained=$(grep -c "T = .* (log" "$work/err")
  [[ $trained -eq 1 ]] && grep -q "T = $last_T (log" "$work/err" ||
    fail "expected to train only T = $last_T, trained $trained level(s): $(cat "$work/err")"
  cmp -s <(without_seconds 1-7,9 "$csv") <(without_seconds 1-7,9 "$work/first.csv") ||
    fail "the continued search differs: $(diff "$csv" "$work/first.csv")"
  echo "== curriculum: rerun skips recorded levels, a lost level reruns to the same result"

  # Another configuration in the same directory: refused, naming --out; nothing changes.
  cp "$csv" "$work/before.csv"
  run curriculum --task temporal "${small[@]}" --max-iterations 300 --alpha-f 0.1 --out "$work/c"
  [[ $rc -eq 2 ]] && grep -q -- "--out" "$work/err" && grep -q "alpha-f" "$work/err" ||
    fail "another configuration: exit $rc, stderr $(cat "$work/err")"
  run curriculum --task perm "${small[@]}" --max-iterations 300 --out "$work/c"
  [[ $rc -eq 2 ]] && grep -q -- "--out" "$work/err" || fail "another task: exit $rc, stderr $(cat "$work/err")"
  cmp -s "$csv" "$work/before.csv" || fail "a refused curriculum changed curriculum.csv"
  echo "== curriculum: another configuration is refused"

  # --length-cap ends the search even while it succeeds; t_max.csv says so.
  run curriculum --task temporal "${small[@]}" --max-iterations 300 --length-cap 15 --out "$work/capped"
  [[ $rc -eq 0 && $(tail -n +2 "$work/capped/curriculum.csv" | wc -l) -eq 1 ]] ||
    fail "--length-cap 15: exit $rc, $(cat "$work/capped/curriculum.csv" 2>&1)"
  [[ $(cat "$work/capped/t_max.csv") == $'task,algorithm,t_max,capped\ntemporal,tptt,10,true' ]] ||
    fail "--length-cap 15: t_max.csv does not say capped: $(cat "$work/capped/t_max.csv")"
  grep -q "lower bound" "$work/out" || fail "--length-cap 15: stdout does not call t_max a lower bound"
  # The old spelling (train's --max-length means a range of lengths) is refused, naming the new one.
  run curriculum --task temporal "${small[@]}" --max-iterations 300 --max-length 15 --out "$work/capped"
  [[ $rc -eq 2 ]] && grep -q -- "--length-cap" "$work/err" || fail "--max-length 15: exit $rc, $(cat "$work/err")"

  # SIGINT during a level: exit 130, the recorded levels stay a valid file.
  timeout 60 "$tptt" curriculum --task temporal -H 32 --check-every 100 --validation-samples 100 --no-progress \
    --max-iterations 1000000 --start 200 --out "$work/int" >/dev/null 2>"$work/err" &
  pid=$!
  sleep 1
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  [[ $rc -eq 130 ]] || fail "SIGINT: exit $rc, expected 130: $(cat "$work/err")"
  if [[ -e $work/int/curriculum.csv ]]; then
    awk -F, 'NF != 9 { bad = 1 } END { exit bad }' "$work/int/curriculum.csv" || fail "SIGINT left a damaged curriculum.csv"
  fi
  ! ls "$work/int"/*.tmp.* >/dev/null 2>&1 || fail "SIGINT left temporary files"
  echo "== curriculum: SIGINT exits 130"
  ;;

sweep)
  grid="alpha_f=0.1,0.01;alpha-g=0.01"
  args=(sweep --task temporal -T 20 "${small[@]}" --max-iterations 300 --seeds "1,2" --out "$work/s")
  run "${args[@]}" --grid "$grid"
  [[ $rc -eq 0 ]] || { fail "sweep exited $rc: $(cat "$work/err")"; exit 1; }
  runs=$work/s/runs.csv
  head -1 "$runs" | grep -qx "alpha_f,alpha_g,seed,solved,solved_at,iterations,best_error,final_error,stop_reason,seconds,mode,schedule" ||
    fail "runs.csv header: $(head -1 "$runs")"
  [[ $(cut -d, -f1-3 "$runs" | tail -n +2 | tr '\n' ' ') == "0.1,0.01,1 0.1,0.01,2 0.01,0.01,1 0.01,0.01,2 " ]] ||
    fail "runs.csv rows (grid order, seeds inner): $(cat "$runs")"
  awk -F, 'NR > 1 && !(($4 == "true" && $5 != "") || ($4 == "false" && $5 == "")) { bad = 1 } END { exit bad }' "$runs" ||
    fail "solved / solved_at inconsistent: $(cat "$runs")"
  [[ $(ls "$work/s/logs" | wc -l) -eq 4 ]] || fail "expected 4 metrics logs: $(ls "$work/s/logs")"
  best=$work/s/best.csv
  head -1 "$best" | grep -q "^alpha_f,alpha_g,runs,solved,mean_solved_at" || fail "best.csv header: $(head -1 "$best")"
  [[ $(tail -n +2 "$best" | wc -l) -eq 2 ]] || fail "best.csv: expected 2 combinations: $(cat "$best")"
  # Sorted: solved count never increases down the table.
  awk -F, 'NR > 2 && $4 > prev { bad = 1 } NR > 1 { prev = $4 } END { exit bad }' "$best" || fail "best.csv not sorted: $(cat "$best")"
  top=$(sed -n 2p "$best" | cut -d, -f1,2)
  grep -q "^best: alpha_f=${top%,*} alpha_g=${top#*,} " "$work/out" || fail "stdout lacks the best combination $top: $(cat "$work/out")"
  echo "== sweep: 2 combinations x 2 seeds"

  # The same command again: nothing runs.
  cp "$runs" "$work/first.csv"
  run "${args[@]}" --grid "$grid"
  [[ $rc -eq 0 ]] && grep -q "4 already recorded, 0 to run" "$work/err" || fail "rerun: exit $rc, $(cat "$work/err")"
  cmp -s "$runs" "$work/first.csv" || fail "rerun changed runs.csv"

  # A lost run (an interrupted sweep) is run again, to the same result.
  sed -i 3d "$runs"
  run "${args[@]}" --grid "$grid"
  [[ $rc -eq 0 ]] && grep -q "3 already recorded, 1 to run" "$work/err" || fail "lost run: exit $rc, $(cat "$work/err")"
  cmp -s <(without_seconds 1-9 "$runs") <(without_seconds 1-9 "$work/first.csv") ||
    fail "the rerun run differs: $(diff "$runs" "$work/first.csv")"

  # A larger grid runs only the new combination; the old rows stay.
  run "${args[@]}" --grid "alpha_f=0.1,0.01,0.001;alpha_g=0.01"
  [[ $rc -eq 0 ]] && grep -q "4 already recorded, 2 to run" "$work/err" || fail "larger grid: exit $rc, $(cat "$work/err")"
  [[ $(tail -n +2 "$runs" | wc -l) -eq 6 ]] || fail "larger grid: expected 6 rows: $(cat "$runs")"
  cmp -s <(head -5 "$runs" | cut -d, -f1-9) <(without_seconds 1-9 "$work/first.csv") ||
    fail "larger grid changed the recorded rows"
  echo "== sweep: reruns skip recorded runs"

  # Another configuration or other keys in the same directory: refused, naming --out.
  run sweep --task temporal -T 30 "${small[@]}" --max-iterations 300 --seeds "1,2" --out "$work/s" --grid "$grid"
  [[ $rc -eq 2 ]] && grep -q -- "--out" "$work/err" || fail "another configuration: exit $rc, $(cat "$work/err")"
  run "${args[@]}" --grid "noise=0,0.1"
  [[ $rc -eq 2 ]] && grep -q -- "--out" "$work/err" || fail "other keys: exit $rc, $(cat "$work/err")"

  # The noise sweep of Table 3 (adding is regression): starts and reports accuracies.
  run sweep --task adding -T 70 "${small[@]}" --alpha-i 0.5 --alpha-f 0.02 --alpha-g 0.07 --max-iterations 100 \
    --grid "noise=0,0.1" --out "$work/noise"
  [[ $rc -eq 0 ]] || fail "noise sweep exited $rc: $(cat "$work/err")"
  head -1 "$work/noise/best.csv" | grep -q "best_accuracy,final_accuracy$" || fail "noise sweep: best.csv lacks accuracies"
  [[ $(tail -n +2 "$work/noise/runs.csv" | wc -l) -eq 2 ]] || fail "noise sweep: $(cat "$work/noise/runs.csv")"
  echo "== sweep: refusals, noise sweep"
  ;;

eval)
  run train --task temporal -T 20 "${small[@]}" --max-iterations 300 --checkpoint "$work/model.ckpt"
  [[ $rc -eq 0 ]] || { fail "train --checkpoint exited $rc: $(cat "$work/err")"; exit 1; }
  run eval --model "$work/model.ckpt"
  [[ $rc -eq 0 ]] || fail "eval exited $rc: $(cat "$work/err")"
  grep -q "^{\"model\":\"$work/model.ckpt\",\"trained_length\":20,\"length\":20,\"samples\":100,\"validation_stream\":\"evaluation\",\"error\":" "$work/out" ||
    fail "eval at the trained length: $(cat "$work/out")"
  # Unseen data: no validation cost of the training run (fresh sets of its checks) recurs.
  eval_cost=$(grep -o '"cost":[^,]*' "$work/out" | cut -d: -f2)
  run train --task temporal -T 20 "${small[@]}" --max-iterations 300 --log "$work/train.jsonl"
  ! grep -q "\"val_cost\":$eval_cost," "$work/train.jsonl" || fail "eval repeats a validation set of the run (cost $eval_cost)"
  run eval --model "$work/model.ckpt" --length 40 --samples 200 --seed 9
  [[ $rc -eq 0 ]] && grep -q '"trained_length":20,"length":40,"samples":200,"validation_stream":"evaluation","error":[0-9.e-]*,"accuracy":' "$work/out" ||
    fail "eval at T = 40: exit $rc, $(cat "$work/out") $(cat "$work/err")"
  # --errors: one CSV row per misclassified sequence, as many as the error says, with the
  # temporal task's two markers (step:symbol) of each.
  run eval --model "$work/model.ckpt" --length 40 --samples 200 --seed 9 --errors "$work/errors.csv"
  [[ $rc -eq 0 ]] || fail "eval --errors exited $rc: $(cat "$work/err")"
  wrong=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["error"]*d["samples"]))' "$(cat "$work/out")")
  rows=$(($(wc -l <"$work/errors.csv") - 1))
  [[ $rows -eq $wrong ]] || fail "eval --errors: $rows rows for $wrong errors"
  head -1 "$work/errors.csv" | grep -qx "batch,sequence,label,predicted,output,target,markers" || fail "eval --errors: header"
  [[ $rows -eq 0 ]] || sed -n 2p "$work/errors.csv" | grep -Eq '^[0-9]+,[0-9]+,[0-3],[0-3],0,0,[0-9]+:[01] [0-9]+:[01]$' ||
    fail "eval --errors: row $(sed -n 2p "$work/errors.csv")"
  # --marker-length/--marker-offset: the markers of a length-20 sequence 20 steps later in a
  # length-40 one (steps 23-24 and 31-32, 1-based, in the --errors rows); refused when they do not fit.
  run eval --model "$work/model.ckpt" --length 40 --marker-length 20 --marker-offset 20 --samples 200 --seed 9 \
    --errors "$work/moved.csv"
  [[ $rc -eq 0 ]] && grep -q '"validation_stream":"evaluation","marker_length":20,"marker_offset":20,"error":' "$work/out" ||
    fail "eval --marker-length: exit $rc, $(cat "$work/out") $(cat "$work/err")"
  tail -n +2 "$work/moved.csv" | cut -d, -f7 | grep -Evq '^(2[34]):[01] (3[12]):[01]$' &&
    fail "eval --marker-offset: a marker outside steps 23-24, 31-32: $(tail -n +2 "$work/moved.csv" | head -3)"
  run eval --model "$work/model.ckpt" --length 40 --marker-length 20 --marker-offset 21
  [[ $rc -eq 2 ]] && grep -q "marker-offset" "$work/err" || fail "eval --marker-offset past the end: exit $rc, $(cat "$work/err")"
  echo "== eval: $(cat "$work/out"); --errors: $rows rows"
  ;;

*)
  echo "experiments.sh: unknown mode '$mode'" >&2
  exit 2
  ;;
esac

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
