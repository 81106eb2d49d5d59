#!/usr/bin/env bash
# README-driven end-to-end test (ctest `readme`, label cli): every command of the README's ```sh
# blocks, shortened (small T and H, few iterations and validation samples), run in the order a
# new user would, from a scratch directory that holds `build/tptt` (the binary under test) and
# `launch/` (the repository's scripts); each one's exit code and output are checked.
#
# Every README command line must be covered here: the test fails when the README gains a command
# this script does not run (the list is taken from the README itself). Commands that cannot run
# inside the test suite are covered by a stand-in, said at the place:
#   launch/run.sh, launch/test.sh, cmake, ctest  build the tree the suite is running from
#                                                (their pieces: train runs, the suite itself)
#   launch/ci.sh                                 CI's slow stages (lint, sanitizers): not run
#   launch/fetch-mnist.sh                        downloads; a tiny IDX set stands in for MNIST
#   sbatch                                       no Slurm here; the script is parsed (bash -n)
#   launch/plot.sh (figures)                     need matplotlib; run when it is importable
#   cmake --install                              tests/install_example.sh
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

# --- Quick start and building by hand ----------------------------------------------------------
readme 'launch/run.sh'     # its two runs, shortened: tptt and bptt on temporal
run 0 build/tptt train --algorithm tptt --task temporal --length 20 "${small[@]}" --log out/tptt_temporal60.jsonl
has '"result"' "$work/.stdout"
run 0 build/tptt train --algorithm bptt --task temporal --length 20 --lr 1e-4 "${small[@]}" --log out/bptt_temporal60.jsonl
[[ $(summary schedule) == '"none"' ]] || fail "bptt summary: schedule $(summary schedule), expected none"
readme 'launch/test.sh'    # this suite is it
readme 'launch/ci.sh'      # CI's slow stages (lint, ThreadSanitizer): not run inside the suite
readme 'cmake -S . -B build'
readme 'cmake --build build -j'
readme 'ctest --test-dir build --output-on-failure'
readme 'build/tptt --version'
run 0 build/tptt --version
grep -qE '^tptt [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)' "$work/.stdout" ||
  fail "--version: $(cat "$work/.stdout")"
has "compiler:" "$work/.stdout"

# --- tptt train -----------------------------------------------------------------------------------
readme 'build/tptt train --task temporal --length 60 --algorithm tptt --log out/run.jsonl'
run 0 build/tptt train --task temporal --length 20 --algorithm tptt --log out/run.jsonl "${small[@]}"
[[ $(summary mode) == '"exact"' && $(summary schedule) == '"alternate"' ]] || fail "summary labels: $(cat "$work/.stdout")"
head -1 out/run.jsonl | python3 -c '
import json, sys
h = json.loads(sys.stdin.readline())
p = h["provenance"]
for k in ("version", "commit", "compiler", "flags", "cpu", "date", "command_line"):
    assert p.get(k), k
assert p["date"].endswith("Z") and "T" in p["date"], p["date"]
assert "--log out/run.jsonl" in p["command_line"], p["command_line"]
assert h["run"]["mode"] == "exact" and h["run"]["schedule"] == "alternate", h["run"]
' || fail "out/run.jsonl: the header lacks the provenance or the labels: $(head -c 600 out/run.jsonl)"
readme 'build/tptt train --task perm -T 70 --algorithm tptt --alpha-f 0.1 --alpha-g 0.01 --seed 2'
run 0 build/tptt train --task perm -T 10 --algorithm tptt --alpha-f 0.1 --alpha-g 0.01 --seed 2 "${small[@]}"
has '"task":"perm"' "$work/.stdout"
readme 'build/tptt train --algorithm bptt --lr 1e-4 --max-iterations 20000'
run 0 build/tptt train --algorithm bptt --lr 1e-4 -T 20 "${small[@]}"
readme 'build/tptt train --config my.ini --seed 5'
printf '# as the log prints the keys\nlength = 20\nvalidation_samples = 100\nmax-iterations = 200\nno_progress = true\n' >my.ini
run 0 build/tptt train --config my.ini --seed 5 -H 16
has '"seed":5' "$work/.stdout"
has '"validation_samples":100' "$work/.stderr"
readme 'build/tptt train --help'
run 0 build/tptt train --help
has "--alpha-f" "$work/.stdout"
has "(=0.1)" "$work/.stdout"
! grep -q -- "--fail-" "$work/.stdout" || fail "train --help lists the fault-injection options"

# --- Sequential MNIST (a tiny IDX set stands in for the download) -------------------------------
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
readme 'build/tptt train --task mnist --data-dir data/mnist -B 16 -H 100 --alpha-i 1e-7 --alpha-f 1e-2 --alpha-g 1e-8 --check-every 1000 --log out/mnist.jsonl'
run 0 build/tptt train --task mnist --data-dir data/mnist -B 4 -H 8 --alpha-i 1e-7 --alpha-f 1e-2 --alpha-g 1e-8 \
  --check-every 4 --max-iterations 4 --validation-samples 20 --no-progress --log out/mnist.jsonl
