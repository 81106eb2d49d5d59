#pragma once
// One training iteration of BPTT, TPTT or TPTT_hx over this rank's time segment, and the
// validation pass. The single-process trainer is the one-segment case of the same code:
// boundary values come from the communicator's neighbours or, at the ends, from h_0 = 0
// and the loss.
#include <memory>
#include <vector>

#include "tptt/algo/output.hpp"
#include "tptt/algo/segment.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/optim/optimizer.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

struct IterationResult {
  double cost = 0;      // E of the minibatch
  bool did_g = false;   // a G (feedback) update was applied
  bool did_f = false;   // an F (forward) update was applied
  double loss_g = 0;    // L_G summed over all steps (0 if no G phase)
  double loss_f = 0;    // L_F summed over all steps (0 if no F phase)
};

struct ValidationResult {
  double error = 0;  // fraction of misclassified (or out-of-tolerance) samples
  double cost = 0;   // mean loss per sample
};

class Trainer {
 public:
  Trainer(const TrainConfig& config, Communicator& comm);

  // Iteration n (0-based): the minibatch is a function of (seed, n) alone.
  IterationResult step(long iteration);

  // Error and cost on the run's fixed validation set of config.validation_samples sequences
  // of the longest configured length, or of `length` when given.
  ValidationResult validate(int length = 0);

  Params<Scalar>& params() { return params_; }
  const Params<Scalar>& params() const { return params_; }
  const TrainConfig& config() const { return config_; }
  OutputKind output_kind() const { return output_kind_; }
  long g_updates() const { return g_updates_; }
  long f_updates() const { return f_updates_; }

  // The training minibatch of iteration n (same on every rank).
  Batch training_batch(long iteration) const;

 private:
  void forward_segment(const Batch& batch, const SegmentRange& range);
  void fill_noise(long iteration, const SegmentRange& range);
  void reduce_across_ranks(IterationResult& result);
  void apply_updates(const IterationResult& result);

  TrainConfig config_;
  Communicator& comm_;
  TaskInfo task_;
  OutputKind output_kind_;
  Params<Scalar> params_;
  Params<Scalar> grad_;          // same layout as params_
  Optimizer forward_opt_;        // θ_F
  Optimizer feedback_opt_;       // θ_G
  SegmentBuffers<Scalar> seg_;
  OutputPass<Scalar> out_;
  MatF dh_;                      // (H × B) ∂E/∂h at the segment's upper boundary, then lower
  MatF noise_;                   // (H × n·B) ε for the G phase
  std::vector<float> reduce_buf_;  // (|θ| + 3) gradient and the three costs, for one all-reduce
  long g_updates_ = 0;
  long f_updates_ = 0;
};

}  // namespace tptt
