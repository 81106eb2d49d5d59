#pragma once
// Training checkpoints: everything a stopped run needs to continue bit for bit, in the named
// sections of io/checkpoint — the effective configuration (as the INI text `--config` reads),
// the parameters, the learner's optimiser state and counters, and the protocol's progress.
// The data position is the iteration itself (a minibatch is a function of (seed, n)), and
// every rank holds the same replica, so a checkpoint written by K ranks resumes on any K'.
#include <memory>
#include <string>
#include <vector>

#include "tptt/app/options.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/train/learner.hpp"
#include "tptt/train/protocol.hpp"

namespace tptt {

Checkpoint make_training_checkpoint(const TrainCommand& command, const Learner& learner,
                                    const ProtocolProgress& progress);
// Loads parameters, learner state and progress; FileError naming the checkpoint when a
// section is missing or does not fit the learner's shapes.
ProtocolProgress restore_training_checkpoint(const Checkpoint& checkpoint, Learner& learner);

// A trained model from a checkpoint file: its stored configuration with `overrides`
// (train-command arguments, e.g. {"--length", "200"}) applied on top, the learner built on
// `comm`, and the stored parameters loaded. Throws FileError (unreadable or damaged file)
// or UsageError (a bad override).
struct LoadedModel {
  TrainCommand command;
  std::unique_ptr<Learner> learner;
  long iteration = 0;  // iterations the model was trained for
};
LoadedModel load_model(const std::string& path, const std::vector<std::string>& overrides, Communicator& comm);

}  // namespace tptt
