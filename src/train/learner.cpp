#include "tptt/train/learner.hpp"

#include "tptt/comm/communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/memory.hpp"
#include "tptt/train/distributed_modes.hpp"
#include "tptt/train/lstm_trainer.hpp"
#include "tptt/train/memory_estimate.hpp"
#include "tptt/train/trainer.hpp"
#include "tptt/train/validation.hpp"

namespace tptt {

ValidationResult Learner::validate(const ValidationSet& set) {
  const std::shared_ptr<ValidationPass> pass = validation_pass(set);
  pass->run(arena());
  return validation_result(*pass);
}

ValidationResult Learner::validation_result(const ValidationPass& pass) {
  const std::array<double, 3> sums = pass.sums();  // errors, summed loss, samples
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

JsonObject Learner::diagnostics(long) const {
  throw UsageError("--diagnostics: not available for --algorithm " + to_string(config().algorithm));
}

std::unique_ptr<Learner> make_learner(const TrainConfig& config, Communicator& comm, const DistributedConfig& dist) {
  config.validate();  // the estimate needs valid sizes
  const long in_flight_minibatches = static_cast<long>(dist.delay()) + 1;
  require_memory_fits(estimate_run_memory(config, comm.size(), in_flight_minibatches), available_memory_bytes());

  if (config.algorithm == Algorithm::Lstm) {
    if (!dist.is_plain_exact()) throw UsageError("--sync/--micro-batches/--decoupled: for the SRN algorithms only");
    return std::make_unique<LstmTrainer>(config, comm);
  }
  auto trainer = std::make_unique<Trainer>(config, comm);
  if (!dist.is_plain_exact()) {
    if (config.schedule == Schedule::Concurrent)
      throw UsageError("--schedule concurrent runs with --sync exact only (its G loop has no pipeline)");
    trainer->set_distributed_mode(dist);
  }
  return trainer;
}

}  // namespace tptt
