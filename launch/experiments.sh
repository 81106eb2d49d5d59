#!/usr/bin/env bash
# The paper's experiments with the experiment commands, at a chosen iteration budget:
#
#   curriculum  Table 1: t_max of tptt and tptt_hx (ALGORITHMS) on temporal, temporal3, adding
#               and perm (TASKS): `tptt curriculum`, one directory per task and algorithm
#   noise       Table 3: adding at T = 70 with G-phase noise σ = 0, 0.01, 0.1, 0.5: `tptt sweep`
#   table4      Table 4/5: bptt, tptt and lstm trained at T = 100 (`tptt train --checkpoint`),
#               evaluated at T = 200 (`tptt eval`)
#
# usage: launch/experiments.sh [--name NAME] [--budget N] [--seeds 1,2,3] [--length-cap N]
#                              [--tptt PATH] [curriculum|noise|table4 ...] [-- train options]
#   --name NAME       results go to results/NAME/ (default: paper)
#   --budget N        --max-iterations of every run (default 100000, the paper's)
#   --seeds LIST      seeds of the noise sweep (default 1,2,3)
#   --length-cap N    end of each curriculum search even if it still succeeds (default: none;
#                     t_max.csv says capped = true)
#   --tptt PATH       the executable (default: build/tptt)
#   -- OPTIONS        extra train options for every run (e.g. -H 16 --validation-samples 200 for a
#                     quick check of the pipeline); an option given here must not be one the
#                     script sets for that run (the rates, --task, --algorithm, -T)
# Environment: TASKS (default "temporal temporal3 adding perm"), ALGORITHMS (curriculum; default
# "tptt tptt_hx"; bptt works too), TABLE4_ALGORITHMS (default "bptt tptt lstm"), BPTT_OPTS
# (default "--lr 1e-4"), LSTM_OPTS (default "--lr 1e-3").
#
# Every part is resumable: rerunning the same command continues where it stopped (curriculum
# and sweep skip recorded levels and runs; table4 resumes a model from its checkpoint and
# skips the models already trained). A different --budget (or other options) needs another
# --name: a curriculum or sweep directory refuses another configuration.
#
# Output, under results/NAME/:
#   curriculum/<task>-<algorithm>/{curriculum.csv,t_max.csv,T<T>.jsonl}, t_max.csv (all of them)
#   noise/{runs.csv,best.csv,logs/}            (best.csv: accuracy = 1 - error per σ)
#   table4/<task>-<algorithm>.{ckpt,jsonl,summary.json}, table4.csv (task, algorithm, accuracy at 200)
set -euo pipefail
# A --tptt path and paths in the train options are relative to the current directory; the
# results go to results/NAME/ in the repository.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

name=paper budget=100000 seeds=1,2,3 length_cap="" tptt=$REPO/build/tptt
parts=() extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --name) name=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --length-cap) length_cap=$2; shift 2 ;;
    --max-length) echo "launch/experiments.sh: --max-length: the curriculum's cap is --length-cap N" >&2; exit 2 ;;
    --tptt) tptt=$2; shift 2 ;;
    curriculum|noise|table4) parts+=("$1"); shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/experiments.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
[[ ${#parts[@]} -gt 0 ]] || parts=(curriculum noise table4)
[[ -x $tptt ]] || { echo "launch/experiments.sh: no executable at $tptt (build first, or --tptt PATH)" >&2; exit 3; }
[[ $budget =~ ^[1-9][0-9]*$ ]] || { echo "launch/experiments.sh: --budget: expected a positive integer" >&2; exit 2; }

out=$REPO/results/$name
read -r -a tasks <<<"${TASKS:-temporal temporal3 adding perm}"
read -r -a algorithms <<<"${ALGORITHMS:-tptt tptt_hx}"
read -r -a table4_algorithms <<<"${TABLE4_ALGORITHMS:-bptt tptt lstm}"
common=(--max-iterations "$budget" --no-progress ${extra[@]+"${extra[@]}"})
status=0

# The paper's "common model" of each algorithm (docs/method.md); adding has its own TPTT rates.
rates() {  # task algorithm
  case $2 in
    tptt) if [[ $1 == adding ]]; then echo "--alpha-i 0.5 --alpha-f 0.02 --alpha-g 0.07"
          else echo "--alpha-i 0.1 --alpha-f 0.01 --alpha-g 0.001"; fi ;;
    tptt_hx) echo "--alpha-i 0.1 --alpha-f 0.2 --alpha-g 0.01" ;;
    bptt) echo "${BPTT_OPTS:---lr 1e-4}" ;;
    lstm) echo "${LSTM_OPTS:---lr 1e-3}" ;;
    *) echo "launch/experiments.sh: no rates for algorithm '$2'" >&2; return 1 ;;
  esac
}

