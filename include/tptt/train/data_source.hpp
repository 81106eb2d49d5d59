#pragma once
// The data of a run (docs/method.md): the training minibatch of iteration n and the validation
// sets, each a function of the configuration (task, lengths, seed) and a counter alone, so
// that every learner (SRN or LSTM), rank and thread sees the same sequences without messages.
#include "tptt/data/tasks.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

// The minibatch of iteration n (0-based): config.batch sequences of config.length, or of a
// length drawn per iteration from [min_length, max_length].
Batch training_batch(const TrainConfig& config, long iteration);

// Which sequences one validation pass evaluates.
struct ValidationSet {
  enum class Purpose { Check, Evaluation };
  int length = 0;                    // sequence length; 0: the longest configured length
  long draw = 0;                     // Check with --validation fresh: the set's index (the check's iteration)
  Purpose purpose = Purpose::Check;  // Evaluation: a stream disjoint from training and checks
  MarkerLayout markers{};            // Evaluation: where the markers fall (data/tasks.hpp); default: the task's own
};

// A validation set: config.validation_samples sequences in batches of config.validation_batch
// (the last holds the rest); batch v is drawn from its own stream, so batches can be generated
// in any order and on any thread. Streams: a check of --validation fixed uses batch v's stream
// of the run (the same at every check), of fresh the stream (draw, v); an evaluation the
// stream (draw, v) of a purpose of its own. Task mnist: always the test set in file order
// (validation_samples capped at its size), so the validation error is 1 − test accuracy; its
// data are read once per process (data/mnist.hpp, shared_mnist).
int validation_batch_count(const TrainConfig& config);
int validation_batch_size(const TrainConfig& config, int v);  // sequences in batch v
Batch validation_batch(const TrainConfig& config, int v, const ValidationSet& set);
// The name of the set's stream for reports: "test set", "fixed", "fresh", "evaluation".
std::string validation_stream_name(const TrainConfig& config, const ValidationSet& set);

}  // namespace tptt
