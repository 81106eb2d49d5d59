#!/usr/bin/env bash
# The scaling study on a simulated cluster: time to solve temporal order T = 120 for each mode,
# K ranks and seed, under launch/simulate.sh, and its table and figure (docs/scaling.md).
#
#   launch/scaling_study.sh [--out DIR] [--platform NAME] [--ranks "1 2 4 8 16"] [--seeds "1 2 3"]
#                           [--modes "exact pipelined stale decoupled"] [--report-only] [-- tptt options]
#
# Modes: exact (--sync exact), pipelined (--sync pipelined --micro-batches auto), stale
# (--sync stale --staleness 1 --staleness-compensation dc), decoupled (--decoupled; K >= 2).
# Every run: -T 120 --seed s --max-iterations $BUDGET (default 8000), one thread per rank.
# Resumable: a run whose summary is in DIR/runs/ is not run again. Writes DIR/runs/*.json (the
# summary line with the simulation's real time), DIR/scaling.csv (one row per run),
# DIR/scaling.md (medians over the seeds, speed-up against K = 1 exact) and DIR/speedup.png.
set -euo pipefail
CALLER_DIR=$PWD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=out/scaling-sim platform=infiniband ranks="1 2 4 8 16" seeds="1 2 3" modes="exact pipelined stale decoupled"
report_only=0 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=${2:?}; shift 2 ;;
    --platform) platform=${2:?}; shift 2 ;;
    --ranks) ranks=${2:?}; shift 2 ;;
    --seeds) seeds=${2:?}; shift 2 ;;
    --modes) modes=${2:?}; shift 2 ;;
    --report-only) report_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$here/scaling_study.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/scaling_study.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
[[ $out == /* ]] || out=$CALLER_DIR/$out
mkdir -p "$out/runs"

mode_options() {
  case $1 in
    exact) echo "--sync exact" ;;
    pipelined) echo "--sync pipelined --micro-batches auto" ;;
    stale) echo "--sync stale --staleness 1 --staleness-compensation dc" ;;
    decoupled) echo "--decoupled" ;;
    *) echo "launch/scaling_study.sh: unknown mode '$1'" >&2; exit 2 ;;
  esac
}

if [[ $report_only == 0 ]]; then
  for seed in $seeds; do
    for mode in $modes; do
      for K in $ranks; do
        [[ $K == 1 && $mode != exact && $mode != stale ]] && continue  # the same run as exact, or refused
        name=$mode-$platform-K$K-s$seed
        [[ -s $out/runs/$name.json ]] && continue
        echo "== $name" >&2
        # shellcheck disable=SC2046  # mode_options is meant to be word-split
        SIM_SUMMARY=$out/runs/$name.json.part "$here/simulate.sh" "$K" "$platform" -T 120 --seed "$seed" \
          --max-iterations "${BUDGET:-8000}" --no-progress $(mode_options "$mode") ${extra[@]+"${extra[@]}"} \
          >"$out/runs/$name.out" 2>"$out/runs/$name.err" || { tail -3 "$out/runs/$name.err" >&2; continue; }
        mv "$out/runs/$name.json.part" "$out/runs/$name.json"
        grep "^simulated:" "$out/runs/$name.err" >&2 || true
      done
    done
  done
fi
# The figure needs matplotlib: the first Python that has it (Debian's python3-matplotlib is in /usr/bin).
python=python3
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import matplotlib' 2>/dev/null; then python=$p; break; fi
done
"$python" "$here/scaling_report.py" "$out"
