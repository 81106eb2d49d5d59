#!/usr/bin/env bash
# K ranks of tptt on a simulated cluster: SimGrid's SMPI runs the real trainer, one simulated
# host per rank. Each rank's computation is timed for real and replayed on its host; each message
# crosses the platform's network model. Every time tptt prints (seconds, it/s, ETA, trace) is
# simulated time.
#
#   launch/simulate.sh [--node-speed F] K PLATFORM [train|sweep|curriculum|eval] [tptt options...]
#   launch/simulate.sh 16 infiniband -T 120 --sync stale --staleness 1
#   launch/simulate.sh --node-speed 1.5 8 ethernet10g -T 120 --sync pipelined --micro-batches auto
#   launch/simulate.sh --build-only
#
# PLATFORM: a name from launch/platforms/ (infiniband, ethernet10g, loopback) or an XML file.
# --node-speed F: a simulated host computes F times as fast as one core of the machine that runs
#   the simulation (default 1: the calibration, docs/scaling.md).
# The command defaults to train; --threads 1 is added unless given (a simulated rank runs one
# thread). At the end it prints the simulated time to solve, the iterations and the real time
# the simulation took.
#
# Builds tptt with smpicxx into $SMPI_BUILD_DIR (default build-smpi/, Release, the same flags as
# build/) on first use, installing libsimgrid-dev when missing. Environment: SMPI_BUILD_DIR,
# SMPI_ARGS (extra smpirun options, word-split), SIM_SUMMARY (also write the summary line, JSON,
# to this file).
set -euo pipefail
CALLER_DIR=$PWD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
source launch/common.sh

usage() {
  echo "usage: launch/simulate.sh [--node-speed F] K PLATFORM [train|sweep|curriculum|eval] [tptt options...]" >&2
  echo "       launch/simulate.sh --build-only      (see --help)" >&2
  exit 2
}

