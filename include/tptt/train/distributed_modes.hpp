#pragma once
// The synchronisation modes of a distributed run (docs/method.md §8, docs/distributed.md): how the
// K time segments overlap their work across minibatches.
//
//   exact       every rank finishes minibatch n (forward, targets, all-reduce, update) before
//               minibatch n+1 starts: the single-process result for any K.
//   pipelined   exact semantics; the minibatch is split into M micro-batches that flow through
//               the ranks, gradients accumulate, one update per minibatch. On one thread per rank
//               a list schedule interleaves the micro-batches' chains 1F1B-style (a chain whose
//               message is in runs first, the oldest micro-batch first) and fills the waits with
//               the work that needs no message (G(x_t, h_t), the G and F gradients); on several
//               threads the micro-batches run pass after pass, each with its own strands. The same
//               bits either way. --micro-batches auto chooses M (train/micro_batch_choice.hpp).
//   stale(S)    minibatch n's gradient is applied after iteration n+S (exactly S late, on
//               every rank). Rank k runs the backward pass of minibatch n at iteration
//               n + d_k, d_k = min(S, K−1−k), with the parameters θ_n it used forward (kept
//               for S iterations), and all-reduces it without blocking (the all-reduce
//               completes while later forward passes run). So the trajectory is delayed SGD,
//               θ_{n+1} = θ_n − step(g(θ_{n−S}, batch_{n−S})), the same for every K; S = 0 is
//               exact. Replicas stay bitwise identical. --staleness-compensation offsets the
//               delay (train/staleness_compensation.hpp): lowered momentum, the forward and
//               backward passes at θ̂_n = θ_n + S v_n (kept as the stash), and/or the DC-ASGD
//               correction of the gradient for θ_now − θ_n at the update.
//   decoupled   (with exact or stale; tptt and tptt_hx) a segment does not wait for its
//               downstream neighbour: it predicts the values that come back across its boundary
//               from the boundary state h_b (train/boundary_predictor.hpp, DNI-style, zero at
//               start): the target correction Δ̂_b = P h_b + p (Δ_b = ĥ_b − h_b), and for tptt
//               also eq. 12's ∂E/∂h_b ≈ Q h_b + q (of the whole minibatch; a micro-batch's chain
//               starts from it divided by its weight). The real values of minibatch n, which
//               the neighbour still sends, are folded into [P | p] and [Q | q] one iteration
//               later by a normalised least-mean-squares step each. (A stale ∂E/∂h_b, the real
//               one of minibatch n−1, belongs to other sequences: it carries no per-sample
//               information, and measured worse; docs/distributed.md.) bptt is refused: it has
//               no targets, so an upstream segment would learn from the predicted ∂E/∂h alone.
//               Depends on K by design: an ablation.
//
// SegmentPipeline runs these over one rank's segment with the kernels of algo/; it reads the
// configuration, minibatches and parameters of a Trainer and updates the Trainer's
// parameters with optimiser state of its own.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tptt/comm/communicator.hpp"
#include "tptt/optim/optimizer.hpp"
#include "tptt/train/distributed_config.hpp"
#include "tptt/train/segment_pass.hpp"
#include "tptt/train/trainer.hpp"

namespace tptt {

class Checkpoint;  // io/checkpoint.hpp

// A checkpoint that holds gradients in flight (stale, decoupled) cannot resume in `mode`, a
// mode without a pipeline state: UsageError naming the checkpoint's mode.
void require_no_state_in_flight(const Checkpoint& checkpoint, const std::string& mode);

class SegmentPipeline {
 public:
  // `trainer` provides the configuration, the minibatch of each iteration and the parameters
  // (updated in place); its own step() is not used. Throws UsageError for a bad mode.
  SegmentPipeline(Trainer& trainer, const DistributedConfig& dist, Communicator& comm);
  ~SegmentPipeline();
  SegmentPipeline(const SegmentPipeline&) = delete;
  SegmentPipeline& operator=(const SegmentPipeline&) = delete;

  // Iteration n (call with n = 0, 1, 2, … in turn): the forward pass of minibatch n, this
  // rank's backward pass of minibatch n − d_k, and the update with the all-reduced gradient of
  // minibatch n − S. Returns that minibatch's reduced result (cost, local losses, phases), or
  // nothing while n < S (no gradient due yet).
  std::optional<IterationResult> step(long iteration);

  // Completes the work in flight — the backward passes and messages that neighbours expect,
  // the started all-reduces, the real boundary targets on their way (decoupled) — without
  // applying the gradients that are not due yet nor folding in the targets: the run goes on
  // bit for bit as if nothing had happened. Rank 0 then holds the whole in-flight state (the
  // reduced gradients are the same on every rank; the other ranks send it their boundary
  // predictors and targets). Collective: every rank calls it after the same iteration, before
  // a checkpoint is written. Idempotent.
  void settle();
  // settle() after the last step, before MPI is finalised; step() may not follow.
  void drain();

