// `tptt bench`: time one training iteration and compare it with the machine's measured
// matrix-product roofline. Not a test: prints figures for docs/performance.md.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_commands.hpp"
#include "tptt/algo/work_count.hpp"
#include "tptt/core/error.hpp"
#include "tptt/io/options.hpp"
#include "tptt/train/learner.hpp"
#include "tptt/train/trainer.hpp"

namespace po = boost::program_options;

namespace tptt {

namespace {

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

// Single-precision GEMM rate (GFLOP/s, 2 flops per multiply-add) of C(m×n) = A(m×k)·B(k×n).
double gemm_gflops(int m, int k, int n, int repeats, double min_seconds) {
  MatF a = MatF::Random(m, k), b = MatF::Random(k, n), c(m, n);
  const double s = seconds_per_call([&] { c.noalias() = a * b; }, repeats, min_seconds);
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

struct BenchCase {
  Algorithm algorithm;
  int hidden;
  int threads;
};

std::vector<int> parse_thread_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      const int n = std::stoi(item, &used);
      if (used != item.size() || n < 1) throw std::invalid_argument(item);
      out.push_back(n);
    } catch (const std::exception&) {
      throw UsageError("--threads: expected a comma-separated list of positive counts, got '" + text + "'");
    }
  }
  if (out.empty()) throw UsageError("--threads: empty list");
  return out;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  int steps = 100, batch = 20, repeats = 5;
  double min_seconds = 0.5;
  bool skip_large = false;
  std::string thread_list = "1";
  po::options_description desc("tptt bench [options]");
  // clang-format off
  desc.add_options()
      ("length,T", po::value(&steps)->default_value(steps), "sequence length T")
      ("batch,B", po::value(&batch)->default_value(batch), "minibatch size B")
      ("repeats", po::value(&repeats)->default_value(repeats), "timed repeats (best is reported)")
      ("min-seconds", po::value(&min_seconds)->default_value(min_seconds), "minimum duration of one repeat")
      ("skip-large", "skip the H = 1024 case")
      ("threads", po::value(&thread_list)->default_value(thread_list), "comma-separated thread counts, e.g. 1,2")
      ("help,h", "this help");
  // clang-format on
  reject_boost_placeholders(args);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::printf("%s", (std::ostringstream() << desc).str().c_str());
    return 0;
  }
  skip_large = vm.count("skip-large") > 0;
  if (steps < 10 || batch < 1 || repeats < 1 || !(min_seconds > 0))
    throw UsageError("bench: need --length >= 10, --batch >= 1, --repeats >= 1, --min-seconds > 0");

  const double roof_large = gemm_gflops(1024, 1024, 1024, repeats, min_seconds);
  const double roof_step = gemm_gflops(100, 100, batch, repeats, min_seconds);
  std::printf("roofline (Eigen sgemm, 1 thread): %.1f GFLOP/s at 1024^3, %.1f GFLOP/s at 100x100x%d\n", roof_large,
              roof_step, batch);
  std::printf("%-8s %6s %5s %4s %7s %10s %10s %12s %12s\n", "algo", "H", "T", "B", "threads", "ms/iter", "GFLOP/s",
              "/roof(step)", "/roof(1024)");

  const std::vector<int> threads = parse_thread_list(thread_list);
  for (int n : threads) {
    if (n == 1) continue;
    const double agg = parallel_gemm_gflops(n, 100, 100, 1000, min_seconds);
    const double one = gemm_gflops(100, 100, 1000, repeats, min_seconds);
    std::printf("roofline %d threads (independent sgemm 100x100x1000 each): %.1f GFLOP/s = %.2fx one thread (%.1f)\n",
                n, agg, agg / one, one);
  }
  std::vector<BenchCase> cases;
  for (int n : threads)
    for (Algorithm a : {Algorithm::Bptt, Algorithm::Tptt, Algorithm::TpttHx, Algorithm::Lstm})
      cases.push_back({a, 100, n});
  if (!skip_large)
    for (int n : threads) cases.push_back({Algorithm::Tptt, 1024, n});
  SoloCommunicator solo;
  for (const BenchCase& bc : cases) {
    TrainConfig cfg;
    cfg.task = TaskKind::Temporal;
    cfg.length = steps;
    cfg.batch = batch;
    cfg.hidden = bc.hidden;
    cfg.algorithm = bc.algorithm;
    cfg.lr = 1e-5;  // keep the weights bounded while timing many iterations
    cfg.alpha_f = 1e-5;
    cfg.alpha_g = 1e-5;
    cfg.threads = bc.threads;
    const std::unique_ptr<Learner> learner = make_learner(cfg, solo);
    long it = 0;
    const double large_factor = bc.hidden > 200 ? 0.2 : 1.0;
    const double s = seconds_per_call([&] { learner->step(it++); }, bc.hidden > 200 ? 2 : repeats,
                                      min_seconds * (bc.hidden > 200 ? 4 : 1) * large_factor + 1e-3);
    const TaskInfo info = task_info(cfg.task);
    const double macs = iteration_multiply_adds(bc.algorithm, {steps, batch, info.inputs, bc.hidden, info.outputs});
    const double gflops = 2.0 * macs / s / 1e9;
    std::printf("%-8s %6d %5d %4d %7d %10.3f %10.1f %12.2f %12.2f\n", to_string(bc.algorithm).c_str(), bc.hidden, steps,
                batch, bc.threads, s * 1e3, gflops, gflops / roof_step, gflops / roof_large);
  }
  // A full validation pass: 10,000 sequences of length T in batches of 1,000 (H = 100).
  for (int n : threads) {
    TrainConfig cfg;
    cfg.length = steps;
    cfg.threads = n;
    Trainer trainer(cfg, solo);
    const double s = seconds_per_call([&] { trainer.validate(); }, 2, min_seconds);
    const double macs = double(cfg.validation_samples) * steps * cfg.hidden * (cfg.hidden + 6);
    std::printf("validate H=100 T=%d 10000 samples, %d threads: %.1f ms  (%.1f GFLOP/s)\n", steps, n, s * 1e3,
                2.0 * macs / s / 1e9);
  }
  return 0;
}

}  // namespace tptt
