#!/usr/bin/env bash
# Compiler launcher that keeps a record of warnings (launch/common.sh configures it as
# CMAKE_CXX_COMPILER_LAUNCHER for launch/run.sh and launch/test.sh alike): runs the compile
# command it is given, passes its diagnostics on unchanged, and writes the warnings of a
# compile to OBJECT.warnings beside the object it produces; a later compile of that object
# without warnings removes the file. launch/test.sh fails while any such file exists in the
# tree, whichever script compiled the object. So warnings fail the test command without
# -Werror in the compile flags, and the two scripts share one build configuration: neither
# changes a flag that would make the other recompile.
# Usage: record_warnings.sh COMPILER ARGS...
set -uo pipefail

obj="" src=""
prev=
for arg in "$@"; do
  [[ $prev == -o ]] && obj=$arg
  [[ $prev == -c ]] && src=$arg
  prev=$arg
done
[[ -n $obj ]] || exec "$@"  # not a compile to an object (e.g. a probe): nothing to record

record=$obj.warnings
tmp=$record.tmp.$$
rc=0
"$@" 2>"$tmp" || rc=$?
cat "$tmp" >&2
if grep -q "warning:" "$tmp"; then
  { echo "source: $src"; cat "$tmp"; } >"$record"  # the first line names the source (common.sh)
  rm -f "$tmp"
else
  rm -f "$tmp" "$record"
fi
exit "$rc"
