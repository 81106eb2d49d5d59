#!/usr/bin/env bash
# The paper's depth claims at its budget: Table 4 (train at T = 100, evaluate at
# T = 200) and the Table 1 cells tested directly at the paper's t_max. One run at a time,
# niced, one thread, every run checkpointed and resumable.
#
# usage: launch/depth_claims.sh [--list] [PART ...]
#   PART: table4-tptt table4-tptt-clip table4-bptt table4-bptt-paper table4-lstm table1
#         table1-plus10 table1-bptt-paper table1-bptt-paper-plus10 table2-hx (default: all, in
#         that order). table2-hx: TPTT_hx at the T of each of the paper's Table 2 cells where
#         its Table A3 gives a count (temporal 120, temporal3 70, perm 70; runs under
#         runs/table2/). table4-tptt-clip: TPTT on adding with --clip 1, where the default diverges
#         (--clip only where the default fails, both reported). *-bptt-paper: BPTT at the
#         paper's Table 1 rate of each task (runs named <task>-bptt_paper-...). table1-hx-a2:
#         TPTT_hx at the one row of the paper's Table A2 (α_f = 0.01, α_g = 0.01), on temporal
#         210 and perm 800 (runs named <task>-tptt_hx_a2-...). table1-clip: the cells of table1
#         with --clip $CLIP (default 1), for those where the default fails (select with ONLY)
#   --list   print the runs (name and command) with their state, run nothing
#
# Environment:
#   TPTT        the binary (default: build/tptt of this tree)
#   OUT         where everything goes (default: out/depth-claims of this tree)
#   PIDFILE     holds the PID of the running training/eval process, one per line (default:
#               $OUT.pids), so that it can be paused with SIGSTOP and resumed with
#               SIGCONT while timings are taken; emptied when the driver ends
#   SEEDS       seeds of the runs at T <= 200 (default "1 2 3"; above 200 seed 1 only)
#   NICE        niceness (default 19); THREADS --threads (default 1)
#   VALIDATION_SAMPLES  default 10000, the paper's protocol
#   ONLY        an extended regex: run (or list) only the runs whose part/name matches it,
#               e.g. ONLY='table1/perm-' (default: every run of the parts)
#   EXTRA_ARGS  more `tptt train` options for every run, e.g. "--async-validation"
#   BISECT      "TASK ALGORITHM LO HI [SEED]": instead of the parts, find our t_max between LO
#               (solved, or 0) and HI (not solved) by bisection on the grid of 10, each probe a
#               run at the paper's budget under runs/bisect/ (e.g. BISECT="perm tptt_hx 0 800")
#
# Layout under OUT:
#   runs/<part>/<name>.{ckpt,jsonl,err}        checkpoint, metrics log, stderr of each run
#   runs/<part>/<name>.best.ckpt               the model of the run's best check (--save-best)
#   summaries/<part>/<name>.json + .cmd         the one-line JSON summary `tptt train` prints
#                                               and the command that produced it
#   summaries/table4/<name>.eval200.json + .cmd `tptt eval --length 200 --samples 10000` of the
#                                               last model; <name>.best.eval200.json of the best
#   depth_claims.tsv                            one row per finished run: part, name, seed, T,
#                                               solved_at, best_error, seconds, command
# launch/scorecard.py --collect OUT/summaries archives the summaries in docs/runs/ and regenerates
# the scorecard of docs/results.md and the runs table of docs/generalisation.md from them.
#
# Resuming: a run whose summary exists is skipped; a run with a checkpoint but no summary
# continues from it (--resume); so rerunning the same command carries on where it stopped.
# Stop it with SIGTERM to the driver or to the training process (PIDFILE): the run writes its
# checkpoint and the driver exits (a background process ignores SIGINT, so use SIGTERM). Pause
# it with SIGSTOP/SIGCONT to the PID in PIDFILE.
set -uo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.." || exit 2
TPTT=${TPTT:-$PWD/build/tptt}
[[ $TPTT == /* ]] || TPTT=$CALLER_DIR/$TPTT
OUT=${OUT:-$PWD/out/depth-claims}
[[ $OUT == /* ]] || OUT=$CALLER_DIR/$OUT
PIDFILE=${PIDFILE:-$OUT.pids}
read -r -a SEEDS <<<"${SEEDS:-1 2 3}"
NICE=${NICE:-19}
THREADS=${THREADS:-1}
VALIDATION_SAMPLES=${VALIDATION_SAMPLES:-10000}
ONLY=${ONLY:-}
CLIP=${CLIP:-1}
BISECT=${BISECT:-}
read -r -a EXTRA_ARGS <<<"${EXTRA_ARGS:-}"
list=0
parts=()
for a in "$@"; do
  case $a in
    --list) list=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    table4-tptt|table4-tptt-clip|table4-bptt|table4-bptt-paper|table4-lstm|table1|table1-plus10|table1-clip|table1-bptt-paper|table1-bptt-paper-plus10|table1-hx-a2|table2-hx)
      parts+=("$a") ;;
    *) echo "launch/depth_claims.sh: unknown argument '$a' (--help)" >&2; exit 2 ;;
  esac
done
[[ ${#parts[@]} -gt 0 ]] || parts=(table4-tptt table4-tptt-clip table4-bptt table4-bptt-paper table4-lstm table1 table1-plus10
                                   table1-bptt-paper table1-bptt-paper-plus10 table1-hx-a2 table2-hx)
[[ $list == 1 || -x $TPTT ]] || { echo "launch/depth_claims.sh: no binary at $TPTT (build it or set TPTT)" >&2; exit 2; }

# The rates of each algorithm (docs/results.md): TPTT's common model, adding its own;
# TPTT_hx the common model of Table A3, on adding the rates the paper's appendix gives for it;
# BPTT --lr 1e-4 (the BPTT baseline of docs/results.md, Nesterov, no clipping); bptt_paper the
# paper's Table 1 rate of each task (Table 4 uses the same); LSTM the rates of the paper's
# Table 5 (1e-3 on temporal3, 1e-4 else).
rates() {  # task algorithm
  case $2 in
    tptt) if [[ $1 == adding ]]; then echo "--alpha-i 0.5 --alpha-f 0.02 --alpha-g 0.07"
          else echo "--alpha-i 0.1 --alpha-f 0.01 --alpha-g 0.001"; fi ;;
    tptt_hx) if [[ $1 == adding ]]; then echo "--alpha-i 0.02 --alpha-f 0.01 --alpha-g 0.05"
             else echo "--alpha-i 0.1 --alpha-f 0.2 --alpha-g 0.01"; fi ;;
    bptt) echo "--lr 1e-4" ;;
    tptt_hx_a2) echo "--alpha-i 0.1 --alpha-f 0.01 --alpha-g 0.01" ;;
    bptt_paper) case $1 in temporal|temporal3) echo "--lr 1e-5" ;; adding) echo "--lr 1e-3" ;; perm) echo "--lr 1e-2" ;; esac ;;
    lstm) if [[ $1 == temporal3 ]]; then echo "--lr 1e-3"; else echo "--lr 1e-4"; fi ;;  # the paper's Table 5
  esac
}

# The algorithm a run trains: a rate variant (bptt_paper, tptt_hx_a2) is its algorithm.
engine_of() { case $1 in bptt_paper) echo bptt ;; tptt_hx_a2) echo tptt_hx ;; *) echo "$1" ;; esac; }

# The runs, in order: "part task algorithm T seeds eval [clip]". Table 4 runs adding last: the
# paper's TPTT t_max on adding is 60, so at T = 100 it is expected to run to its patience or budget.
seeds_csv=$(IFS=,; echo "${SEEDS[*]}")
plan=()
for part in "${parts[@]}"; do
  case $part in
    table4-tptt|table4-bptt|table4-bptt-paper|table4-lstm)
      algorithm=${part#table4-}; algorithm=${algorithm/-/_}
      for task in temporal3 temporal perm adding; do plan+=("table4 $task $algorithm 100 $seeds_csv eval"); done ;;
    table4-tptt-clip) plan+=("table4 adding tptt 100 $seeds_csv eval 1") ;;
    table2-hx) for cell in "temporal 120" "temporal3 70" "perm 70"; do
                 read -r task T <<<"$cell"; plan+=("table2 $task tptt_hx $T $seeds_csv -")
               done ;;
    table1|table1-plus10|table1-clip|table1-bptt-paper|table1-bptt-paper-plus10|table1-hx-a2)
      add=0; [[ $part == *-plus10 ]] && add=10
      cells=("tptt adding 60" "bptt temporal 120" "bptt temporal3 70" "bptt adding 90" "bptt perm 70"
             "tptt_hx temporal 210" "tptt_hx temporal3 160" "tptt_hx adding 60" "tptt perm 300" "tptt_hx perm 800")
      [[ $part == table1-bptt-paper* ]] && cells=("bptt_paper temporal 120" "bptt_paper temporal3 70"
                                                  "bptt_paper adding 90" "bptt_paper perm 70")
      [[ $part == table1-hx-a2 ]] && cells=("tptt_hx_a2 perm 800" "tptt_hx_a2 temporal 210")
      for cell in "${cells[@]}"; do
        read -r algorithm task T <<<"$cell"
        T=$((T + add))
        seeds=$seeds_csv
        (( T > 200 )) && seeds=1
        if [[ $part == table1-clip ]]; then plan+=("table1 $task $algorithm $T $seeds - $CLIP")
        else plan+=("table1 $task $algorithm $T $seeds -"); fi
      done ;;
  esac
done

pidfile_set() { if [[ -n $1 ]]; then echo "$1" >"$PIDFILE"; else : >"$PIDFILE"; fi; }
trap 'pidfile_set ""' EXIT
interrupted=0
# shellcheck disable=SC2317  # called by the trap
on_signal() { interrupted=1; local p; p=$(cat "$PIDFILE" 2>/dev/null); [[ -n $p ]] && kill -TERM "$p" 2>/dev/null; }
trap on_signal INT TERM

# run_bg OUTFILE ERRFILE COMMAND...: one niced process in the background, its PID in PIDFILE.
run_bg() {
  local out=$1 err=$2
  shift 2
  nice -n "$NICE" "$@" >"$out" 2>>"$err" &
  local pid=$!
  pidfile_set "$pid"
  local rc
  while true; do
    wait "$pid"; rc=$?
    kill -0 "$pid" 2>/dev/null || break  # wait returns early on a trapped signal
  done
  pidfile_set ""
  return "$rc"
}

mkdir -p "$OUT"
tsv=$OUT/depth_claims.tsv
[[ -s $tsv ]] || printf 'part\tname\tseed\tT\tsolved_at\tbest_error\tseconds\tcommand\n' >"$tsv"
status=0

# run_one PART TASK ALGORITHM T SEED EVAL [CLIP]: trains one run (skipped when its summary
# exists, resumed when its checkpoint does), then evaluates it at T = 200 when EVAL is "eval".
# Returns 0 when the run solved, 1 when it did not, 2 when it failed (status set).
run_one() {
  local part=$1 task=$2 algorithm=$3 T=$4 seed=$5 ev=$6 clip=${7:-}
  local name=$task-$algorithm-T$T-s$seed clip_opt=()
  if [[ -n $clip ]]; then name=$task-$algorithm-clip$clip-T$T-s$seed; clip_opt=(--clip "$clip"); fi
  [[ -z $ONLY || $part/$name =~ $ONLY ]] || return 1
  local rdir=$OUT/runs/$part sdir=$OUT/summaries/$part
  local summary=$sdir/$name.json ckpt=$rdir/$name.ckpt
  local cmd
  # shellcheck disable=SC2207
  cmd=("$TPTT" train --task "$task" --algorithm "$(engine_of "$algorithm")" -T "$T" --seed "$seed" $(rates "$task" "$algorithm")
       --max-iterations 100000 --validation-samples "$VALIDATION_SAMPLES" --threads "$THREADS" --no-progress
       ${clip_opt[@]+"${clip_opt[@]}"} ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} --checkpoint "$ckpt" --checkpoint-every 500
       --save-best "$rdir/$name.best.ckpt" --log "$rdir/$name.jsonl")
  local shown="tptt ${cmd[*]:1}"
  shown=${shown//$OUT/\$OUT}
  if [[ $list == 1 ]]; then
    local state=pending; [[ -e $ckpt ]] && state=started; [[ -s $summary ]] && state='done'
    printf '%-8s %-32s %s\n' "$state" "$part/$name" "$shown"
    return 1
  fi
  mkdir -p "$rdir" "$sdir"
  if [[ ! -s $summary ]]; then
    local extra rc
    if [[ -e $ckpt ]]; then extra=(--resume "$ckpt"); else extra=(--overwrite); fi
    echo "depth_claims: $(date -u +%FT%TZ) start $part/$name ${extra[0]}" >&2
    run_bg "$summary.tmp" "$rdir/$name.err" "${cmd[@]}" "${extra[@]}"
    rc=$?
    if [[ $interrupted == 1 || $rc == 130 || $rc == 143 ]] || grep -q '"stop_reason":"interrupted"' "$summary.tmp"; then
      # stopped by a signal (to the driver or to tptt): the checkpoint is written
      rm -f "$summary.tmp"; echo "depth_claims: interrupted during $part/$name (rerun to resume)" >&2; exit 130
    fi
    if ! grep -q '"result"' "$summary.tmp" 2>/dev/null; then
      rm -f "$summary.tmp"
      echo "depth_claims: $part/$name failed (exit $rc; $rdir/$name.err)" >&2
      status=1
      return 2
    fi
    mv "$summary.tmp" "$summary"
    echo "$shown" >"$sdir/$name.cmd"
    python3 - "$summary" "$part" "$name" "$seed" "$T" "$shown" >>"$tsv" <<'EOF'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
r = s["result"]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], str(r.get("solved_at")),
                 str(r.get("best_error")), "%.0f" % r.get("seconds", 0), sys.argv[6]]))
EOF
    echo "depth_claims: $(date -u +%FT%TZ) done $part/$name: $(tail -1 "$summary")" >&2
  fi
  [[ $ev == eval ]] && evaluate "$task" "$ckpt" "$rdir/$name.best.ckpt" "$sdir/$name" "$rdir/$name.err"
  grep -q '"solved":true' "$summary"
}

# evaluate TASK LAST_MODEL BEST_MODEL SUMMARY_STEM ERRFILE: `tptt eval` at T = 200 of the last
# model and, where the run kept one, the best (a solved run's are the same model).
evaluate() {
  local task=$1 stem=$4 err=$5 which model esum ecmd rc e
  for which in last best; do
    model=$2 esum=$stem.eval200.json
    [[ $which == best ]] && model=$3 esum=$stem.best.eval200.json
    [[ ! -s $esum && -e $model ]] || continue
    ecmd=("$TPTT" eval --model "$model" --length 200 --samples 10000 --threads "$THREADS")
    [[ $task == temporal* ]] && ecmd+=(--errors "${model%.ckpt}.errors200.csv")
    run_bg "$esum.tmp" "$err" "${ecmd[@]}"
    rc=$?
    [[ $interrupted == 1 ]] && { rm -f "$esum.tmp"; exit 130; }
    if [[ $rc == 0 && -s $esum.tmp ]]; then
      mv "$esum.tmp" "$esum"
      e="tptt ${ecmd[*]:1}"
      echo "${e//$OUT/\$OUT}" >"${esum%.json}.cmd"
      echo "depth_claims: eval ($which) ${stem#"$OUT"/summaries/}: $(cat "$esum")" >&2
    else
      rm -f "$esum.tmp"; echo "depth_claims: eval ($which) of ${stem#"$OUT"/summaries/} failed (exit $rc)" >&2; status=1
    fi
  done
}

# bisect TASK ALGORITHM LO HI SEED: our t_max between LO (solved, or 0) and HI (failed), on the
# grid of 10: trains at the midpoint until the two are 10 apart. Each probe is a run of part
# "bisect" (resumable like the others); prints the result.
bisect() {
  local task=$1 algorithm=$2 lo=$3 hi=$4 seed=$5 mid rc
  while (( hi - lo > 10 )); do
    mid=$(( (lo + hi) / 20 * 10 ))
    (( mid <= lo )) && mid=$((lo + 10))
    run_one bisect "$task" "$algorithm" "$mid" "$seed" -; rc=$?
    [[ $list == 1 ]] && { lo=$mid; continue; }
    (( rc == 2 )) && return 1
    if (( rc == 0 )); then lo=$mid; else hi=$mid; fi
  done
  [[ $list == 1 ]] || echo "depth_claims: bisect $task $algorithm seed $seed: t_max = $lo (T = $hi not solved)" >&2
}

if [[ -n $BISECT ]]; then
  read -r b_task b_algorithm b_lo b_hi b_seed <<<"$BISECT"
  bisect "$b_task" "$b_algorithm" "$b_lo" "$b_hi" "${b_seed:-1}"
  exit "$status"
fi

for item in "${plan[@]}"; do
  read -r part task algorithm T seeds ev clip <<<"$item"
  for seed in ${seeds//,/ }; do
    run_one "$part" "$task" "$algorithm" "$T" "$seed" "$ev" "${clip:-}"
  done
done
exit "$status"