has '"length":784' "$work/.stdout"

# --- Checkpoints, signals, resuming -------------------------------------------------------------
readme 'build/tptt train --task perm -T 70 --checkpoint out/perm.ckpt --checkpoint-every 1000 --log out/perm.jsonl'
# Ctrl-C: a long run interrupted after 2 s (job control, so that the background run takes SIGINT);
# adding at T = 30 with learning rates too small to solve it (a fast machine solves it in 2 s at
# the default rates).
set -m
build/tptt train --task adding -T 30 -H 16 --alpha-f 1e-9 --alpha-g 1e-9 --check-every 50 --validation-samples 100 \
  --no-progress --max-iterations 100000000 --patience 100000000 --checkpoint out/perm.ckpt --checkpoint-every 1000 \
  --log out/perm.jsonl >"$work/.stdout" 2>"$work/.stderr" &
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
readme 'launch/mpirun.sh 4 --resume out/perm.ckpt'
run 0 launch/mpirun.sh 2 --resume out/perm.ckpt --max-iterations $((stopped + 200))
has '"ranks":2' "$work/.stdout"

# --- tptt curriculum, sweep, eval ---------------------------------------------------------------
readme 'build/tptt curriculum --task temporal --algorithm tptt --max-iterations 100000 --out out/cur-temporal'
run 0 build/tptt curriculum --task temporal --algorithm tptt --max-iterations 300 --length-cap 20 --out out/cur-temporal \
  -H 16 --check-every 50 --validation-samples 100 --no-progress
has "t_max = " "$work/.stdout"
head -1 out/cur-temporal/t_max.csv | grep -qx "task,algorithm,t_max,capped" || fail "t_max.csv: $(cat out/cur-temporal/t_max.csv)"
readme 'mpirun -np 4 build/tptt sweep --task perm -T 70 --grid "alpha_f=0.1,0.01;alpha_g=0.01,0.001" --seeds 1,2,3 --out out/grid'
run 0 mpirun -np 2 "${MPIRUN_OPTS[@]}" build/tptt sweep --task perm -T 10 --grid "alpha_f=0.1,0.01;alpha_g=0.01" --seeds 1,2 \
  --out out/grid "${small[@]}"
[[ $(tail -n +2 out/grid/runs.csv | wc -l) -eq 4 ]] || fail "sweep: runs.csv: $(cat out/grid/runs.csv)"
has "mode,schedule" out/grid/runs.csv
readme 'build/tptt sweep --task adding -T 70 --grid "noise=0,0.1" --out out/noise'
run 0 build/tptt sweep --task adding -T 10 --grid "noise=0,0.1" --out out/noise "${small[@]}"
has "best:" "$work/.stdout"
readme 'build/tptt train --task temporal -T 100 --checkpoint t100.ckpt && build/tptt eval --model t100.ckpt --length 200'
run 0 build/tptt train --task temporal -T 20 --checkpoint t100.ckpt "${small[@]}"
run 0 build/tptt eval --model t100.ckpt --length 40 --samples 100
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["length"] == 40 and r["trained_length"] == 20, r; assert len(repr(r["accuracy"])) <= 6, r' \
  "$(cat "$work/.stdout")" || fail "eval: $(cat "$work/.stdout")"

# --- tptt bench ---------------------------------------------------------------------------------
readme 'build/tptt bench'
run 0 build/tptt bench -T 10 --repeats 1 --min-seconds 0.01
has "1024" "$work/.stdout"
readme 'build/tptt bench --repeats 5 --min-seconds 0.3 --threads 1,2'
run 0 build/tptt bench -T 10 --repeats 1 --min-seconds 0.01 --skip-large --threads 1,2

readme 'build/tptt bench --skip-large'
run 0 build/tptt bench -T 10 --repeats 1 --min-seconds 0.01 --skip-large
! grep -q "^tptt *1024" "$work/.stdout" || fail "bench --skip-large ran the H = 1024 case"

# --- Distributed runs ---------------------------------------------------------------------------
readme 'launch/mpirun.sh 4 --task temporal -T 400 --algorithm tptt_hx --log out/hx.jsonl'
run 0 launch/mpirun.sh 2 --task temporal -T 20 --algorithm tptt_hx --log out/hx.jsonl "${small[@]}"
head -1 out/hx.jsonl | grep -q '"mpi_library"' || fail "out/hx.jsonl: no MPI library in the header"
readme 'launch/mpirun.sh 2 --threads 2 --task temporal -T 400'
run 0 launch/mpirun.sh 2 --threads 2 --task temporal -T 20 "${small[@]}"
has '"ranks":2' "$work/.stdout"
readme 'sbatch --ntasks=16 --cpus-per-task=2 launch/slurm.sbatch --task temporal -T 400'
bash -n launch/slurm.sbatch || fail "launch/slurm.sbatch does not parse"

