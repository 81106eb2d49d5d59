#!/usr/bin/env bash
# The default job: installs missing packages, builds the tptt executable alone (Release, in
# $BUILD_DIR, default build/; launch/test.sh later builds the tests in the same tree, configured
# the same way, without recompiling it), trains TPTT and BPTT on the temporal order task at
# T = 60 and prints a comparison.
# Extra arguments go to both runs (e.g. --seed 3 --max-iterations 5000); an option given here
# replaces the job's own value of it. Metrics logs and summaries are written to $OUT_DIR
# (default out/ in the repository). Relative paths the user gives (OUT_DIR, BUILD_DIR, paths in
# the extra arguments) are relative to the current directory.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh

if [[ -n ${OUT_DIR:-} && $OUT_DIR != /* ]]; then OUT_DIR=$CALLER_DIR/$OUT_DIR; fi
OUT_DIR=${OUT_DIR:-$PWD/out}

tptt_install_packages
tptt_build tptt
mkdir -p "$OUT_DIR"
TPTT_BIN=$(cd "$BUILD_DIR" && pwd)/tptt

EXTRA=("$@")

# Whether the user's extra arguments already set one of the given options.
user_sets() {
  local arg name
  for arg in ${EXTRA[@]+"${EXTRA[@]}"}; do
    for name in "$@"; do
      [[ $arg == "$name" || $arg == "$name="* ]] && return 0
    done
  done
  return 1
}

# job NAME DEFAULT-OPTIONS... : default options are "--opt value" pairs, dropped when the user sets --opt.
job_status=()
job() {
  local name=$1
  shift
  local args=(train) opt
  while [[ $# -gt 0 ]]; do
    opt=$1
    case $opt in
      --length) user_sets --length -T || args+=("$1" "$2") ;;
      *) user_sets "$opt" || args+=("$1" "$2") ;;
    esac
    shift 2
  done
  user_sets --log || args+=(--log "$OUT_DIR/$name.jsonl" --overwrite)
  args+=(${EXTRA[@]+"${EXTRA[@]}"})
  echo
  echo "=== $name: tptt ${args[*]}"
  local rc=0
  (cd "$CALLER_DIR" && "$TPTT_BIN" "${args[@]}") >"$OUT_DIR/$name.summary.json" || rc=$?
  cat "$OUT_DIR/$name.summary.json"
  job_status+=("$rc")
  [[ $rc -eq 0 ]] || echo "launch: $name exited with code $rc" >&2
}

job tptt_temporal60 --algorithm tptt --task temporal --length 60
job bptt_temporal60 --algorithm bptt --task temporal --length 60 --lr 1e-4 --max-iterations 20000

# One row per run from the one-line JSON summary ({"algorithm":…, "result":{…}}) on stdout.
summary_row() {
  local name=$1 file=$2
  local line
  line=$(grep -E '^\{.*"result"' "$file" | tail -n 1 || true)
  if [[ -z $line ]]; then
    printf '%-18s %-8s %10s %10s %10s  %s\n' "$name" "-" "-" "-" "-" "no summary"
    return
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$name" "$line" <<'PY'
import json, sys
name, line = sys.argv[1], sys.argv[2]
j = json.loads(line)
r = j.get("result", j)
solved = r.get("solved")
at = r.get("solved_at") if solved else None
iters = at if at is not None else r.get("iterations")
secs = r.get("seconds")
best = r.get("best_error")
fmt = lambda v, f: "-" if v is None else format(v, f)
print("%-18s %-8s %10s %10s %10s  %s" % (name, "yes" if solved else "no", fmt(iters, "d"),
      fmt(secs, ".1f"), fmt(best, ".4f"), r.get("stop_reason", "")))
PY
  else
    field() { sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$line" | tr -d '"'; }
    local solved iters
    solved=$(field solved)
    if [[ $solved == true ]]; then iters=$(field solved_at); else iters=$(field iterations); fi
    printf '%-18s %-8s %10s %10s %10s  %s\n' "$name" "$([[ $solved == true ]] && echo yes || echo no)" \
      "$iters" "$(field seconds)" "$(field best_error)" "$(field stop_reason)"
  fi
}

echo
echo "=== TPTT vs BPTT, temporal order task (T = 60 unless overridden; iterations: to convergence if solved)"
printf '%-18s %-8s %10s %10s %10s  %s\n' "run" "solved" "iterations" "seconds" "best_err" "stop reason"
summary_row tptt_temporal60 "$OUT_DIR/tptt_temporal60.summary.json"
summary_row bptt_temporal60 "$OUT_DIR/bptt_temporal60.summary.json"
echo "metrics logs: $OUT_DIR/tptt_temporal60.jsonl, $OUT_DIR/bptt_temporal60.jsonl"

for rc in "${job_status[@]}"; do
  [[ $rc -eq 0 ]] || exit "$rc"
done
