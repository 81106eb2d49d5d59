#pragma once
// Multiply-add count of one training iteration, from the kernels' matrix products
// (element-wise work is not counted). Used by the benchmark to turn time into GFLOP/s.
#include "tptt/train/config.hpp"

namespace tptt {

struct IterationShape {
  long steps, batch, input, hidden, output;  // T, B, I, H, O
};

// Matrix-product multiply-adds of one iteration of `algorithm` (alternate schedule, no noise).
double iteration_multiply_adds(Algorithm algorithm, const IterationShape& s);

}  // namespace tptt
