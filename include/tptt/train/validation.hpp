#pragma once
// One validation pass of a learner: the batches of a validation set, evaluated in parallel on
// a rank's threads, summed in batch order (the same bits for any number of threads).
#include <array>
#include <functional>
#include <vector>

#include "tptt/algo/output.hpp"
#include "tptt/core/parallel.hpp"
#include "tptt/train/data_source.hpp"

namespace tptt {

// Evaluates sequences [first, first + n) of `batch` (B sequences of T steps): y receives their
// outputs (O × n).
using ChunkOutputs = std::function<void(const Batch& batch, int first, int n, MatF& y)>;

// (errors, summed loss, samples) over the validation batches `batches` of `set`. Each batch runs
// in chunks of at most 250 sequences, which keep a chunk's state buffers in a core's L2 cache.
std::array<double, 3> validation_sums(const TrainConfig& config, const ValidationSet& set, OutputKind kind,
                                      const std::vector<int>& batches, ThreadArena& arena,
                                      const ChunkOutputs& outputs);

}  // namespace tptt
