#!/usr/bin/env bash
# Installs missing packages, builds tptt (Release, in $BUILD_DIR, default build/) and runs
# the whole test suite through ctest. Extra arguments go to that ctest (e.g. -L unit, -R cli).
# Then checks the code's form and runs clang-tidy (launch/lint.sh; TPTT_LINT=0 skips it), and
# builds the concurrency tests with ThreadSanitizer (in build-tsan/) and runs them;
# TPTT_SANITIZERS=0 skips that stage.
set -euo pipefail
CALLER_DIR=$PWD  # a relative BUILD_DIR is relative to it (common.sh)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh

tptt_install_packages
tptt_build
ctest --test-dir "$BUILD_DIR" --output-on-failure "$@"

# The code's form and static analysis over the same build tree (launch/lint.sh; its clang-tidy
# results are cached in $BUILD_DIR/lint-cache). TPTT_LINT=0 skips it.
if [[ "${TPTT_LINT:-1}" != 0 ]]; then
  BUILD_DIR=$BUILD_DIR launch/lint.sh
fi

if [[ "${TPTT_SANITIZERS:-1}" != 0 ]]; then
  # -O1 keeps the sanitizer build quick to compile and the tests quick to run.
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DTPTT_SANITIZE=thread
  cmake --build build-tsan -j"$JOBS" --target tptt_schedule_tests
  TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" ctest --test-dir build-tsan -L tsan --output-on-failure
fi
