// End-to-end: the trainer learns the temporal order task and is reproducible bit for bit.
#include <doctest/doctest.h>

#include <cstring>

#include "tptt/train/protocol.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;

namespace {

RunSummary train(const TrainConfig& cfg, VecF* final_params = nullptr) {
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  const RunSummary s = run_protocol(trainer);
  if (final_params) *final_params = trainer.params().flat();
  return s;
}

}  // namespace

TEST_CASE("TPTT solves temporal order at T = 30 and the run is reproducible bit for bit") {
  TrainConfig cfg;  // the common model: α_i = 0.1, α_f = 0.01, α_g = 0.001, Nesterov
  cfg.task = TaskKind::Temporal;
  cfg.length = 30;
  cfg.seed = 3;
  cfg.max_iterations = 3000;
  VecF first, second;
  const RunSummary a = train(cfg, &first);
  const RunSummary b = train(cfg, &second);
  CHECK(a.solved);
  MESSAGE("TPTT temporal T=30 solved at iteration " << a.solved_at);
  CHECK(a.solved_at == b.solved_at);
  REQUIRE(first.size() == second.size());
  CHECK(std::memcmp(first.data(), second.data(), sizeof(float) * first.size()) == 0);
}

TEST_CASE("TPTT_hx solves temporal order at T = 20") {
  TrainConfig cfg;
  cfg.algorithm = Algorithm::TpttHx;
  cfg.alpha_f = 0.2;  // the paper's TPTT_hx common model
  cfg.alpha_g = 0.01;
  cfg.length = 20;
  cfg.max_iterations = 5000;
  const RunSummary s = train(cfg);
  CHECK(s.solved);
  MESSAGE("TPTT_hx temporal T=20 solved at iteration " << s.solved_at);
}

TEST_CASE("BPTT solves temporal order at T = 10") {
  TrainConfig cfg;
  cfg.algorithm = Algorithm::Bptt;
  cfg.lr = 1e-3;
  cfg.length = 10;
  cfg.max_iterations = 5000;
  const RunSummary s = train(cfg);
  CHECK(s.solved);
  MESSAGE("BPTT temporal T=10 solved at iteration " << s.solved_at);
}

TEST_CASE("the data of iteration n depends only on (seed, n)") {
  TrainConfig cfg;
  SoloCommunicator solo;
  Trainer a(cfg, solo), b(cfg, solo);
  b.step(0);  // training changes the parameters, never the data
  const Batch x = a.training_batch(41), y = b.training_batch(41);
  CHECK(x.X == y.X);
  CHECK(x.Y == y.Y);
  CHECK(!(a.training_batch(42).X == x.X));
}

TEST_CASE("a diverging run stops with a non-finite cost or an exploding spectral radius") {
  TrainConfig cfg;
  cfg.algorithm = Algorithm::Bptt;
  cfg.lr = 1e3;
  cfg.length = 10;
  cfg.max_iterations = 2000;
  cfg.check_every = 10;
  cfg.validation_samples = 100;
  cfg.validation_batch = 100;
  const RunSummary s = train(cfg);
  CHECK_FALSE(s.solved);
  CHECK((s.reason == StopReason::NonFiniteCost || s.reason == StopReason::SpectralRadius ||
         s.reason == StopReason::NoImprovement));
  CHECK(s.iterations < 2000);
}

TEST_CASE("--clip bounds each TPTT phase's gradient norm before its step") {
  TrainConfig cfg;
  cfg.task = TaskKind::Temporal;
  cfg.length = 12;
  cfg.hidden = 16;
  cfg.optimizer = OptimizerKind::Sgd;  // the step is then α times the (clipped) gradient
  cfg.alpha_i = 0.5;
  cfg.alpha_f = 0.1;
  cfg.alpha_g = 0.01;
  cfg.clip_norm = 1e-4;  // far below either gradient's norm
  for (const Algorithm algorithm : {Algorithm::Tptt, Algorithm::TpttHx}) {
    cfg.algorithm = algorithm;
    SoloCommunicator solo;
    Trainer trainer(cfg, solo);
    const Eigen::Index nf = trainer.params().layout().forward_size();
    const VecF before = trainer.params().flat();
    trainer.step(0);  // alternate: both phases
    const VecF step = trainer.params().flat() - before;
    CHECK(step.head(nf).norm() == doctest::Approx(cfg.alpha_f * cfg.clip_norm).epsilon(1e-3));
    CHECK(step.tail(step.size() - nf).norm() == doctest::Approx(cfg.alpha_g * cfg.clip_norm).epsilon(1e-3));
  }
}
