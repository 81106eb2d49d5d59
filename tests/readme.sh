#!/usr/bin/env bash
# README-driven end-to-end test (ctest `readme`, label cli): every command of the README's ```sh
# blocks, shortened (small T and H, few iterations and validation samples), run in the order a
# new user would, from a scratch directory that holds `build/tptt` (the binary under test) and
# `launch/` (the repository's scripts); each one's exit code and output are checked.
#
# Every README command line must be covered here: the test fails when the README gains a command
# this script does not run (the list is taken from the README itself). Commands that cannot run
# inside the test suite are covered by a stand-in, said at the place:
#   launch/run.sh, launch/test.sh  build the tree the suite is running from
#                                  (their pieces: train runs, the suite itself)
#   launch/fetch-mnist.sh          downloads; a tiny IDX set stands in for MNIST
#   sbatch                         no Slurm here; the script is parsed (bash -n)
#   launch/simulate.sh             builds SimGrid's tree; a short simulation when TPTT_SMPI_TPTT
#                                  names one (CI's slow stage), else its help and parse
#   launch/plot.sh (figures)       need matplotlib; run when it is importable
# The library example of docs/install.md is tests/install_example.sh.
# Usage: tests/readme.sh TPTT SOURCE_DIR
set -uo pipefail

if [[ $# -ne 2 || ! -x $1 || ! -f $2/README.md ]]; then
  echo "usage: $0 path/to/tptt SOURCE_DIR" >&2
  exit 2
fi
tptt=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-readme.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir build && ln -s "$tptt" build/tptt && ln -s "$src/launch" launch
export TPTT=$work/build/tptt OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN_OPTS=(--oversubscribe --bind-to none)

failures=0 ran=0
declare -A COVERED=()
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# readme 'COMMAND': marks a README command line as covered (the shortened run follows).
readme() { COVERED["$1"]=1; echo "== $1"; }
# run RC CMD...: runs with stdout/stderr in $work/.stdout, $work/.stderr; fails unless the exit code is RC.
run() {
  local want=$1
  shift
  ran=$((ran + 1))
  rc=0
  timeout 120 "$@" >"$work/.stdout" 2>"$work/.stderr" </dev/null || rc=$?
  [[ $rc -eq $want ]] || fail "$*: exit $rc, expected $want; stderr: $(tail -c 600 "$work/.stderr")"
}
has() { grep -q -- "$1" "$2" || fail "'$1' not in $2: $(head -c 400 "$2")"; }
summary() { grep -o "\"$1\":[^,}]*" "$work/.stdout" | head -1 | cut -d: -f2-; }  # a field of the stdout summary

small=(-H 16 --max-iterations 200 --check-every 100 --validation-samples 100 --validation-batch 100 --no-progress)

# --- Quick start ----------------------------------------------------------------------------------
readme 'launch/run.sh'     # its two runs, shortened: tptt and bptt on temporal
run 0 build/tptt train --algorithm tptt --task temporal --length 20 "${small[@]}" --log out/tptt_temporal60.jsonl
has '"result"' "$work/.stdout"
[[ $(summary mode) == '"exact"' && $(summary schedule) == '"alternate"' ]] || fail "summary labels: $(cat "$work/.stdout")"
head -1 out/tptt_temporal60.jsonl | python3 -c '
import json, sys
h = json.loads(sys.stdin.readline())
p = h["provenance"]
for k in ("version", "commit", "compiler", "flags", "cpu", "date", "command_line"):
    assert p.get(k), k
assert p["date"].endswith("Z") and "T" in p["date"], p["date"]
assert "--log out/tptt_temporal60.jsonl" in p["command_line"], p["command_line"]
assert h["run"]["mode"] == "exact" and h["run"]["schedule"] == "alternate", h["run"]
' || fail "the log header lacks the provenance or the labels: $(head -c 600 out/tptt_temporal60.jsonl)"
run 0 build/tptt train --algorithm bptt --task temporal --length 20 --lr 1e-4 "${small[@]}" --log out/bptt_temporal60.jsonl
[[ $(summary schedule) == '"none"' ]] || fail "bptt summary: schedule $(summary schedule), expected none"
readme 'launch/test.sh'    # this suite is it
run 0 build/tptt --version
grep -qE '^tptt [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)' "$work/.stdout" ||
  fail "--version: $(cat "$work/.stdout")"

readme 'mpirun -np 2 build/tptt train --task temporal -T 60'
run 0 mpirun -np 2 "${MPIRUN_OPTS[@]}" build/tptt train --task temporal -T 20 "${small[@]}"
has '"ranks":2' "$work/.stdout"
readme 'build/tptt train --task temporal -T 60 --threads 2'
run 0 build/tptt train --task temporal -T 20 --threads 2 "${small[@]}" --log out/threads2.jsonl
run 0 build/tptt train --task temporal -T 20 "${small[@]}" --log out/threads1.jsonl
# The alternate schedule gives the same bits on any number of threads: the same records.
python3 - out/threads1.jsonl out/threads2.jsonl <<'PY' ||
import json, sys
timing = {"elapsed_s", "iterations_per_s", "seconds", "peak_rss_mib"}
def records(path):
    lines = [json.loads(l) for l in open(path)][1:]
    strip = lambda d: {k: (strip(v) if isinstance(v, dict) else v) for k, v in d.items() if k not in timing}
    return [strip(l) for l in lines]
a, b = records(sys.argv[1]), records(sys.argv[2])
assert a == b, (a[-1], b[-1])
PY
  fail "--threads 2 and one thread logged different records"

# --- Commands -------------------------------------------------------------------------------------
readme 'build/tptt train --task perm -T 70 --checkpoint out/perm.ckpt --log out/perm.jsonl'
run 0 build/tptt train --task perm -T 10 --checkpoint out/perm.ckpt --log out/perm.jsonl "${small[@]}"
has '"task":"perm"' "$work/.stdout"
[[ -s out/perm.ckpt ]] || fail "no out/perm.ckpt"
run 0 build/tptt train --help
has "--alpha-f" "$work/.stdout"
! grep -q -- "--fail-" "$work/.stdout" || fail "train --help lists the fault-injection options"
# Ctrl-C: a long run interrupted after 2 s (job control, so that the background run takes SIGINT);
# adding at T = 30 with learning rates too small to solve it, then resumed with the bare command.
set -m
build/tptt train --task adding -T 30 -H 16 --alpha-f 1e-9 --alpha-g 1e-9 --check-every 50 --validation-samples 100 \
  --no-progress --max-iterations 100000000 --patience 100000000 --checkpoint out/perm.ckpt --checkpoint-every 1000 \
  --log out/perm.jsonl --overwrite >"$work/.stdout" 2>"$work/.stderr" &
job=$!
set +m
sleep 2
kill -INT "$job"
wait "$job"
rc=$?
[[ $rc -eq 0 ]] || fail "Ctrl-C: exit $rc, expected 0: $(tail -3 "$work/.stderr")"
stopped=$(grep -o "after iteration [0-9]*" "$work/.stderr" | grep -o "[0-9]*$")
grep -q "Resume with: tptt train --resume out/perm.ckpt (" "$work/.stderr" || fail "Ctrl-C: no complete resume hint: $(tail -2 "$work/.stderr")"
has '"stop_reason":"interrupted"' "$work/.stdout"
readme 'build/tptt train --resume out/perm.ckpt'
run 0 build/tptt train --resume out/perm.ckpt --max-iterations $((stopped + 100))
[[ $(tail -1 out/perm.jsonl | grep -o '"iterations":[0-9]*') == "\"iterations\":$((stopped + 100))" ]] ||
  fail "the bare resume did not continue out/perm.jsonl: $(tail -1 out/perm.jsonl)"
grep -q '"resumed"' out/perm.jsonl || fail "out/perm.jsonl has no resumed marker"
run 0 launch/mpirun.sh 2 --resume out/perm.ckpt --max-iterations $((stopped + 200))
has '"ranks":2' "$work/.stdout"

readme 'build/tptt train --task temporal -T 100 --checkpoint out/t100.ckpt && build/tptt eval --model out/t100.ckpt --length 200'
run 0 build/tptt train --task temporal -T 20 --checkpoint out/t100.ckpt "${small[@]}"
run 0 build/tptt eval --model out/t100.ckpt --length 40 --samples 100
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["length"] == 40 and r["trained_length"] == 20, r; assert len(repr(r["accuracy"])) <= 6, r' \
  "$(cat "$work/.stdout")" || fail "eval: $(cat "$work/.stdout")"
readme 'build/tptt sweep --task adding -T 70 --grid "noise=0,0.1" --seeds 1,2,3 --out out/noise'
run 0 build/tptt sweep --task adding -T 10 --grid "noise=0,0.1" --seeds 1,2 --out out/noise "${small[@]}"
has "best:" "$work/.stdout"
[[ $(tail -n +2 out/noise/runs.csv | wc -l) -eq 4 ]] || fail "sweep: runs.csv: $(cat out/noise/runs.csv)"
has "mode,schedule" out/noise/runs.csv
run 0 mpirun -np 2 "${MPIRUN_OPTS[@]}" build/tptt sweep --task perm -T 10 --grid "alpha_f=0.1,0.01;alpha_g=0.01" --seeds 1,2 \
  --out out/grid "${small[@]}"
[[ $(tail -n +2 out/grid/runs.csv | wc -l) -eq 4 ]] || fail "sweep under mpirun: runs.csv: $(cat out/grid/runs.csv)"
readme 'build/tptt curriculum --task temporal --algorithm tptt --out out/cur-temporal'
run 0 build/tptt curriculum --task temporal --algorithm tptt --max-iterations 300 --length-cap 20 --out out/cur-temporal \
  -H 16 --check-every 50 --validation-samples 100 --no-progress
has "t_max = " "$work/.stdout"
head -1 out/cur-temporal/t_max.csv | grep -qx "task,algorithm,t_max,capped" || fail "t_max.csv: $(cat out/cur-temporal/t_max.csv)"
readme 'build/tptt bench --threads 1,2'
run 0 build/tptt bench -T 10 --repeats 1 --min-seconds 0.01 --skip-large --threads 1,2
has "roofline" "$work/.stdout"
run 0 build/tptt bench -T 10 --repeats 1 --min-seconds 0.01
has "1024" "$work/.stdout"

readme 'launch/mpirun.sh 4 --task temporal -T 400 --sync pipelined'
run 0 launch/mpirun.sh 2 --task temporal -T 20 --sync pipelined --algorithm tptt_hx --log out/hx.jsonl "${small[@]}"
has '"mode":"pipelined(2)"' "$work/.stdout"
head -1 out/hx.jsonl | grep -q '"mpi_library"' || fail "out/hx.jsonl: no MPI library in the header"
run 0 launch/mpirun.sh 2 --threads 2 --task temporal -T 20 "${small[@]}"
has '"ranks":2' "$work/.stdout"
readme 'sbatch --ntasks=16 --cpus-per-task=2 launch/slurm.sbatch --task temporal -T 400'
bash -n launch/slurm.sbatch || fail "launch/slurm.sbatch does not parse"

# MNIST: a tiny IDX set stands in for the download.
readme 'launch/fetch-mnist.sh'
python3 - data/mnist <<'PY'
import os, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for prefix, n in (("train", 40), ("t10k", 20)):
    with open(f"{d}/{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes((i * 7) % 256 for i in range(n * 784)))
    with open(f"{d}/{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
run 0 build/tptt train --task mnist --data-dir data/mnist -B 4 -H 8 --alpha-i 1e-7 --alpha-f 1e-2 --alpha-g 1e-8 \
  --check-every 4 --max-iterations 4 --validation-samples 20 --no-progress --log out/mnist.jsonl
has '"length":784' "$work/.stdout"

abl=(--tasks temporal --lengths 10 --seeds 1 --max-iterations 100 --no-plot -- -H 8 --check-every 50 --validation-samples 50)
readme 'launch/ablation.sh --schedules "alternate random:0.5 concurrent:0.5" --threads 2'
run 0 launch/ablation.sh --parallel 2 --schedules "alternate random:0.5 concurrent:0.5" --threads 2 "${abl[@]}"
[[ $(tail -n +2 out/ablation/runs.csv | wc -l) -eq 3 ]] || fail "ablation: runs.csv: $(cat out/ablation/runs.csv)"
run 0 launch/ablation.sh --ranks 2 --syncs "exact pipelined stale:2" --schedules alternate "${abl[@]}"
for mode in exact "pipelined(2)" "stale(2)"; do
  grep -q ",$mode," out/ablation/runs.csv || fail "ablation: no mode $mode in runs.csv: $(cat out/ablation/runs.csv)"
done
run 0 launch/ablation.sh --dry-run --out out/dry
[[ ! -e out/dry ]] || fail "ablation --dry-run created out/dry"
run 0 python3 launch/plot.py csv-table out/ablation/runs.csv   # what plot.sh runs; needs no matplotlib
has "K=2 stale(2)" "$work/.stdout"
readme 'launch/plot.sh cost out/ablation/logs/temporal-*.jsonl -o cost.png --logy'
if python3 -c 'import matplotlib' 2>/dev/null; then
  logs=(out/ablation/logs/temporal-*.jsonl)
  run 0 launch/plot.sh cost "${logs[@]}" -o cost.png --logy
  [[ -s cost.png ]] || fail "no cost.png"
else
  echo "(matplotlib is not installed: the figure command is not run; csv-table was)"
fi

readme 'launch/simulate.sh 16 infiniband -T 120 --decoupled'
if [[ -n ${TPTT_SMPI_TPTT:-} ]]; then
  SMPI_BUILD_DIR=$(dirname "$TPTT_SMPI_TPTT") run 0 launch/simulate.sh 4 infiniband -T 12 --decoupled "${small[@]}"
  has '"simulated":"infiniband' "$work/.stdout"
else
  bash -n launch/simulate.sh || fail "launch/simulate.sh does not parse"
  run 0 launch/simulate.sh --help
  has "simulated cluster" "$work/.stdout"
fi

# --- Every README command is covered ------------------------------------------------------------
while IFS= read -r line; do
  [[ -n ${COVERED["$line"]+x} ]] || fail "README command not covered by tests/readme.sh: $line"
done < <(awk '/^```sh/ { f = 1; next } /^```/ { f = 0 } f' "$src/README.md" | sed 's/ *#.*$//' |
         awk '{ line = cont ? line " " $0 : $0 } /\\$/ { sub(/ *\\$/, "", line); cont = 1; next }
              { cont = 0; gsub(/  +/, " ", line); if (line != "") print line }')

echo "$ran commands run, ${#COVERED[@]} README commands covered, $failures failures"
[[ $failures -eq 0 ]]
