#include "tptt/train/staleness_compensation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tptt/core/error.hpp"

namespace tptt {

StalenessCompensation parse_staleness_compensation(const std::string& name) {
  if (name == "none") return StalenessCompensation::None;
  if (name == "momentum") return StalenessCompensation::Momentum;
  if (name == "predict") return StalenessCompensation::Predict;
  if (name == "dc") return StalenessCompensation::DelayCompensated;
  if (name == "predict+dc") return StalenessCompensation::PredictDc;
  throw UsageError("--staleness-compensation: expected none, momentum, predict, dc or predict+dc, got '" + name + "'");
}

std::string to_string(StalenessCompensation method) {
  switch (method) {
    case StalenessCompensation::None: return "none";
    case StalenessCompensation::Momentum: return "momentum";
    case StalenessCompensation::Predict: return "predict";
    case StalenessCompensation::DelayCompensated: return "dc";
    case StalenessCompensation::PredictDc: return "predict+dc";
  }
  return "?";
}

double delay_adjusted_momentum(double momentum, int staleness) {
  if (staleness <= 0) return momentum;
  return std::max(0.0, 1.0 - (staleness + 1) * (1.0 - momentum));
}

void predict_weights(const ConstVecRef<Scalar>& theta, const ConstVecRef<Scalar>& velocity, int staleness,
                     VecRef<Scalar> predicted) {
  if (theta.size() != predicted.size()) throw std::invalid_argument("predict_weights: size mismatch");
  if (staleness == 0 || velocity.size() == 0) {  // nothing to extrapolate (S = 0, or SGD)
    predicted = theta;
    return;
  }
  if (velocity.size() != theta.size()) throw std::invalid_argument("predict_weights: velocity size mismatch");
  predicted = theta + static_cast<Scalar>(staleness) * velocity;
}

void delay_compensate(VecRef<Scalar> grad, VecRef<Scalar> mean_square, const ConstVecRef<Scalar>& theta_now,
                      const ConstVecRef<Scalar>& theta_stale, double lambda) {
  const Eigen::Index n = grad.size();
  if (mean_square.size() != n || theta_now.size() != n || theta_stale.size() != n)
    throw std::invalid_argument("delay_compensate: size mismatch");
  const auto rho = static_cast<Scalar>(kDcMeanSquareDecay), eps = static_cast<Scalar>(kDcEpsilon),
             l = static_cast<Scalar>(lambda);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Scalar g = grad[i];
    mean_square[i] = rho * mean_square[i] + (1 - rho) * g * g;
    grad[i] = g + l * g * g * (theta_now[i] - theta_stale[i]) / std::sqrt(mean_square[i] + eps);
  }
}

}  // namespace tptt
