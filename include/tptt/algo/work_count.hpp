#pragma once
// Multiply-add count of one training iteration, from the kernels' matrix products
// (element-wise work is not counted). Used by the benchmark to turn time into GFLOP/s and to
// bound the time from below.
#include "tptt/algo/algorithm.hpp"

namespace tptt {

struct IterationShape {
  long steps, batch, input, hidden, output;  // T, B, I, H, O
};

// The products of one iteration by what orders them (alternate schedule, no noise), in
// multiply-adds. One "H×H unit" is an H×H product over all T·B columns.
struct IterationWork {
  // Step-size products that depend on the previous step: the forward chain and the backward
  // chains (BPTT's W_hhᵀ chain; TPTT's target chain, eq. 8, and its ∂E/∂h chain, eq. 12). They
  // can only run as T products of (H × H)·(H × B).
  double chain = 0;
  // The longest path through the chains when independent chains run at the same time: the
  // forward chain, then the longest backward chain (TPTT's two run side by side).
  double span = 0;
  // Products independent over t (G(x_t, h_t), the weight gradients, the input and output
  // layers): they can run as large products over all T·B columns.
  double batched = 0;
  double total() const { return chain + batched; }
};

IterationWork iteration_work(Algorithm algorithm, const IterationShape& s);

// Matrix-product multiply-adds of one iteration of `algorithm`: iteration_work(…).total().
double iteration_multiply_adds(Algorithm algorithm, const IterationShape& s);

}  // namespace tptt
