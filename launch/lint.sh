#!/usr/bin/env bash
# The code's form and static analysis: clang-format-14 in check mode over the project's C++
# files (.clang-format), then clang-tidy-14 (.clang-tidy) over every translation unit of a
# build's compile_commands.json that belongs to the project (its headers through
# --header-filter; not the generated build_info.cpp, not third-party code), in parallel and
# with a cache of each unit's findings (launch/clang_tidy_cached.py, $BUILD_DIR/lint-cache):
# a unit that includes Eigen costs about a minute of CPU, so a first run over the ~60 units
# takes long on 2 cores and a later one analyses only what changed. Exit status 0 when neither
# finds anything, 1 otherwise (every finding is printed), 2 on bad usage.
#
#   launch/lint.sh                 # both; clang-tidy over $BUILD_DIR (configured here if needed)
#   launch/lint.sh --format-only   # clang-format alone (a second)
#   launch/lint.sh --tidy-only     # clang-tidy alone
#   launch/lint.sh --fix           # apply clang-format in place instead of checking
#
# Environment: BUILD_DIR (a build tree with compile_commands.json; default build, configured
# with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON when it has none), JOBS (parallel clang-tidy
# processes; default: all cores), CLANG_FORMAT, CLANG_TIDY (default clang-format-14,
# clang-tidy-14). A relative BUILD_DIR is relative to the current directory.
set -uo pipefail
CALLER_DIR=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
REPO=$PWD

format=1 tidy=1 fix=0
for arg in "$@"; do
  case $arg in
    --format-only) tidy=0 ;;
    --tidy-only) format=0 ;;
    --fix) fix=1 tidy=0 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/lint.sh: unknown argument '$arg' (--help lists them)" >&2; exit 2 ;;
  esac
done
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-14}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
if [[ -n ${BUILD_DIR:-} ]]; then
  [[ $BUILD_DIR == /* ]] || BUILD_DIR=$CALLER_DIR/$BUILD_DIR
else
  BUILD_DIR=$REPO/build
fi
status=0

# The project's own C++ files: tracked by git (a tarball: every file under the source folders).
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git -C "$REPO" ls-files '*.cpp' '*.hpp')
else
  mapfile -t files < <(find include src tests fuzz -name '*.cpp' -o -name '*.hpp' | sort)
fi

if [[ $format -eq 1 ]]; then
  command -v "$CLANG_FORMAT" >/dev/null || { echo "launch/lint.sh: $CLANG_FORMAT not found (apt-get install clang-format-14)" >&2; exit 2; }
  if [[ $fix -eq 1 ]]; then
    "$CLANG_FORMAT" -i "${files[@]}"
    echo "lint: clang-format applied to ${#files[@]} files"
    exit 0
  fi
  out=$("$CLANG_FORMAT" --dry-run --Werror "${files[@]}" 2>&1)
  if [[ -n $out ]]; then
    echo "$out"
    bad=$(grep -oE '^[^ :]+\.[ch]pp:[0-9]+:[0-9]+: (error|warning):' <<<"$out" | cut -d: -f1 | sort -u)
    echo "lint: clang-format: $(wc -l <<<"$bad") of ${#files[@]} files differ from .clang-format (launch/lint.sh --fix):"
    sed 's/^/  /' <<<"$bad"
    status=1
  else
    echo "lint: clang-format: ${#files[@]} files as .clang-format wants them"
  fi
fi

if [[ $tidy -eq 1 ]]; then
  command -v "$CLANG_TIDY" >/dev/null || { echo "launch/lint.sh: $CLANG_TIDY not found (apt-get install clang-tidy-14)" >&2; exit 2; }
  if [[ ! -f $BUILD_DIR/compile_commands.json ]]; then
    echo "lint: configuring $BUILD_DIR for its compile_commands.json"
    cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null || exit 2
  fi
  # Only the units whose preprocessed text changed since the last run are analysed again.
  python3 launch/clang_tidy_cached.py --build "$BUILD_DIR" --repo "$REPO" --cache "$BUILD_DIR/lint-cache" \
    --jobs "$JOBS" --clang-tidy "$CLANG_TIDY" || status=1
fi
exit "$status"
