// Phase schedules (docs/method.md §9) and threads: alternate and random are deterministic and do not
// depend on the thread count; concurrent runs the G loop beside the F iterations.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "tptt/comm/inprocess_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/lanes.hpp"
#include "tptt/train/protocol.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;

namespace {

TrainConfig small_config() {
  TrainConfig cfg;
  cfg.length = 20;
  cfg.hidden = 32;
  cfg.validation_samples = 500;
  cfg.validation_batch = 100;
  return cfg;
}

VecF parameters_after(const TrainConfig& cfg, long iterations, PhaseStats* stats = nullptr) {
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  for (long i = 0; i < iterations; ++i) trainer.step(i);
  trainer.finish();
  if (stats) *stats = trainer.phase_stats();
  return trainer.params().flat();
}

bool same_bits(const VecF& a, const VecF& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

}  // namespace

TEST_CASE("lanes: every item runs once, a sequential lane's in order, each only once it is ready") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    ThreadArena arena(threads);
    constexpr int n = 200;
    std::vector<int> chain_order, gradient_order;
    std::array<std::atomic<int>, n> runs{};
    std::atomic<int> early{0};
    Lane chain(n, [&](int i) { chain_order.push_back(i); });
    const auto passed = [&](int i) { return chain.finished() > i; };
    Lane gradient(
        n,
        [&](int i) {
          if (chain.finished() <= i) ++early;
          gradient_order.push_back(i);
        },
        passed);
    Lane independent(
        n,
        [&](int i) {
          if (chain.finished() <= i) ++early;
          ++runs[static_cast<std::size_t>(i)];
        },
        passed, Lane::Order::Independent);
    run_strands(arena, {&chain, &gradient, &independent}, {&independent, &gradient});
    CHECK(chain.done());
    CHECK(gradient.done());
    CHECK(independent.done());
    CHECK(early == 0);
    REQUIRE(chain_order.size() == n);
    REQUIRE(gradient_order.size() == n);
    for (int i = 0; i < n; ++i) {
      CHECK(chain_order[static_cast<std::size_t>(i)] == i);
      CHECK(gradient_order[static_cast<std::size_t>(i)] == i);
      CHECK(runs[static_cast<std::size_t>(i)] == 1);
    }
  }
}

TEST_CASE("lanes: an item's exception stops both strands and reaches the caller") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    ThreadArena arena(threads);
    Lane chain(10, [](int i) {
      if (i == 3) throw std::runtime_error("item 3");
    });
    // Waits for the chain, which never gets past item 3: the helper must not wait forever.
    Lane gradient(
        10, [](int) {}, [&](int i) { return chain.finished() > i; });
    CHECK_THROWS_AS(run_strands(arena, {&chain, &gradient}, {&gradient}), std::runtime_error);
    CHECK(chain.finished() == 3);
  }
}

TEST_CASE("lanes: a filler lane runs in order in the others' waits and is left where it got") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    ThreadArena arena(threads);
    constexpr int n = 50;
    std::vector<int> filler_order;
    Lane chain(n, [](int) {});
    Lane independent(
        n, [](int) {}, [&](int i) { return chain.finished() > i; }, Lane::Order::Independent);
    // Reads the independent lane's item i: it must be done, whoever ran it and in whatever order.
    int unready = 0;
    Lane filler(
        n,
        [&](int i) {
          if (!independent.item_done(i)) ++unready;
          filler_order.push_back(i);
        },
        [&](int i) { return independent.item_done(i); });
    run_strands(arena, {&chain, &independent, &filler}, {&independent, &filler}, nullptr, &filler);
    CHECK(chain.done());
    CHECK(independent.done());
    CHECK(unready == 0);
    const int got = filler.finished();
    REQUIRE(filler_order.size() == static_cast<std::size_t>(got));
    for (int i = 0; i < got; ++i) CHECK(filler_order[static_cast<std::size_t>(i)] == i);
    filler.run_all();  // the caller finishes it later
    CHECK(filler.done());
    REQUIRE(filler_order.size() == n);
    for (int i = 0; i < n; ++i) CHECK(filler_order[static_cast<std::size_t>(i)] == i);
  }
}

TEST_CASE("alternate and random schedules give the same bits for 1, 2 and 3 threads") {
  for (Algorithm algo : {Algorithm::Bptt, Algorithm::Tptt, Algorithm::TpttHx}) {
    for (Schedule schedule : {Schedule::Alternate, Schedule::Random}) {
      if (algo == Algorithm::Bptt && schedule == Schedule::Random) continue;
      TrainConfig cfg = small_config();
      cfg.length = 23;  // the last chunk of steps (core/lanes.hpp items) is a partial one
      cfg.algorithm = algo;
      cfg.schedule = schedule;
      if (schedule == Schedule::Random) cfg.p_g = 0.5;
      cfg.noise = (algo == Algorithm::TpttHx) ? 0.1 : 0.0;
      if (algo == Algorithm::Bptt) cfg.noise = 0;
      for (PhaseOrder order : {PhaseOrder::Overlap, PhaseOrder::Reference}) {
        cfg.phase_order = order;
        cfg.threads = 1;
        const VecF one = parameters_after(cfg, 25);
        for (int threads : {2, 3}) {
          cfg.threads = threads;
          INFO(to_string(algo) << " " << to_string(schedule) << " " << to_string(order) << " threads " << threads);
          CHECK(same_bits(one, parameters_after(cfg, 25)));
        }
      }
    }
  }
}

