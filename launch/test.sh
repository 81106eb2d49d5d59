#!/usr/bin/env bash
# The quick test loop, to run before each commit: installs missing packages, builds tptt and its
# tests (Release, in $BUILD_DIR, default build/, the tree launch/run.sh uses too) and runs every
# ctest test, the multi-rank tests under mpirun included, CTEST_JOBS at a time (default: JOBS,
# all cores; the tests that start mpirun take turns). Fails when a test fails or when a compile
# in the tree printed a warning. Extra arguments go to ctest (e.g. -L unit, -R cli).
# The slow stages (clang-format and clang-tidy, ThreadSanitizer, the simulated-cluster test)
# are launch/ci.sh; CI (.ci/run) runs this script, then that one.
#
# Environment: BUILD_DIR, BUILD_TYPE, JOBS, CMAKE_ARGS (launch/common.sh), CTEST_JOBS.
set -euo pipefail
CALLER_DIR=$PWD  # a relative BUILD_DIR is relative to it (common.sh)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh

tptt_install_packages
# shellcheck disable=SC2119  # (no targets: all of them)
tptt_build
status=0
tptt_check_warnings || status=1
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${CTEST_JOBS:-$JOBS}" "$@" || status=1
exit "$status"
