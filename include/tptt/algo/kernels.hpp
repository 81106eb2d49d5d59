#pragma once
// Stateless kernels over one time segment (see segment.hpp for the indexing). Each is a
// free function over explicit buffers; recurrent state enters and leaves through the
// boundary blocks of Hs, Delta and the (H × B) gradient `dh`, never through hidden state.
//
// Equation numbers are the paper's (docs/method.md §3). Local losses are sums over steps of
// MSE(a, b) = mean over all B·H elements, so their gradients carry 2/(B·H).
#include <algorithm>
#include <vector>

#include "tptt/algo/segment.hpp"
#include "tptt/core/activation.hpp"
#include "tptt/model/params.hpp"

namespace tptt {

// Eq. 1 for t = a..b: h_t = σ(W_xh x_t + W_hh h_{t−1} + b_h). Hs block 0 (h_{a−1}) is set on entry.
// With a range, only local steps [first_step, end_step) (blocks first_step−1 must be done).
template <class S>
void forward_states(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, int first_step = 1, int end_step = -1);

// The per-step work that overlaps a chain (G(x_t, h_t) beside the forward chain; the gradients
// beside the target chain) runs in fixed chunks of kStepChunk steps, whoever computes them, so
// that it gives the same bits on any number of threads.
inline constexpr int kStepChunk = 10;
inline int step_chunks(int steps) { return (steps + kStepChunk - 1) / kStepChunk; }

// Local steps [first, end) of a segment (1-based, as forward_states); end = −1: to the last step.
struct StepRange {
  int first = 1;
  int end = -1;
};
// The steps of chunk c of a segment of n steps.
inline StepRange chunk_steps(int c, int steps) {
  return {c * kStepChunk + 1, std::min(steps, (c + 1) * kStepChunk) + 1};
}

// U = W_xh X, the input term of every step, for all n steps (or, with a range, for local steps
// [first, end) only: each column is the same ordered sum either way). X: (I × n·B) inputs x_a … x_b.
template <class S>
void input_projection(const Params<S>& p, const ConstMatRef<S>& X, SegmentBuffers<S>& seg, StepRange steps = {});

// h_T of whole sequences from h_0 = 0, keeping only two (H × n) state buffers: evaluation of
// large batches without the (H × (T+1)·B) state history. X: (I × T·B) holds a batch of B
// sequences; this runs sequences [first, first + n) of it. h receives their h_T (H × n).
template <class S>
void final_state(const Params<S>& p, Activation act, const ConstMatRef<S>& X, int batch, int first, int n, Mat<S>& h,
                 Mat<S>& scratch);

// Eq. 7 on the forward states: Gh block j−1 = G(x_t, h_t) = σ(W_xh x_t + V_hh h_t + c_h) (and Gz
// its argument), one
// product per chunk of kStepChunk steps; chunks [first_chunk, end_chunk) (all by default).
template <class S>
void feedback_of_states(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, int first_chunk = 0,
                        int end_chunk = -1);

// Eq. 8 from t = b−1 down to a−1, as corrections: ĥ_t = h_t − G(x_{t+1}, h_{t+1}) + G(x_{t+1}, ĥ_{t+1})
// is Δ_t = G(x_{t+1}, h_{t+1} + Δ_{t+1}) − G(x_{t+1}, h_{t+1}) = σ(z + V_hh Δ_{t+1}) − σ(z), evaluated
// without the cancellation of two nearly equal numbers (see activation.hpp). Delta block n (Δ_b)
// is set on entry; Gz, Gh must hold feedback_of_states with the same V_hh, c_h. With a range,
// only local steps j in it, from the last down (Delta block `end` must be done): Δ_{t−1} of
// each, into Delta block j−1.
template <class S>
void propagate_targets(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, StepRange steps = {});

// G phase, eq. 9: L_G = Σ_t MSE(G(x_t, F(x_t, h̃_{t−1})), h̃_{t−1}), h̃ = h + ε.
// Adds ∂L_G/∂V_hh, ∂L_G/∂c_h into grad. `noise` (H × n·B, block j−1 = ε for h_{t−1}) may be
// null (σ = 0): then F(x_t, h_{t−1}) = h_t and G of it is Gh, reused. Returns L_G; per_step
// (if given) is sized n and receives the per-step MSEs. With a range, only those steps' terms:
// ranges added in increasing order of their steps give the bits of one whole pass.
template <class S>
S feedback_gradient(const Params<S>& p, Activation act, const Mat<S>* noise, SegmentBuffers<S>& seg, Params<S>& grad,
                    std::vector<S>* per_step = nullptr, StepRange steps = {});

// Hidden units [first, first + count): a slice of the rows of the hidden layer.
struct RowRange {
  int first = 0;
  int count = -1;  // −1: to the last row
};

// F phase, eq. 10 (and eq. 13 when input_weights_local): L_F = Σ_t MSE(h_t, ĥ_t) = Σ_t MSE(Δ_t, 0),
// h_{t−1}, ĥ_t constant.
// Adds ∂L_F/∂W_hh, ∂L_F/∂b_h (and ∂L_F/∂W_xh) into grad. X as for input_projection. Returns L_F;
// per_step (if given) is sized n and receives the per-step MSEs (of these rows).
// With `rows`, only those hidden units' rows (of the deltas and the gradients) and their share
// of L_F: disjoint row ranges can run as concurrent tasks and their losses add up to L_F. With
// `steps`, only those steps' terms (Delta blocks first … end−1 must be done): a range can run
// as soon as the target chain has passed it.
template <class S>
S forward_local_gradient(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool input_weights_local,
                         SegmentBuffers<S>& seg, Params<S>& grad, std::vector<S>* per_step = nullptr,
                         RowRange rows = {}, StepRange steps = {});

// Backpropagation through the segment's steps. dh (H × B): ∂E/∂h_b on entry, ∂E/∂h_{a−1} on
// exit. Always adds ∂E/∂W_xh (eq. 12); adds ∂E/∂W_hh and ∂E/∂b_h when recurrent_weights (BPTT).
template <class S>
void backprop_through_time(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool recurrent_weights,
                           SegmentBuffers<S>& seg, MatRef<S> dh, Params<S>& grad);

}  // namespace tptt
