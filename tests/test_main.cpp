// The tests run in the floating-point mode of the tptt executable (core/float_mode.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tptt/core/float_mode.hpp"

int main(int argc, char** argv) {
  tptt::flush_subnormals_to_zero();
  return doctest::Context(argc, argv).run();
}
