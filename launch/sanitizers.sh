#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the whole project (build-asan/, -O1 -g)
# and the whole test suite under it; the first sanitizer report fails the run. The tests that
# start real mpirun jobs run with LeakSanitizer off: Open MPI leaves its own allocations (hwloc,
# MCA components unloaded at MPI_Finalize) unfreed at exit; every other check stays on, and the
# in-process multi-rank tests run with leak detection.
# Usage: launch/sanitizers.sh [extra ctest arguments, e.g. -R unit]
# Environment: ASAN_BUILD_DIR (build-asan), JOBS (2), SANITIZE_NICE (5).
# (ThreadSanitizer runs from launch/ci.sh, in build-tsan/.)
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${ASAN_BUILD_DIR:-build-asan}
[[ -z ${ASAN_BUILD_DIR:-} || $BUILD == /* ]] || BUILD=$CALLER_DIR/$BUILD  # the user's path: from where they are
JOBS=${JOBS:-2}
NICE=${SANITIZE_NICE:-5}

# -fno-sanitize-recover=all: UBSan stops at the first report instead of printing and going on.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTPTT_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all"
nice -n "$NICE" cmake --build "$BUILD" -j"$JOBS"

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# mpirun refuses to start as root unless told otherwise (tests that start it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
nice -n "$NICE" ctest --test-dir "$BUILD" -L 'unit|cli' --output-on-failure "$@"
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" nice -n "$NICE" ctest --test-dir "$BUILD" -L mpi -LE unit --output-on-failure "$@"
echo "sanitizers: ASan + UBSan: the whole test suite passed without a report (mpirun tests without LeakSanitizer)"
