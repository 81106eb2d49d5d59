// `tptt bench`: time training iterations and validation passes and compare them with the
// machine's matrix-product rates measured in the same run. Not a test: prints figures for
// docs/performance.md.
//
// The bound of an iteration is the time its products would take at the measured rates: the
// chain products (iteration_work().chain: the step-size products that depend on the previous
// step) at the rate of one (H × H)·(H × B) product, the rest (iteration_work().batched, products
// independent over t) at the rate of a 1024³ product; both on one thread. With n > 1 threads the
// bound is max(span, one-thread bound / s_n): the longest chain path when independent chains run
// side by side (iteration_work().span at the step rate), or all the work spread over the threads,
// s_n being the measured speed-up of n threads running independent products.
#include <boost/program_options.hpp>
#include <cstdlib>  // mkdtemp (POSIX, declared by glibc's stdlib.h)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cli_commands.hpp"
#include "tptt/algo/step_product.hpp"
#include "tptt/algo/work_count.hpp"
#include "tptt/app/options.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/memory.hpp"
#include "tptt/data/mnist.hpp"
#include "tptt/io/idx.hpp"
#include "tptt/train/learner.hpp"
#include "tptt/train/trainer.hpp"

namespace po = boost::program_options;

namespace tptt {

namespace {

constexpr const char* kBenchUsage =
    "usage: tptt bench [options]\n"
    "Times one training iteration of bptt, tptt, tptt_hx and lstm (H = 100; also tptt at H = 1024\n"
    "and on sequential MNIST) and a validation pass at each thread count, against the machine's\n"
    "matrix-product rates measured in the same run; prints a table (ms/iter, bound, GFLOP/s).\n";

using Clock = std::chrono::steady_clock;

// Best-of-`repeats` seconds per call of f, each repeat running for at least `min_seconds`.
template <class F>
double seconds_per_call(F&& f, int repeats, double min_seconds) {
  f();  // warm-up: page in buffers, size workspaces
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    long calls = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      f();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < min_seconds);
    best = std::min(best, elapsed / calls);
  }
  return best;
}

// Single-precision GEMM rate (GFLOP/s, 2 flops per multiply-add) of C(m×n) = A(m×k)·B(k×n): by
// Eigen, or by tptt's step kernel (algo/step_product.hpp), which the chains use: it reads A in
// place where Eigen re-packs it at every call, so at step sizes it can beat Eigen's rate.
enum class Product { Eigen, StepKernel };
double gemm_gflops(int m, int k, int n, int repeats, double min_seconds, Product product = Product::Eigen) {
  MatF a = MatF::Random(m, k), b = MatF::Random(k, n), c(m, n);
  const double s = seconds_per_call(
      [&] {
        if (product == Product::Eigen) {
          c.noalias() = a * b;
        } else {
          step_product(c, a, b, false);
        }
      },
      repeats, min_seconds);
  return 2.0 * m * k * n / s / 1e9;
}

// Aggregate GEMM rate of `threads` threads each multiplying its own matrices: the machine's
// multi-core roofline, which shared caches, memory and clocks keep below threads × one core.
double parallel_gemm_gflops(int threads, int m, int k, int n, double min_seconds) {
  std::vector<double> rates(threads);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { rates[t] = gemm_gflops(m, k, n, 2, min_seconds); });
  for (auto& th : pool) th.join();
  double total = 0;
  for (double r : rates) total += r;
  return total;
}

