#!/usr/bin/env bash
# Every command's --help has the same shape: it exits 0 and prints, on stdout,
# - first a usage line, "usage: tptt <command> ...";
# - then its options in groups, each under a header line ("Task and data:") whose name says
#   what is in the group; no option is listed before the first header;
# - option values in a form a user reads: no raw parser syntax such as "[=arg(=1)]".
# The commands are the ones `tptt --help` lists, so a new command is checked too.
# Usage: tests/help_shape.sh path/to/tptt
set -euo pipefail

if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 path/to/tptt" >&2
  exit 2
fi
TPTT=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tptt-help.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# The command list of `tptt --help`: the lines "  NAME  description" after "commands:".
rc=0
"$TPTT" --help >"$WORK/top" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "tptt --help exited $rc"
[[ $(head -n 1 "$WORK/top") == "usage: tptt <command>"* ]] || fail "tptt --help: first line is not a usage line"
mapfile -t commands < <(sed -n '/^commands:$/,$p' "$WORK/top" | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
for expected in train bench curriculum sweep eval; do
  [[ " ${commands[*]} " == *" $expected "* ]] || fail "tptt --help does not list '$expected'"
done

for command in "${commands[@]}"; do
  out=$WORK/$command
  rc=0
  "$TPTT" "$command" --help >"$out" 2>"$WORK/stderr" || rc=$?
  problems=()
  [[ $rc -eq 0 ]] || problems+=("exit code $rc")
  [[ ! -s $WORK/stderr ]] || problems+=("output on stderr: $(head -n 1 "$WORK/stderr")")
  [[ $(head -n 1 "$out") == "usage: tptt $command"* ]] ||
    problems+=("first line is not 'usage: tptt $command ...': '$(head -n 1 "$out")'")
  # A group header: a line of its own at column 0, a capitalised name ending in ':'.
  first_header=$(grep -n -m1 -E '^[A-Z][^:]*:$' "$out" | cut -d: -f1 || true)
  first_option=$(grep -n -m1 -E '^ +-{1,2}[a-zA-Z]' "$out" | cut -d: -f1 || true)
  if [[ -z $first_header ]]; then
    problems+=("no group header (a line 'Name of the group:')")
  elif [[ -n $first_option && $first_option -lt $first_header ]]; then
    problems+=("an option is listed before the first group header (line $first_option)")
  fi
  [[ -n $first_option ]] || problems+=("no options listed")
  ! grep -qF "[=arg(" "$out" || problems+=("raw parser syntax: $(grep -F "[=arg(" "$out" | head -n 1)")
  if [[ ${#problems[@]} -eq 0 ]]; then
    echo "ok:   tptt $command --help"
  else
    fail "tptt $command --help: $(IFS=';'; echo "${problems[*]}")"
  fi
done

echo "${#commands[@]} commands checked, $failures failure(s)"
[[ $failures -eq 0 ]]
