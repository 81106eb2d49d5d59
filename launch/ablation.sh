#!/usr/bin/env bash
# Asynchrony ablation sweep (the paper's Fig. 8): runs `tptt train` for every
# configuration  task x length x algorithm x schedule[:p_G] x ranks K x sync mode x threads x seed,
# spreading the runs over a pool of --parallel slots, and collects one CSV row per run.
#
#   launch/ablation.sh                                  # the default sweep (below)
#   launch/ablation.sh --schedules "concurrent:0.5 concurrent:0.3333" --threads 2   # add rows to the CSV
#   launch/ablation.sh --ranks "2 4" --syncs "exact pipelined stale:2" --schedules alternate
#   launch/ablation.sh --parallel 2 --max-iterations 20000 -- --check-every 200
#
# Options (each also read from the environment variable in brackets; lists are space-separated):
#   --tasks LIST          tasks                                [TASKS, "temporal temporal3"]
#   --lengths LIST        sequence lengths T                   [LENGTHS, "60"]
#   --algorithms LIST     tptt algorithms                      [ALGORITHMS, "tptt"]
#   --schedules LIST      NAME or NAME:P_G, e.g. alternate random:0.5 concurrent:0.5; a bare
#                         name passes no --p-g (the binary's default)
#                         [SCHEDULES, "alternate random:0.5 random:0.3333 concurrent:0.5"]
#   --seeds LIST          seeds                                [SEEDS, "1 2 3"]
#   --ranks LIST          ranks K per run; K > 1 runs under mpirun [RANKS, "1"]
#   --syncs LIST          "-" (pass no --sync), MODE (--sync MODE) or MODE:S
#                         (--sync MODE --staleness S), e.g. "exact pipelined stale:2" [SYNCS, "-"]
#   --threads LIST        threads per rank, "-" passes no --threads [THREADS, "1"]
#   --max-iterations N    iteration budget of every run        [MAX_ITERATIONS, 20000]
#   --parallel P          slots of the job pool; a run takes K x threads slots (at most P)
#                         [PARALLEL, nproc]
#   --out DIR             output folder                        [OUT, out/ablation of the repository]
#   --tptt PATH           the executable                       [TPTT, build/tptt of the repository]
#   --mpirun PATH         MPI launcher                         [MPIRUN, mpirun; MPIRUN_ARGS extra]
#   --simulate PLATFORM   run every configuration (K = 1 too) on a simulated cluster:
#                         launch/simulate.sh K PLATFORM (infiniband, ethernet10g, loopback or an
#                         XML file), one thread per rank; train_s is then simulated seconds
#                         [SIMULATE, none]
#   --nice N              run every job under nice -n N        [NICE, 0]
#   --no-plot             do not draw the figures at the end   [PLOT=0]
#   --dry-run             print the commands; run and write nothing
#   -- ARGS...            passed to every `tptt train` run (not to the support probe)
#
# Output, under --out:
#   runs.csv              one row per run (rebuilt from the logs after every run): task, length,
#                         algorithm, schedule, p_g, ranks, sync, staleness, mode (what ran, e.g.
#                         exact, pipelined(2), stale(1)), threads, seed, solved, solved_at,
#                         best_error, iterations, wall_s (seconds, 3 decimals), log, stop_reason,
#                         status, g_updates, f_updates (G and F updates performed until the run
#                         stopped), train_s (the summary's seconds: simulated with --simulate),
#                         simulated (the platform, or empty)
#   logs/ID.jsonl         the run's metrics log (--log); ID.out its stdout summary, ID.err its
#                         stderr, ID.meta.json the planned configuration, exit code and wall time
#   fig8-TASK.png         cost curves of every configuration of TASK (launch/plot.sh fig8)
#
# Resumable: a run whose log already ends with a summary line is not run again (delete the log to
# redo it). Before the first run of a configuration, a one-iteration probe checks that the binary
# accepts its options: exit code 2 (bad usage, e.g. an unknown option or schedule) reports the
# configuration as "skipped: unsupported" and the sweep goes on. Exit status: 0 unless a run failed.
set -euo pipefail
# Relative paths given by the user (--out, --tptt, the options after --) are relative to the
# current directory; the defaults name places in the repository.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TASKS=${TASKS:-"temporal temporal3"}
LENGTHS=${LENGTHS:-60}
ALGORITHMS=${ALGORITHMS:-tptt}
SCHEDULES=${SCHEDULES:-"alternate random:0.5 random:0.3333 concurrent:0.5"}
SEEDS=${SEEDS:-"1 2 3"}
RANKS=${RANKS:-1}
SYNCS=${SYNCS:--}
THREADS=${THREADS:-1}
MAX_ITERATIONS=${MAX_ITERATIONS:-20000}
PARALLEL=${PARALLEL:-$(nproc 2>/dev/null || echo 2)}
OUT=${OUT:-$REPO/out/ablation}
TPTT=${TPTT:-$REPO/build/tptt}
MPIRUN=${MPIRUN:-mpirun}
SIMULATE=${SIMULATE:-}
NICE=${NICE:-0}
PLOT=${PLOT:-1}
DRY_RUN=0
EXTRA=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "launch/ablation.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  opt=$1
  case $opt in
    -h|--help) usage; exit 0 ;;
    --no-plot) PLOT=0; shift; continue ;;
    --dry-run) DRY_RUN=1; shift; continue ;;
    --) shift; EXTRA=("$@"); break ;;
    --tasks|--lengths|--algorithms|--schedules|--seeds|--ranks|--syncs|--threads|\
    --max-iterations|--parallel|--out|--tptt|--mpirun|--simulate|--nice)
      [[ $# -ge 2 ]] || die "$opt needs a value (see --help)" ;;
    *) die "unknown option '$opt' (see --help)" ;;
  esac
  case $opt in
    --tasks) TASKS=$2 ;;
    --lengths) LENGTHS=$2 ;;
    --algorithms) ALGORITHMS=$2 ;;
    --schedules) SCHEDULES=$2 ;;
    --seeds) SEEDS=$2 ;;
    --ranks) RANKS=$2 ;;
    --syncs) SYNCS=$2 ;;
    --threads) THREADS=$2 ;;
    --max-iterations) MAX_ITERATIONS=$2 ;;
    --parallel) PARALLEL=$2 ;;
    --out) OUT=$2 ;;
    --tptt) TPTT=$2 ;;
    --mpirun) MPIRUN=$2 ;;
    --simulate) SIMULATE=$2 ;;
    --nice) NICE=$2 ;;
  esac
  shift 2