node_speed=1
build_only=0
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --node-speed) node_speed=${2:?--node-speed needs a value}; shift 2 ;;
    --node-speed=*) node_speed=${1#*=}; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,23p' "$here/simulate.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/simulate.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ $node_speed =~ ^[0-9]*\.?[0-9]+$ ]] || awk -v f="$node_speed" 'BEGIN{exit !(f <= 0)}'; then
  echo "launch/simulate.sh: --node-speed: '$node_speed' is not a positive number" >&2
  exit 2
fi

# A BUILD_DIR the user gives is relative to where the script was started; the default is the checkout's.
if [[ -n ${SMPI_BUILD_DIR:-} && $SMPI_BUILD_DIR != /* ]]; then SMPI_BUILD_DIR=$CALLER_DIR/$SMPI_BUILD_DIR; fi
SMPI_BUILD_DIR=${SMPI_BUILD_DIR:-$PWD/build-smpi}

build_smpi() {
  TPTT_PACKAGES=(cmake g++ libopenmpi-dev openmpi-bin libeigen3-dev libtbb-dev libboost-program-options-dev
    doctest-dev libsimgrid-dev)
  tptt_install_packages >&2
  # smpicxx compiles against SimGrid's <mpi.h>; find_package(MPI) must take it, not Open MPI's.
  cmake -S . -B "$SMPI_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=smpicxx \
    -DMPI_CXX_COMPILER=smpicxx -DTPTT_BUILD_TESTS=OFF ${CMAKE_ARGS:-} >&2
  cmake --build "$SMPI_BUILD_DIR" -j"$JOBS" --target tptt >&2
}

if [[ $build_only == 1 ]]; then
  build_smpi
  echo "launch/simulate.sh: built $SMPI_BUILD_DIR/tptt"
  exit 0
fi

[[ $# -ge 2 ]] || usage
ranks=$1 platform=$2
shift 2
if ! [[ $ranks =~ ^[1-9][0-9]*$ ]]; then
  echo "launch/simulate.sh: K: '$ranks' is not a number of ranks >= 1" >&2
  exit 2
fi
if [[ -f $here/platforms/$platform.xml ]]; then
  platform_file=$here/platforms/$platform.xml
elif [[ -f $CALLER_DIR/$platform || -f $platform ]]; then
  platform_file=$([[ $platform == /* ]] && echo "$platform" || echo "$CALLER_DIR/$platform")
  platform=$(basename "$platform" .xml)
else
  echo "launch/simulate.sh: PLATFORM: no launch/platforms/$platform.xml and no file '$platform'" \
    "(have: $(cd "$here/platforms" && ls -- *.xml | sed 's/\.xml$//' | tr '\n' ' '))" >&2
  exit 2
fi
hosts=$(grep -o 'radical="[0-9]*-[0-9]*"' "$platform_file" | head -1 | sed 's/.*-\([0-9]*\)"/\1/')
if [[ -n $hosts ]] && ((ranks > hosts + 1)); then
  echo "launch/simulate.sh: K = $ranks: platform '$platform' has $((hosts + 1)) hosts" >&2
  exit 2
fi

command=train
case ${1:-} in train | sweep | curriculum | eval) command=$1; shift ;; esac
args=("$@")
has_threads=0
for a in ${args[@]+"${args[@]}"}; do [[ $a == --threads || $a == --threads=* ]] && has_threads=1; done
[[ $has_threads == 1 ]] || args+=(--threads 1)

[[ -x $SMPI_BUILD_DIR/tptt ]] || build_smpi

# Calibration: the platform's hosts compute at 1 Gflop/s, and SMPI converts each measured second
# of computation into smpi/host-speed flops; host-speed = 1 Gflop/s / F makes one simulated host F
# times as fast as this machine's core.
host_speed=$(awk -v f="$node_speed" 'BEGIN{printf "%.6gf", 1e9 / f}')
smpi_cfg=(
  --cfg=smpi/host-speed:"$host_speed"
  # MPI_Test and MPI_Iprobe cost about 0.1 µs in Open MPI, not SMPI's default 100 µs, and do not
  # grow when called in a row (tptt's list schedules probe between pieces of work).
  --cfg=smpi/test:1e-7 --cfg=smpi/iprobe:1e-7 --cfg=smpi/grow-injected-times:no
  --cfg=smpi/coll-selector:ompi  # Open MPI's collective algorithms
  --cfg=smpi/display-timing:yes --log=root.thr:warning --log=smpi_config.thr:warning
)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "simulate: K = $ranks on $platform ($platform_file), node speed ${node_speed}x one core of this machine (${cpu:-unknown CPU})" >&2

out=$(mktemp "${TMPDIR:-/tmp}/tptt-simulate.XXXXXX")
trap 'rm -f "$out"' EXIT
started=$(date +%s.%N)
rc=0
# The simulation runs in a process group of its own; a Ctrl-C or SIGTERM to this script stops it
# cleanly: the simulator (smpimain, every rank in one process) gets SIGUSR1, tptt's stop request
# (as under launch/mpirun.sh), and the ranks stop together after the iteration, with a checkpoint
# where --checkpoint asks for one; smpirun then exits with the simulation's status.
set -m
(cd "$CALLER_DIR" && TPTT_SIMULATED_PLATFORM="$platform" exec smpirun -np "$ranks" -platform "$platform_file" \
  "${smpi_cfg[@]}" ${SMPI_ARGS:-} "$SMPI_BUILD_DIR/tptt" "$command" "${args[@]}") >"$out" &
job=$!
set +m
trap 'pkill -USR1 -g "$job" -x smpimain 2>/dev/null || true' INT TERM
wait $job || rc=$?
# A signal's trap interrupts wait (status > 128); the simulation, a zombie at worst, is reaped here.
while ((rc > 128)) && kill -0 $job 2>/dev/null; do
  rc=0
  wait $job || rc=$?
done
real=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
cat "$out"

line=$(grep -E '^\{.*"result"' "$out" | tail -n 1 || true)
if [[ -n $line ]]; then
  python3 - "$line" "$real" "$ranks" "$platform" <<'PY' >&2
import json, sys
line, real, ranks, platform = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.loads(line).get("result", {})
sim = r.get("seconds") or 0.0
state = "solved at %d iterations" % r["solved_at"] if r.get("solved") else "%s after %d iterations" % (r.get("stop_reason"), r.get("iterations", 0))
print("simulated: %s; %.2f s simulated (%s, K = %s); the simulation took %.1f s real (%.1fx simulated)"
      % (state, sim, platform, ranks, real, real / sim if sim > 0 else float("nan")))
PY
  if [[ -n ${SIM_SUMMARY:-} ]]; then
    [[ $SIM_SUMMARY == /* ]] || SIM_SUMMARY=$CALLER_DIR/$SIM_SUMMARY
    python3 - "$line" "$real" "$ranks" "$platform" "$node_speed" >"$SIM_SUMMARY" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
j["simulation"] = {"real_seconds": float(sys.argv[2]), "ranks": int(sys.argv[3]), "platform": sys.argv[4],
                   "node_speed": float(sys.argv[5])}
print(json.dumps(j))
PY
  fi
fi
exit $rc
