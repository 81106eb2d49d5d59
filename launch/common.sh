# shellcheck shell=bash
# Shared by launch/run.sh, launch/test.sh and launch/ci.sh (sourced, not executed): installs
# the Debian packages tptt needs when some are missing, then configures and builds a Release
# tree. run.sh and test.sh configure the tree identically, so that neither makes the other
# recompile: run.sh builds the tptt executable alone, test.sh everything the tests need, in the
# same tree. Compiler warnings are recorded per object by cmake/record_warnings.sh (the
# compiler launcher) rather than turned into errors by a flag, and test.sh fails on them.
#
# Environment:
#   BUILD_DIR   build tree (default: build in the repository; relative to the current directory)
#   BUILD_TYPE  CMake build type (default: Release)
#   JOBS        parallel build jobs (default: all cores)
#   CMAKE_ARGS  extra arguments for the configure step (word-split)

TPTT_PACKAGES=(cmake g++ libopenmpi-dev openmpi-bin libeigen3-dev libtbb-dev libboost-program-options-dev doctest-dev)

# A BUILD_DIR given by the user is relative to the directory the script was started from
# (CALLER_DIR, which the scripts set before they change into the repository).
if [[ -n ${BUILD_DIR:-} && $BUILD_DIR != /* && -n ${CALLER_DIR:-} ]]; then BUILD_DIR=$CALLER_DIR/$BUILD_DIR; fi
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

# mpirun refuses to start as root unless told otherwise (the set-up runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

tptt_install_packages() {
  local missing=() pkg
  for pkg in "${TPTT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "launch: all packages present"
    return 0
  fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "launch: missing packages (${missing[*]}) and not root; install them and re-run" >&2
      return 1
    fi
  fi
  echo "launch: installing ${missing[*]}"
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# tptt_build [TARGET...]: configures $BUILD_DIR and builds the targets (default: all of them).
tptt_build() {
  local targets=()
  [[ $# -eq 0 ]] || targets=(--target "$@")
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DCMAKE_CXX_COMPILER_LAUNCHER="$PWD/cmake/record_warnings.sh" ${CMAKE_ARGS:-}
  cmake --build "$BUILD_DIR" -j"$JOBS" ${targets[@]+"${targets[@]}"}
}

# tptt_check_warnings: prints the warnings of every object of $BUILD_DIR whose last compile
# printed some (cmake/record_warnings.sh); status 1 when there is one. The record of a source
# that no longer exists (deleted or renamed since) is left out.
tptt_check_warnings() {
  local records=() r src n=0
  mapfile -t records < <(find "$BUILD_DIR" -name '*.warnings' -type f | sort)
  for r in ${records[@]+"${records[@]}"}; do
    src=$(sed -n '1s/^source: //p' "$r")
    [[ -z $src || -e $src ]] || continue
    tail -n +2 "$r"
    n=$((n + 1))
  done
  [[ $n -eq 0 ]] && return 0
  echo "launch: compiler warnings (above) in $n translation unit(s) of $BUILD_DIR: a build must print none" >&2
  return 1
}