// How costly it is on this machine for one thread to read what another just wrote (the two-
// thread pass hands every buffer from one core to the other): the round trip of a cache line
// between two threads, and the rate at which a thread reads a 2 MiB buffer that the other has
// just written, beside the rate at which it reads one it wrote itself. A virtual machine whose
// two vCPUs share no cache shows a long round trip and a slow handoff. Best of a few tries.
struct Handoff {
  double round_trip_ns = 0, other_gbs = 0, own_gbs = 0;
};
Handoff measure_handoff() {
  using Clock = std::chrono::steady_clock;
  Handoff h;
  {
    alignas(64) std::atomic<long> ball{0};
    constexpr long kTrips = 100000;
    std::thread partner([&] {
      for (long i = 0; i < kTrips; ++i) {
        while (ball.load(std::memory_order_acquire) != 2 * i + 1) {
        }
        ball.store(2 * i + 2, std::memory_order_release);
      }
    });
    const auto start = Clock::now();
    for (long i = 0; i < kTrips; ++i) {
      ball.store(2 * i + 1, std::memory_order_release);
      while (ball.load(std::memory_order_acquire) != 2 * i + 2) {
      }
    }
    h.round_trip_ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kTrips;
    partner.join();
  }
  constexpr std::size_t kFloats = std::size_t(1) << 19;  // 2 MiB
  std::vector<float> buffer(kFloats);
  const auto write = [&](int round) { std::fill(buffer.begin(), buffer.end(), static_cast<float>(round)); };
  // Seconds for one read of the whole buffer; the sum keeps the read from being optimised away.
  volatile float sink = 0;
  const auto read = [&] {
    const auto start = Clock::now();
    sink = Eigen::Map<const VecF>(buffer.data(), static_cast<Eigen::Index>(buffer.size())).sum();  // vectorised
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  constexpr int kRounds = 20;
  double best_other = 1e9, best_own = 1e9;
  std::atomic<int> turn{0};  // even: the writer writes round turn/2; odd: the reader reads it
  std::thread reader([&] {
    for (int r = 0; r < kRounds; ++r) {
      while (turn.load(std::memory_order_acquire) != 2 * r + 1) {
      }
      best_other = std::min(best_other, read());
      turn.store(2 * r + 2, std::memory_order_release);
    }
  });
  for (int r = 0; r < kRounds; ++r) {
    write(r);
    turn.store(2 * r + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 2 * r + 2) {
    }
  }
  reader.join();
  for (int r = 0; r < kRounds; ++r) {
    write(r);
    best_own = std::min(best_own, read());
  }
  (void)sink;
  const double gb = static_cast<double>(kFloats * sizeof(float)) / 1e9;
  h.other_gbs = gb / best_other;
  h.own_gbs = gb / best_own;
  return h;
}

// The measured product rates of this run, each measured once, when first needed.
class Rooflines {
 public:
  Rooflines(int repeats, double min_seconds)
      : repeats_(repeats), min_seconds_(min_seconds), large_(gemm_gflops(1024, 1024, 1024, repeats, min_seconds)) {}

  double large() const { return large_; }  // 1024³, one thread

  // One recurrent step, (rows × cols)·(cols × batch), one thread.
  double step(int rows, int cols, int batch) {
    const auto key = std::make_tuple(rows, cols, batch);
    const auto found = steps_.find(key);
    if (found != steps_.end()) return found->second;
    const double rate = gemm_gflops(rows, cols, batch, repeats_, min_seconds_);
    std::printf("roofline: %.1f GFLOP/s at %dx%dx%d (one recurrent step), 1 thread; tptt's step kernel %.1f\n", rate,
                rows, cols, batch, gemm_gflops(rows, cols, batch, repeats_, min_seconds_, Product::StepKernel));
    return steps_[key] = rate;
  }

  // s_n: the aggregate rate of n threads each running its own 100×100×1000 product, over one's.
  double scaling(int threads) {
    if (threads == 1) return 1.0;
    const auto found = scaling_.find(threads);
    if (found != scaling_.end()) return found->second;
    const double agg = parallel_gemm_gflops(threads, 100, 100, 1000, min_seconds_);
    const double one = gemm_gflops(100, 100, 1000, repeats_, min_seconds_);
    std::printf("roofline: %d threads (independent sgemm 100x100x1000 each) %.1f GFLOP/s = %.2fx one thread (%.1f)\n",
                threads, agg, agg / one, one);
    return scaling_[threads] = agg / one;
  }

 private:
  int repeats_;
  double min_seconds_;
  double large_;
  std::map<std::tuple<int, int, int>, double> steps_;
  std::map<int, double> scaling_;
};

// A directory of synthetic MNIST files (IDX, patterned pixels), so that the sequential-MNIST
// case runs the real task's code (I = 1, O = 10, T = 784) without the data set. Removed at
// the end.
class SyntheticMnist {
 public:
  SyntheticMnist() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/tptt-bench-mnist.XXXXXX";
    if (!mkdtemp(pattern.data())) throw FileError("bench: cannot create a temporary directory '" + pattern + "'");
    dir_ = pattern;
    write_split(kMnistTrainImages, kMnistTrainLabels, 256);
    write_split(kMnistTestImages, kMnistTestLabels, 64);
  }
  ~SyntheticMnist() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SyntheticMnist(const SyntheticMnist&) = delete;
  SyntheticMnist& operator=(const SyntheticMnist&) = delete;
  const std::string& directory() const { return dir_; }

 private:
  void write_split(const char* images, const char* labels, std::uint32_t count) {
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(count) * kMnistPixels), classes(count);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>((i * 37) % 256);
    for (std::uint32_t i = 0; i < count; ++i) classes[i] = static_cast<std::uint8_t>(i % kMnistClasses);
    write_idx(dir_ + "/" + images, IdxKind::Images, {count, kMnistSide, kMnistSide}, pixels);
    write_idx(dir_ + "/" + labels, IdxKind::Labels, {count}, classes);
  }
  static void write_idx(const std::string& path, IdxKind kind, const std::vector<std::uint32_t>& dims,
                        const std::vector<std::uint8_t>& body) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const auto put = [&](std::uint32_t v) {  // big-endian
      const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
      out.write(b, 4);
    };
    put(idx_magic(kind));
    for (std::uint32_t d : dims) put(d);
    out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
    if (!out) throw FileError("bench: cannot write '" + path + "'");
  }
  std::string dir_;
};

