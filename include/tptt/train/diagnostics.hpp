#pragma once
// The diagnostics the paper plots (docs/method.md §6, Fig. 5 and Fig. 6) for one minibatch: per-step
// local losses of the G and F phases, and the angle between the TPTT and the BPTT update of
// W_hh (and of W_xh for TPTT_hx). Computed on the whole sequence as one segment, with no
// communication: every rank holds the full parameters, so rank 0 can do it alone.
//
// Semantics:
// - The kernels run in double (parameters and inputs are converted): the angle between two
//   nearly parallel directions and the per-step losses should not carry float rounding (the
//   F-phase differences h_t − ĥ_t are often ~1e-4 of h_t). Cost: about 5 passes over the
//   sequence, several times a float training iteration (Eigen's double tanh is scalar), far
//   below one validation of 10,000 samples.
// - No G-phase noise (σ = 0): L_G is the deterministic loss of the current θ_G, eq. 9 with
//   F(x_t, h_{t−1}) = h_t, over t = 1..T including h_0 as the trainer does.
// - The first target uses config.alpha_i (eq. 3), the targets eq. 8 with the current V_hh, c_h.
// - Angles are between raw gradients (∂L_F/∂W vs ∂E/∂W), not the optimiser's momentum-shaped
//   steps; with plain SGD they equal the angle between the updates −α·g.
// - An angle is undefined when either direction is zero (e.g. T = 1, where h_0 = 0 makes both
//   W_hh gradients vanish): it is reported as empty (JSON null), never NaN.
// - Algorithm bptt has no TPTT direction: only grad_norm_bptt_whh is computed; the TPTT keys
//   are absent from to_json().
#include <optional>
#include <span>
#include <vector>

#include "tptt/data/tasks.hpp"
#include "tptt/io/json.hpp"
#include "tptt/model/params.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

struct Diagnostics {
  Algorithm algorithm = Algorithm::Tptt;
  // Fig. 5: degrees between ∂L_F/∂W_hh (eq. 10) and ∂E/∂W_hh; empty for bptt or a zero direction.
  std::optional<double> angle_whh_deg;
  // tptt_hx only: degrees between ∂L_F/∂W_xh (eq. 13) and ∂E/∂W_xh. (For tptt, eq. 12 *is* the
  // BPTT gradient, so the angle would be 0 by construction.)
  std::optional<double> angle_wxh_deg;
  double grad_norm_tptt_whh = 0;  // ‖∂L_F/∂W_hh‖ (Frobenius); not for bptt
  double grad_norm_bptt_whh = 0;  // ‖∂E/∂W_hh‖
  // Fig. 6: per-step MSEs (over B·H) of the local losses, index t−1 for t = 1..T; empty for bptt.
  std::vector<double> loss_g_steps;  // L_G term of step t: MSE(G(x_t, h_t), h_{t−1})   (eq. 9)
  std::vector<double> loss_f_steps;  // L_F term of step t: MSE(h_t, ĥ_t)                (eq. 10)

  // Keys: angle_whh_deg, angle_wxh_deg (tptt_hx), grad_norm_tptt_whh, grad_norm_bptt_whh,
  // loss_g_steps, loss_f_steps (arrays, written with float digits). An undefined angle is null;
  // bptt writes only grad_norm_bptt_whh.
  JsonObject to_json() const;
};

// Diagnostics of `params` (the trainer's full θ_F and θ_G) on one minibatch. Reads the task
// (output layer and loss), activation, algorithm and alpha_i from config; the sizes from
// params and batch. Does not touch the trainer's state. Throws UsageError for algorithm lstm
// (not an SRN: these diagnostics do not apply).
Diagnostics compute_diagnostics(const TrainConfig& config, const Params<Scalar>& params, const Batch& batch);

// arccos(⟨a, b⟩ / (‖a‖ ‖b‖)) in degrees, in [0, 180], computed in double in a form that stays
// accurate near 0° and 180°. Empty when either vector is zero (the angle is undefined), not
// finite, or the sizes differ.
std::optional<double> angle_degrees(std::span<const double> a, std::span<const double> b);

}  // namespace tptt
