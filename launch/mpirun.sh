#!/usr/bin/env bash
# Local multi-rank run: K ranks of `tptt train` on this machine, one time segment per rank.
#
#   launch/mpirun.sh K [tptt train options...]
#   launch/mpirun.sh 2 --task temporal -T 60 --algorithm tptt_hx --log out/run.jsonl
#
# Handles what a local Open MPI run needs: running as root (OMPI_ALLOW_RUN_AS_ROOT), more
# ranks than cores (--oversubscribe), and no core binding (--bind-to none: with binding,
# oversubscribed ranks would share one core while others stay idle). Rank 0 prints the
# progress and writes --log; see docs/distributed.md.
#
# Ctrl-C and SIGTERM stop the run cleanly and exit 0 (as for one process): Open MPI's mpirun
# cannot forward SIGINT or SIGTERM (it kills the ranks and exits 1 even when every rank stopped
# cleanly), but it forwards SIGUSR1, which tptt treats as the same stop request. So mpirun runs
# in a process group of its own (a Ctrl-C reaches only this script) and gets SIGUSR1 instead;
# the exit status is mpirun's.
#
# Environment: TPTT (the executable; default build/tptt of this checkout), MPIRUN (default
# mpirun), MPIRUN_ARGS (extra launcher options, word-split).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: launch/mpirun.sh K [tptt train options...]   (K = number of ranks >= 1)" >&2
  exit 2
fi
ranks=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tptt=${TPTT:-$here/../build/tptt}
mpirun=${MPIRUN:-mpirun}
if [[ ! -x $tptt ]]; then
  echo "launch/mpirun.sh: no tptt executable at $tptt (build first, or set TPTT=...)" >&2
  exit 3
fi
if ! command -v "$mpirun" >/dev/null 2>&1; then
  echo "launch/mpirun.sh: '$mpirun' not found (install Open MPI or set MPIRUN=...)" >&2
  exit 3
fi

args=(-np "$ranks")
if "$mpirun" --version 2>/dev/null | grep -q "Open MPI"; then
  if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  cores=$(nproc 2>/dev/null || echo 1)
  if (( ranks > cores )); then args+=(--oversubscribe); fi
  args+=(--bind-to none)
fi
# shellcheck disable=SC2206  # MPIRUN_ARGS is meant to be word-split
args+=(${MPIRUN_ARGS:-})

set -m  # job control: the background job gets its own process group
"$mpirun" "${args[@]}" "$tptt" train "$@" </dev/null &
pid=$!
set +m
stopping=0
stop() { stopping=1; kill -USR1 "$pid" 2>/dev/null || true; }
trap stop INT TERM
rc=0
while true; do
  wait "$pid" && rc=0 || rc=$?
  # wait returns early (status > 128) when a trapped signal arrives; mpirun is still running then.
  kill -0 "$pid" 2>/dev/null || break
done
(( stopping == 0 || rc != 0 )) || echo "launch/mpirun.sh: stopped on request; every rank finished its iteration" >&2
exit "$rc"