struct BenchCase {
  Algorithm algorithm;
  TaskKind task;
  int length, batch, hidden, threads;
};

// Rows of the recurrent product of one step: H, or 4H for the LSTM's four gate blocks.
int step_rows(const BenchCase& bc) { return bc.algorithm == Algorithm::Lstm ? 4 * bc.hidden : bc.hidden; }

std::vector<int> parse_thread_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      const int n = std::stoi(item, &used);
      if (used != item.size() || n < 1 || n > 1024) throw std::invalid_argument(item);
      out.push_back(n);
    } catch (const std::exception&) {
      throw UsageError("--threads: expected a comma-separated list of counts in [1, 1024], got '" + text + "'");
    }
  }
  if (out.empty()) throw UsageError("--threads: empty list");
  return out;
}

// One iteration of a case: time, bound and rates, one row of the table.
void run_case(const BenchCase& bc, Rooflines& roof, int repeats, double min_seconds, const std::string& mnist_dir) {
  TrainConfig cfg;
  cfg.task = bc.task;
  cfg.length = bc.length;
  cfg.batch = bc.batch;
  cfg.hidden = bc.hidden;
  cfg.algorithm = bc.algorithm;
  cfg.data_dir = bc.task == TaskKind::Mnist ? mnist_dir : "";
  cfg.lr = 1e-5;  // keep the weights bounded while timing many iterations
  cfg.alpha_f = 1e-5;
  cfg.alpha_g = 1e-5;
  cfg.threads = bc.threads;
  SoloCommunicator solo;
  const std::unique_ptr<Learner> learner = make_learner(cfg, solo);
  long it = 0;
  const bool large = bc.hidden > 200;
  const double s = seconds_per_call([&] { learner->step(it++); }, large ? 2 : repeats,
                                    min_seconds * (large ? 0.8 : 1.0) + 1e-3);
  const double rss = current_resident_mib();

  const TaskInfo info = task_info(cfg.task);
  const IterationWork work = iteration_work(bc.algorithm, {bc.length, bc.batch, info.inputs, bc.hidden, info.outputs});
  const double step_rate = roof.step(step_rows(bc), bc.hidden, bc.batch) * 1e9, large_rate = roof.large() * 1e9;
  const double one_thread = 2 * work.chain / step_rate + 2 * work.batched / large_rate;
  const double bound = bc.threads == 1 ? one_thread
                                       : std::max(2 * work.span / step_rate, one_thread / roof.scaling(bc.threads));
  const double gflops = 2.0 * work.total() / s / 1e9;
  std::printf("%-8s %-8s %5d %4d %3d %3d %10.3f %9.3f %7.2f %8.1f %8.2f %8.2f %8.1f\n", to_string(bc.algorithm).c_str(),
              to_string(bc.task).c_str(), bc.hidden, bc.length, bc.batch, bc.threads, s * 1e3, bound * 1e3, s / bound,
              gflops, gflops / (step_rate / 1e9), gflops / roof.large(), rss);
  std::fflush(stdout);
}

