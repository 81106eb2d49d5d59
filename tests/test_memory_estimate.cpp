// The up-front memory estimate of a run and its refusal (train/memory_estimate.hpp).
#include <doctest/doctest.h>

#include <string>

#include "tptt/core/error.hpp"
#include "tptt/core/memory.hpp"
#include "tptt/train/memory_estimate.hpp"

using namespace tptt;

namespace {

double part(const MemoryEstimate& e, const std::string& prefix) {
  for (const MemoryPart& p : e.parts)
    if (p.what.rfind(prefix, 0) == 0) return p.bytes;
  FAIL("no part " << prefix);
  return 0;
}

}  // namespace

TEST_CASE("memory estimate: the parts of a default run and how they scale") {
  TrainConfig cfg;  // temporal (I = 6, O = 4), T = 60, H = 100, B = 20, Nesterov, orthogonal
  const MemoryEstimate e = estimate_run_memory(cfg);
  double sum = 0;
  for (std::size_t i = 0; i < e.parts.size(); ++i) {
    sum += e.parts[i].bytes;
    if (i > 0) CHECK(e.parts[i - 1].bytes >= e.parts[i].bytes);  // largest first
  }
  CHECK(e.bytes == doctest::Approx(sum));
  const double theta = 100 * 6 + 2 * 100 * 100 + 2 * 100 + 4 * 100 + 4;  // |θ| = 20,804
  CHECK(part(e, "parameters") == doctest::Approx(5 * theta * 4));        // θ, grad, reduce, copy, velocity
  CHECK(part(e, "per-step buffers") == doctest::Approx(7 * 100 * 61 * 20 * 4));
  CHECK(part(e, "training minibatch") == doctest::Approx((6 * 60 * 20 + 4 * 20) * 4));
  CHECK(part(e, "validation batches") == doctest::Approx((6 * 60 * 1000 + 4 * 1000 + 2 * 100 * 250) * 4));
  CHECK(part(e, "orthogonal initialisation") == doctest::Approx(9 * 100 * 100 * 8));
  CHECK(e.bytes < 20e6);

  TrainConfig big = cfg;
  big.batch = 40;
  CHECK(part(estimate_run_memory(big), "per-step buffers") == doctest::Approx(2 * part(e, "per-step buffers")));
  // Two ranks: each holds a segment of 30 steps (31 state blocks instead of 61).
  CHECK(part(estimate_run_memory(cfg, 2), "per-step buffers") == doctest::Approx(7 * 100 * 31 * 20 * 4));
  // --sync stale S = 2: three minibatches in flight.
  CHECK(part(estimate_run_memory(cfg, 1, 3), "per-step buffers") == doctest::Approx(3 * part(e, "per-step buffers")));
  big = cfg;
  big.threads = 4;  // four validation batches at once
  CHECK(part(estimate_run_memory(big), "validation batches") == doctest::Approx(4 * part(e, "validation batches")));
  big.noise = 0.1;  // Gn, Hn, Fn and ε
  CHECK(part(estimate_run_memory(big), "per-step buffers") == doctest::Approx(11.0 / 7 * part(e, "per-step buffers")));
}

TEST_CASE("memory estimate: the LSTM, MNIST and the configuration of issue 12") {
  TrainConfig lstm;
  lstm.algorithm = Algorithm::Lstm;
  const MemoryEstimate l = estimate_run_memory(lstm);
  CHECK(part(l, "parameters") == doctest::Approx(5 * (4 * 100 * (6 + 100 + 1) + 4 * 101) * 4));
  CHECK(part(l, "per-step buffers") == doctest::Approx(11 * 100 * 61 * 20 * 4));

  TrainConfig mnist;
  mnist.task = TaskKind::Mnist;
  mnist.length = 784;
  mnist.batch = 16;
  mnist.data_dir = "unused";  // the estimate reads no file
  CHECK(part(estimate_run_memory(mnist), "MNIST images") == doctest::Approx(70000.0 * 785));

  TrainConfig huge;
  huge.batch = 100000000;
  huge.hidden = 100000;  // ~2.4e15 bytes of per-step buffers alone; no int overflow
  const MemoryEstimate h = estimate_run_memory(huge);
  CHECK(h.bytes > 2e15);
  CHECK(h.parts.front().what.rfind("per-step buffers", 0) == 0);
  std::string message;
  try {
    require_memory_fits(h, 24e9);
  } catch (const UsageError& e) {
    message = e.what();
  }
  CHECK(message.find("--hidden") != std::string::npos);
  CHECK(message.find("--batch") != std::string::npos);
  CHECK(message.find("per-step buffers") != std::string::npos);
  CHECK_NOTHROW(require_memory_fits(h, 0));  // available memory unknown: no check
  CHECK_NOTHROW(require_memory_fits(estimate_run_memory(TrainConfig{}), 24e9));
}

TEST_CASE("memory: this process's resident set, its peak and the available memory are known on Linux") {
  CHECK(peak_resident_mib() > 1);
  CHECK(current_resident_mib() > 1);
  CHECK(current_resident_mib() <= peak_resident_mib() + 1);
  CHECK(available_memory_bytes() > 1e6);
}
