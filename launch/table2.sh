#!/usr/bin/env bash
# Iterations to convergence (the paper's Table 2) for the TPTT common model, over seeds.
# usage: launch/table2.sh [seeds (default "1 2 3")] [tptt binary (default build/tptt)]
# Appends one JSON summary per run to out/table2.jsonl and logs to out/table2/.
set -euo pipefail
# A binary path given here and paths among the options are relative to the current directory.
REPO=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-"1 2 3"}
bin=${2:-$REPO/build/tptt}
out=$REPO/out
mkdir -p "$out/table2"
run() {  # name, args...
  local name=$1; shift
  for s in $seeds; do
    echo "== $name seed $s" >&2
    "$bin" train --seed "$s" --no-progress --log "$out/table2/$name-s$s.jsonl" --overwrite "$@" 2>/dev/null \
      | sed "s/^{/{\"name\":\"$name\",/" >> "$out/table2.jsonl"
  done
}
run tptt-temporal-60   --algorithm tptt --task temporal  --length 60
run tptt-temporal-120  --algorithm tptt --task temporal  --length 120
run tptt-temporal3-70  --algorithm tptt --task temporal3 --length 70
run tptt-perm-70       --algorithm tptt --task perm      --length 70
run bptt-temporal-60   --algorithm bptt --lr 1e-4 --task temporal --length 60
