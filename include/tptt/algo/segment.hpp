#pragma once
// A time segment: the contiguous global steps a..b of an unrolled SRN, with explicit boundary
// values in and out. The single-process trainer is the one-segment case (a = 1, b = T).
//
// Local indexing: local step j = 1..n is global step t = a − 1 + j.
//   U, Gz, Gh, Dg, Df, Dz : block j−1 belongs to step t   (n blocks)
//   Hs, Delta : block j   holds h_t / Δ_t, block 0 holds h_{a−1} / Δ_{a−1}   (n+1 blocks)
// Targets are carried as corrections Δ_t = ĥ_t − h_t: a first-target step far below the
// float32 spacing of h (α_i = 1e-7) survives, where ĥ_t itself would round back to h_t.
// Block k of a matrix is middleCols(k·B, B).
#include "tptt/core/types.hpp"

namespace tptt {

struct SegmentRange {
  int first = 1;  // a (global, 1-based)
  int last = 0;   // b
  int steps() const { return last - first + 1; }
};

// Segment of rank k of K over T steps: contiguous, lengths differ by at most one, the
// longer segments first. Requires 1 ≤ K ≤ T.
SegmentRange segment_of(int total_steps, int segments, int index);

template <class S>
struct SegmentBuffers {
  int hidden = 0, steps = 0, batch = 0;  // H, n, B
  Mat<S> U;                              // (H × n·B)      W_xh x_t (no bias)
  Mat<S> Hs;                             // (H × (n+1)·B)  h_{a−1} … h_b
  Mat<S> Gz;                             // (H × n·B)      W_xh x_t + V_hh h_t + c_h, the argument of G(x_t, h_t)
  Mat<S> Gh;                             // (H × n·B)      G(x_t, h_t)
  Mat<S> Delta;                          // (H × (n+1)·B)  target corrections Δ_{a−1} … Δ_b, Δ_t = ĥ_t − h_t
  // Per-step deltas, one buffer per phase so that the phases can run as concurrent tasks.
  Mat<S> Dg;  // (H × n·B)      G-phase errors, scaled by σ'
  Mat<S> Df;  // (H × n·B)      F-phase errors, scaled by σ'; the rows [r, r + m) of a row range are stored
              //                as a compact (m × n·B) matrix at offset r·n·B (forward_local_gradient)
  Mat<S> Dz;  // (H × n·B)      BPTT ∂E/∂z_t
  Mat<S> Gn;  // (H × n·B)      G(x_t, F(x_t, h̃_{t−1}))              (G phase with noise)
  Mat<S> Hn;  // (H × n·B)      noisy states h̃_{t−1} = h_{t−1} + ε (G phase with noise)
  Mat<S> Fn;  // (H × n·B)      F(x_t, h̃_{t−1})                     (G phase with noise)

  // Sizes the buffers; reallocates only when a dimension changes.
  void resize(int hidden_size, int segment_steps, int batch_size);

  auto block(Mat<S>& m, int k) { return m.middleCols(static_cast<Eigen::Index>(k) * batch, batch); }
  auto block(const Mat<S>& m, int k) const { return m.middleCols(static_cast<Eigen::Index>(k) * batch, batch); }
  // The n blocks of Hs holding h_{a−1} … h_{b−1} (previous states) and h_a … h_b (states).
  auto previous_states() const { return Hs.leftCols(static_cast<Eigen::Index>(steps) * batch); }
  auto states() const { return Hs.rightCols(static_cast<Eigen::Index>(steps) * batch); }
};

}  // namespace tptt
