#pragma once
// The data of a run (SPEC §6, §8): the training minibatch of iteration n and the fixed
// validation set, each a function of the configuration (task, lengths, seed) alone, so that
// every learner (SRN or LSTM), rank and thread sees the same sequences without messages.
#include "tptt/data/tasks.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

// The minibatch of iteration n (0-based): config.batch sequences of config.length, or of a
// length drawn per iteration from [min_length, max_length].
Batch training_batch(const TrainConfig& config, long iteration);

// The validation set: config.validation_samples sequences in batches of config.validation_batch
// (the last holds the rest); batch v is drawn from its own stream, so batches can be generated
// in any order and on any thread. Task mnist: the test set in file order (validation_samples
// capped at its size), so the validation error is 1 − test accuracy; its data are read once
// per process (data/mnist.hpp, shared_mnist).
int validation_batch_count(const TrainConfig& config);
Batch validation_batch(const TrainConfig& config, int v, int length);

}  // namespace tptt
