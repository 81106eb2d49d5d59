// The distributed modes (SegmentPipeline) over K in-process segments: pipelined and
// stale(0) reproduce exact; stale(S) is the same delayed-SGD trajectory for every K; replicas
// stay bitwise identical; runs are reproducible; decoupled boundaries run unlocked.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "small_config.hpp"
#include "tptt/comm/fault_injection.hpp"
#include "tptt/comm/inprocess_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/io/param_file.hpp"
#include "tptt/train/distributed_modes.hpp"
#include "tptt/train/micro_batch_choice.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;

namespace {

struct Trace {
  VecF params;
  std::vector<std::optional<IterationResult>> results;
  std::uint64_t hash = 0;
  long g_updates = 0, f_updates = 0;
};

using testing::mode;

// The plain Trainer (exact mode) over K in-process ranks.
Trace run_trainer(const TrainConfig& config, int K, int iterations) {
  std::vector<Trace> traces(static_cast<std::size_t>(K));
  InProcessHub::run(K, [&](Communicator& comm) {
    Trainer trainer(config, comm);
    Trace& t = traces[static_cast<std::size_t>(comm.rank())];
    for (long it = 0; it < iterations; ++it) t.results.emplace_back(trainer.step(it));
    t.params = trainer.params().flat();
    t.hash = param_hash(t.params);
  });
  return traces[0];
}

// A SegmentPipeline in `dist` mode over K in-process ranks; checks the replicas are identical.
Trace run_pipeline(const TrainConfig& config, const DistributedConfig& dist, int K, int iterations) {
  std::vector<Trace> traces(static_cast<std::size_t>(K));
  InProcessHub::run(K, [&](Communicator& comm) {
    Trainer trainer(config, comm);
    SegmentPipeline pipeline(trainer, dist, comm);
    Trace& t = traces[static_cast<std::size_t>(comm.rank())];
    for (long it = 0; it < iterations; ++it) t.results.push_back(pipeline.step(it));
    pipeline.drain();
    t.params = trainer.params().flat();
    t.hash = param_hash(t.params);
    t.g_updates = pipeline.g_updates();
    t.f_updates = pipeline.f_updates();
  });
  for (int k = 1; k < K; ++k) {
    INFO("rank " << k);
    CHECK(traces[static_cast<std::size_t>(k)].hash == traces[0].hash);
  }
  return traces[0];
}

double normwise_relative(const VecF& a, const VecF& b) {
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / static_cast<double>(b.cwiseAbs().maxCoeff());
}

bool close(double a, double b, double rtol) {
  return std::abs(a - b) <= rtol * std::max(std::abs(a), std::abs(b)) + 1e-12;
}

// `many`'s result of iteration i is `one`'s result of iteration i − shift (both optional).
void check_same(const Trace& one, const Trace& many, double param_rtol = 1e-5) {
  CHECK(many.params.allFinite());
  const double rel = normwise_relative(many.params, one.params);
  INFO("normwise relative parameter difference " << rel);
  CHECK(rel <= param_rtol);
  REQUIRE(many.results.size() == one.results.size());
  for (std::size_t i = 0; i < one.results.size(); ++i) {
    INFO("iteration " << i);
    REQUIRE(many.results[i].has_value() == one.results[i].has_value());
    if (!one.results[i]) continue;
    const IterationResult& a = *many.results[i];
    const IterationResult& b = *one.results[i];
    CHECK(close(a.cost, b.cost, 1e-5));
    CHECK(close(a.loss_g, b.loss_g, 1e-5));
    CHECK(close(a.loss_f, b.loss_f, 1e-4));  // one iteration's L_F: see test_inprocess.cpp
    CHECK(a.did_g == b.did_g);
    CHECK(a.did_f == b.did_f);
  }
}

constexpr Algorithm kAlgorithms[] = {Algorithm::Bptt, Algorithm::Tptt, Algorithm::TpttHx};

}  // namespace