done

[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || die "--parallel: expected a positive integer, got '$PARALLEL'"
[[ $MAX_ITERATIONS =~ ^[1-9][0-9]*$ ]] || die "--max-iterations: expected a positive integer"
[[ $NICE =~ ^-?[0-9]+$ ]] || die "--nice: expected an integer"
for k in $RANKS; do [[ $k =~ ^[1-9][0-9]*$ ]] || die "--ranks: bad value '$k'"; done
for n in $THREADS; do [[ $n == - || $n =~ ^[1-9][0-9]*$ ]] || die "--threads: bad value '$n'"; done
command -v python3 >/dev/null 2>&1 || die "python3 is needed (it reads the JSON logs)"
if [[ $DRY_RUN -eq 0 && -z $SIMULATE && ! -x $TPTT ]]; then
  echo "launch/ablation.sh: no executable at $TPTT (build first, or pass --tptt PATH)" >&2
  exit 3
fi

LOGS=$OUT/logs
[[ $DRY_RUN -eq 1 ]] || mkdir -p "$LOGS"
LOCK=$OUT/.csv.lock
CSV=$OUT/runs.csv

# Open MPI refuses to start as root unless told; more ranks than cores need --oversubscribe, and
# without --bind-to none oversubscribed ranks would all be bound to the same core.
MPI_OPTS=()
if [[ $RANKS != 1 ]] && command -v "$MPIRUN" >/dev/null 2>&1 \
    && "$MPIRUN" --version 2>/dev/null | grep -q "Open MPI"; then
  [[ $(id -u) -eq 0 ]] && MPI_OPTS+=(--allow-run-as-root)
  MPI_OPTS+=(--oversubscribe --bind-to none)
fi
# shellcheck disable=SC2206  # MPIRUN_ARGS is meant to be word-split
MPI_OPTS+=(${MPIRUN_ARGS:-})

# launcher K: the command prefix that starts K ranks (nothing for K = 1).
launcher() {
  local k=$1
  LAUNCH=()
  [[ $NICE -ne 0 ]] && LAUNCH+=(nice -n "$NICE")
  if [[ -n $SIMULATE ]]; then  # one simulated host per rank; simulate.sh adds --threads 1 unless given
    LAUNCH+=("$REPO/launch/simulate.sh" "$k" "$SIMULATE" train)
    return
  fi
  if [[ $k -gt 1 ]]; then LAUNCH+=("$MPIRUN" -np "$k" ${MPI_OPTS[@]+"${MPI_OPTS[@]}"}); fi
  LAUNCH+=("$TPTT" train)
}

# Support probe: the run's own configuration options, one iteration on one validation sample.
declare -A PROBED=()
probe() {  # sets PROBE_MSG; returns 0 supported, 2 unsupported, 1 probe failed
  local key="$*" rc=0 err
  if [[ -n ${PROBED[$key]+x} ]]; then PROBE_MSG=${PROBED[$key]#*|}; return "${PROBED[$key]%%|*}"; fi
  err=$(timeout 120 "$@" --max-iterations 1 --check-every 1 --validation-samples 1 \
        --validation-batch 1 --no-progress 2>&1 >/dev/null) || rc=$?
  PROBE_MSG=$(grep -m1 -E '^(tptt|Error|error|mpirun|--)' <<<"$err" || head -n 1 <<<"$err" || true)
  case $rc in
    0) ;;
    2) rc=2 ;;
    *) PROBE_MSG="exit code $rc: $PROBE_MSG"; rc=1 ;;
  esac
  PROBED[$key]="$rc|$PROBE_MSG"
  return "$rc"
}

