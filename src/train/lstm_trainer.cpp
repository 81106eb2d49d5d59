#include "tptt/train/lstm_trainer.hpp"

#include <array>
#include <span>
#include <type_traits>

#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/model/init.hpp"
#include "tptt/model/spectral_radius.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/validation.hpp"

namespace tptt {

static_assert(std::is_same_v<Scalar, float>, "checkpoint sections of the LSTM are F32");

namespace {

const TrainConfig& checked(const TrainConfig& config, const Communicator& comm) {
  config.validate();
  if (config.algorithm != Algorithm::Lstm)
    throw UsageError("LstmTrainer: --algorithm is " + to_string(config.algorithm) + ", not lstm");
  if (comm.size() > 1) throw UsageError("--algorithm lstm: runs on one rank; start it without mpirun -np K>1");
  return config;
}

ModelShape shape_of(const TrainConfig& config) {
  const TaskInfo task = task_info(config.task);
  return {task.inputs, config.hidden, task.outputs};
}

}  // namespace

LstmTrainer::LstmTrainer(const TrainConfig& config, Communicator& comm)
    : config_(checked(config, comm)),
      output_kind_(task_info(config.task).regression ? OutputKind::Linear : OutputKind::Softmax),
      params_(shape_of(config)),
      grad_(params_.shape()),
      optimizer_(config.optimizer, params_.layout().size(), static_cast<Scalar>(config.momentum)),
      arena_(config.threads) {
  initialise(params_, config_.init, config_.init_std, config_.seed);
}

IterationResult LstmTrainer::step(long iteration) {
  const Batch batch = training_batch(config_, iteration);
  IterationResult result;
  result.did_f = true;
  result.cost = lstm_gradient<Scalar>(params_, output_kind_, batch.X, batch.Y, ws_, grad_);
  clip_gradient_norm<Scalar>(grad_.flat(), config_.clip_norm);
  optimizer_.step(params_.flat(), grad_.flat(), static_cast<Scalar>(config_.lr));
  ++updates_;
  return result;
}

std::shared_ptr<ValidationPass> LstmTrainer::validation_pass(const ValidationSet& set) const {
  const auto params = std::make_shared<const LstmParams<Scalar>>(params_);  // later updates do not touch it
  return std::make_shared<ValidationPass>(
      config_, set, output_kind_, 0, 1, [params, kind = output_kind_](const Batch& batch, int first, int n, MatF& y) {
        MatF h, c, gates;  // (H × n), (H × n), (4H × n)
        lstm_final_state<Scalar>(*params, batch.X, batch.batch, first, n, h, c, gates);
        output_forward<Scalar>(params->Why(), params->by(), kind, h, y);
      });
}

std::vector<TensorSlice> LstmTrainer::tensor_slices() const {
  std::vector<TensorSlice> slices;
  slices.reserve(std::size(kAllLstmTensors));
  for (LstmTensor t : kAllLstmTensors)
    slices.push_back({lstm_tensor_name(t), params_.layout().offset(t), params_.layout().count(t)});
  return slices;
}

SpectralRadii LstmTrainer::spectral_radii() const {
  const Eigen::Index H = params_.hidden();
  const MatF whg = params_.Wh().middleRows(params_.gate_row(Gate::Candidate), H);  // (H × H)
  return {spectral_radius<Scalar>(ConstMatMap<Scalar>(whg.data(), H, H)), 0.0};
}

PhaseStats LstmTrainer::phase_stats() const {
  PhaseStats stats;
  stats.f_updates = updates_;
  return stats;
}

void LstmTrainer::save_state(Checkpoint& checkpoint) const {
  const VecF& velocity = optimizer_.state();
  checkpoint.put_f32("opt_forward", std::span<const float>(velocity.data(), static_cast<std::size_t>(velocity.size())));
  checkpoint.put_int("lstm_updates", updates_);
}

void LstmTrainer::load_state(const Checkpoint& checkpoint) {
  // Both sections are read and checked before either is applied: a bad checkpoint leaves the
  // learner as it was.
  VecF velocity(optimizer_.state().size());
  checkpoint.get_f32_into("opt_forward", std::span<float>(velocity.data(), static_cast<std::size_t>(velocity.size())));
  const std::int64_t updates = checkpoint.get_int("lstm_updates");
  if (updates < 0)
    throw FileError("checkpoint '" + checkpoint.source() + "': section 'lstm_updates' holds " +
                    std::to_string(updates) + ", expected a count of updates (>= 0)");
  optimizer_.state() = velocity;
  updates_ = static_cast<long>(updates);
}

}  // namespace tptt
