#!/usr/bin/env bash
# What a user reads names no issue number and no temporary path (ctest `docs_hygiene`, label
# cli): README.md, every docs/*.md, the help of `tptt` and of each of its commands, and the help
# of the launch scripts (their leading comment block, which is what their --help prints, and the
# output of --help for the scripts that take it). A match is an issue reference ("issue 12",
# "issues 3 and 4", "#12") or a /tmp path.
# Usage: tests/docs_hygiene.sh TPTT SOURCE_DIR
set -uo pipefail

if [[ $# -ne 2 || ! -x $1 || ! -f $2/README.md ]]; then
  echo "usage: $0 path/to/tptt SOURCE_DIR" >&2
  exit 2
fi
tptt=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-hygiene.XXXXXX")
trap 'rm -rf "$work"' EXIT

# An issue number: "issue 12", "Issue #12", "issues 3, 4"; "#12" after a space, a bracket or at the
# start of a line (not "&#12;" or a colour like "#1f77b4"). A temporary path: "/tmp" as a path.
pattern='([Ii]ssues? #?[0-9]+)|((^|[[:space:](\[,;])#[0-9]+([^[:alnum:]]|$))|((^|[^[:alnum:]_.~])/tmp([^[:alnum:]_]|$))'

failures=0
# check NAME FILE: fails when FILE (a text) matches the pattern; prints each matching line.
check() {
  local hits
  hits=$(grep -nE "$pattern" "$2")
  if [[ -n $hits ]]; then
    echo "FAIL: $1 mentions an issue number or a /tmp path:"
    sed 's/^/    /' <<<"$hits"
    failures=$((failures + 1))
  fi
}

# The pattern itself, on known lines (a test of the test).
printf '%s\n' 'see issue 12' '(#3)' 'in /tmp/x' 'TMPDIR=/tmp' >"$work/positive"
printf '%s\n' 'Table 2' 'colour #1f77b4' '&#12;' 'out/tmp/x' 'a tmp/ dir' '$TMPDIR' 'C++ #include' >"$work/negative"
[[ $(grep -cE "$pattern" "$work/positive") -eq 4 ]] || { echo "FAIL: the pattern misses a known match"; failures=$((failures + 1)); }
[[ $(grep -cE "$pattern" "$work/negative") -eq 0 ]] || { echo "FAIL: the pattern matches a harmless line: $(grep -E "$pattern" "$work/negative")"; failures=$((failures + 1)); }

# README.md and the docs.
check README.md "$src/README.md"
for f in "$src"/docs/*.md; do check "docs/$(basename "$f")" "$f"; done

# tptt's help and every command's.
"$tptt" --help >"$work/help" 2>&1 || { echo "FAIL: tptt --help exits non-zero"; failures=$((failures + 1)); }
check "tptt --help" "$work/help"
commands=$(awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && !/^  / { f = 0 }' "$work/help")
[[ -n $commands ]] || { echo "FAIL: no commands listed by tptt --help"; failures=$((failures + 1)); }
for c in $commands; do
  "$tptt" "$c" --help >"$work/help-$c" 2>&1 || { echo "FAIL: tptt $c --help exits non-zero"; failures=$((failures + 1)); }
  check "tptt $c --help" "$work/help-$c"
done

# The launch scripts: the leading comment block of each (their usage text), and the output of
# --help where the script handles it (a `--help)` case; never runs a script that does not).
for f in "$src"/launch/*.sh "$src"/launch/*.sbatch; do
  [[ -f $f ]] || continue
  name=launch/$(basename "$f")
  awk 'NR == 1 && /^#!/ { next } /^#/ { print; next } { exit }' "$f" >"$work/head"
  check "$name (its header)" "$work/head"
  if [[ $f == *.sh ]] && grep -qE -- '(^|[|[:space:]])--help\)' "$f"; then
    timeout 20 bash "$f" --help >"$work/script-help" 2>&1 </dev/null
    check "$name --help" "$work/script-help"
  fi
done

echo "docs hygiene: $failures failures"
[[ $failures -eq 0 ]]
