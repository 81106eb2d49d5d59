#!/usr/bin/env bash
# The simulated-cluster stage of CI: builds tptt with SimGrid's smpicxx (build-smpi/, installing
# libsimgrid-dev when missing) and runs the ctest tests labelled `smpi` of the main build tree
# ($BUILD_DIR, default build/, which launch/test.sh has built): simulated exact K = 4 against
# real mpirun K = 4 and one process.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/common.sh
launch/simulate.sh --build-only
SMPI_BUILD_DIR=${SMPI_BUILD_DIR:-$PWD/build-smpi}
[[ $SMPI_BUILD_DIR == /* ]] || SMPI_BUILD_DIR=$CALLER_DIR/$SMPI_BUILD_DIR
TPTT_SMPI_TPTT=$SMPI_BUILD_DIR/tptt ctest --test-dir "$BUILD_DIR" -L smpi --output-on-failure --no-tests=error
