#!/usr/bin/env bash
# Bad input to the tptt executable: the documented exit code (2 = bad usage, 3 = bad file),
# one message on stderr naming the option or file, nothing on stdout, no --log file written.
# Usage: tests/cli_errors.sh path/to/tptt
set -euo pipefail

if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 path/to/tptt" >&2
  exit 2
fi
TPTT=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tptt-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

failures=0
cases=0

# expect CODE NEEDLE ARGS... : runs `tptt ARGS... --log $WORK/log.jsonl`.
expect() {
  local code=$1 needle=$2
  shift 2
  local log="$WORK/log.jsonl"
  rm -f "$log"
  cases=$((cases + 1))
  local rc=0
  timeout 120 "$TPTT" "$@" --log "$log" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  local problems=()
  [[ $rc -eq $code ]] || problems+=("exit code $rc, expected $code")
  grep -qF -- "$needle" "$WORK/stderr" || problems+=("stderr does not mention '$needle'")
  [[ ! -s "$WORK/stdout" ]] || problems+=("unexpected output on stdout")
  [[ ! -e "$log" ]] || problems+=("the --log file was created")
  if [[ ${#problems[@]} -gt 0 ]]; then
    failures=$((failures + 1))
    echo "FAIL: tptt $* --log $log"
    for p in "${problems[@]}"; do echo "    $p"; done
    echo "    stderr: $(head -c 400 "$WORK/stderr")"
  else
    echo "ok:   tptt $*  ->  $rc: $(head -n 1 "$WORK/stderr")"
  fi
}

printf 'length = 30\nwibble = 3\n' >"$WORK/unknown_key.ini"
printf 'batch = many\n' >"$WORK/bad_value.ini"

expect 2 "frobnicate"        train --frobnicate
expect 2 "alpha-f"           train --alpha-f -1
expect 2 "alpha-g"           train --alpha-g -0.001
expect 2 "lr"                train --algorithm bptt --lr -1
expect 2 "length"            train --length 0
expect 2 "length"            train --length abc
expect 2 "batch"             train --batch 0
# A run that cannot fit in memory is refused before it allocates (was std::bad_alloc, exit 1).
expect 2 "the run needs an estimated" train --batch 100000000 --hidden 100000
expect 2 "--hidden"          train --batch 100000000 --hidden 100000
expect 2 "/nonexistent/tptt.ini" train --config /nonexistent/tptt.ini
expect 2 "wibble"            train --config "$WORK/unknown_key.ini"
expect 2 "unknown_key.ini"   train --config "$WORK/unknown_key.ini"
expect 2 "batch"             train --config "$WORK/bad_value.ini"
expect 2 "task"              train --task foo
expect 2 "p-g"               train --p-g 2
expect 2 "p-g"               train --schedule random --p-g 2
expect 2 "--async-validation" train --async-validation --sync stale --staleness 1
expect 2 "--async-validation" train --async-validation --schedule concurrent --p-g 0.5 --threads 2
expect 2 "frobnicate"        frobnicate

# Sequential MNIST: --data-dir is required, the length is fixed, a damaged IDX file is a bad
# file (exit 3) named in the message. The image file's header promises 60,000 images of 28x28
# but holds 2 bytes of them.
mkdir -p "$WORK/mnist"
printf '\x00\x00\x08\x03\x00\x00\xea\x60\x00\x00\x00\x1c\x00\x00\x00\x1c\x01\x02' \
  >"$WORK/mnist/train-images-idx3-ubyte"
expect 2 "data-dir"          train --task mnist
expect 2 "length"            train --task mnist --data-dir "$WORK/mnist" --length 100
expect 3 "$WORK/mnist/train-images-idx3-ubyte" train --task mnist --data-dir "$WORK/mnist" --max-iterations 1

# No command at all: usage on stderr, exit 2.
cases=$((cases + 1))
rc=0
"$TPTT" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
if [[ $rc -eq 2 ]] && grep -q "usage" "$WORK/stderr"; then
  echo "ok:   tptt  ->  2"
else
  failures=$((failures + 1))
  echo "FAIL: tptt without a command exited $rc"
fi

# An unwritable --log path (its directory would be a regular file) is a bad file (exit 3)
# naming the path and the system's reason.
touch "$WORK/a_file"
cases=$((cases + 1))
rc=0
"$TPTT" train --no-progress --max-iterations 1 --log "$WORK/a_file/log.jsonl" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
if [[ $rc -eq 3 ]] && grep -qF "$WORK/a_file" "$WORK/stderr" && grep -q "Not a directory\|File exists" "$WORK/stderr" &&
    [[ ! -s "$WORK/stdout" ]]; then
  echo "ok:   tptt train --log a_file/log.jsonl  ->  3: $(head -n 1 "$WORK/stderr")"
else
  failures=$((failures + 1))
  echo "FAIL: tptt train --log a_file/log.jsonl exited $rc; stderr: $(head -c 400 "$WORK/stderr")"
fi

# --help succeeds and lists the options.
cases=$((cases + 1))
rc=0
"$TPTT" train --help >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
if [[ $rc -eq 0 ]] && grep -q -- "--alpha-f" "$WORK/stdout"; then
  echo "ok:   tptt train --help  ->  0"
else
  failures=$((failures + 1))
  echo "FAIL: tptt train --help exited $rc"
fi

# Checkpoints: bad options exit 2 before any training, damaged or foreign checkpoints exit 3
# naming the file, and neither the checkpoint nor the log is touched.
good_ckpt="$WORK/good.ckpt"
"$TPTT" train -T 12 -H 8 --max-iterations 20 --check-every 10 --validation-samples 20 --no-progress \
  --checkpoint "$good_ckpt" >/dev/null 2>&1 || { failures=$((failures + 1)); echo "FAIL: writing a checkpoint"; }
cp "$good_ckpt" "$WORK/good.copy"
expect 2 "--checkpoint-every" train --checkpoint "$WORK/c.ckpt" --checkpoint-every 0
"$TPTT" train -T 12 -H 8 --max-iterations 20 --check-every 10 --validation-samples 20 --no-progress \
  --sync stale --staleness 2 --checkpoint "$WORK/stale.ckpt" >/dev/null 2>&1 ||
  { failures=$((failures + 1)); echo "FAIL: writing a stale-mode checkpoint"; }
expect 2 "stale(2)"           train --resume "$WORK/stale.ckpt" --sync exact --max-iterations 30
expect 2 "--dc-lambda"        train --sync stale --dc-lambda 3
expect 2 "--staleness-compensation" train --staleness-compensation predict
expect 2 "--staleness-compensation" train --sync stale --staleness-compensation dcasgd
expect 2 "--staleness-compensation" train --sync stale --staleness-compensation predict --optimizer sgd
expect 3 "a_file"             train --checkpoint "$WORK/a_file/c.ckpt"
expect 3 "missing.ckpt"       train --resume "$WORK/missing.ckpt"
head -c 300 /dev/urandom >"$WORK/noise.ckpt"
cp "$WORK/noise.ckpt" "$WORK/noise.copy"
expect 3 "noise.ckpt"         train --resume "$WORK/noise.ckpt" --checkpoint "$WORK/noise.ckpt"
head -c 200 "$good_ckpt" >"$WORK/torn.ckpt"
expect 3 "torn.ckpt"          train --resume "$WORK/torn.ckpt"
printf 'TPTTCKPT\x09\x00\x00\x00' >"$WORK/future.ckpt"; head -c 100 "$good_ckpt" | tail -c 88 >>"$WORK/future.ckpt"
expect 3 "future.ckpt"        train --resume "$WORK/future.ckpt"
expect 2 "--hidden"           train --resume "$good_ckpt" --hidden 9 --checkpoint "$good_ckpt"
cases=$((cases + 1))
if cmp -s "$good_ckpt" "$WORK/good.copy" && cmp -s "$WORK/noise.ckpt" "$WORK/noise.copy"; then
  echo "ok:   refused resumes left the checkpoints as they were"
else
  failures=$((failures + 1)); echo "FAIL: a refused resume changed a checkpoint"
fi

# The experiment commands: their own options and a bad grid are usage errors naming the
# option (and the grid key); a missing or damaged model and an unusable --out are bad files.
# No result directory is created by a refused command.
exp_out="$WORK/exp-out"
expect 2 "--out"             curriculum --task temporal
expect 2 "--start"           curriculum --out "$exp_out" --start 0
expect 2 "--length"          curriculum --out "$exp_out" -T 30
expect 2 "frobnicate"        curriculum --out "$exp_out" --frobnicate
expect 2 "--out"             sweep --grid "alpha_f=0.1,0.01"
expect 2 "--grid"            sweep --out "$exp_out"
expect 2 "--grid: 'alpha_f' has no '='" sweep --grid "alpha_f" --out "$exp_out"
expect 2 "unknown key 'wibble'" sweep --grid "alpha_f=0.1;wibble=1,2" --out "$exp_out"
expect 2 "alpha_f=abc"       sweep --grid "alpha_f=0.1,abc" --out "$exp_out"
expect 2 "alpha_g=-1"        sweep --grid "alpha_g=-1" --out "$exp_out"
expect 2 "--seeds"           sweep --grid "alpha_f=0.1" --seeds 1,x --out "$exp_out"
expect 2 "--model"           eval --length 20
expect 3 "missing.ckpt"      eval --model "$WORK/missing.ckpt"
head -c 300 /dev/urandom >"$WORK/corrupt.ckpt"
expect 3 "corrupt.ckpt"      eval --model "$WORK/corrupt.ckpt"
cases=$((cases + 1))
[[ ! -e $exp_out ]] && echo "ok:   refused experiment commands created no --out directory" ||
  { failures=$((failures + 1)); echo "FAIL: a refused experiment command created $exp_out"; }

# A truncated model file and an --out below a regular file: exit 3 naming the path.
exp_case() {  # CODE NEEDLE ARGS... (without the --log that expect adds)
  local code=$1 needle=$2
  shift 2
  cases=$((cases + 1))
  local rc=0
  timeout 120 "$TPTT" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  if [[ $rc -eq $code ]] && grep -qF -- "$needle" "$WORK/stderr" && [[ ! -s "$WORK/stdout" ]]; then
    echo "ok:   tptt $*  ->  $rc: $(head -n 1 "$WORK/stderr")"
  else
    failures=$((failures + 1))
    echo "FAIL: tptt $*: exit $rc, expected $code naming '$needle'; stderr: $(head -c 400 "$WORK/stderr")"
  fi
}
if "$TPTT" train --no-progress -H 4 --max-iterations 2 --check-every 1 --validation-samples 10 \
    --checkpoint "$WORK/model.ckpt" >/dev/null 2>&1; then
  head -c 200 "$WORK/model.ckpt" >"$WORK/truncated.ckpt"
  exp_case 3 "truncated.ckpt" eval --model "$WORK/truncated.ckpt"
  # eval says the model fixes its size (not what a resumed run would be told).
  exp_case 2 "the model file fixes it" eval --model "$WORK/model.ckpt" --hidden 50
fi
exp_case 3 "$WORK/a_file/out" sweep --grid "alpha_f=0.1" --max-iterations 1 --out "$WORK/a_file/out"
exp_case 3 "$WORK/a_file/out" curriculum --max-iterations 1 --out "$WORK/a_file/out"

# --help of each experiment command: its own options and the train options that apply there
# (eval: none of the training rates).
for help_case in "curriculum --out --alpha-f" "sweep --grid --alpha-f" "eval --model --validation-batch"; do
  read -r help_command help_option train_option <<<"$help_case"
  cases=$((cases + 1))
  rc=0
  "$TPTT" "$help_command" --help >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  if [[ $rc -eq 0 ]] && grep -q -- "$help_option" "$WORK/stdout" && grep -q -- "$train_option" "$WORK/stdout"; then
    echo "ok:   tptt $help_command --help  ->  0"
  else
    failures=$((failures + 1))
    echo "FAIL: tptt $help_command --help exited $rc"
  fi
done

echo "$((cases - failures))/$cases cases passed"
[[ $failures -eq 0 ]]
