#!/usr/bin/env bash
# Installs missing packages, builds tptt (Release, in $BUILD_DIR, default build/) and runs
# the whole test suite through ctest. Extra arguments go to that ctest (e.g. -L unit, -R cli).
# Then runs launch/lint.sh: the code's form (clang-format) and clang-tidy, which must find
# nothing (TPTT_LINT=format: the form only, TPTT_LINT=0: neither), and
# builds the concurrency tests with ThreadSanitizer (in build-tsan/) and runs them;
# TPTT_SANITIZERS=0 skips that stage.
set -euo pipefail
CALLER_DIR=$PWD  # a relative BUILD_DIR is relative to it (common.sh)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh

TPTT_PACKAGES+=(clang-format-14 clang-tidy-14)  # launch/lint.sh
tptt_install_packages
# Warnings are errors here (CI): a fresh build must print none.
CMAKE_ARGS="-DTPTT_WERROR=ON ${CMAKE_ARGS:-}"
tptt_build
ctest --test-dir "$BUILD_DIR" --output-on-failure "$@"

# The code's form (seconds) and clang-tidy over the same build tree (its results are cached in
# $BUILD_DIR/lint-cache; a first run takes 5 minutes on a quiet 2-core machine, a later one
# only analyses what changed). TPTT_LINT=format checks the form alone; TPTT_LINT=0 skips both.
case "${TPTT_LINT:-full}" in
  0) ;;
  format) launch/lint.sh --format-only ;;
  *) BUILD_DIR=$BUILD_DIR launch/lint.sh ;;
esac

if [[ "${TPTT_SANITIZERS:-1}" != 0 ]]; then
  # -O1 keeps the sanitizer build quick to compile and the tests quick to run.
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DTPTT_SANITIZE=thread -DTPTT_WERROR=ON
  cmake --build build-tsan -j"$JOBS" --target tptt_schedule_tests
  TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" ctest --test-dir build-tsan -L tsan --output-on-failure
fi