TEST_CASE("modes: the pipeline in exact mode is the Trainer, bit for bit") {
  for (Algorithm a : kAlgorithms) {
    const TrainConfig c = testing::small_config(a);
    for (int K : {1, 3}) {
      CAPTURE(to_string(a));
      CAPTURE(K);
      const Trace trainer = run_trainer(c, K, 15);
      const Trace pipeline = run_pipeline(c, mode(SyncMode::Exact), K, 15);
      CHECK(pipeline.hash == trainer.hash);
      check_same(trainer, pipeline, 0.0);
    }
  }
}

TEST_CASE("modes: pipelined (M micro-batches) gives the exact result for K = 1..4") {
  for (Algorithm a : kAlgorithms) {
    const TrainConfig c = testing::small_config(a, 6);
    const Trace exact = run_trainer(c, 1, 20);
    for (int M : {2, 3, 4}) {  // 6 columns: 3×2, 2×3, and 2+2+1+1
      for (int K : {1, 2, 3, 4}) {
        CAPTURE(to_string(a));
        CAPTURE(M);
        CAPTURE(K);
        check_same(exact, run_pipeline(c, mode(SyncMode::Pipelined, 0, M), K, 20));
      }
    }
  }
}

TEST_CASE("modes: pipelined on one thread (a list schedule over the micro-batches) has the bits of two threads") {
  // One thread interleaves the micro-batches' chains and fills their waits; two threads run them
  // pass after pass. Every task writes its own micro-batch's buffers, which are summed in order.
  for (Algorithm a : kAlgorithms) {
    TrainConfig one = testing::small_config(a, 6);
    one.threads = 1;
    TrainConfig two = one;
    two.threads = 2;
    for (int K : {2, 3}) {
      CAPTURE(to_string(a));
      CAPTURE(K);
      for (const DistributedConfig& d : {mode(SyncMode::Pipelined, 0, 3), mode(SyncMode::Stale, 1, 2)})
        CHECK(run_pipeline(one, d, K, 12).hash == run_pipeline(two, d, K, 12).hash);
    }
  }
}

TEST_CASE("modes: --micro-batches auto chooses one of the candidates, the same on every rank") {
  const TrainConfig c = testing::small_config(Algorithm::Tptt, 6);
  DistributedConfig d = mode(SyncMode::Pipelined, 0, 2);
  d.auto_micro_batches = true;
  const int K = 2;
  std::vector<int> chosen(K);
  std::vector<std::string> reports(K);
  InProcessHub::run(K, [&](Communicator& comm) {
    Trainer trainer(c, comm);
    SegmentPipeline pipeline(trainer, d, comm);
    const Learner::AutomaticChoice choice = pipeline.choose_micro_batches();
    chosen[static_cast<std::size_t>(comm.rank())] = choice.micro_batches;
    reports[static_cast<std::size_t>(comm.rank())] = choice.report;
    CHECK(pipeline.dist().micro_batches == choice.micro_batches);
    CHECK(pipeline.dist().mode_name() == "pipelined(" + std::to_string(choice.micro_batches) + ")");
    CHECK(pipeline.choose_micro_batches().micro_batches == 0);  // chosen once
    for (long it = 0; it < 5; ++it) CHECK(pipeline.step(it).has_value());
    pipeline.drain();
  });
  const std::vector<int> candidates = micro_batch_candidates(c.batch);
  CHECK(std::find(candidates.begin(), candidates.end(), chosen[0]) != candidates.end());
  CHECK(chosen[1] == chosen[0]);
  CHECK(reports[0].find("--micro-batches auto: M = " + std::to_string(chosen[0])) == 0);
}

TEST_CASE("modes: pipelined with noise, the random schedule, clipping and varying lengths") {
  std::vector<std::pair<std::string, TrainConfig>> cases;
  {
    TrainConfig c = testing::small_config(Algorithm::Tptt, 5);
    c.noise = 0.1;
    cases.emplace_back("noise", c);
  }
  {
    TrainConfig c = testing::small_config(Algorithm::TpttHx, 5);
    c.schedule = Schedule::Random;
    c.p_g = 0.5;
    cases.emplace_back("random schedule", c);
  }
  {
    TrainConfig c = testing::small_config(Algorithm::Bptt, 5);
    c.clip_norm = 0.5;
    cases.emplace_back("clipped bptt", c);
  }
  {
    TrainConfig c = testing::small_config(Algorithm::Tptt, 5);
    c.min_length = 10;
    c.max_length = 14;
    cases.emplace_back("length range", c);
  }
  {
    TrainConfig c = testing::small_config(Algorithm::Tptt, 5);
    c.phase_order = PhaseOrder::Reference;  // the default is overlap
    cases.emplace_back("reference order", c);
  }
  for (const auto& [case_name, c] : cases) {
    const std::string& name = case_name;  // CAPTURE's lambda cannot capture a structured binding in clang 14
    CAPTURE(name);
    const Trace exact = run_trainer(c, 1, 20);
    check_same(exact, run_pipeline(c, mode(SyncMode::Pipelined, 0, 2), 3, 20));
    check_same(exact, run_pipeline(c, mode(SyncMode::Pipelined, 0, 5), 4, 20));
  }
}

