#include "tptt/train/data_source.hpp"

#include <algorithm>

#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/data/mnist.hpp"

namespace tptt {

namespace {

// mnist validates on the test set (its first validation_samples images): at most all of it.
int validation_samples(const TrainConfig& config) {
  if (config.task == TaskKind::Mnist)
    return std::min(config.validation_samples, shared_mnist(config.data_dir)->test.count);
  return config.validation_samples;
}

}  // namespace

Batch training_batch(const TrainConfig& config, long iteration) {
  if (config.task == TaskKind::Mnist)
    return mnist_training_batch(*shared_mnist(config.data_dir), config.seed, iteration, config.batch);
  int length = config.length;
  if (config.varying_length()) {
    CounterRng pick(config.seed, RngPurpose::Length, static_cast<std::uint64_t>(iteration));
    length = config.min_length + pick.below(config.max_length - config.min_length + 1);
  }
  CounterRng rng(config.seed, RngPurpose::TrainData, static_cast<std::uint64_t>(iteration));
  return generate_batch(config.task, length, config.batch, rng);
}

int validation_batch_count(const TrainConfig& config) {
  return (validation_samples(config) + config.validation_batch - 1) / config.validation_batch;
}

int validation_batch_size(const TrainConfig& config, int v) {
  return std::min(config.validation_batch, validation_samples(config) - v * config.validation_batch);
}

Batch validation_batch(const TrainConfig& config, int v, const ValidationSet& set) {
  const int size = validation_batch_size(config, v);
  const int length = set.length > 0 ? set.length : config.longest_length();
  if (config.task == TaskKind::Mnist) {
    if (length != kMnistPixels)
      throw UsageError("task mnist validates at its fixed length 784, not " + std::to_string(length));
    return mnist_test_batch(*shared_mnist(config.data_dir), v * config.validation_batch, size);
  }
  const auto batch_index = static_cast<std::uint64_t>(v);
  const auto draw = static_cast<std::uint64_t>(set.draw);
  if (set.purpose == ValidationSet::Purpose::Evaluation) {
    CounterRng rng(config.seed, RngPurpose::EvaluationData, draw, batch_index);
    return generate_batch(config.task, length, size, rng, set.markers);
  }
  if (config.validation == ValidationMode::Fixed) {
    CounterRng rng(config.seed, RngPurpose::ValidationData, batch_index);
    return generate_batch(config.task, length, size, rng);
  }
  CounterRng rng(config.seed, RngPurpose::FreshValidationData, draw, batch_index);
  return generate_batch(config.task, length, size, rng);
}

std::string validation_stream_name(const TrainConfig& config, const ValidationSet& set) {
  if (config.task == TaskKind::Mnist) return "test set";
  if (set.purpose == ValidationSet::Purpose::Evaluation) return "evaluation";
  return to_string(config.validation);
}

}  // namespace tptt
