#pragma once
// Decoupled boundaries (--decoupled, docs/distributed.md): a segment does not wait for the
// values its downstream neighbour sends back across the boundary (the target correction
// Δ_b = ĥ_b − h_b and, for TPTT's eq. 12, ∂E/∂h_b); it predicts each from its boundary state
// h_b with a linear map W = [P | p], zero at the start (DNI-style):
//
//   prediction   y = P h_b + p
//   learning     when the real value y of a minibatch arrives, one normalised least-mean-squares
//                step on z = [h_b; 1] over the minibatch's B columns:
//                W ← W + η (y − W z) zᵀ / ‖z‖²,  η = --decoupled-rate in (0, 2), ‖·‖ Frobenius.
//
// Pure functions, so that tests can check a step by hand.
#include "tptt/core/types.hpp"

namespace tptt {

// out = P h + p. W: (rows × (H+1)) [P | p]; h: (H × B); out: (rows × B), a view into the
// caller's buffer (a boundary function's argument).
void predict_from_boundary(const MatF& W, const ConstMatRef<Scalar>& h, MatRef<Scalar>& out);

// One normalised LMS step of W towards the real values y of the boundary states h.
// W: (rows × (H+1)); h: (H × B); y: (rows × B).
void boundary_lms_step(MatF& W, const ConstMatRef<Scalar>& h, const ConstMatRef<Scalar>& y, double rate);

}  // namespace tptt