TEST_CASE("modes: stale(0) is exact; stale(S) is the same delayed-SGD run for every K") {
  for (Algorithm a : kAlgorithms) {
    const TrainConfig c = testing::small_config(a);
    CAPTURE(to_string(a));
    const Trace exact = run_trainer(c, 3, 20);
    const Trace stale0 = run_pipeline(c, mode(SyncMode::Stale, 0), 3, 20);
    CHECK(stale0.hash == exact.hash);
    for (int S : {1, 2, 3}) {
      CAPTURE(S);
      const Trace one = run_pipeline(c, mode(SyncMode::Stale, S), 1, 20);
      // The first S iterations apply nothing; later ones report minibatch n − S.
      for (int i = 0; i < S; ++i) CHECK_FALSE(one.results[static_cast<std::size_t>(i)].has_value());
      CHECK(one.results[static_cast<std::size_t>(S)].has_value());
      CHECK(one.f_updates == 20 - S);
      CHECK(normwise_relative(one.params, exact.params) > 1e-4);  // staleness does change the run
      for (int K : {2, 3, 4}) {
        CAPTURE(K);
        check_same(one, run_pipeline(c, mode(SyncMode::Stale, S), K, 20));
      }
    }
  }
}

constexpr StalenessCompensation kCompensations[] = {StalenessCompensation::Momentum, StalenessCompensation::Predict,
                                                    StalenessCompensation::DelayCompensated,
                                                    StalenessCompensation::PredictDc};

TEST_CASE("modes: staleness compensation is exact at S = 0 and the same run for every K") {
  for (Algorithm a : {Algorithm::Bptt, Algorithm::Tptt}) {
    const TrainConfig c = testing::small_config(a);
    const Trace exact = run_trainer(c, 2, 15);
    for (StalenessCompensation method : kCompensations) {
      CAPTURE(to_string(a));
      CAPTURE(to_string(method));
      CHECK(run_pipeline(c, mode(SyncMode::Stale, 0, 1, false, method), 2, 15).hash == exact.hash);
      const Trace uncompensated = run_pipeline(c, mode(SyncMode::Stale, 2), 1, 15);
      const Trace one = run_pipeline(c, mode(SyncMode::Stale, 2, 1, false, method), 1, 15);
      CHECK(normwise_relative(one.params, uncompensated.params) > 1e-6);  // it does change the run
      for (int K : {2, 3}) {
        CAPTURE(K);
        check_same(one, run_pipeline(c, mode(SyncMode::Stale, 2, 1, false, method), K, 15));
      }
    }
  }
}

TEST_CASE("modes: momentum compensation is stale SGD with the lowered momentum") {
  TrainConfig c = testing::small_config(Algorithm::Tptt);
  c.momentum = 0.9;
  const Trace adjusted = run_pipeline(c, mode(SyncMode::Stale, 1, 1, false, StalenessCompensation::Momentum), 2, 15);
  c.momentum = static_cast<double>(static_cast<Scalar>(delay_adjusted_momentum(0.9, 1)));  // 0.8
  CHECK(run_pipeline(c, mode(SyncMode::Stale, 1), 2, 15).hash == adjusted.hash);
}

