#pragma once
// Staleness compensation for --sync stale (docs/distributed.md): minibatch n's gradient is
// applied S iterations after the forward pass that used θ_n, by then θ has moved on. Three
// published remedies, each a pure function here so that tests can check them by hand:
//
//   momentum  (Mitliagkas et al. 2016, "Asynchrony begets momentum"): a delay of S acts like
//             extra momentum, 1 − 1/(S+1); the explicit momentum is lowered so that the two
//             compose to the configured μ: 1 − μ' = (S+1)(1 − μ), μ' ≥ 0.
//   predict   (weight prediction, SpecTrain / PipeMare): the gradient of minibatch n is
//             computed at θ̂_n = θ_n + S v_n, the optimiser's velocity extrapolated over the S
//             updates that will land before it is applied (one Nesterov step moves θ by about v
//             when the gradient changes slowly).
//   dc        (DC-ASGD-a, Zheng et al. 2017): the stale gradient is corrected by a diagonal,
//             outer-product approximation of the Hessian,
//             g̃ = g + λ g ⊙ g ⊙ (θ_now − θ_stale) / √(m + ε),  m ← ρ m + (1 − ρ) g ⊙ g,
//             λ = --dc-lambda; m is a running mean square (ρ = 0.95) that makes λ scale-free.
//   predict+dc  both: the gradient is computed at θ̂_n, and dc corrects it for θ_now − θ̂_n,
//             the part of the S updates that the velocity did not foresee.
#include <string>

#include "tptt/core/types.hpp"

namespace tptt {

enum class StalenessCompensation { None, Momentum, Predict, DelayCompensated, PredictDc };

StalenessCompensation parse_staleness_compensation(const std::string& name);  // throws UsageError
std::string to_string(StalenessCompensation method);                          // none|momentum|predict|dc|predict+dc

// The explicit momentum that, with the implicit momentum of a delay of S, adds up to μ:
// max(0, 1 − (S+1)(1 − μ)); μ itself for S = 0.
double delay_adjusted_momentum(double momentum, int staleness);

// θ̂ = θ + S v over one optimiser's range. theta, velocity, predicted: (size).
void predict_weights(const ConstVecRef<Scalar>& theta, const ConstVecRef<Scalar>& velocity, int staleness,
                     VecRef<Scalar> predicted);

// DC-ASGD-a over one optimiser's range: updates the mean square m with g, then adds the
// delay compensation to g in place. grad, mean_square, theta_now, theta_stale: (size).
inline constexpr double kDcMeanSquareDecay = 0.95;  // ρ
inline constexpr double kDcEpsilon = 1e-7;          // ε
void delay_compensate(VecRef<Scalar> grad, VecRef<Scalar> mean_square, const ConstVecRef<Scalar>& theta_now,
                      const ConstVecRef<Scalar>& theta_stale, double lambda);

}  // namespace tptt
