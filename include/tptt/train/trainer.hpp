#pragma once
// One training iteration of BPTT, TPTT or TPTT_hx over this rank's time segment, and the
// validation pass. The single-process trainer is the one-segment case of the same code:
// boundary values come from the communicator's neighbours or, at the ends, from h_0 = 0
// and the loss.
#include <memory>
#include <vector>

#include "tptt/core/parallel.hpp"

#include "tptt/algo/output.hpp"
#include "tptt/algo/segment.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/data/tasks.hpp"
#include "tptt/optim/optimizer.hpp"
#include "tptt/train/config.hpp"
#include "tptt/train/learner.hpp"
#include "tptt/train/segment_pass.hpp"

namespace tptt {

// Buffers of one strand of work (the main iteration, or the concurrent G loop).
struct Workspace {
  explicit Workspace(ModelShape shape) : grad(shape) {}
  Params<Scalar> grad;  // same layout as the parameters
  SegmentBuffers<Scalar> seg;
  OutputPass<Scalar> out;
  MatF dh;                        // (H × B) ∂E/∂h at the segment's upper boundary, then lower
  MatF noise;                     // (H × n·B) ε for the G phase
  std::vector<float> reduce_buf;  // (|θ| + 3) gradient and the three costs, for one all-reduce
};

// The optimiser steps of one iteration (docs/method.md §4): for BPTT one step of θ_F with α (after
// gradient-norm clipping, which scales `grad`), otherwise a step of θ_G with α_g if the G phase
// ran and of θ_F with α_f if the F phase ran. Counts the updates it makes.
void apply_phase_updates(const TrainConfig& config, Phases phases, Params<Scalar>& params, VecF& grad,
                         Optimizer& forward_opt, Optimizer& feedback_opt, long& g_updates, long& f_updates);

class SegmentPipeline;  // train/distributed_modes.hpp
struct MnistData;       // data/mnist.hpp

class Trainer final : public Learner {
 public:
  // A distributed mode other than plain exact (train/distributed_modes.hpp): step() then runs
  // a SegmentPipeline that this Trainer owns, which updates params() with optimiser state of
  // its own. Call before the first step.
  void set_distributed_mode(const DistributedConfig& dist);

  Trainer(const TrainConfig& config, Communicator& comm);
  ~Trainer() override;  // stops the concurrent G loop, if any

  // Iteration n (0-based): the minibatch is a function of (seed, n) alone.
  IterationResult step(long iteration) override;

  // Validation (Learner::validate): the batches of a set are dealt over the ranks, and the
  // result all-reduces their sums (a collective).
  std::shared_ptr<ValidationPass> validation_pass(const ValidationSet& set) const override;
  ValidationResult validation_result(const ValidationPass& pass) override;
  ThreadArena& arena() override { return arena_; }

  Params<Scalar>& params() { return params_; }
  const Params<Scalar>& params() const { return params_; }
  const TrainConfig& config() const override { return config_; }
  OutputKind output_kind() const { return output_kind_; }
  PhaseStats phase_stats() const override;
  AutomaticChoice choose_automatic_options() override;

  VecF& flat_params() override { return params_.flat(); }
  const VecF& flat_params() const override { return params_.flat(); }
  std::vector<TensorSlice> tensor_slices() const override;
  SpectralRadii spectral_radii() const override;
  // Sections "opt_forward", "opt_feedback" (F32) and "phase_counts" (I64: g, f updates); with a
  // pipeline, its state (SegmentPipeline::save_state: in stale and decoupled modes, the work in
  // flight, after settle()). With the concurrent schedule, the G loop's state as of its last
  // published G update (settle() takes it): a valid resume, not a bit-exact one.
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;
  long g_updates() const { return phase_stats().g_updates; }
  long f_updates() const { return phase_stats().f_updates; }

  // The training minibatch of iteration n (same on every rank).
  Batch training_batch(long iteration) const;

