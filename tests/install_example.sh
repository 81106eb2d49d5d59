#!/usr/bin/env bash
# The library example of docs/install.md against the installed package (ctest `install_example`, label
# cli): installs the build tree into a temporary prefix, takes the ```cmake and ```cpp blocks of
# docs/install.md's "Using the library" section verbatim as CMakeLists.txt and
# main.cpp, configures them with find_package(tptt), builds, runs, and checks the summary.
# Usage: tests/install_example.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

if [[ $# -ne 2 || ! -d $1 || ! -f $2/README.md ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tptt-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

# block LANG: the first ```LANG block of docs/install.md's library section.
block() {
  awk -v lang="$1" '
    /^## Using the library/ { section = 1; next }
    section && /^## / { exit }
    section && !inside && $0 == "```" lang { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' "$src/docs/install.md"
}

mkdir -p "$work/app"
block cmake >"$work/app/CMakeLists.txt"
block cpp >"$work/app/main.cpp"
[[ -s $work/app/CMakeLists.txt && -s $work/app/main.cpp ]] || { echo "FAIL: no cmake/cpp block in docs/install.md"; exit 1; }
grep -q "find_package(tptt" "$work/app/CMakeLists.txt" || { echo "FAIL: the cmake block does not find_package(tptt)"; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || { cat "$work/install.log"; exit 1; }
for f in lib/libtptt.a bin/tptt include/tptt/train/trainer.hpp lib/cmake/tptt/tpttConfig.cmake; do
  [[ -e $work/prefix/$f ]] || { echo "FAIL: the install lacks $f"; exit 1; }
done
"$work/prefix/bin/tptt" --version | grep -q "^tptt [0-9]" || { echo "FAIL: the installed tptt --version"; exit 1; }

# -O1: the example's speed does not matter, the build time does.
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE=-O1 >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/app/build" -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
if grep -q "warning:" "$work/build.log"; then
  echo "FAIL: the example compiles with warnings:"; grep -A3 "warning:" "$work/build.log" | head -20; exit 1
fi
out=$(timeout 120 "$work/app/build/app")
echo "example printed: $out"
python3 -c 'import json, sys; s = json.loads(sys.argv[1]); assert s["iterations"] > 0 and "stop_reason" in s, s' "$out" ||
  { echo "FAIL: the example's output is not a run summary"; exit 1; }
echo "ok: docs/install.md's library example builds against the installed package and runs"
