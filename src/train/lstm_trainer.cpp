#include "tptt/train/lstm_trainer.hpp"

#include <array>
#include <span>
#include <type_traits>

#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/model/init.hpp"
#include "tptt/model/spectral_radius.hpp"
#include "tptt/train/data_source.hpp"

namespace tptt {

static_assert(std::is_same_v<Scalar, float>, "checkpoint sections of the LSTM are F32");

namespace {

const TrainConfig& checked(const TrainConfig& config, const Communicator& comm) {
  config.validate();
  if (config.algorithm != Algorithm::Lstm)
    throw UsageError("LstmTrainer: --algorithm is " + to_string(config.algorithm) + ", not lstm");
  if (comm.size() > 1)
    throw UsageError("--algorithm lstm: runs on one rank; start it without mpirun -np K>1");
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

ValidationResult LstmTrainer::validate(int length) {
  if (length == 0) length = config_.longest_length();
  // Batches in parallel on the arena's threads; per-batch sums added in batch order, so the
  // result has the same bits for any thread count.
  const int batches = validation_batch_count(config_);
  std::vector<std::array<double, 3>> per_batch(static_cast<std::size_t>(batches));  // errors, summed loss, samples
  const auto evaluate = [&](std::size_t v) {
    const Batch batch = validation_batch(config_, static_cast<int>(v), length);
    const int size = batch.batch;
    // Chunks of at most kChunk sequences keep the state and gate buffers near the core.
    constexpr int kChunk = 250;
    MatF h, c, gates, y;  // (H × chunk), (H × chunk), (4H × chunk), (O × chunk)
    std::array<double, 3> sums{0, 0, static_cast<double>(size)};
    for (int first = 0; first < size; first += kChunk) {
      const int n = std::min(kChunk, size - first);
      lstm_final_state<Scalar>(params_, batch.X, size, first, n, h, c, gates);
      output_forward<Scalar>(params_.Why(), params_.by(), output_kind_, h, y);
      const auto targets = batch.Y.middleCols(first, n);
      sums[0] += count_errors<Scalar>(output_kind_, y, targets);
      sums[1] += summed_loss<Scalar>(output_kind_, y, targets);
    }
    per_batch[v] = sums;
  };
  arena_.for_each_index(per_batch.size(), evaluate);
  double sums[3] = {0, 0, 0};
  for (const auto& r : per_batch)
    for (int j = 0; j < 3; ++j) sums[j] += r[j];
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

std::vector<TensorSlice> LstmTrainer::tensor_slices() const {
  std::vector<TensorSlice> slices;
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
