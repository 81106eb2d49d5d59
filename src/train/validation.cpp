#include "tptt/train/validation.hpp"

#include <algorithm>

namespace tptt {

std::array<double, 3> validation_sums(const TrainConfig& config, const ValidationSet& set, OutputKind kind,
                                      const std::vector<int>& batches, ThreadArena& arena,
                                      const ChunkOutputs& outputs) {
  constexpr int kChunk = 250;
  std::vector<std::array<double, 3>> per_batch(batches.size());  // errors, summed loss, samples
  arena.for_each_index(batches.size(), [&](std::size_t i) {
    const Batch batch = validation_batch(config, batches[i], set);
    MatF y;  // (O × chunk)
    std::array<double, 3> sums{0, 0, static_cast<double>(batch.batch)};
    for (int first = 0; first < batch.batch; first += kChunk) {
      const int n = std::min(kChunk, batch.batch - first);
      outputs(batch, first, n, y);
      const auto targets = batch.Y.middleCols(first, n);
      sums[0] += count_errors<Scalar>(kind, y, targets);
      sums[1] += summed_loss<Scalar>(kind, y, targets);
    }
    per_batch[i] = sums;
  });
  std::array<double, 3> total{0, 0, 0};
  for (const auto& r : per_batch)
    for (int j = 0; j < 3; ++j) total[j] += r[j];
  return total;
}

}  // namespace tptt