# --- Experiments and plots ----------------------------------------------------------------------
abl=(--tasks temporal --lengths 10 --seeds 1 --max-iterations 100 --no-plot -- -H 8 --check-every 50 --validation-samples 50)
readme 'launch/ablation.sh --parallel 2 --max-iterations 20000 --schedules "alternate random:0.5 random:0.3333"'
run 0 launch/ablation.sh --parallel 2 --schedules "alternate random:0.5" "${abl[@]}"
[[ $(tail -n +2 out/ablation/runs.csv | wc -l) -eq 2 ]] || fail "ablation: runs.csv: $(cat out/ablation/runs.csv)"
readme 'launch/ablation.sh --schedules "concurrent:0.5 concurrent:0.3333" --threads 2'
run 0 launch/ablation.sh --schedules "concurrent:0.5" --threads 2 "${abl[@]}"
readme 'launch/ablation.sh --ranks "2 4" --syncs "exact pipelined stale:2" --schedules alternate'
run 0 launch/ablation.sh --ranks 2 --syncs "exact pipelined stale:2" --schedules alternate "${abl[@]}"
for mode in exact "pipelined(2)" "stale(2)"; do
  grep -q ",$mode," out/ablation/runs.csv || fail "ablation: no mode $mode in runs.csv: $(cat out/ablation/runs.csv)"
done
readme 'launch/ablation.sh --dry-run'
run 0 launch/ablation.sh --dry-run --out out/dry
[[ ! -e out/dry ]] || fail "ablation --dry-run created out/dry"
has "train" "$work/.stdout"
readme 'launch/ablation.sh --help'
run 0 launch/ablation.sh --help
has "--dry-run" "$work/.stdout"
logs=(out/ablation/logs/temporal-*.jsonl)
readme 'launch/plot.sh csv-table out/ablation/runs.csv'
run 0 python3 launch/plot.py csv-table out/ablation/runs.csv   # what plot.sh runs; needs no matplotlib
has "K=2 stale(2)" "$work/.stdout"
plots=('launch/plot.sh cost out/ablation/logs/temporal-*.jsonl -o cost.png --logy' 'launch/plot.sh rho LOG... -o rho.png'
       'launch/plot.sh norms LOG... -o norms.png' 'launch/plot.sh fig8 out/ablation/runs.csv --out-dir out/ablation'
       'launch/plot.sh curves LOG... -o curves.png' 'launch/plot.sh fig3 LOG... -o fig3.png'
       'launch/plot.sh angle LOG... -o angle.png' 'launch/plot.sh layers LOG... -o layers.png'
       'launch/plot.sh tmax t_max.csv --paper -o tmax.png')
for p in "${plots[@]}"; do readme "$p"; done
if python3 -c 'import matplotlib' 2>/dev/null; then
  run 0 launch/plot.sh cost "${logs[@]}" -o cost.png --logy
  run 0 launch/plot.sh rho "${logs[@]}" -o rho.png
  run 0 launch/plot.sh norms "${logs[@]}" -o norms.png
  run 0 launch/plot.sh fig8 out/ablation/runs.csv --out-dir out/ablation
  run 0 launch/plot.sh curves "${logs[@]}" -o curves.png
  run 0 launch/plot.sh fig3 "${logs[@]}" -o fig3.png
  run 0 build/tptt train -T 20 "${small[@]}" --diagnostics --log out/diag.jsonl
  run 0 launch/plot.sh angle out/diag.jsonl -o angle.png
  run 0 launch/plot.sh layers out/diag.jsonl -o layers.png
  run 0 launch/plot.sh tmax out/cur-temporal/t_max.csv --paper -o tmax.png
  for f in cost rho norms curves fig3 angle layers tmax; do [[ -s $f.png ]] || fail "no $f.png"; done
else
  echo "(matplotlib is not installed: the figure commands are not run; csv-table was)"
fi
readme 'cmake --install build --prefix /opt/tptt'   # tests/install_example.sh

# --- Every README command is covered ------------------------------------------------------------
while IFS= read -r line; do
  [[ -n ${COVERED["$line"]+x} ]] || fail "README command not covered by tests/readme.sh: $line"
done < <(awk '/^```sh/ { f = 1; next } /^```/ { f = 0 } f' "$src/README.md" | sed 's/ *#.*$//' |
         awk '{ line = cont ? line " " $0 : $0 } /\\$/ { sub(/ *\\$/, "", line); cont = 1; next }
              { cont = 0; gsub(/  +/, " ", line); if (line != "") print line }')

echo "$ran commands run, ${#COVERED[@]} README commands covered, $failures failures"
[[ $failures -eq 0 ]]
