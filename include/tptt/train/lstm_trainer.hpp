#pragma once
// The LSTM baseline of the paper (docs/method.md §7, Table 5) as a Learner: full BPTT (algo/lstm.hpp)
// with Nesterov or SGD at --lr, optional gradient-norm clipping (--clip), on the same
// minibatches and the same fixed validation set as the SRN Trainer (train/data_source.hpp).
// One rank; the validation batches run in parallel on the rank's threads.
#include "tptt/algo/lstm.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/core/parallel.hpp"
#include "tptt/optim/optimizer.hpp"
#include "tptt/train/learner.hpp"

namespace tptt {

class LstmTrainer final : public Learner {
 public:
  // Throws UsageError when config is invalid, its algorithm is not lstm, or comm has more
  // than one rank.
  LstmTrainer(const TrainConfig& config, Communicator& comm);

  IterationResult step(long iteration) override;
  // Validation (Learner::validate): the same bits for any thread count.
  std::shared_ptr<ValidationPass> validation_pass(const ValidationSet& set) const override;
  ThreadArena& arena() override { return arena_; }
  const TrainConfig& config() const override { return config_; }

  VecF& flat_params() override { return params_.flat(); }
  const VecF& flat_params() const override { return params_.flat(); }
  std::vector<TensorSlice> tensor_slices() const override;  // W_x, W_h, b, W_hy, b_y
  // recurrent: ρ(W_hg), the candidate block of W_h — the one square map h_{t−1} → cell input,
  // the LSTM's counterpart of the SRN's W_hh (the stacked 4H×H W_h has no eigenvalues).
  // feedback: 0 (no feedback function).
  SpectralRadii spectral_radii() const override;
  PhaseStats phase_stats() const override;  // f_updates = updates made

  // Sections "opt_forward" (F32, the optimiser's velocity; empty for SGD) and "lstm_updates"
  // (I64, one value).
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

  LstmParams<Scalar>& params() { return params_; }
  const LstmParams<Scalar>& params() const { return params_; }
  OutputKind output_kind() const { return output_kind_; }
  long updates() const { return updates_; }

 private:
  TrainConfig config_;
  OutputKind output_kind_;
  LstmParams<Scalar> params_;
  LstmParams<Scalar> grad_;  // same layout as params_
  LstmWorkspace<Scalar> ws_;
  Optimizer optimizer_;
  ThreadArena arena_;
  long updates_ = 0;
};

}  // namespace tptt
