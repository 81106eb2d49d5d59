#!/usr/bin/env bash
# The slow stages of CI, after launch/test.sh (.ci/run runs that script, then this one), each
# run even when an earlier one failed; exit status 1 when any failed:
#   lint  launch/lint.sh: the code's form (clang-format) and clang-tidy over the build tree
#         $BUILD_DIR (default build/, configured here when absent); clang-tidy's findings are
#         cached per unit in $BUILD_DIR/lint-cache, so a first run takes minutes (about 7 on a
#         quiet 2-core machine) and a later one analyses only what changed.
#         TPTT_LINT=format: the form alone; TPTT_LINT=0: neither.
#   tsan  the concurrency tests (tptt_schedule_tests) built with ThreadSanitizer in build-tsan/
#         (-O1 -g, warnings are errors) and run under it. TPTT_SANITIZERS=0 skips it.
#   smpi  launch/test_smpi.sh, the simulated-cluster (SimGrid SMPI) test, when that script
#         exists. TPTT_SMPI=0 skips it.
# Installs the packages the stages need when some are missing (common.sh, plus clang-format-14
# and clang-tidy-14). Environment: BUILD_DIR, JOBS (launch/common.sh), and the switches above.
set -euo pipefail
CALLER_DIR=$PWD  # a relative BUILD_DIR is relative to it (common.sh)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh

TPTT_PACKAGES+=(clang-format-14 clang-tidy-14)  # launch/lint.sh
tptt_install_packages

failed=()
# stage NAME CMD...: runs one stage, timed; a failure is recorded, not fatal.
stage() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo "=== ci: $name"
  "$@" || rc=$?
  echo "=== ci: $name: $([[ $rc -eq 0 ]] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - start)) s"
  [[ $rc -eq 0 ]] || failed+=("$name")
}

case "${TPTT_LINT:-full}" in
  0) ;;
  format) stage format launch/lint.sh --format-only ;;
  *) stage lint env BUILD_DIR="$BUILD_DIR" launch/lint.sh ;;
esac

tsan() {
  # -O1 keeps the sanitizer build quick to compile and the tests quick to run.
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DTPTT_SANITIZE=thread -DTPTT_WERROR=ON &&
    cmake --build build-tsan -j"$JOBS" --target tptt_schedule_tests &&
    TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" ctest --test-dir build-tsan -L tsan --output-on-failure
}
[[ ${TPTT_SANITIZERS:-1} == 0 ]] || stage tsan tsan

if [[ ${TPTT_SMPI:-1} != 0 && -f launch/test_smpi.sh ]]; then
  stage smpi bash launch/test_smpi.sh
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "ci: failed: ${failed[*]}" >&2
  exit 1
fi
echo "ci: every stage passed"
