#pragma once
// The memory one rank of a training run will allocate, estimated from its configuration alone,
// so that a run that cannot fit is refused before it allocates anything (exit 2, naming the
// options that size it) instead of dying of std::bad_alloc or the OOM killer mid-run.
#include <string>
#include <vector>

#include "tptt/train/config.hpp"

namespace tptt {

struct MemoryPart {
  std::string what;  // e.g. "segment buffers (H × (T+1)·B)"
  double bytes = 0;
};

struct MemoryEstimate {
  double bytes = 0;               // the sum of the parts
  std::vector<MemoryPart> parts;  // largest first
};

// Bytes one rank of `ranks` holds at its peak: parameters with their gradient, optimiser and
// snapshot copies; the initialisation's SVD; the per-step buffers of its segment of ⌈T/K⌉ steps
// (times `in_flight` minibatches, the pipeline of --sync stale; twice for the concurrent
// schedule's second strand); the training minibatch; the validation batches that run at once on
// its threads; the MNIST images; the program itself. Within a few % of the measured peak
// resident memory where the buffers dominate (docs/performance.md). Doubles throughout: no
// overflow for any int-sized option. `config` must be valid.
MemoryEstimate estimate_run_memory(const TrainConfig& config, int ranks = 1, long in_flight = 1);

// UsageError when the estimate exceeds `available_bytes` (core/memory.hpp; 0 = unknown: no
// check). The message gives both figures, the largest parts and the options that size them.
void require_memory_fits(const MemoryEstimate& estimate, double available_bytes);

}  // namespace tptt
