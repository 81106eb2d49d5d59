#pragma once
// First-order optimisers over one contiguous parameter range (θ_F or θ_G), each owning its
// state. Nesterov momentum in the form the reference (Lasagne) uses (docs/method.md §4):
//   v ← μ v − α g;   θ ← θ + μ v − α g
#include <string>

#include "tptt/core/types.hpp"

namespace tptt {

enum class OptimizerKind { Nesterov, Sgd };

OptimizerKind parse_optimizer(const std::string& name);  // throws UsageError
std::string to_string(OptimizerKind k);

class Optimizer {
 public:
  Optimizer(OptimizerKind kind, Eigen::Index size, Scalar momentum = Scalar(0.9));

  // θ ← update(θ, g) with learning rate α. theta, grad: (size).
  void step(VecRef<Scalar> theta, const ConstVecRef<Scalar>& grad, Scalar learning_rate);

  OptimizerKind kind() const { return kind_; }
  Scalar momentum() const { return momentum_; }
  // Optimiser state (Nesterov velocity; empty for SGD), for checkpoints.
  VecF& state() { return velocity_; }
  const VecF& state() const { return velocity_; }

 private:
  OptimizerKind kind_;
  Scalar momentum_;
  VecF velocity_;  // (size) for Nesterov, (0) for SGD
};

}  // namespace tptt