TEST_CASE("validation gives the same numbers for any thread count") {
  TrainConfig cfg = small_config();
  SoloCommunicator solo;
  Trainer one(cfg, solo);
  cfg.threads = 2;
  Trainer two(cfg, solo);
  for (long i = 0; i < 5; ++i) {
    one.step(i);
    two.step(i);
  }
  const ValidationResult a = one.validate(), b = two.validate();
  CHECK(a.error == b.error);
  CHECK(a.cost == b.cost);
}

TEST_CASE("random schedule: one phase per iteration, G with probability p_G, reproducible") {
  TrainConfig cfg = small_config();
  cfg.schedule = Schedule::Random;
  cfg.p_g = 1.0 / 3.0;
  PhaseStats s1, s2;
  const VecF a = parameters_after(cfg, 600, &s1);
  const VecF b = parameters_after(cfg, 600, &s2);
  CHECK(same_bits(a, b));
  CHECK(s1.g_updates + s1.f_updates == 600);
  CHECK(s1.g_updates == s2.g_updates);
  // Binomial(600, 1/3): mean 200, sd ≈ 11.5; ±5 sd.
  CHECK(s1.g_updates > 142);
  CHECK(s1.g_updates < 258);
}

TEST_CASE("concurrent schedule: the G loop runs beside the F iterations at the p_G ratio") {
  TrainConfig cfg = small_config();
  cfg.schedule = Schedule::Concurrent;
  cfg.threads = 2;
  for (double p_g : {0.5, 1.0 / 3.0}) {
    cfg.p_g = p_g;
    PhaseStats s;
    const VecF params = parameters_after(cfg, 60, &s);
    CHECK(params.allFinite());
    CHECK(s.f_updates == 60);
    // G keeps its share p_G/(1−p_G) of the F updates within the lag bounds of both sides.
    const double ratio = p_g / (1 - p_g);
    CHECK(s.g_updates <= static_cast<long>(ratio * 60 + 1.0 + 1e-9));
    CHECK(s.g_updates >= static_cast<long>(ratio * (60 - 2) - 1.0 - 1e-9));
    CHECK(s.f_staleness_max >= 0);
    // The G loop starts an update once g < ratio·v_F + 1, and F runs on while
    // ratio·(v_F − 2) < g + 1: fewer than 2/ratio + 2 F updates land meanwhile with an exact
    // ratio. p_G = 1/3 gives ratio = 0.49999999999999994 in double precision, which lets one
    // more F update start at the edge (seen on a loaded machine): at most 2/ratio + 2.
    CHECK(s.g_staleness_max <= static_cast<long>(2 / ratio + 2 + 1e-9));
  }
}

TEST_CASE("concurrent schedule learns temporal order at T = 20") {
  TrainConfig cfg = small_config();
  cfg.hidden = 100;
  cfg.schedule = Schedule::Concurrent;
  cfg.threads = 2;
  cfg.p_g = 0.5;
  cfg.max_iterations = 3000;
  cfg.validation_samples = 2000;
  cfg.validation_batch = 1000;
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  const RunSummary s = run_protocol(trainer);
  CHECK(s.solved);
  MESSAGE("concurrent TPTT temporal T=20 solved at " << s.solved_at << ", G updates " << trainer.g_updates());
}

TEST_CASE("concurrent schedule rejects a configuration it cannot run") {
  TrainConfig cfg = small_config();
  cfg.schedule = Schedule::Concurrent;
  cfg.p_g = 0.5;
  cfg.threads = 1;
  CHECK_THROWS_AS(cfg.validate(), UsageError);
  cfg.threads = 2;
  cfg.p_g = 1.0;
  CHECK_THROWS_AS(cfg.validate(), UsageError);
}

TEST_CASE("concurrent schedule over K in-process segments: replicas stay identical, no rank hangs") {
  for (int K : {2, 3}) {
    TrainConfig cfg = small_config();
    cfg.schedule = Schedule::Concurrent;
    cfg.threads = 2;
    cfg.p_g = 0.5;
    std::vector<VecF> finals(K);
    std::vector<PhaseStats> stats(K);
    InProcessHub::run(K, [&](Communicator& comm) {
      Trainer trainer(cfg, comm);
      for (long i = 0; i < 30; ++i) trainer.step(i);
      trainer.finish();
      finals[comm.rank()] = trainer.params().flat();
      stats[comm.rank()] = trainer.phase_stats();
    });
    for (int k = 1; k < K; ++k) {
      INFO("K = " << K << ", rank " << k);
      CHECK(same_bits(finals[0], finals[k]));  // every rank applies the same reduced updates
      CHECK(stats[k].g_updates == stats[0].g_updates);
    }
    CHECK(stats[0].f_updates == 30);
    CHECK(stats[0].g_updates == 31);  // drained: every G iteration the 30 F updates allow
  }
}
