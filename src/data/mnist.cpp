#include "tptt/data/mnist.hpp"

#include <climits>
#include <map>
#include <mutex>
#include <utility>

#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/io/idx.hpp"

namespace tptt {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FileError("idx file '" + path + "': " + what);
}

}  // namespace

MnistSplit load_mnist_split(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path, IdxKind::Images);
  IdxArray labels = read_idx(labels_path, IdxKind::Labels);
  if (images.dims[1] != kMnistSide || images.dims[2] != kMnistSide)
    fail(images_path,
         "images of " + std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]) + ", expected 28x28");
  if (images.dims[0] == 0) fail(images_path, "holds no images");
  if (images.dims[0] > static_cast<std::uint32_t>(INT_MAX)) fail(images_path, "too many images");
  if (labels.dims[0] != images.dims[0])
    fail(labels_path, "holds " + std::to_string(labels.dims[0]) + " labels, but '" + images_path + "' holds " +
                          std::to_string(images.dims[0]) + " images");
  for (std::size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= kMnistClasses)
      fail(labels_path,
           "label " + std::to_string(labels.data[i]) + " of item " + std::to_string(i) + " is out of range (0..9)");
  MnistSplit split;
  split.count = static_cast<int>(images.dims[0]);
  split.pixels = std::move(images.data);
  split.labels = std::move(labels.data);
  return split;
}

MnistData load_mnist(const std::string& directory) {
  const std::string dir = directory.empty() || directory.back() == '/' ? directory : directory + "/";
  MnistData data;
  data.directory = directory;
  data.train = load_mnist_split(dir + kMnistTrainImages, dir + kMnistTrainLabels);
  data.test = load_mnist_split(dir + kMnistTestImages, dir + kMnistTestLabels);
  return data;
}

std::shared_ptr<const MnistData> shared_mnist(const std::string& directory) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const MnistData>> cache;
  // Loading under the lock: ranks or trainers that start together read the files once.
  std::lock_guard lock(mutex);
  auto& slot = cache[directory];
  if (!slot) slot = std::make_shared<const MnistData>(load_mnist(directory));
  return slot;
}

Batch mnist_batch(const MnistSplit& split, std::span<const int> indices) {
  const int B = static_cast<int>(indices.size());
  Batch out;
  out.steps = kMnistPixels;
  out.batch = B;
  out.X.resize(1, static_cast<Eigen::Index>(kMnistPixels) * B);  // (1 × 784·B)
  out.Y = MatF::Zero(kMnistClasses, B);                          // (10 × B)
  for (int b = 0; b < B; ++b) {
    const std::uint8_t* image = split.pixels.data() + static_cast<std::size_t>(indices[b]) * kMnistPixels;
    for (int t = 0; t < kMnistPixels; ++t)
      out.X(0, static_cast<Eigen::Index>(t) * B + b) = static_cast<Scalar>(image[t]) / Scalar(255);
    out.Y(split.labels[static_cast<std::size_t>(indices[b])], b) = 1;
  }
  return out;
}

std::vector<int> mnist_epoch_order(int count, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<int> order(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) order[static_cast<std::size_t>(i)] = i;
  CounterRng rng(seed, RngPurpose::MnistOrder, epoch);
  for (int i = count - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(rng.below(i + 1))]);
  return order;
}

namespace {

// The order of one epoch, cached per thread: a minibatch needs one epoch's order (two at an
// epoch boundary), 60,000 draws to recompute. The key is everything the order depends on.
const std::vector<int>& epoch_order(int count, std::uint64_t seed, std::uint64_t epoch) {
  thread_local struct {
    int count = -1;
    std::uint64_t seed = 0, epoch = 0;
    std::vector<int> order;  // (count)
  } cache;
  if (cache.count != count || cache.seed != seed || cache.epoch != epoch) {
    cache.order = mnist_epoch_order(count, seed, epoch);
    cache.count = count;
    cache.seed = seed;
    cache.epoch = epoch;
  }
  return cache.order;
}

}  // namespace

std::vector<int> mnist_training_indices(int count, std::uint64_t seed, long iteration, int batch) {
  const auto n = static_cast<std::uint64_t>(count);
  // Unsigned: wraps instead of overflowing for absurd iteration counts.
  const std::uint64_t first = static_cast<std::uint64_t>(iteration) * static_cast<std::uint64_t>(batch);
  std::vector<int> indices(static_cast<std::size_t>(batch));
  for (int b = 0; b < batch; ++b) {
    const std::uint64_t position = first + static_cast<std::uint64_t>(b);
    indices[static_cast<std::size_t>(b)] = epoch_order(count, seed, position / n)[position % n];
  }
  return indices;
}

Batch mnist_training_batch(const MnistData& data, std::uint64_t seed, long iteration, int batch) {
  const std::vector<int> indices = mnist_training_indices(data.train.count, seed, iteration, batch);
  return mnist_batch(data.train, indices);
}

Batch mnist_test_batch(const MnistData& data, int first, int count) {
  std::vector<int> indices(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) indices[static_cast<std::size_t>(i)] = first + i;
  return mnist_batch(data.test, indices);
}

}  // namespace tptt
