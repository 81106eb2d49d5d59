// Optimisers (docs/method.md §4) against hand-computed numbers.
//   Nesterov (Lasagne form): v ← μ v − α g;  θ ← θ + μ v − α g
//   SGD:                     θ ← θ − α g
#include <doctest/doctest.h>

#include <stdexcept>

#include "tptt/core/error.hpp"
#include "tptt/optim/optimizer.hpp"

using namespace tptt;

namespace {

VecF vec2(float a, float b) {
  VecF v(2);
  v << a, b;
  return v;
}

void check_vec(const VecF& got, double a, double b) {
  REQUIRE(got.size() == 2);
  CHECK(got(0) == doctest::Approx(a).epsilon(1e-6));
  CHECK(got(1) == doctest::Approx(b).epsilon(1e-6));
}

}  // namespace

TEST_CASE("optimizer names") {
  CHECK(parse_optimizer("nesterov") == OptimizerKind::Nesterov);
  CHECK(parse_optimizer("sgd") == OptimizerKind::Sgd);
  CHECK(to_string(OptimizerKind::Nesterov) == "nesterov");
  CHECK(to_string(OptimizerKind::Sgd) == "sgd");
  CHECK_THROWS_AS(parse_optimizer("adam"), UsageError);
}

TEST_CASE("Nesterov momentum: three steps by hand, mu = 0.9") {
  Optimizer opt(OptimizerKind::Nesterov, 2);
  CHECK(opt.kind() == OptimizerKind::Nesterov);
  CHECK(opt.momentum() == doctest::Approx(0.9));
  REQUIRE(opt.state().size() == 2);
  CHECK(opt.state().isZero());

  VecF theta = vec2(1.0f, -2.0f);
  // Step 1, g = (0.5, 1), α = 0.1:
  //   v = 0.9·0 − 0.1·g = (−0.05, −0.1)
  //   θ = (1, −2) + 0.9·(−0.05, −0.1) − 0.1·(0.5, 1) = (0.905, −2.19)
  opt.step(theta, vec2(0.5f, 1.0f), 0.1f);
  check_vec(opt.state(), -0.05, -0.1);
  check_vec(theta, 0.905, -2.19);

  // Step 2, g = (−1, 2), α = 0.1:
  //   v = 0.9·(−0.05, −0.1) − 0.1·(−1, 2) = (0.055, −0.29)
  //   θ = (0.905, −2.19) + 0.9·(0.055, −0.29) − 0.1·(−1, 2) = (1.0545, −2.651)
  opt.step(theta, vec2(-1.0f, 2.0f), 0.1f);
  check_vec(opt.state(), 0.055, -0.29);
  check_vec(theta, 1.0545, -2.651);

  // Step 3, g = (0.2, −0.4), α = 0.05 (the rate may change between steps):
  //   v = 0.9·(0.055, −0.29) − 0.05·(0.2, −0.4) = (0.0395, −0.241)
  //   θ = (1.0545, −2.651) + 0.9·(0.0395, −0.241) − 0.05·(0.2, −0.4) = (1.08005, −2.8479)
  opt.step(theta, vec2(0.2f, -0.4f), 0.05f);
  check_vec(opt.state(), 0.0395, -0.241);
  check_vec(theta, 1.08005, -2.8479);
}

TEST_CASE("Nesterov momentum with mu = 0.5: two steps by hand") {
  Optimizer opt(OptimizerKind::Nesterov, 2, 0.5f);
  VecF theta = vec2(0.0f, 1.0f);
  // g = (1, −1), α = 0.2: v = (−0.2, 0.2); θ = (0, 1) + 0.5·(−0.2, 0.2) − 0.2·(1, −1) = (−0.3, 1.3)
  opt.step(theta, vec2(1.0f, -1.0f), 0.2f);
  check_vec(opt.state(), -0.2, 0.2);
  check_vec(theta, -0.3, 1.3);
  // g = (1, 0), α = 0.2: v = 0.5·(−0.2, 0.2) − 0.2·(1, 0) = (−0.3, 0.1)
  // θ = (−0.3, 1.3) + 0.5·(−0.3, 0.1) − 0.2·(1, 0) = (−0.65, 1.35)
  opt.step(theta, vec2(1.0f, 0.0f), 0.2f);
  check_vec(opt.state(), -0.3, 0.1);
  check_vec(theta, -0.65, 1.35);
}

TEST_CASE("SGD: three steps by hand, no state") {
  Optimizer opt(OptimizerKind::Sgd, 2);
  CHECK(opt.kind() == OptimizerKind::Sgd);
  CHECK(opt.state().size() == 0);
  VecF theta = vec2(1.0f, -2.0f);
  opt.step(theta, vec2(0.5f, 1.0f), 0.1f);  // (1 − 0.05, −2 − 0.1)
  check_vec(theta, 0.95, -2.1);
  opt.step(theta, vec2(-1.0f, 2.0f), 0.1f);  // (0.95 + 0.1, −2.1 − 0.2)
  check_vec(theta, 1.05, -2.3);
  opt.step(theta, vec2(0.2f, -0.4f), 0.05f);  // (1.05 − 0.01, −2.3 + 0.02)
  check_vec(theta, 1.04, -2.28);
}

TEST_CASE("a step on a sub-range of a flat buffer touches only that range") {
  // The trainer keeps θ_F and θ_G in one flat buffer with separate optimisers.
  VecF flat(5);
  flat << 1, 2, 3, 4, 5;
  Optimizer forward(OptimizerKind::Nesterov, 3), feedback(OptimizerKind::Sgd, 2);
  VecF g_f(3), g_g(2);
  g_f << 1, 1, 1;
  g_g << 10, -10;
  forward.step(flat.head(3), g_f, 0.1f);  // v = −0.1; θ += 0.9·(−0.1) − 0.1 = −0.19
  CHECK(flat(0) == doctest::Approx(0.81));
  CHECK(flat(1) == doctest::Approx(1.81));
  CHECK(flat(2) == doctest::Approx(2.81));
  CHECK(flat(3) == 4.0f);
  CHECK(flat(4) == 5.0f);
  feedback.step(flat.tail(2), g_g, 0.01f);
  CHECK(flat(0) == doctest::Approx(0.81));
  CHECK(flat(3) == doctest::Approx(3.9));
  CHECK(flat(4) == doctest::Approx(5.1));
}

TEST_CASE("a zero gradient with zero velocity leaves the parameters unchanged") {
  for (OptimizerKind k : {OptimizerKind::Nesterov, OptimizerKind::Sgd}) {
    Optimizer opt(k, 3);
    VecF theta(3);
    theta << 0.25f, -1.5f, 3.0f;
    const VecF before = theta;
    opt.step(theta, VecF::Zero(3), 0.5f);
    CHECK(theta == before);
  }
}

TEST_CASE("size mismatches are rejected") {
  Optimizer nesterov(OptimizerKind::Nesterov, 2), sgd(OptimizerKind::Sgd, 2);
  VecF theta = vec2(1.0f, 2.0f);
  VecF g3 = VecF::Ones(3);
  CHECK_THROWS_AS(nesterov.step(theta, g3, 0.1f), std::invalid_argument);
  CHECK_THROWS_AS(sgd.step(theta, g3, 0.1f), std::invalid_argument);
  VecF theta3 = VecF::Ones(3);
  CHECK_THROWS_AS(nesterov.step(theta3, g3, 0.1f), std::invalid_argument);  // state is sized 2
}
