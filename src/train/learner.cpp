#include "tptt/train/learner.hpp"

#include "tptt/train/lstm_trainer.hpp"
#include "tptt/train/trainer.hpp"

namespace tptt {

std::unique_ptr<Learner> make_learner(const TrainConfig& config, Communicator& comm) {
  if (config.algorithm == Algorithm::Lstm) return std::make_unique<LstmTrainer>(config, comm);
  return std::make_unique<Trainer>(config, comm);
}

}  // namespace tptt
