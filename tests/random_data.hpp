#pragma once
// Random inputs and targets for the finite-difference tests: X ~ N(0, 1) of shape (I × T·B),
// Y one-hot (softmax) or uniform in [0, 1) (linear) of shape (O × B), drawn from `rng` in
// that order.
#include "tptt/algo/output.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/core/types.hpp"

namespace tptt::testing {

inline void random_inputs_and_targets(CounterRng& rng, int I, int T, int B, int O, OutputKind kind, Mat<double>& X,
                                      Mat<double>& Y) {
  X.resize(I, T * B);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
  Y = Mat<double>::Zero(O, B);
  for (int b = 0; b < B; ++b) {
    if (kind == OutputKind::Softmax)
      Y(rng.below(O), b) = 1;
    else
      Y(0, b) = rng.uniform();
  }
}

}  // namespace tptt::testing
