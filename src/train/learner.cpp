#include "tptt/train/learner.hpp"

#include "tptt/comm/communicator.hpp"
#include "tptt/core/memory.hpp"
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

std::unique_ptr<Learner> make_learner(const TrainConfig& config, Communicator& comm, long in_flight_minibatches) {
  config.validate();  // the estimate needs valid sizes
  require_memory_fits(estimate_run_memory(config, comm.size(), in_flight_minibatches), available_memory_bytes());

  if (config.algorithm == Algorithm::Lstm) return std::make_unique<LstmTrainer>(config, comm);
  return std::make_unique<Trainer>(config, comm);
}

}  // namespace tptt