TEST_CASE("modes: stale runs are reproducible and combine with micro-batches") {
  const TrainConfig c = testing::small_config(Algorithm::Tptt, 6);
  const Trace a = run_pipeline(c, mode(SyncMode::Stale, 2), 4, 25);
  const Trace b = run_pipeline(c, mode(SyncMode::Stale, 2), 4, 25);
  CHECK(a.hash == b.hash);
  const Trace one = run_pipeline(c, mode(SyncMode::Stale, 2), 1, 25);
  check_same(one, run_pipeline(c, mode(SyncMode::Stale, 2, 3), 3, 25));
}

TEST_CASE("modes: decoupled boundaries") {
  for (Algorithm algorithm : {Algorithm::TpttHx, Algorithm::Tptt}) {
    CAPTURE(to_string(algorithm));
    TrainConfig c = testing::small_config(algorithm);
    c.phase_order = PhaseOrder::Overlap;  // decoupled boundaries always run in this order
    // One segment has no boundary to predict: decoupled is exact, bit for bit.
    CHECK(run_pipeline(c, mode(SyncMode::Exact, 0, 1, true), 1, 15).hash == run_trainer(c, 1, 15).hash);
    for (int S : {0, 1}) {
      for (int K : {2, 4}) {
        CAPTURE(S);
        CAPTURE(K);
        const Trace a = run_pipeline(c, mode(S ? SyncMode::Stale : SyncMode::Exact, S, 1, true), K, 30);
        const Trace b = run_pipeline(c, mode(S ? SyncMode::Stale : SyncMode::Exact, S, 1, true), K, 30);
        CHECK(a.params.allFinite());
        CHECK(a.hash == b.hash);  // reproducible
        const Trace reference = run_pipeline(c, mode(S ? SyncMode::Stale : SyncMode::Exact, S), 1, 30);
        CHECK(normwise_relative(a.params, reference.params) > 1e-6);  // the boundary values differ
        CHECK(normwise_relative(a.params, reference.params) < 0.5);
      }
    }
  }
}

namespace {

// One boundary's share of a decoupled tptt checkpoint's boundary_state (H hidden units, B
// columns, one micro-batch): the predictors, then per unfolded minibatch the real target, the
// real ∂E/∂h_b and h_b.
struct TpttBoundary {
  MatF target_predictor, gradient_predictor, real_target, real_gradient, state;
};

TpttBoundary read_boundary(const Checkpoint& ckpt, int H, int B) {
  const std::vector<float> v = ckpt.get_f32("boundary_state");
  std::size_t pos = 0;
  const auto take = [&](Eigen::Index rows, Eigen::Index cols) {
    MatF m = Eigen::Map<const MatF>(v.data() + pos, rows, cols);
    pos += static_cast<std::size_t>(rows * cols);
    return m;
  };
  TpttBoundary b;
  b.target_predictor = take(H, H + 1);
  b.gradient_predictor = take(H, H + 1);
  b.real_target = take(H, B);
  b.real_gradient = take(H, B);
  b.state = take(H, B);
  REQUIRE(pos == v.size());  // K = 2: one boundary, one unfolded minibatch
  return b;
}

}  // namespace

TEST_CASE("modes: decoupled tptt trains its dE/dh predictor on the real boundary gradient, one step late") {
  TrainConfig c = testing::small_config(Algorithm::Tptt);
  c.phase_order = PhaseOrder::Overlap;
  DistributedConfig dist = mode(SyncMode::Exact, 0, 1, true);
  dist.decoupled_rate = 0.7;
  Checkpoint after0, after1;  // settled after iterations 0 and 1
  InProcessHub::run(2, [&](Communicator& comm) {
    Trainer trainer(c, comm);
    SegmentPipeline pipeline(trainer, dist, comm);
    pipeline.step(0);
    pipeline.settle();
    if (comm.rank() == 0) pipeline.save_state(after0);
    pipeline.step(1);
    pipeline.settle();
    if (comm.rank() == 0) pipeline.save_state(after1);
    pipeline.drain();
  });
  const int H = c.hidden, B = c.batch;
  CHECK(after0.get_i64("boundary_iterations") == std::vector<std::int64_t>{0});
  CHECK(after1.get_i64("boundary_iterations") == std::vector<std::int64_t>{1});
  const TpttBoundary b0 = read_boundary(after0, H, B), b1 = read_boundary(after1, H, B);
  CHECK(b0.gradient_predictor.isZero(0));  // zero at the start: minibatch 0 ran on ∂E/∂h_b = 0
  CHECK(b0.target_predictor.isZero(0));
  CHECK(b0.real_gradient.norm() > 0);
  // Iteration 1 folded minibatch 0's real values in: W = η y zᵀ / ‖z‖², z = [h_b; 1], from W = 0.
  MatF z(H + 1, B);
  z.topRows(H) = b0.state;
  z.row(H).setOnes();
  const double scale = dist.decoupled_rate / static_cast<double>(z.squaredNorm());
  const MatF expected_gradient = (scale * (b0.real_gradient * z.transpose()).cast<double>()).cast<Scalar>();
  const MatF expected_target = (scale * (b0.real_target * z.transpose()).cast<double>()).cast<Scalar>();
  CHECK((b1.gradient_predictor - expected_gradient).norm() <= 1e-5 * expected_gradient.norm());
  CHECK((b1.target_predictor - expected_target).norm() <= 1e-5 * expected_target.norm());
}

