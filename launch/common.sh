# shellcheck shell=bash
# Shared by launch/run.sh and launch/test.sh (sourced, not executed): installs the Debian
# packages tptt needs when some are missing, then configures and builds a Release tree.
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

tptt_build() {
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_ARGS:-}
  cmake --build "$BUILD_DIR" -j"$JOBS"
}
