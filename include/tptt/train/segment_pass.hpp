#pragma once
// One (micro-)batch's pass over one time segment, written once. The exact trainer, the
// pipelined, stale and decoupled modes (train/distributed_modes.hpp) and the diagnostics all
// run these two halves; what differs between them is where a boundary value comes from and
// goes to (PassBoundaries) and which parameters the halves read.
//
// Ordering: a boundary value leaves as soon as it exists (h_b right after the forward chain,
// Δ_{a−1} and ∂E/∂h_{a−1} right after their chains), so that a neighbouring segment waits for
// no other work of this one. The work is a set of lanes (core/lanes.hpp): the chains, and the
// products independent over t in fixed chunks of steps (G(x_t, h_t); the G-phase gradient; the
// F-phase gradient in two fixed row ranges, each chunk once the target chain has passed it).
// On one thread the backward half is a list schedule: a chain runs as soon as its message is
// in, and while a message is in flight the work that needs none runs. On two threads the
// forward chain runs on one while the other computes G(x_t, h_t) behind it, and the G-phase
// gradient behind that when the caller moves the G phase there; then the first runs the ∂E/∂h
// chain (over the states it wrote), the second the target chain (over the G(x_t, h_t) it
// wrote) and the F-phase gradient behind it, and both share what is left. Each lane writes its own buffers and gradient
// rows and sums in a fixed order, so the result has the same bits on any number of threads.
#include <functional>
#include <span>
#include <vector>

#include "tptt/algo/kernels.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/core/parallel.hpp"
#include "tptt/train/config.hpp"
#include "tptt/train/learner.hpp"

namespace tptt {

// The parts of the backward half that run, from the algorithm and the phases drawn.
struct PassParts {
  bool targets = false;     // eq. 3 and the target chain (eq. 8)
  bool f_gradient = false;  // the F-phase gradient (eq. 10; eq. 13 with hx): needs the targets, from
                            // this call or an earlier one on the same buffers
  bool chain = false;       // ∂E/∂h through W_hh: eq. 12's W_xh gradient, or BPTT
  bool bptt = false;        // the chain also adds the W_hh, b_h gradients
  bool g_phase = false;     // eq. 9
  bool hx = false;          // TPTT_hx: the F phase trains W_xh as well (eq. 13)
};
PassParts pass_parts(Algorithm algorithm, Phases phases);

// Where the segment's boundary values come from and go to. A null function: no such value
// (the first segment sends nothing back; the last receives no ∂E/∂h_b, dh holds ∂E/∂h_T).
template <class S>
struct PassBoundaries {
  std::function<void(MatRef<S>)> state_in;         // h_{a−1} (H × B); null: h_0 = 0
  std::function<void(ConstMatRef<S>)> state_out;   // h_b to the next segment
  std::function<void(MatRef<S>)> target_in;        // Δ_b (H × B): eq. 3, received or predicted
  std::function<void(MatRef<S>)> gradient_in;      // ∂E/∂h_b (H × B) from the next segment
  std::function<void(ConstMatRef<S>)> target_out;  // Δ_{a−1} to the previous segment
  std::function<void(ConstMatRef<S>)> gradient_out;
  // Whether state_in / target_in / gradient_in would return at once (their message is in).
  // Null: always. On one thread a schedule fills the wait for a message with work that needs none.
  std::function<bool()> state_arrived, target_arrived, gradient_arrived;
  std::function<void()> progress;  // between steps: lets the sends in flight advance
};

template <class S>
struct PassLosses {
  S loss_g = 0, loss_f = 0;
  std::vector<S> g_steps, f_steps;  // per-step MSEs, when asked for (diagnostics)
};

// The G phase (eq. 9) begun in the forward half: each chunk's G-phase gradient behind its
// G(x_t, h_t), on the thread that wrote them, while the chain runs on the other (which the
// forward chain would leave idle), as far as it gets before the chain and G(x_t, h_t) are done;
// the backward half does the chunks left. Same pieces summed in the same order either way, so
// the same bits.
template <class S>
struct ForwardGPhase {
  const Mat<S>* noise = nullptr;  // as feedback_gradient
  Params<S>* grad = nullptr;      // the V_hh, c_h gradients are added here
  int chunks_done = 0;            // out: the chunks of steps done
  S loss = 0;                     // out: their G loss
};

// The forward half: U = W_xh X, h_{a−1} (state_in), eq. 1 for the segment's steps, h_b out
// (state_out); with_feedback: G(x_t, h_t) into Gz, Gh as well, overlapped with the chain on
// two threads, and g_phase (if not null; needs with_feedback) begun behind it. X: (I × n·B);
// seg sized for it.
template <class S>
void segment_forward(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool with_feedback,
                     const PassBoundaries<S>& io, SegmentBuffers<S>& seg, const ThreadArena& arena,
                     ForwardGPhase<S>* g_phase = nullptr);

// The backward half, into grad: the target chain (eq. 8) from Δ_b, the F-phase gradient, the
// G-phase gradient (eq. 9; `noise` as feedback_gradient), the ∂E/∂h chain from dh (H × B: ∂E/∂h_b
// on entry, ∂E/∂h_{a−1} on exit). Gz, Gh must hold G(x_t, h_t) when targets or an un-noised G
// phase run. per_step: also the per-step losses (diagnostics). g_begun (if not null): the G
// phase as segment_forward left it, to be finished (its noise; no per-step losses).
template <class S>
PassLosses<S> segment_backward(const Params<S>& p, Activation act, const ConstMatRef<S>& X, const Mat<S>* noise,
                               PassParts parts, const PassBoundaries<S>& io, SegmentBuffers<S>& seg, MatRef<S> dh,
                               Params<S>& grad, const ThreadArena& arena, bool per_step = false,
                               const ForwardGPhase<S>* g_begun = nullptr);

// The boundary values of rank k's segment as messages to and from ranks k ± 1 (state_tag for
// h_b). The last segment's target_in (eq. 3, or a micro-batch's share of it) is the caller's.
PassBoundaries<float> neighbour_boundaries(Communicator& comm, MessageTag state_tag);

// A block of whole columns of a column-major matrix as one contiguous span (a message).
inline std::span<float> contiguous_span(MatRef<float>& m) { return {m.data(), static_cast<std::size_t>(m.size())}; }
inline std::span<const float> contiguous_span(const ConstMatRef<float>& m) {
  return {m.data(), static_cast<std::size_t>(m.size())};
}

// ε of the G phase for h̃_{t−1}, t in `range`, one stream per global step t, so identical for
// any segmentation. noise: (H × n·B).
void fill_g_noise(const TrainConfig& config, long iteration, const SegmentRange& range, int batch, MatF& noise);

}  // namespace tptt