namespace {

// `dist` over K ranks for `iterations`, with a checkpoint after iteration `at` (rank 0's), and
// the same run resumed from it: both must end where the uninterrupted run ends, bit for bit.
void check_resume(const TrainConfig& c, const DistributedConfig& dist, int K, int at, int iterations) {
  const Trace reference = run_pipeline(c, dist, K, iterations);
  Checkpoint ckpt;
  VecF params_at;
  std::vector<std::optional<IterationResult>> settled_results;
  std::uint64_t settled_hash = 0;
  InProcessHub::run(K, [&](Communicator& comm) {
    Trainer trainer(c, comm);
    SegmentPipeline pipeline(trainer, dist, comm);
    std::vector<std::optional<IterationResult>> results;
    for (long it = 0; it < iterations; ++it) {
      results.push_back(pipeline.step(it));
      if (it + 1 != at) continue;
      pipeline.settle();  // as CheckpointWriter: every rank, then rank 0 saves
      if (comm.rank() == 0) {
        pipeline.save_state(ckpt);
        params_at = trainer.params().flat();
      }
    }
    pipeline.drain();
    if (comm.rank() == 0) {
      settled_results = results;
      settled_hash = param_hash(trainer.params().flat());
    }
  });
  CHECK(settled_hash == reference.hash);  // settling changes nothing
  Trace resumed;
  InProcessHub::run(K, [&](Communicator& comm) {
    Trainer trainer(c, comm);
    SegmentPipeline pipeline(trainer, dist, comm);
    trainer.params().flat() = params_at;
    pipeline.load_state(ckpt);
    std::vector<std::optional<IterationResult>> results;
    for (long it = at; it < iterations; ++it) results.push_back(pipeline.step(it));
    pipeline.drain();
    if (comm.rank() == 0) {
      resumed.results = results;
      resumed.params = trainer.params().flat();
      resumed.hash = param_hash(resumed.params);
    }
  });
  CHECK(resumed.hash == reference.hash);
  for (int i = at; i < iterations; ++i) {
    const auto& a = resumed.results[static_cast<std::size_t>(i - at)];
    const auto& b = reference.results[static_cast<std::size_t>(i)];
    REQUIRE(a.has_value() == b.has_value());
    if (a) CHECK(a->cost == b->cost);
  }
}

}  // namespace

TEST_CASE("modes: stale and decoupled runs resume bit for bit from a checkpoint") {
  const TrainConfig c = testing::small_config(Algorithm::Tptt);
  for (int K : {1, 3}) {
    CAPTURE(K);
    check_resume(c, mode(SyncMode::Stale, 2), K, 7, 14);
    check_resume(c, mode(SyncMode::Stale, 1, 1, false, StalenessCompensation::PredictDc), K, 6, 12);
  }
  check_resume(c, mode(SyncMode::Stale, 3, 2, false, StalenessCompensation::DelayCompensated), 2, 5, 12);
  TrainConfig hx = testing::small_config(Algorithm::TpttHx);
  hx.phase_order = PhaseOrder::Overlap;
  check_resume(hx, mode(SyncMode::Exact, 0, 1, true), 3, 6, 12);
  check_resume(hx, mode(SyncMode::Stale, 2, 2, true), 2, 6, 12);
  TrainConfig tptt = testing::small_config(Algorithm::Tptt);  // two predictors per boundary
  tptt.phase_order = PhaseOrder::Overlap;
  check_resume(tptt, mode(SyncMode::Exact, 0, 1, true), 2, 6, 12);
  check_resume(tptt, mode(SyncMode::Exact, 0, 1, true), 3, 5, 12);
  check_resume(tptt, mode(SyncMode::Stale, 2, 3, true), 2, 6, 12);  // micro-batches of unequal weight
}

