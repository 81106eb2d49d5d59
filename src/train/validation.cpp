#include "tptt/train/validation.hpp"

#include <algorithm>

namespace tptt {

ValidationPass::ValidationPass(const TrainConfig& config, const ValidationSet& set, OutputKind kind,
                               const std::vector<int>& batches, ChunkOutputs outputs)
    : ValidationPass(config, set, kind, batches, 0, 1, std::move(outputs)) {}

ValidationPass::ValidationPass(const TrainConfig& config, const ValidationSet& set, OutputKind kind, int rank,
                               int ranks, ChunkOutputs outputs)
    : ValidationPass(config, set, kind, all_batches(config), rank, ranks, std::move(outputs)) {}

std::vector<int> ValidationPass::all_batches(const TrainConfig& config) {
  std::vector<int> all(static_cast<std::size_t>(validation_batch_count(config)));
  for (std::size_t v = 0; v < all.size(); ++v) all[v] = static_cast<int>(v);
  return all;
}

ValidationPass::ValidationPass(const TrainConfig& config, const ValidationSet& set, OutputKind kind,
                               const std::vector<int>& batches, int rank, int ranks, ChunkOutputs outputs)
    : config_(config), set_(set), kind_(kind), outputs_(std::move(outputs)), batches_(batches.size()) {
  int chunk = 0;  // over all the batches' chunks, in order
  for (std::size_t b = 0; b < batches.size(); ++b) {
    const int v = batches[b], size = validation_batch_size(config, v);
    batches_[b].v = v;
    for (int first = 0; first < size; first += kChunk, ++chunk) {
      if (chunk % ranks != rank) continue;
      items_.push_back({static_cast<int>(b), first, std::min(kChunk, size - first)});
      ++batches_[b].chunks_left;
    }
  }
  sums_.assign(items_.size(), {0, 0, 0});
  misclassified_.resize(items_.size());
}

std::vector<ValidationPass::Misclassified> ValidationPass::misclassified() const {
  if (error_) std::rethrow_exception(error_);
  std::vector<Misclassified> all;
  for (const auto& item : misclassified_) all.insert(all.end(), item.begin(), item.end());
  return all;
}

void ValidationPass::run_item(std::size_t i) {
  const Item& item = items_[i];
  BatchSlot& slot = batches_[static_cast<std::size_t>(item.batch_slot)];
  std::call_once(slot.generated, [&] { slot.batch = validation_batch(config_, slot.v, set_); });
  MatF y;  // (O × n)
  outputs_(*slot.batch, item.first, item.n, y);
  const auto targets = slot.batch->Y.middleCols(item.first, item.n);
  const std::vector<Eigen::Index> wrong = error_columns<Scalar>(kind_, y, targets);
  sums_[i] = {static_cast<double>(wrong.size()), summed_loss<Scalar>(kind_, y, targets), static_cast<double>(item.n)};
  if (keep_misclassified_) {
    misclassified_[i].clear();
    for (const Eigen::Index b : wrong) {
      Misclassified m{slot.v, item.first + static_cast<int>(b)};
      if (kind_ == OutputKind::Linear) {
        m.output = y(0, b);
        m.target = targets(0, b);
      } else {
        Eigen::Index predicted = 0, actual = 0;
        y.col(b).maxCoeff(&predicted);
        targets.col(b).maxCoeff(&actual);
        m.predicted = static_cast<int>(predicted);
        m.actual = static_cast<int>(actual);
      }
      misclassified_[i].push_back(m);
    }
  }
  if (slot.chunks_left.fetch_sub(1) == 1) slot.batch.reset();
}

bool ValidationPass::run_next() {
  const std::size_t i = next_.fetch_add(1);
  if (i >= items_.size()) return false;
  try {
    run_item(i);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    finished_.fetch_add(1, std::memory_order_release);
  }
  done_.notify_all();
  return true;
}

void ValidationPass::run(ThreadArena& arena) {
  arena.for_each_index(static_cast<std::size_t>(arena.threads()), [this](std::size_t) {
    while (run_next()) {
    }
  });
}

void ValidationPass::wait_finished() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return finished(); });
}

std::array<double, 3> ValidationPass::sums() const {
  if (error_) std::rethrow_exception(error_);
  // Chunks in order within a batch, then batches in order.
  std::array<double, 3> total{0, 0, 0}, batch{0, 0, 0};
  for (std::size_t i = 0; i < items_.size(); ++i) {
    for (int j = 0; j < 3; ++j) batch[j] += sums_[i][j];
    if (i + 1 == items_.size() || items_[i + 1].batch_slot != items_[i].batch_slot) {
      for (int j = 0; j < 3; ++j) total[j] += batch[j];
      batch = {0, 0, 0};
    }
  }
  return total;
}

}  // namespace tptt