# step NAME COMMAND...: runs one experiment, logs its stderr, carries on after a failure.
step() {
  local label=$1
  shift
  echo "== $label: $*" >&2
  local rc=0
  "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "launch/experiments.sh: $label exited with code $rc" >&2
    status=1
  fi
  return 0
}

run_curriculum() {
  local cap=()
  [[ -z $length_cap ]] || cap=(--length-cap "$length_cap")
  mkdir -p "$out/curriculum"
  for task in "${tasks[@]}"; do
    for algorithm in "${algorithms[@]}"; do
      local dir=$out/curriculum/$task-$algorithm
      # shellcheck disable=SC2046  # rates are word-split on purpose
      step "curriculum $task $algorithm" "$tptt" curriculum --task "$task" --algorithm "$algorithm" \
        $(rates "$task" "$algorithm") "${common[@]}" "${cap[@]+"${cap[@]}"}" --out "$dir"
    done
  done
  # One t_max table of every search so far.
  {
    echo "task,algorithm,t_max,capped"
    for f in "$out"/curriculum/*/t_max.csv; do  # t_max.csv of tptt 0.1.0 has no capped column
      [[ -e $f ]] && tail -n +2 "$f" | awk -F, -v OFS=, 'NF == 3 { $4 = "false" } { print }'
    done
  } >"$out/t_max.csv.tmp" && mv "$out/t_max.csv.tmp" "$out/t_max.csv"
  echo "t_max: $out/t_max.csv" >&2
}

run_noise() {
  # shellcheck disable=SC2046
  step "noise sweep" "$tptt" sweep --task adding -T 70 --algorithm tptt $(rates adding tptt) "${common[@]}" \
    --grid "noise=0,0.01,0.1,0.5" --seeds "$seeds" --out "$out/noise"
}

# The value of a top-level key of the one-line JSON object in a file (no nesting needed here).
json_field() {  # key file
  grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '"'
}

run_table4() {
  local dir=$out/table4
  mkdir -p "$dir"
  for task in "${tasks[@]}"; do
    for algorithm in "${table4_algorithms[@]}"; do
      local base=$dir/$task-$algorithm
      if [[ ! -s $base.summary.json ]]; then
        local resume=()
        if [[ -e $base.ckpt ]]; then resume=(--resume "$base.ckpt"); else resume=(--overwrite); fi  # a failed start's log
        # shellcheck disable=SC2046
        if "$tptt" train --task "$task" --algorithm "$algorithm" -T 100 $(rates "$task" "$algorithm") "${common[@]}" \
            --checkpoint "$base.ckpt" --log "$base.jsonl" "${resume[@]+"${resume[@]}"}" >"$base.summary.json.tmp"; then
          mv "$base.summary.json.tmp" "$base.summary.json"
        else
          echo "launch/experiments.sh: training $task $algorithm failed" >&2
          rm -f "$base.summary.json.tmp"
          status=1
          continue
        fi
      fi
      if [[ ! -e $base.ckpt ]]; then  # diverged before its first checkpoint: no model to evaluate
        echo "launch/experiments.sh: $task $algorithm: no model at $base.ckpt ($(cat "$base.summary.json"))" >&2
        continue
      fi
      step "eval $task $algorithm at T = 200" "$tptt" eval --model "$base.ckpt" --length 200 >"$base.eval.json"
    done
  done
  # task, algorithm, accuracy at the trained length's final check and at T = 200.
  {
    echo "task,algorithm,trained_length,length,accuracy"
    for f in "$dir"/*.eval.json; do
      [[ -s $f ]] || continue
      local row=() key
      for key in task algorithm trained_length length accuracy; do row+=("$(json_field "$key" "$f")"); done
      (IFS=,; echo "${row[*]}")
    done
  } >"$out/table4.csv.tmp" && mv "$out/table4.csv.tmp" "$out/table4.csv"
  echo "table 4: $out/table4.csv" >&2
}

mkdir -p "$out"
for part in "${parts[@]}"; do
  case $part in
    curriculum) run_curriculum ;;
    noise) run_noise ;;
    table4) run_table4 ;;
  esac
done
exit $status