  // After settle(), on rank 0: the optimisers and counters (sections "opt_forward",
  // "opt_feedback", "phase_counts", as Trainer::save_state) and, in stale and decoupled mode,
  // what is in flight: the reduced gradients not applied yet (with θ of their forward pass for
  // dc, and dc's mean square), the boundary predictors and the real targets not folded in yet.
  // load_state on every rank restores it: the run continues bit for bit on the same K. Stale
  // mode may resume on another K; decoupled mode needs the same K (its predictors are per
  // boundary). A checkpoint holding gradients in flight resumes in the same mode only
  // (UsageError otherwise); one without (exact, pipelined) starts any mode with nothing in flight.
  void save_state(Checkpoint& checkpoint) const;
  void load_state(const Checkpoint& checkpoint);

  // --micro-batches auto: measures one micro-batch's costs at every candidate M on this rank,
  // sums them over the ranks (a collective) and keeps the M of the smallest predicted time
  // (train/micro_batch_choice.hpp), the same on every rank. Returns it and a line for the run's
  // output; {0, ""} without auto, or once chosen.
  Learner::AutomaticChoice choose_micro_batches();

  long g_updates() const { return g_updates_; }
  long f_updates() const { return f_updates_; }
  int lag() const { return lag_; }  // d_k of this rank
  const DistributedConfig& dist() const { return dist_; }

 private:
  struct MicroBatch;
  struct InFlight;

  void prepare(InFlight& f);  // phases, segment and micro-batch slices of a new minibatch
  void run_passes(InFlight* fwd, InFlight* bwd);
  void schedule(InFlight* fwd, InFlight* bwd, const PassParts& parts, bool outputs);
  void forward_micro(InFlight& f, MicroBatch& mb, const PassBoundaries<Scalar>& io);
  void backward_micro(InFlight& f, MicroBatch& mb, const PassParts& todo);
  void run_output_backward(InFlight& f, MicroBatch& mb);
  void run_feedback_of_states(InFlight& f, MicroBatch& mb);
  void accumulate(InFlight& f);
  PassBoundaries<Scalar> boundaries(const MicroBatch& mb, int n);
  void start_reduce(InFlight& f);
  void complete_reduce(InFlight& f);  // waits for f's all-reduce and takes the reduced values
  IterationResult finish_reduce(InFlight& f);
  void apply(const InFlight& f);
  void apply_feedback_update_now(InFlight& f);      // reference order
  void fold_in_real_boundary(InFlight& f);          // decoupled: train the boundary predictors
  void receive_real_boundary(InFlight& f);          // decoupled: keep the neighbour's real values of f
  bool has_real_boundary(const InFlight& f) const;  // they were sent (F phase, backward done)
  void gather_boundary_state();                     // decoupled: every rank's predictor and targets to rank 0
  void predict_optimizer_range(const Optimizer& opt, Eigen::Index first, Params<Scalar>& out) const;
  InFlight* find(long iteration);
  void retire(long iteration);

  Trainer& trainer_;
  const TrainConfig& config_;
  DistributedConfig dist_;
  Communicator& comm_;
  Params<Scalar>& params_;
  Optimizer forward_opt_;   // θ_F
  Optimizer feedback_opt_;  // θ_G
  int lag_ = 0;
  long next_iteration_ = 0;
  bool position_known_ = false;  // next_iteration_ set by a step or by a checkpoint's work in flight
  bool drained_ = false;
  std::deque<std::unique_ptr<InFlight>> in_flight_;  // by iteration, oldest first
  // Retired slots, reused by later minibatches: their buffers keep their sizes, so a steady run
  // allocates (and page-faults) nothing per iteration.
  std::vector<std::unique_ptr<InFlight>> spare_;
  // Decoupled boundary predictors (train/boundary_predictor.hpp), empty if unused: of the target
  // correction Δ_b, and (tptt) of ∂E/∂h_b.
  MatF target_predictor_;    // (H × (H+1)) [P | p]
  MatF gradient_predictor_;  // (H × (H+1)) [Q | q], tptt only
  // Rank 0 after settle() (decoupled): boundary k's predictor and unfolded targets, k < K−1,
  // as the checkpoint section boundary_state lays them out.
  std::vector<VecF> gathered_boundaries_;
  bool predicts_ = false;     // --staleness-compensation predict with S > 0
  bool compensates_ = false;  // --staleness-compensation dc with S > 0
  VecF dc_mean_square_;       // (|θ|) DC-ASGD's running mean square of the gradient; empty if unused
  long g_updates_ = 0;
  long f_updates_ = 0;
};

}  // namespace tptt
