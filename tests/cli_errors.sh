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
expect 2 "/nonexistent/tptt.ini" train --config /nonexistent/tptt.ini
expect 2 "wibble"            train --config "$WORK/unknown_key.ini"
expect 2 "unknown_key.ini"   train --config "$WORK/unknown_key.ini"
expect 2 "batch"             train --config "$WORK/bad_value.ini"
expect 2 "task"              train --task foo
expect 2 "p-g"               train --p-g 2
expect 2 "p-g"               train --schedule random --p-g 2
expect 2 "frobnicate"        frobnicate

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

# An unwritable --log path is a bad file (exit 3) naming the path.
cases=$((cases + 1))
rc=0
"$TPTT" train --no-progress --max-iterations 1 --log /nonexistent/dir/log.jsonl >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
if [[ $rc -eq 3 ]] && grep -qF "/nonexistent/dir/log.jsonl" "$WORK/stderr" && [[ ! -s "$WORK/stdout" ]]; then
  echo "ok:   tptt train --log /nonexistent/dir/log.jsonl  ->  3"
else
  failures=$((failures + 1))
  echo "FAIL: tptt train --log /nonexistent/dir/log.jsonl exited $rc; stderr: $(head -c 400 "$WORK/stderr")"
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

echo "$((cases - failures))/$cases cases passed"
[[ $failures -eq 0 ]]
