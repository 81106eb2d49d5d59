#pragma once
// The state SegmentPipeline keeps per minibatch in flight (private to src/train: the pipeline
// and its checkpoint code share it).
#include <memory>
#include <optional>
#include <vector>

#include "tptt/algo/kernels.hpp"
#include "tptt/train/distributed_modes.hpp"

namespace tptt {

// Columns of micro-batch u when a minibatch of B columns is split into M (sizes differ by at most one).
inline int micro_batch_columns(int B, int M, int u) { return B / M + (u < B % M ? 1 : 0); }

// One micro-batch of an in-flight minibatch: its slice of the data and its segment buffers.
struct SegmentPipeline::MicroBatch {
  int first_col = 0, cols = 0;  // columns of the minibatch it holds
  double weight = 1;            // cols / B: the kernels normalise by cols, the minibatch by B
  MatF X;                       // (I × n·cols) inputs of this segment's steps
  MatF Y;                       // (O × cols) targets (last rank)
  MatF noise;                   // (H × n·cols) ε of the G phase (σ > 0)
  SegmentBuffers<Scalar> seg;
  OutputPass<Scalar> out;  // last rank
  MatF dh;                 // (H × cols) ∂E/∂h at the upper boundary, then the lower one
  // (|θ|) this micro-batch's gradient, before weighting; only when M > 1 (M = 1 writes straight
  // into the minibatch's sum). Its own buffer lets the schedule interleave micro-batches' work.
  std::unique_ptr<Params<Scalar>> grad;
  double cost = 0, loss_g = 0, loss_f = 0;  // this micro-batch's, before weighting
  // The pass's tasks done so far (SegmentPipeline's schedule runs them in any order their
  // dependencies allow): forward chain; last rank: ∂E_u/∂h_T; G(x_t, h_t); the G-phase gradient;
  // the target chain; the ∂E/∂h chain; the F-phase gradient.
  bool forward_done = false, output_done = false, feedback_done = false, g_done = false, targets_done = false,
       chain_done = false, f_done = false;
  // Decoupled (not the last rank): the downstream neighbour's real target correction for the
  // boundary, its real ∂E_u/∂h_b (tptt), and the boundary state h_b, kept until the predictors
  // fold them in.
  MatF real_target;     // (H × cols)
  MatF real_gradient;   // (H × cols) tptt only
  MatF boundary_state;  // (H × cols)
  bool has_real_boundary = false;

  void reset_tasks() {
    forward_done = output_done = feedback_done = g_done = targets_done = chain_done = f_done = false;
    cost = loss_g = loss_f = 0;
  }
};

// A minibatch between its forward pass and the end of its all-reduce.
struct SegmentPipeline::InFlight {
  explicit InFlight(ModelShape shape) : grad(shape) {}
  long iteration = 0;
  SegmentRange range;
  bool did_g = false, did_f = false;
  std::unique_ptr<Params<Scalar>> stash;  // θ of the forward pass (θ̂ predicting): late backward, dc
  std::vector<MicroBatch> micro;
  Params<Scalar> grad;  // this rank's gradient sum, then the all-reduced one
  double cost = 0, loss_g = 0, loss_f = 0;
  std::vector<float> reduce;  // (|θ| + 3) gradient and costs, during the all-reduce
  std::optional<Communicator::ReduceHandle> handle;
  bool backward_done = false, applied = false, folded = false;
  bool g_applied = false;  // reference order: the G update was applied during the backward pass

  const Params<Scalar>& theta(const Params<Scalar>& live) const { return stash ? *stash : live; }

  // Back to the state of a new slot, keeping the allocated buffers (micro, grad, reduce, stash).
  void recycle() {
    iteration = 0;
    range = {};
    did_g = did_f = false;
    cost = loss_g = loss_f = 0;
    handle.reset();
    backward_done = applied = folded = g_applied = false;
    for (MicroBatch& mb : micro) {
      mb.has_real_boundary = false;
      mb.reset_tasks();
    }
  }
};

}  // namespace tptt
