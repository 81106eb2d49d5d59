#!/usr/bin/env bash
# What a user sees (issue 14): one check per observation of the issue, each against the
# behaviour the tool has now (ctest `cli_ux`, label cli). Numbered as the issue's observations:
#   1 honest mode labels        2 no silent no-ops, null quantities   3 (eval's data: see eval)
#   4 provenance                5 complete resume, clean stop under MPI
#   6 paths                     7 config files and numbers            8 the curriculum cap
#   9 docs stand alone          10 per-command help
#   11 --save-best             12 the float mode
# Usage: tests/cli_ux.sh TPTT SOURCE_DIR
set -uo pipefail

if [[ $# -ne 2 || ! -x $1 || ! -f $2/README.md ]]; then
  echo "usage: $0 path/to/tptt SOURCE_DIR" >&2
  exit 2
fi
tptt=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-ux.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TPTT=$tptt
mpirun_sh=$src/launch/mpirun.sh

failures=0 checks=0
check() {  # check DESCRIPTION CONDITION-STATUS
  checks=$((checks + 1))
  if [[ $2 -eq 0 ]]; then echo "ok:   $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
run() {  # run CMD...: stdout, stderr in $work/.o, $work/.e; rc
  rc=0
  timeout 120 "$@" >"$work/.o" 2>"$work/.e" </dev/null || rc=$?
}
field() { python3 -c 'import json, sys; v = json.loads(sys.argv[1]); print(json.dumps(eval("v" + sys.argv[2])))' "$1" "$2"; }
small=(-T 12 -H 8 --max-iterations 40 --check-every 20 --validation-samples 40 --validation-batch 40 --no-progress)

# --- 1. The mode names what ran ----------------------------------------------------------------
run "$mpirun_sh" 2 "${small[@]}" --algorithm tptt_hx --decoupled --log d.jsonl
check "1: a decoupled run is labelled decoupled (summary and log)" \
  $([[ $rc -eq 0 && $(field "$(cat .o)" '["mode"]') == '"decoupled"' ]] && head -1 d.jsonl | grep -q '"mode":"decoupled"'; echo $?)
run "$mpirun_sh" 2 "${small[@]}" --algorithm tptt_hx --decoupled --sync stale
check "1: decoupled with stale is decoupled+stale(1)" $([[ $(field "$(cat .o)" '["mode"]') == '"decoupled+stale(1)"' ]]; echo $?)
run "$tptt" train "${small[@]}" --sync stale
check "1: --sync stale without --staleness delays by 1 and says stale(1)" \
  $([[ $rc -eq 0 && $(field "$(cat .o)" '["mode"]') == '"stale(1)"' ]]; echo $?)
run "$tptt" train "${small[@]}" --schedule random --p-g 0.5
check "1: the schedule is named with the mode" $([[ $(field "$(cat .o)" '["schedule"]') == '"random(p_G=0.5)"' ]]; echo $?)

# --- 2. Combinations that do nothing, quantities that do not exist -------------------------------
run "$tptt" train "${small[@]}" --sync pipelined
check "2: --sync pipelined without --micro-batches runs (M = K, at least 2)" \
  $([[ $rc -eq 0 && $(field "$(cat .o)" '["mode"]') == '"pipelined(2)"' ]]; echo $?)
run "$mpirun_sh" 3 "${small[@]}" --sync pipelined
check "2: under 3 ranks, pipelined(3)" $([[ $rc -eq 0 && $(field "$(cat .o)" '["mode"]') == '"pipelined(3)"' ]]; echo $?)
run "$tptt" train "${small[@]}" --algorithm bptt --diagnostics
check "2: --diagnostics with bptt is refused (exit 2)" $([[ $rc -eq 2 ]] && grep -q -- "--diagnostics" .e; echo $?)
run "$tptt" train "${small[@]}" --algorithm tptt_hx --decoupled
check "2: --decoupled on one rank is refused (exit 2)" $([[ $rc -eq 2 ]] && grep -q -- "--decoupled" .e; echo $?)
run "$tptt" train "${small[@]}" --decoupled-rate 0.3
check "2: --decoupled-rate without --decoupled is refused" $([[ $rc -eq 2 ]]; echo $?)
run "$tptt" train "${small[@]}" --algorithm bptt --log bptt.jsonl
python3 - bptt.jsonl <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"iteration"')]
assert recs
for r in recs:
    for k in ("loss_g", "loss_f", "rho_vhh", "g_updates", "g_staleness", "f_staleness"):
        assert r[k] is None, (k, r[k])
    assert r["update_norm"]["V_hh"] is None and r["update_norm"]["c_h"] is None, r["update_norm"]
    assert r["update_norm"]["W_hh"] is not None and r["rho_whh"] is not None and r["f_updates"] > 0, r
PY
check "2: a BPTT log has null for loss_g, loss_f, rho_vhh, g_updates, the V_hh and c_h norms" $?

# --- 3. eval's validation data: the eval command's own tests (tests/experiments.sh eval) -------

# --- 4. Provenance ----------------------------------------------------------------------------
run "$tptt" --version
check "4: tptt --version prints the version and the commit" \
  $(grep -qE '^tptt [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$' .o; echo $?)
run "$tptt" train "${small[@]}" --log prov.jsonl
python3 - prov.jsonl "$tptt" <<'PY'
import json, re, sys
h = json.loads(open(sys.argv[1]).readline())
p = h["provenance"]
assert re.fullmatch(r"\d+\.\d+\.\d+", p["version"]), p
assert p["commit"] and p["compiler"] and p["flags"] and p["build_type"] and p["cpu"], p
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["date"]), p["date"]
assert p["command_line"].startswith(sys.argv[2] + " train -T 12"), p["command_line"]
PY
check "4: the log header records version, commit, compiler, flags, CPU, UTC date, command line" $?

# --- 5. Resume ----------------------------------------------------------------------------------
# A run that cannot end by itself within the test: learning rates too small to solve (an error of 0
# on 40 samples counts as solved, and a fast machine gets there in seconds at the default rate).
long=(--task adding -T 30 -H 16 --alpha-f 1e-9 --alpha-g 1e-9 --check-every 50 --validation-samples 40 --no-progress
      --max-iterations 100000000 --patience 100000000)
set -m
"$tptt" train "${long[@]}" --checkpoint ck/run.ckpt --log logs/run.jsonl --save-params p/final.npy >.o 2>.e &
job=$!
set +m
sleep 2
kill -INT $job
wait $job
rc=$?
n=$(grep -o "after iteration [0-9]*" .e | grep -o "[0-9]*$")
check "5: SIGINT: exit 0 and a hint that needs nothing else" \
  $([[ $rc -eq 0 ]] && grep -q "Resume with: tptt train --resume ck/run.ckpt (on any number of ranks; it continues the log logs/run.jsonl" .e; echo $?)
run "$tptt" train --resume ck/run.ckpt --max-iterations $((n + 100))
resumed=$([[ $rc -eq 0 ]] && tail -1 logs/run.jsonl | grep -q "\"iterations\":$((n + 100)),.*\"stop_reason\":\"max_iterations\"" &&
  ! grep -q '"interrupted"' logs/run.jsonl && [[ -s p/final.npy ]]; echo $?)
[[ $resumed -eq 0 ]] || echo "  resumed after $n: exit $rc; $(tail -2 .e); log ends: $(tail -1 logs/run.jsonl)"
check "5: the bare resume continues the log to its summary (and --save-params)" $resumed
run "$tptt" train --resume ck/run.ckpt --max-iterations $((n + 100))
check "5: ... and the checkpoint" $(grep -q "after iteration $((n + 100))" .e; echo $?)
set -m
"$mpirun_sh" 2 "${long[@]}" --checkpoint ck/mpi.ckpt >.o 2>.e &
job=$!
set +m
sleep 3
kill -INT $job
wait $job
rc=$?
stopped=$([[ $rc -eq 0 ]] && grep -q '"interrupted"' .o; echo $?)
[[ $stopped -eq 0 ]] || echo "  exit $rc; stdout: $(head -c 400 .o); stderr: $(tail -3 .e)"
check "5: Ctrl-C of launch/mpirun.sh: a clean stop, exit 0" $stopped

# --- 6. Paths ---------------------------------------------------------------------------------
run "$tptt" train "${small[@]}" --log new/dir/run.jsonl --checkpoint new/ck/c.ckpt
check "6: --log and --checkpoint directories are created" $([[ $rc -eq 0 && -s new/dir/run.jsonl && -s new/ck/c.ckpt ]]; echo $?)
touch a_file
run "$tptt" train "${small[@]}" --log a_file/run.jsonl
check "6: a file error carries the system's reason" $([[ $rc -eq 3 ]] && grep -q "a_file.*Not a directory" .e; echo $?)
run "$tptt" train "${small[@]}" --log new/dir/run.jsonl
check "6: an existing --log is refused without --resume or --overwrite (exit 2 naming it)" \
  $([[ $rc -eq 2 ]] && grep -q "new/dir/run.jsonl' exists" .e; echo $?)
before=$(md5sum new/dir/run.jsonl)
run "$tptt" train "${small[@]}" --seed 7 --log new/dir/run.jsonl --overwrite
check "6: --overwrite replaces it" $([[ $rc -eq 0 && $(md5sum new/dir/run.jsonl) != "$before" ]] && head -1 new/dir/run.jsonl | grep -q '"seed":7'; echo $?)
mkdir caller && cd caller || exit 1
run "$src/launch/ablation.sh" --dry-run --out dry --tasks temporal --seeds 1 --schedules alternate
check "6: ablation.sh --dry-run writes nothing" $([[ $rc -eq 0 && ! -e dry && ! -e $src/dry ]]; echo $?)
run "$src/launch/ablation.sh" --out abl --tasks temporal --lengths 10 --seeds 1 --schedules alternate --max-iterations 20 \
  --no-plot -- -H 8 --check-every 10 --validation-samples 20
check "6: ablation.sh --out resolves against the caller's directory" \
  $([[ $rc -eq 0 && -s abl/runs.csv && ! -e $src/abl ]]; echo $?)
cd "$work" || exit 1

# --- 7. Config files and numbers ----------------------------------------------------------------
printf 'length = 12\nvalidation_samples = 40\nmax_iterations = 20\ncheck-every = 10\nno_progress = true\n' >ok.ini
run "$tptt" train -H 8 --config ok.ini
check "7: config keys as the log prints them (underscores) and as options (dashes)" \
  $([[ $rc -eq 0 ]] && grep -q '"validation_samples":40' .e; echo $?)
printf 'length = 12\n\nvalidation_sampels = 40\n' >bad.ini
run "$tptt" train --config bad.ini
check "7: a config error names the file and the line" $([[ $rc -eq 2 ]] && grep -q "config file 'bad.ini' line 3: unknown option 'validation_sampels'" .e; echo $?)
run "$tptt" train --help
check "7: help defaults in shortest form" $(grep -q -- "--init-std arg (=0.1) " .o && ! grep -q "0000000000" .o; echo $?)
run "$tptt" train "${small[@]}" --init gaussian --init-std 0.1
check "7: the configuration echo in shortest form" $(grep -q '"init_std":0.1,' .e && ! grep -q "0000000000" .e; echo $?)
run "$tptt" train "${small[@]}" --checkpoint m.ckpt
run "$tptt" eval --model m.ckpt --samples 1000
check "7: eval's accuracy in shortest form" \
  $(python3 -c 'import json, sys; a = json.loads(sys.argv[1])["accuracy"]; assert len(repr(a)) <= 5, a' "$(cat .o)"; echo $?)

# --- 8. The curriculum cap ----------------------------------------------------------------------
run "$tptt" curriculum --task temporal -H 16 --check-every 50 --validation-samples 100 --no-progress --max-iterations 300 \
  --length-cap 10 --out cur
check "8: a search stopped at the cap says capped in t_max.csv" \
  $([[ $rc -eq 0 ]] && grep -qx "temporal,tptt,10,true" cur/t_max.csv && grep -q "lower bound" .o; echo $?)

# --- 9. The docs stand alone --------------------------------------------------------------------
check "9: no path outside the repository and no SPEC.md in README.md or docs/" \
  $(! grep -rn "shared/\|SPEC\.md\|SPEC §" "$src/README.md" "$src/docs/"; echo $?)
layout=$(awk '/^## Repository layout/ { f = 1; next } /^## / { f = 0 } f' "$src/README.md")
missing=""
for item in mpirun.sh slurm.sbatch experiments.sh ablation.sh lint.sh "fuzz/" .clang-format $(cd "$src/docs" && ls *.md); do
  grep -qF "$item" <<<"$layout" || missing+=" $item"
done
check "9: the README's layout table names every launcher, fuzz/ and every doc${missing:+ (missing:$missing)}" \
  $([[ -z $missing ]]; echo $?)
check "9: docs/method.md exists" $([[ -s $src/docs/method.md ]]; echo $?)

# --- 10. Help -----------------------------------------------------------------------------------
for c in train curriculum sweep eval; do
  run "$tptt" $c --help
  check "10: $c --help does not list the fault-injection options" $([[ $rc -eq 0 ]] && ! grep -q -- "--fail-" .o; echo $?)
done
run "$tptt" eval --help
check "10: eval --help lists only what eval uses" \
  $(grep -q -- "--model" .o && ! grep -qE -- "^ +--(resume|alpha-f|checkpoint|sync|log) " .o; echo $?)
run "$tptt" sweep --help
check "10: sweep --help: no per-run outputs, checkpoints or sync modes" \
  $(grep -q -- "--grid" .o && grep -q -- "--alpha-f" .o && ! grep -qE -- "^ +--(resume|checkpoint|log|sync) " .o; echo $?)
run "$tptt" curriculum --help
check "10: curriculum --help: --length-cap, not train's length options" \
  $(grep -q -- "--length-cap" .o && ! grep -qE -- "^ +--(max|min)-length|^ +-T \[ --length \]|--resume" .o; echo $?)
run "$tptt" curriculum --task temporal -H 8 --check-every 20 --validation-samples 20 --no-progress --max-iterations 20 \
  --max-length 10 --out cur2
check "10: curriculum's old --max-length is refused, naming --length-cap" $([[ $rc -eq 2 ]] && grep -q -- "--length-cap" .e; echo $?)

# --- 11. --save-best keeps the model of the best check --------------------------------------------
best_run=(-T 12 -H 8 --check-every 20 --validation-samples 40 --validation-batch 40 --no-progress --seed 2
          --algorithm bptt --lr 0.2)
run "$tptt" train "${best_run[@]}" --max-iterations 200 --save-best best.ckpt --log best.jsonl
# The iteration of the first check with the lowest validation error, and the last check's error.
read -r best_at best_err last_err < <(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if "val_error" in l]
b = min(recs, key=lambda r: r["val_error"])
print(b["iteration"], b["val_error"], recs[-1]["val_error"])' best.jsonl)
check "11: a --save-best run writes the best model (best at iteration ${best_at:-?}, error ${best_err:-?}; last ${last_err:-?})" \
  $([[ $rc -eq 0 && -s best.ckpt && -n $best_at ]]; echo $?)
# The same run stopped at that iteration holds the same parameters: eval gives the same numbers.
run "$tptt" train "${best_run[@]}" --max-iterations "${best_at:-1}" --checkpoint upto.ckpt
run "$tptt" eval --model best.ckpt --samples 200 --validation-batch 200
eval_best=$(cat .o)
run "$tptt" eval --model upto.ckpt --samples 200 --validation-batch 200
eval_upto=$(cat .o)
check "11: the best model is the model after the best check (eval: same error, cost and iterations)" \
  $([[ -n $eval_best && $(field "$eval_best" '["cost"]') == $(field "$eval_upto" '["cost"]') && \
       $(field "$eval_best" '["iterations"]') == "$best_at" && $(field "$eval_upto" '["iterations"]') == "$best_at" ]]; echo $?)
run "$tptt" train "${best_run[@]}" --max-iterations 20 --save-best b.ckpt --async-validation
check "11: --save-best with --async-validation is refused, naming --save-best" $([[ $rc -eq 2 ]] && grep -q -- "--save-best" .e; echo $?)
run "$tptt" sweep --task temporal "${small[@]}" --grid "alpha-f=0.1" --out sw --save-best x.ckpt
check "11: tptt sweep refuses --save-best" $([[ $rc -eq 2 ]] && grep -q -- "--save-best" .e; echo $?)

# --- 12. Flushing subnormals changes nothing in a run that has none --------------------------------
run "$tptt" train "${small[@]}" --param-hash
flushed=$(grep -o "param_hash [0-9a-f]*" .e)
run env TPTT_SUBNORMALS=keep "$tptt" train "${small[@]}" --param-hash
check "12: a run without subnormals gives the same parameters with TPTT_SUBNORMALS=keep" \
  $([[ -n $flushed && $flushed == $(grep -o "param_hash [0-9a-f]*" .e) ]]; echo $?)

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
