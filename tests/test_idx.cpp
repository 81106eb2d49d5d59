// The IDX reader (io/idx.hpp) and sequential MNIST (data/mnist.hpp): round trips, every kind
// of bad file a FileError naming the file, the training order a function of (seed, n) that
// visits each image once per epoch, pixel scaling and labels, validation on the test set.
// Small IDX files are written by the tests themselves.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tptt/algo/kernels.hpp"
#include "tptt/algo/output.hpp"
#include "tptt/app/options.hpp"
#include "tptt/core/error.hpp"
#include "tptt/data/mnist.hpp"
#include "tptt/io/idx.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh directory per use, removed afterwards (unique: shared_mnist caches by directory).
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("tptt_idx_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX image: magic, big-endian dimensions, body.
Bytes idx_image(std::uint32_t magic, std::initializer_list<std::uint32_t> dims, const Bytes& body) {
  Bytes out;
  put_u32(out, magic);
  for (std::uint32_t d : dims) put_u32(out, d);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Pixel t of image i of a split: pixel 0 names the image, the others a pattern over 0..255.
std::uint8_t pixel(int split, int i, int t) {
  if (t == 0) return static_cast<std::uint8_t>(i);
  return static_cast<std::uint8_t>((i * 31 + t * 7 + split * 101) % 256);
}
int label_of(int split, int i) { return (i * 3 + split) % 10; }

Bytes images_body(int split, int count) {
  Bytes body;
  for (int i = 0; i < count; ++i)
    for (int t = 0; t < kMnistPixels; ++t) body.push_back(pixel(split, i, t));
  return body;
}
Bytes labels_body(int split, int count) {
  Bytes body;
  for (int i = 0; i < count; ++i) body.push_back(static_cast<std::uint8_t>(label_of(split, i)));
  return body;
}

constexpr int kTrain = 37, kTest = 13;  // small splits; 37 is prime, so batches straddle epochs

// A directory with the four standard files: train (split 0) of kTrain, test (split 1) of kTest.
void write_mnist(const TempDir& dir) {
  write_file(dir.file(kMnistTrainImages), idx_image(0x803, {kTrain, 28, 28}, images_body(0, kTrain)));
  write_file(dir.file(kMnistTrainLabels), idx_image(0x801, {kTrain}, labels_body(0, kTrain)));
  write_file(dir.file(kMnistTestImages), idx_image(0x803, {kTest, 28, 28}, images_body(1, kTest)));
  write_file(dir.file(kMnistTestLabels), idx_image(0x801, {kTest}, labels_body(1, kTest)));
}

// The message of the FileError that `f` throws ("" if it throws none).
template <class F>
std::string file_error(F&& f) {
  try {
    f();
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TrainConfig mnist_config(const TempDir& dir) {
  TrainConfig cfg;
  cfg.task = TaskKind::Mnist;
  cfg.length = kMnistPixels;
  cfg.data_dir = dir.path.string();
  cfg.hidden = 6;
  cfg.batch = 5;
  cfg.seed = 11;
  return cfg;
}

}  // namespace

TEST_CASE("idx: labels and images round-trip from memory and from a file") {
  const Bytes labels = {0, 9, 3, 255};
  const IdxArray l = parse_idx(idx_image(0x801, {4}, labels), IdxKind::Labels, "<memory>");
  CHECK(l.dims == std::vector<std::uint32_t>{4});
  CHECK(l.data == labels);

  Bytes body(2 * 3 * 5);
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<std::uint8_t>(7 * i);
  const Bytes image = idx_image(0x803, {2, 3, 5}, body);
  const IdxArray m = parse_idx(image, IdxKind::Images, "<memory>");
  CHECK(m.dims == std::vector<std::uint32_t>{2, 3, 5});
  CHECK(m.data == body);

  TempDir dir;
  write_file(dir.file("images"), image);
  const IdxArray f = read_idx(dir.file("images"), IdxKind::Images);
  CHECK(f.dims == m.dims);
  CHECK(f.data == body);

  // Empty arrays are well formed (a zero dimension makes the others irrelevant).
  CHECK(parse_idx(idx_image(0x801, {0}, {}), IdxKind::Labels, "x").data.empty());
  CHECK(parse_idx(idx_image(0x803, {0, 0xFFFFFFFF, 0xFFFFFFFF}, {}), IdxKind::Images, "x").data.empty());
}

TEST_CASE("idx: every kind of bad content is a FileError naming the file and the defect") {
  const std::string name = "some/dir/train-images-idx3-ubyte";
  const auto parse_error = [&](const Bytes& bytes, IdxKind kind) {
    std::string msg = file_error([&] { (void)parse_idx(bytes, kind, name); });
    CHECK_MESSAGE(contains(msg, "idx file '" + name + "': "), msg);
    return msg;
  };
  const Bytes body(2 * 28 * 28, 17);
  const Bytes good = idx_image(0x803, {2, 28, 28}, body);

  CHECK(contains(parse_error({}, IdxKind::Images), "empty file"));
  CHECK(contains(parse_error({0, 0, 8}, IdxKind::Images), "truncated header: 3 bytes"));
  CHECK(contains(parse_error(Bytes(good.begin(), good.begin() + 10), IdxKind::Images),
                 "truncated header: 10 bytes, an IDX image file's header has 16"));
  CHECK(contains(parse_error(idx_image(0x47494638, {}, Bytes(40, 0)), IdxKind::Images),
                 "not an IDX image file: magic 0x47494638, expected 0x00000803"));
  CHECK(contains(parse_error(idx_image(0x802, {2, 28, 28}, body), IdxKind::Images), "magic 0x00000802"));
  CHECK(contains(parse_error(idx_image(0xD03, {2, 28, 28}, body), IdxKind::Images), "magic 0x00000d03"));
  // The other MNIST kind: said so.
  CHECK(contains(parse_error(idx_image(0x801, {2}, {1, 2}), IdxKind::Images), "(this is an IDX label file)"));
  CHECK(contains(parse_error(good, IdxKind::Labels), "(this is an IDX image file)"));

  Bytes shorter = good;
  shorter.pop_back();
  CHECK(contains(parse_error(shorter, IdxKind::Images),
                 "truncated: header says 2 images of 28x28 (1584 bytes), file holds 1583 bytes"));
  Bytes longer = good;
  longer.push_back(0);
  CHECK(contains(parse_error(longer, IdxKind::Images),
                 "trailing data: header says 2 images of 28x28 (1584 bytes), file holds 1585 bytes"));
  CHECK(contains(parse_error(idx_image(0x801, {5}, {1, 2, 3}), IdxKind::Labels),
                 "truncated: header says 5 labels (13 bytes), file holds 11 bytes"));
  CHECK(contains(parse_error(idx_image(0x801, {0}, {1}), IdxKind::Labels), "trailing data"));
  // Sizes whose product does not fit in 64 bits, and the largest that do: no allocation, no overflow.
  CHECK(contains(parse_error(idx_image(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, body), IdxKind::Images),
                 "(more than 2^64 bytes)"));
  CHECK(contains(parse_error(idx_image(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 2}, body), IdxKind::Images),
                 "(more than 2^64 bytes)"));
  CHECK(contains(parse_error(idx_image(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 1}, body), IdxKind::Images),
                 "truncated: header says 4294967295 images of 4294967295x1 (18446744065119617041 bytes)"));
  CHECK(contains(parse_error(idx_image(0x801, {0xFFFFFFFF}, {}), IdxKind::Labels), "4294967295 labels"));
}

TEST_CASE("idx: read_idx names a missing, odd or damaged file") {
  TempDir dir;
  const std::string missing = dir.file("nope");
  CHECK(contains(file_error([&] { (void)read_idx(missing, IdxKind::Labels); }),
                 "idx file '" + missing + "': cannot open: No such file or directory"));
  CHECK(contains(file_error([&] { (void)read_idx(dir.path.string(), IdxKind::Labels); }), "not a regular file"));
  write_file(dir.file("torn"), Bytes{0, 0, 8, 1, 0, 0, 0, 9, 1, 2});
  CHECK(contains(file_error([&] { (void)read_idx(dir.file("torn"), IdxKind::Labels); }),
                 "idx file '" + dir.file("torn") + "': truncated: header says 9 labels"));
}

TEST_CASE("mnist: the loader checks shapes, counts and labels and names the file at fault") {
  TempDir dir;
  write_mnist(dir);
  const MnistData data = load_mnist(dir.path.string());
  CHECK(data.train.count == kTrain);
  CHECK(data.test.count == kTest);
  CHECK(data.train.pixels == images_body(0, kTrain));
  CHECK(data.test.labels == labels_body(1, kTest));

  const auto load_error = [&] { return file_error([&] { (void)load_mnist(dir.path.string()); }); };
  SUBCASE("each missing file") {
    for (const char* name : {kMnistTrainImages, kMnistTrainLabels, kMnistTestImages, kMnistTestLabels}) {
      write_mnist(dir);
      fs::remove(dir.file(name));
      const std::string msg = load_error();
      CHECK_MESSAGE(contains(msg, "idx file '" + dir.file(name) + "': cannot open"), msg);
    }
  }
  SUBCASE("a truncated image file") {
    Bytes image = idx_image(0x803, {kTest, 28, 28}, images_body(1, kTest));
    image.erase(image.end() - 100, image.end());  // (resize(size − 100) trips a false -Wstringop-overflow at -O1)
    write_file(dir.file(kMnistTestImages), image);
    const std::string msg = load_error();
    CHECK_MESSAGE(
        contains(msg, "idx file '" + dir.file(kMnistTestImages) + "': truncated: header says 13 images of 28x28"), msg);
  }
  SUBCASE("labels and images swapped (a foreign file)") {
    fs::rename(dir.file(kMnistTrainLabels), dir.file("tmp"));
    fs::rename(dir.file(kMnistTrainImages), dir.file(kMnistTrainLabels));
    fs::rename(dir.file("tmp"), dir.file(kMnistTrainImages));
    const std::string msg = load_error();
    CHECK_MESSAGE(contains(msg, "idx file '" + dir.file(kMnistTrainImages) + "': not an IDX image file"), msg);
  }
  SUBCASE("images that are not 28x28") {
    write_file(dir.file(kMnistTrainImages), idx_image(0x803, {2, 27, 28}, Bytes(2 * 27 * 28, 0)));
    const std::string msg = load_error();
    CHECK_MESSAGE(contains(msg, "idx file '" + dir.file(kMnistTrainImages) + "': images of 27x28, expected 28x28"),
                  msg);
  }
  SUBCASE("a label out of range") {
    Bytes labels = labels_body(0, kTrain);
    labels[20] = 10;
    write_file(dir.file(kMnistTrainLabels), idx_image(0x801, {kTrain}, labels));
    const std::string msg = load_error();
    CHECK_MESSAGE(contains(msg, "idx file '" + dir.file(kMnistTrainLabels) + "': label 10 of item 20 is out of range"),
                  msg);
  }
  SUBCASE("label count differs from image count") {
    write_file(dir.file(kMnistTestLabels), idx_image(0x801, {kTest - 1}, labels_body(1, kTest - 1)));
    const std::string msg = load_error();
    CHECK_MESSAGE(contains(msg, "idx file '" + dir.file(kMnistTestLabels) + "': holds 12 labels, but '" +
                                    dir.file(kMnistTestImages) + "' holds 13 images"),
                  msg);
  }
  SUBCASE("no images") {
    write_file(dir.file(kMnistTestImages), idx_image(0x803, {0, 28, 28}, {}));
    write_file(dir.file(kMnistTestLabels), idx_image(0x801, {0}, {}));
    CHECK(contains(load_error(), "idx file '" + dir.file(kMnistTestImages) + "': holds no images"));
  }
  SUBCASE("the Trainer reads the files when it is built: a bad file fails the set-up") {
    fs::remove(dir.file(kMnistTestLabels));
    SoloCommunicator solo;
    const TrainConfig cfg = mnist_config(dir);
    const std::string msg = file_error([&] { Trainer trainer(cfg, solo); });
    CHECK_MESSAGE(contains(msg, dir.file(kMnistTestLabels)), msg);
  }
}

TEST_CASE("mnist: minibatch n is a function of (seed, n) and each epoch visits every image once") {
  constexpr int B = 5, kEpochs = 4;
  // Positions [n·B, n·B + B) of the epochs laid end to end, asked for in a scrambled order.
  std::vector<int> visits(static_cast<std::size_t>(kEpochs * kTrain + B), -1);
  const long batches = (kEpochs * kTrain) / B + 1;
  for (long k = 0; k < batches; ++k) {
    const long n = (k * 17) % batches;  // 17 is coprime with batches (30)
    const std::vector<int> idx = mnist_training_indices(kTrain, 3, n, B);
    for (int b = 0; b < B; ++b) visits[static_cast<std::size_t>(n * B + b)] = idx[static_cast<std::size_t>(b)];
  }
  for (int e = 0; e < kEpochs; ++e) {
    std::vector<int> epoch(visits.begin() + e * kTrain, visits.begin() + (e + 1) * kTrain);
    CHECK(epoch == mnist_epoch_order(kTrain, 3, static_cast<std::uint64_t>(e)));
    std::sort(epoch.begin(), epoch.end());
    for (int i = 0; i < kTrain; ++i) CHECK(epoch[static_cast<std::size_t>(i)] == i);
  }
  // Epochs, seeds differ; a minibatch is the same on another thread (another cache).
  CHECK(mnist_epoch_order(kTrain, 3, 0) != mnist_epoch_order(kTrain, 3, 1));
  CHECK(mnist_epoch_order(kTrain, 3, 0) != mnist_epoch_order(kTrain, 4, 0));
  std::vector<int> other;
  std::thread([&] { other = mnist_training_indices(kTrain, 3, 9, B); }).join();
  CHECK(other == mnist_training_indices(kTrain, 3, 9, B));
  // The 60,000-image order is a permutation too.
  std::vector<int> big = mnist_epoch_order(60000, 1, 0);
  CHECK(std::set<int>(big.begin(), big.end()).size() == 60000u);
  CHECK(*std::min_element(big.begin(), big.end()) == 0);
  CHECK(*std::max_element(big.begin(), big.end()) == 59999);

  // The run's minibatch (data_source, Trainer) is that of mnist_training_indices.
  TempDir dir;
  write_mnist(dir);
  const TrainConfig cfg = mnist_config(dir);
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  for (long n : {0L, 7L, 8L, 1000L}) {
    const Batch a = trainer.training_batch(n);
    const Batch b = training_batch(cfg, n);
    CHECK(a.X == b.X);
    CHECK(a.Y == b.Y);
    const std::vector<int> idx = mnist_training_indices(kTrain, cfg.seed, n, cfg.batch);
    for (int i = 0; i < cfg.batch; ++i)  // pixel 0 names the image
      CHECK(a.X(0, i) == static_cast<float>(idx[static_cast<std::size_t>(i)]) / 255.0f);
  }
}

TEST_CASE("mnist: batches hold pixel/255 in scan-line order and one-hot labels") {
  TempDir dir;
  write_mnist(dir);
  const MnistData data = load_mnist(dir.path.string());
  const std::vector<int> idx = {4, 0, 36, 4};
  const Batch b = mnist_batch(data.train, idx);
  REQUIRE(b.steps == 784);
  REQUIRE(b.batch == 4);
  REQUIRE(b.X.rows() == 1);
  REQUIRE(b.X.cols() == 784 * 4);
  REQUIRE(b.Y.rows() == 10);
  REQUIRE(b.Y.cols() == 4);
  for (int j = 0; j < 4; ++j) {
    const int i = idx[static_cast<std::size_t>(j)];
    for (int t = 0; t < 784; ++t) {
      const float want = static_cast<float>(pixel(0, i, t)) / 255.0f;
      if (b.X(0, static_cast<Eigen::Index>(t) * 4 + j) != want) {
        FAIL("pixel " << t << " of image " << i);
      }
    }
    for (int c = 0; c < 10; ++c) CHECK(b.Y(c, j) == (c == label_of(0, i) ? 1.0f : 0.0f));
  }
  CHECK(b.X.minCoeff() >= 0.0f);
  CHECK(b.X.maxCoeff() <= 1.0f);
  CHECK(batch_labels(TaskKind::Mnist, b) ==
        std::vector<int>{label_of(0, 4), label_of(0, 0), label_of(0, 36), label_of(0, 4)});
}

TEST_CASE("mnist: validation runs on the test set, in order, capped at its size") {
  TempDir dir;
  write_mnist(dir);
  TrainConfig cfg = mnist_config(dir);
  cfg.validation_batch = 5;  // validation_samples stays 10,000: capped at the 13 test images
  const MnistData data = load_mnist(dir.path.string());
  REQUIRE(validation_batch_count(cfg) == 3);
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  for (int i = 0; i < 3; ++i) trainer.step(i);  // T = 784 end to end

  int errors = 0;
  for (int v = 0; v < 3; ++v) {
    const Batch b = validation_batch(cfg, v, ValidationSet{.length = 784});
    const int size = v < 2 ? 5 : 3;
    REQUIRE(b.batch == size);
    std::vector<int> idx(static_cast<std::size_t>(size));
    for (int i = 0; i < size; ++i) idx[static_cast<std::size_t>(i)] = 5 * v + i;
    const Batch want = mnist_batch(data.test, idx);
    CHECK(b.X == want.X);
    CHECK(b.Y == want.Y);
    // Misclassified test images, counted here from the trained parameters.
    MatF h, scratch, y;
    final_state<Scalar>(trainer.params(), cfg.activation, b.X, size, 0, size, h, scratch);
    output_forward<Scalar>(trainer.params(), OutputKind::Softmax, h, y);
    errors += count_errors<Scalar>(OutputKind::Softmax, y, b.Y);
  }
  const ValidationResult r = trainer.validate();
  CHECK(r.error == doctest::Approx(errors / 13.0).epsilon(1e-12));
  CHECK(std::isfinite(r.cost));
  CHECK_THROWS_AS((void)trainer.validate(ValidationSet{.length = 100}), UsageError);

  cfg.validation_samples = 4;  // fewer than the test set: its first 4 images
  REQUIRE(validation_batch_count(cfg) == 1);
  CHECK(validation_batch(cfg, 0, ValidationSet{.length = 784}).batch == 4);
}

TEST_CASE("mnist: options (--data-dir, the fixed length 784)") {
  const auto usage_error = [](const std::vector<std::string>& args) {
    try {
      (void)parse_train_command(args);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const TrainCommand cmd = parse_train_command({"--task", "mnist", "--data-dir", "/some/dir", "-B", "16"});
  CHECK(cmd.config.task == TaskKind::Mnist);
  CHECK(cmd.config.length == 784);
  CHECK(cmd.config.batch == 16);
  CHECK(cmd.config.data_dir == "/some/dir");
  CHECK(parse_train_command({"--task", "mnist", "--data-dir", "d", "--length", "784"}).config.length == 784);
  CHECK(parse_train_command({"--task", "temporal"}).config.length == 60);  // others keep their default
  CHECK(contains(usage_error({"--task", "mnist"}), "--data-dir"));
  CHECK(contains(usage_error({"--task", "mnist", "--data-dir", "d", "--length", "100"}), "--length"));
  CHECK(contains(usage_error({"--task", "mnist", "--data-dir", "d", "--min-length", "700", "--max-length", "784"}),
                 "--min-length"));
  CHECK(contains(usage_error({"--task", "temporal", "--data-dir", "d"}), "--data-dir"));
  CHECK(task_info(TaskKind::Mnist).inputs == 1);
  CHECK(task_info(TaskKind::Mnist).outputs == 10);
  CHECK(parse_task("mnist") == TaskKind::Mnist);
  CHECK(to_string(TaskKind::Mnist) == "mnist");
}

TEST_CASE("mnist: the synthetic tasks' minibatches are unchanged (generate_batch of the iteration's stream)") {
  for (TaskKind task : {TaskKind::Temporal, TaskKind::Adding, TaskKind::Perm}) {
    TrainConfig cfg;
    cfg.task = task;
    cfg.length = 30;
    cfg.seed = 5;
    for (long n : {0L, 3L}) {
      CounterRng rng(cfg.seed, RngPurpose::TrainData, static_cast<std::uint64_t>(n));
      const Batch want = generate_batch(task, cfg.length, cfg.batch, rng);
      const Batch got = training_batch(cfg, n);
      CHECK(got.X == want.X);
      CHECK(got.Y == want.Y);
    }
  }
}