TEST_CASE("modes: a checkpoint with gradients in flight resumes in its own mode only") {
  const TrainConfig c = testing::small_config(Algorithm::Tptt);
  Checkpoint ckpt;
  InProcessHub::run(1, [&](Communicator& comm) {
    Trainer trainer(c, comm);
    SegmentPipeline pipeline(trainer, mode(SyncMode::Stale, 2), comm);
    for (long it = 0; it < 4; ++it) pipeline.step(it);
    pipeline.settle();
    pipeline.save_state(ckpt);
    CHECK(ckpt.get_i64("pending_meta").size() == 6);  // minibatches 2 and 3
    SegmentPipeline other(trainer, mode(SyncMode::Stale, 1), comm);
    CHECK_THROWS_AS(other.load_state(ckpt), UsageError);
    Trainer plain(c, comm);
    CHECK_THROWS_AS(plain.load_state(ckpt), UsageError);
  });
}

TEST_CASE("modes: bad combinations are usage errors") {
  const TrainConfig c = testing::small_config(Algorithm::Tptt);
  CHECK_THROWS_AS(mode(SyncMode::Exact, 1).validate(c), UsageError);
  CHECK_THROWS_AS(mode(SyncMode::Exact, 0, 2).validate(c), UsageError);
  CHECK_THROWS_AS(mode(SyncMode::Pipelined, 0, 1).validate(c), UsageError);
  CHECK_THROWS_AS(mode(SyncMode::Pipelined, 0, 5).validate(c), UsageError);  // M > B = 4
  CHECK_THROWS_AS(mode(SyncMode::Stale, -1).validate(c), UsageError);
  CHECK_NOTHROW(mode(SyncMode::Exact, 0, 1, true).validate(c));  // decoupled tptt predicts dE/dh_b too
  CHECK_THROWS_WITH_AS(mode(SyncMode::Exact, 0, 1, true).validate(testing::small_config(Algorithm::Bptt)),
                       doctest::Contains("bptt has no targets"), UsageError);
  CHECK_NOTHROW(mode(SyncMode::Stale, 2, 2).validate(c));
  CHECK_THROWS_AS(mode(SyncMode::Exact, 0, 1, false, StalenessCompensation::Predict).validate(c), UsageError);
  TrainConfig sgd = c;
  sgd.optimizer = OptimizerKind::Sgd;
  CHECK_THROWS_AS(mode(SyncMode::Stale, 1, 1, false, StalenessCompensation::Predict).validate(sgd), UsageError);
  CHECK_THROWS_AS(mode(SyncMode::Stale, 1, 1, false, StalenessCompensation::Momentum).validate(sgd), UsageError);
  CHECK_NOTHROW(mode(SyncMode::Stale, 1, 1, false, StalenessCompensation::DelayCompensated).validate(sgd));
  CHECK(parse_sync_mode("stale") == SyncMode::Stale);
  CHECK_THROWS_AS(parse_sync_mode("async"), UsageError);
}

TEST_CASE("modes: a rank that fails in stale mode ends the run, no rank hangs") {
  using namespace std::chrono_literals;
  const TrainConfig c = testing::small_config(Algorithm::TpttHx);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(InProcessHub::run(4,
                                         [&](Communicator& comm) {
                                           FaultInjectingCommunicator faulty(comm, FaultPlan{6, 1, FaultKind::Throw});
                                           Trainer trainer(c, faulty);
                                           SegmentPipeline pipeline(trainer, mode(SyncMode::Stale, 2), faulty);
                                           for (long it = 0; it < 20; ++it) pipeline.step(it);
                                           pipeline.drain();
                                         }),
                       doctest::Contains("injected fault"), std::runtime_error);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}
