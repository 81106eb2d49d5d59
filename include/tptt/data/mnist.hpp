#pragma once
// Sequential MNIST (docs/method.md §5; Le et al. 2015): each 28×28 image is one sequence of 784 steps
// in scan-line order, input pixel/255, target one of 10 classes.
//
// The data come from the four standard IDX files of a directory (launch/fetch-mnist.sh) and
// are read once per process. The training order is a function of (seed, iteration) alone:
// epoch e visits the training images in a permutation drawn from CounterRng(seed,
// RngPurpose::MnistOrder, e), and minibatch n takes positions [n·B, n·B + B) of the epochs
// laid end to end — every rank and thread computes the same minibatch without messages.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tptt/data/tasks.hpp"

namespace tptt {

inline constexpr int kMnistSide = 28;
inline constexpr int kMnistPixels = kMnistSide * kMnistSide;  // T
inline constexpr int kMnistClasses = 10;                      // O

// The standard file names inside the data directory.
inline constexpr const char* kMnistTrainImages = "train-images-idx3-ubyte";
inline constexpr const char* kMnistTrainLabels = "train-labels-idx1-ubyte";
inline constexpr const char* kMnistTestImages = "t10k-images-idx3-ubyte";
inline constexpr const char* kMnistTestLabels = "t10k-labels-idx1-ubyte";

struct MnistSplit {
  int count = 0;
  std::vector<std::uint8_t> pixels;  // (count × 784) image i at [784·i, 784·i + 784), scan-line order
  std::vector<std::uint8_t> labels;  // (count) classes 0..9
};

struct MnistData {
  std::string directory;
  MnistSplit train;  // 60,000 images in the standard files
  MnistSplit test;   // 10,000
};

// One split from its image and label files: images 28×28, as many labels as images, labels
// 0..9, at least one image. FileError naming the file at fault.
MnistSplit load_mnist_split(const std::string& images_path, const std::string& labels_path);

// The four files of `directory` (the train and t10k splits).
MnistData load_mnist(const std::string& directory);

// Process-wide cache: the first call for a directory reads it, later calls (other Trainers of
// the same process) share the same data. Thread-safe.
std::shared_ptr<const MnistData> shared_mnist(const std::string& directory);

// The images split.pixels[indices[b]] as a batch: X (1 × 784·B) pixel/255 with column
// (t−1)·B + b holding pixel t−1 of image b; Y (10 × B) one-hot labels.
Batch mnist_batch(const MnistSplit& split, std::span<const int> indices);

// The permutation of {0, …, count−1} in which epoch `epoch` of seed `seed` visits the
// training images (Fisher–Yates from the counter stream).
std::vector<int> mnist_epoch_order(int count, std::uint64_t seed, std::uint64_t epoch);

// Training-image indices of minibatch `iteration` for a training set of `count` images:
// positions [iteration·batch, iteration·batch + batch) of the epoch orders laid end to end.
std::vector<int> mnist_training_indices(int count, std::uint64_t seed, long iteration, int batch);

// Minibatch `iteration` of the training split.
Batch mnist_training_batch(const MnistData& data, std::uint64_t seed, long iteration, int batch);

// Test images [first, first + count), in file order.
Batch mnist_test_batch(const MnistData& data, int first, int count);

}  // namespace tptt