has_summary() { [[ -s $1 ]] && grep -q '^{"summary"' "$1"; }

rebuild_csv() {
  flock "$LOCK" python3 "$REPO/launch/plot.py" csv-build --logs "$LOGS" --csv "$CSV"
}

json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

# run_one ID WEIGHT META-FIELDS CMD... : runs in the background (one job of the pool).
run_one() {
  local id=$1 meta_fields=$2
  shift 2
  local log=$LOGS/$id.jsonl rc=0 t0 t1 wall status
  t0=$(date +%s.%N)
  "$@" >"$LOGS/$id.out" 2>"$LOGS/$id.err" </dev/null || rc=$?
  t1=$(date +%s.%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  if [[ $rc -eq 0 ]] && has_summary "$log"; then status=ok
  elif [[ $rc -eq 0 ]]; then status="no summary"
  else status="failed (exit code $rc)"; fi
  printf '{%s,"wall_s":%s,"rc":%d,"status":%s,"command":%s}\n' "$meta_fields" "$wall" "$rc" \
    "$(json_str "$status")" "$(json_str "$*")" >"$LOGS/$id.meta.json"
  rebuild_csv || echo "launch/ablation.sh: could not update $CSV" >&2
  local line
  line=$(grep -m1 '"result"' "$LOGS/$id.out" 2>/dev/null || true)
  if [[ $status == ok ]]; then
    python3 - "$id" "$wall" "$line" <<'PY'
import json, sys
ident, wall, line = sys.argv[1], float(sys.argv[2]), sys.argv[3]
try:
    r = json.loads(line)["result"]
except Exception:
    r = {}
if r.get("solved"):
    print(f"[done] {ident}: solved at {r.get('solved_at')} ({wall:.2f} s)", flush=True)
else:
    print(f"[done] {ident}: not solved, best error {r.get('best_error')}, "
          f"{r.get('stop_reason')} after {r.get('iterations')} ({wall:.2f} s)", flush=True)
PY
  else
    echo "[done] $id: $status (${wall} s); see $LOGS/$id.err" >&2
  fi
  [[ $status == ok ]]
}

# The job pool: pids of running jobs and the slots each one holds.
declare -A JOB_W=()
USED=0
FAILED=0
reap() {
  local alive pid rc
  alive=" $(jobs -rp | tr '\n' ' ') "
  for pid in "${!JOB_W[@]}"; do
    if [[ $alive != *" $pid "* ]]; then
      rc=0; wait "$pid" || rc=$?
      [[ $rc -eq 0 ]] || FAILED=$((FAILED + 1))
      USED=$((USED - JOB_W[$pid]))
      unset "JOB_W[$pid]"
    fi
  done
}
wait_for_slots() {  # need
  reap
  while (( ${#JOB_W[@]} > 0 && USED + $1 > PARALLEL )); do
    wait -n 2>/dev/null || true
    reap
  done
}
stop_jobs() {
  local pid
  for pid in "${!JOB_W[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  echo "launch/ablation.sh: interrupted; rerun the same command to resume" >&2
  exit 130
}
trap stop_jobs INT TERM

fmt_id_num() { local v=${1//./p}; printf '%s' "${v//\//_}"; }

total=0 done_before=0 started=0 skipped=0
declare -a SKIP_REPORT=()
for task in $TASKS; do
 for len in $LENGTHS; do
  for alg in $ALGORITHMS; do
   for sched_spec in $SCHEDULES; do
    sched=${sched_spec%%:*}; pg=""
    [[ $sched_spec == *:* ]] && pg=${sched_spec#*:}
    for k in $RANKS; do
     for sync_spec in $SYNCS; do
      sync=""; stale=""
      if [[ $sync_spec != - ]]; then
        sync=${sync_spec%%:*}
        [[ $sync_spec == *:* ]] && stale=${sync_spec#*:}
      fi
      for thr in $THREADS; do
        conf=(--task "$task" --length "$len" --algorithm "$alg" --schedule "$sched")
        [[ -n $pg ]] && conf+=(--p-g "$pg")
        [[ -n $sync ]] && conf+=(--sync "$sync")
        [[ -n $stale ]] && conf+=(--staleness "$stale")
        [[ $thr != - ]] && conf+=(--threads "$thr")
        cid="$task-T$len-$alg-$sched${pg:+-p$(fmt_id_num "$pg")}-K$k${sync:+-$sync}${stale:+$(fmt_id_num "$stale")}"
        [[ -n $SIMULATE ]] && cid="$cid-$(basename "$SIMULATE" .xml)"  # another network, another run
        [[ $thr != - ]] && cid+="-t$thr"
        launcher "$k"
        weight=$k
        [[ $thr != - ]] && weight=$((k * thr))
        [[ -n $SIMULATE ]] && weight=1  # a simulation is one process, whatever K
        (( weight > PARALLEL )) && weight=$PARALLEL
        conf_checked=0
        for seed in $SEEDS; do
          total=$((total + 1))
          id="$cid-s$seed"
          log=$LOGS/$id.jsonl
          if has_summary "$log"; then
            done_before=$((done_before + 1))
            continue
          fi
          cmd=("${LAUNCH[@]}" "${conf[@]}" --seed "$seed" --max-iterations "$MAX_ITERATIONS"
               --no-progress --log "$log" ${EXTRA[@]+"${EXTRA[@]}"})
          if [[ $DRY_RUN -eq 1 ]]; then
            echo "${cmd[*]}"
            continue
          fi
          if [[ $conf_checked -eq 0 ]]; then
            prc=0; probe "${LAUNCH[@]}" "${conf[@]}" || prc=$?
            if [[ $prc -ne 0 ]]; then
              n_seeds=$(wc -w <<<"$SEEDS")
              if [[ $prc -eq 2 ]]; then
                SKIP_REPORT+=("$cid: skipped: unsupported ($PROBE_MSG)")
              else
                SKIP_REPORT+=("$cid: skipped: probe failed ($PROBE_MSG)")
              fi
              echo "[skip] ${SKIP_REPORT[-1]}" >&2
              skipped=$((skipped + n_seeds))
              break
            fi
            conf_checked=1
          fi
          meta=$(printf '"id":%s,"task":%s,"length":%s,"algorithm":%s,"schedule":%s,"p_g":%s,"ranks":%s,"sync":%s,"staleness":%s,"threads":%s,"seed":%s' \
            "$(json_str "$id")" "$(json_str "$task")" "$len" "$(json_str "$alg")" "$(json_str "$sched")" \
            "${pg:-null}" "$k" "$(json_str "$sync")" "${stale:-null}" "$([[ $thr == - ]] && echo null || echo "$thr")" "$seed")
          wait_for_slots "$weight"
          started=$((started + 1))
          echo "[start] $id: ${cmd[*]}"
          rm -f "$log" "$LOGS/$id.meta.json"
          run_one "$id" "$meta" "${cmd[@]}" &
          JOB_W[$!]=$weight
          USED=$((USED + weight))
        done
      done
     done
    done
   done
  done
 done
done

if [[ $DRY_RUN -eq 1 ]]; then exit 0; fi
while (( ${#JOB_W[@]} > 0 )); do
  wait -n 2>/dev/null || true
  reap
done
trap - INT TERM
rebuild_csv

echo
echo "ablation: $total runs planned, $done_before already done, $started run now, $skipped skipped, $FAILED failed"
for line in ${SKIP_REPORT[@]+"${SKIP_REPORT[@]}"}; do echo "  $line"; done
echo "CSV: $CSV"
python3 "$REPO/launch/plot.py" csv-table "$CSV" || true
if [[ $PLOT -eq 1 ]]; then
  "$REPO/launch/plot.sh" fig8 "$CSV" --out-dir "$OUT" || echo "launch/ablation.sh: plotting failed (launch/plot.sh)" >&2
fi
[[ $FAILED -eq 0 ]]