// A validation pass of 10,000 sequences of length T (temporal task, H = 100) on n threads.
void run_validation(int length, int threads, Rooflines& roof, double min_seconds) {
  TrainConfig cfg;
  cfg.length = length;
  cfg.threads = threads;
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  const double s = seconds_per_call([&] { trainer.validate(); }, 2, min_seconds);
  const TaskInfo info = task_info(cfg.task);
  const double macs = double(cfg.validation_samples) *
                      (double(length) * cfg.hidden * (cfg.hidden + info.inputs) + double(info.outputs) * cfg.hidden);
  const double gflops = 2.0 * macs / s / 1e9;
  const double roof_n = roof.large() * roof.scaling(threads);
  std::printf("validate H=%d T=%d %d sequences, %d thread%s: %.1f ms, %.1f GFLOP/s = %.2f of the 1024^3 roofline%s\n",
              cfg.hidden, length, cfg.validation_samples, threads, threads > 1 ? "s" : "", s * 1e3, gflops,
              gflops / roof_n, threads > 1 ? " times s_n" : "");
  std::fflush(stdout);
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  int steps = 100, batch = 20, repeats = 5;
  double min_seconds = 0.5;
  std::string thread_list = "1";
  po::options_description timed("Cases timed"), timing("Timing"), other("Help");
  // clang-format off
  timed.add_options()
      ("length,T", po::value(&steps)->default_value(steps), "sequence length T (temporal task)")
      ("batch,B", po::value(&batch)->default_value(batch), "minibatch size B (temporal task)")
      ("threads", po::value(&thread_list)->default_value(thread_list), "comma-separated thread counts, e.g. 1,2")
      ("skip-large", "skip the H = 1024 and sequential-MNIST cases");
  timing.add_options()
      ("repeats", po::value(&repeats)->default_value(repeats), "timed repeats (best is reported)")
      ("min-seconds", po::value(&min_seconds)->default_value(min_seconds), "minimum duration of one repeat");
  other.add_options()
      ("help,h", "this help");
  // clang-format on
  po::options_description desc;
  desc.add(timed).add(timing).add(other);
  reject_boost_placeholders(args);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::printf("%s%s", kBenchUsage, (std::ostringstream() << desc).str().c_str());
    return 0;
  }
  const bool skip_large = vm.count("skip-large") > 0;
  if (steps < 10 || batch < 1 || repeats < 1 || !(min_seconds > 0))
    throw UsageError("bench: need --length >= 10, --batch >= 1, --repeats >= 1, --min-seconds > 0");
  const std::vector<int> threads = parse_thread_list(thread_list);

  std::vector<BenchCase> cases;
  for (int n : threads)
    for (Algorithm a : {Algorithm::Bptt, Algorithm::Tptt, Algorithm::TpttHx, Algorithm::Lstm})
      cases.push_back({a, TaskKind::Temporal, steps, batch, 100, n});
  if (!skip_large) {
    for (int n : threads) cases.push_back({Algorithm::Tptt, TaskKind::Temporal, steps, batch, 1024, n});
    for (int n : threads) cases.push_back({Algorithm::Tptt, TaskKind::Mnist, kMnistPixels, 16, 100, n});
  }

  // Every rate the table needs, measured before any case runs.
  Rooflines roof(repeats, min_seconds);
  std::printf("roofline: %.1f GFLOP/s at 1024^3, 1 thread (Eigen sgemm)\n", roof.large());
  for (const BenchCase& bc : cases) {
    roof.step(step_rows(bc), bc.hidden, bc.batch);
    roof.scaling(bc.threads);
  }
  if (*std::max_element(threads.begin(), threads.end()) > 1) {
    const Handoff h = measure_handoff();
    std::printf(
        "handoff: cache line round trip between 2 threads %.0f ns; a 2 MiB buffer the other thread wrote read at %.1f "
        "GB/s (own: %.1f GB/s)\n",
        h.round_trip_ns, h.other_gbs, h.own_gbs);
  }
  std::printf("%-8s %-8s %5s %4s %3s %3s %10s %9s %7s %8s %8s %8s %8s\n", "algo", "task", "H", "T", "B", "thr",
              "ms/iter", "bound ms", "t/bound", "GFLOP/s", "/r(step)", "/r(1024)", "RSS MiB");
  std::unique_ptr<SyntheticMnist> mnist;
  if (!skip_large) mnist = std::make_unique<SyntheticMnist>();
  for (const BenchCase& bc : cases) run_case(bc, roof, repeats, min_seconds, mnist ? mnist->directory() : "");
  for (int n : threads) run_validation(steps, n, roof, min_seconds);
  std::printf("peak resident memory: %.1f MiB\n", peak_resident_mib());
  return 0;
}

}  // namespace tptt
