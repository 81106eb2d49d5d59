#include "tptt/optim/optimizer.hpp"

#include <stdexcept>

#include "tptt/core/error.hpp"

namespace tptt {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "nesterov") return OptimizerKind::Nesterov;
  if (name == "sgd") return OptimizerKind::Sgd;
  throw UsageError("--optimizer: unknown optimiser '" + name + "' (expected nesterov or sgd)");
}

std::string to_string(OptimizerKind k) { return k == OptimizerKind::Nesterov ? "nesterov" : "sgd"; }

Optimizer::Optimizer(OptimizerKind kind, Eigen::Index size, Scalar momentum)
    : kind_(kind), momentum_(momentum), velocity_(kind == OptimizerKind::Nesterov ? VecF::Zero(size) : VecF()) {}

void Optimizer::step(VecRef<Scalar> theta, const ConstVecRef<Scalar>& grad, Scalar learning_rate) {
  if (theta.size() != grad.size()) throw std::invalid_argument("Optimizer::step: size mismatch");
  if (kind_ == OptimizerKind::Sgd) {
    theta -= learning_rate * grad;
    return;
  }
  if (velocity_.size() != theta.size()) throw std::invalid_argument("Optimizer::step: state size mismatch");
  velocity_ = momentum_ * velocity_ - learning_rate * grad;
  theta += momentum_ * velocity_ - learning_rate * grad;
}

}  // namespace tptt