  // Drains a distributed mode's messages and all-reduces in flight, and stops the concurrent
  // schedule's G loop and waits for it (idempotent; rethrows the loop's error).
  void finish() override;
  void settle() override;  // the pipeline's settle()
  JsonObject diagnostics(long iteration) const override;

 private:
  struct Concurrent;  // state shared between the F iteration and the G loop

  Phases draw_phases(long iteration) const;
  // The minibatch of an iteration and this rank's segment of it.
  struct SegmentPass {
    Batch batch;
    SegmentRange range;
    ForwardGPhase<Scalar> forward_g{};  // the G phase as the forward half left it (several threads)
    bool g_phase_begun() const { return forward_g.grad != nullptr; }
  };
  // One segment pass, in two halves. begin_pass: the input projection, h_{a−1} from rank k−1,
  // the forward pass, h_b to rank k+1 (with_feedback: also G(x_t, h_t) into Gh, overlapped
  // with the forward pass; with g_phase on several threads also the G-phase gradient behind
  // it, as far as it gets), and on the last rank the output layer (cost, ∂E/∂h_T, its gradient); zeroes ws.grad
  // first. finish_pass: the boundary target and ∂E/∂h_b from rank k+1,
  // the target chain, the eq. 12 chain, the F and G gradients of `phases` into ws.grad, and
  // the boundary values to rank k−1. Both read only `params`, so strands with their own
  // workspaces can run them at the same time.
  SegmentPass begin_pass(long iteration, const Params<Scalar>& params, Workspace& ws, MessageTag state_tag,
                         bool with_feedback, bool g_phase);
  void finish_pass(long iteration, const SegmentPass& pass, Phases phases, const Params<Scalar>& params, Workspace& ws,
                   IterationResult& result);
  // Both halves: the gradients of one iteration over this rank's segment into ws.grad.
  IterationResult compute(long iteration, Phases phases, const Params<Scalar>& params, Workspace& ws,
                          MessageTag state_tag = MessageTag::State);
  // Both phases in the reference order (config phase_order reference).
  IterationResult reference_step(long iteration);
  void forward_segment(const Batch& batch, const SegmentRange& range, const Params<Scalar>& params, Workspace& ws,
                       MessageTag state_tag, bool with_feedback, ForwardGPhase<Scalar>* g_phase = nullptr) const;
  void reduce_feedback_gradient(IterationResult& result, Workspace& ws);
  // Sums the gradients of the phases `which` and the costs over the ranks.
  void reduce_across_ranks(IterationResult& result, Workspace& ws, Phases which);
  void apply_updates(const IterationResult& result);
  IterationResult concurrent_step(long iteration);
  // Checkpoints of the concurrent schedule: the G loop's last published θ_G (into params_)
  // with its optimiser state and update count; and, after a checkpoint was loaded and before
  // the G loop starts, the loop's replica and counters from params_ and the optimisers.
  struct FeedbackSnapshot {
    VecF velocity;
    long g_updates = 0;
  };
  FeedbackSnapshot concurrent_snapshot();
  void restore_concurrent();
  void feedback_loop();
  void stop_concurrent();

  TrainConfig config_;
  Communicator& comm_;
  TaskInfo task_;
  OutputKind output_kind_;
  Params<Scalar> params_;
  Workspace ws_;
  Optimizer forward_opt_;                   // θ_F
  Optimizer feedback_opt_;                  // θ_G (used by the G loop in concurrent mode)
  ThreadArena arena_;                       // this rank's threads (the F strand's, in concurrent mode)
  std::shared_ptr<const MnistData> mnist_;  // task mnist: read at construction (a bad file fails the setup)
  long g_updates_ = 0;
  long f_updates_ = 0;
  std::unique_ptr<Concurrent> concurrent_;
  FeedbackSnapshot concurrent_checkpoint_;     // settle()'s snapshot, for save_state
  std::unique_ptr<SegmentPipeline> pipeline_;  // last: destroyed first, it refers to the members above
};

}  // namespace tptt
