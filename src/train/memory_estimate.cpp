#include "tptt/train/memory_estimate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tptt/core/error.hpp"
#include "tptt/data/mnist.hpp"

namespace tptt {

namespace {

constexpr double kScalarBytes = sizeof(Scalar);
constexpr double kMnistImageCount = 70000;  // the standard training and test sets
constexpr double kMnistTestCount = 10000;
constexpr double kProgramBytes = 10 * 1024 * 1024;  // resident code and libraries (measured: 8–10 MiB)
constexpr double kValidationChunk = 250;  // sequences per state buffer of a validation pass (Trainer::validate)

std::string gib(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

}  // namespace

MemoryEstimate estimate_run_memory(const TrainConfig& config, int ranks, long in_flight) {
  const TaskInfo task = task_info(config.task);
  const bool lstm = config.algorithm == Algorithm::Lstm;
  const bool mnist = config.task == TaskKind::Mnist;
  const double H = config.hidden, I = task.inputs, O = task.outputs, B = config.batch;
  // The adding task draws l up to 10% above the requested length; mnist's is 784.
  const double T = std::floor(config.longest_length() * (config.task == TaskKind::Adding ? 1.1 : 1.0));
  const double n = std::ceil(T / std::max(1, ranks));  // this rank's segment
  const bool concurrent = config.schedule == Schedule::Concurrent;
  const double flights = std::max(1.0, static_cast<double>(in_flight));

  MemoryEstimate e;
  const auto add = [&](std::string what, double scalars_or_bytes, double unit) {
    e.parts.push_back({std::move(what), scalars_or_bytes * unit});
  };

  // θ; its gradient; the all-reduce buffer; the protocol's copy before each check's last
  // iteration; the optimisers' velocity (Nesterov); the concurrent schedule's published θ_F, θ_G
  // and the G loop's gradient.
  const double params = lstm ? 4 * H * (I + H + 1) + O * (H + 1) : H * I + 2 * H * H + 2 * H + O * H + O;
  const double copies = 4 + (config.optimizer == OptimizerKind::Nesterov ? 1 : 0) + (concurrent ? 3 : 0);
  add("parameters, gradient, optimiser state and copies (" + std::to_string(static_cast<int>(copies)) + " × |θ|)",
      copies * params, kScalarBytes);
  // random_orthogonal: the thin SVD of an H × H double matrix (input, U, V, U·Vᵀ and the
  // solver's work space: 9 H² doubles at the measured peak).
  if (config.init == InitScheme::Orthogonal) add("orthogonal initialisation (SVD of H × H in double)", 9 * H * H, 8);
  add("program and libraries", kProgramBytes, 1);

  // Per-step buffers of the segment: SRN U, Gh, Dg, Df, Dz (n·B columns) and Hs, Ht ((n+1)·B),
  // with --noise also Gn, Hn, Fn and ε; LSTM A, D (4H rows), Hs, Cs, Tc.
  const double per_column = lstm ? 11 * H : (7 + (config.noise > 0 ? 4 : 0)) * H;
  const double strands = concurrent ? 2 : 1;
  add("per-step buffers (H × (T+1)·B, several)", per_column * (n + 1) * B * strands * flights, kScalarBytes);
  add("training minibatch (I × T·B)", (I * T * B + O * B) * flights, kScalarBytes);

  // Validation: as many batches at once as threads; each its inputs and two state buffers of at
  // most kValidationChunk sequences (the LSTM also its 4H gates).
  const double samples = mnist ? std::min<double>(config.validation_samples, kMnistTestCount)
                               : config.validation_samples;
  const double vbatch = std::min<double>(config.validation_batch, samples);
  const double at_once = std::min<double>(config.threads, std::ceil(samples / vbatch));
  const double chunk = std::min(vbatch, kValidationChunk);
  add("validation batches (I × T·validation-batch, one per thread)",
      at_once * (I * T * vbatch + O * vbatch + (lstm ? 6 : 2) * H * chunk), kScalarBytes);
  if (mnist) add("MNIST images", kMnistImageCount * (kMnistPixels + 1), 1);

  std::sort(e.parts.begin(), e.parts.end(), [](const MemoryPart& a, const MemoryPart& b) { return a.bytes > b.bytes; });
  for (const MemoryPart& p : e.parts) e.bytes += p.bytes;
  return e;
}

void require_memory_fits(const MemoryEstimate& estimate, double available_bytes) {
  if (available_bytes <= 0 || estimate.bytes <= available_bytes) return;
  std::string largest;
  for (std::size_t i = 0; i < std::min<std::size_t>(2, estimate.parts.size()); ++i)
    largest += (i ? "; " : "") + estimate.parts[i].what + " " + gib(estimate.parts[i].bytes);
  char bytes[32];
  std::snprintf(bytes, sizeof bytes, "%.4g", estimate.bytes);
  throw UsageError("memory: the run needs an estimated " + std::string(bytes) + " bytes (" + gib(estimate.bytes) +
                   ") per process but " + gib(available_bytes) + " are available (largest: " + largest +
                   "); reduce --hidden, --batch, --length, --validation-batch or --threads");
}

}  // namespace tptt
