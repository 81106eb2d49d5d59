// Optimisers (docs/method.md §4) and the staleness compensations against hand-computed numbers.
//   Nesterov (Lasagne form): v ← μ v − α g;  θ ← θ + μ v − α g
//   SGD:                     θ ← θ − α g
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "tptt/core/error.hpp"
#include "tptt/optim/optimizer.hpp"
#include "tptt/train/staleness_compensation.hpp"

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

// ---------------------------------------------------------------------------------------
// Staleness compensation (train/staleness_compensation.hpp) against hand-computed numbers
// ---------------------------------------------------------------------------------------

TEST_CASE("staleness compensation: names") {
  for (const char* name : {"none", "momentum", "predict", "dc", "predict+dc"})
    CHECK(to_string(parse_staleness_compensation(name)) == name);
  CHECK_THROWS_AS(parse_staleness_compensation("dcasgd"), UsageError);
}

TEST_CASE("staleness compensation: the delay-adjusted momentum, 1 - (S+1)(1 - mu)") {
  CHECK(delay_adjusted_momentum(0.9, 0) == 0.9);  // S = 0: unchanged, exactly
  CHECK(delay_adjusted_momentum(0.9, 1) == doctest::Approx(0.8));
  CHECK(delay_adjusted_momentum(0.9, 2) == doctest::Approx(0.7));
  CHECK(delay_adjusted_momentum(0.9, 4) == doctest::Approx(0.5));
  CHECK(delay_adjusted_momentum(0.9, 10) == 0.0);  // never negative
  CHECK(delay_adjusted_momentum(0.5, 1) == 0.0);
}

TEST_CASE("staleness compensation: weight prediction theta + S v") {
  const VecF theta = vec2(1.0f, 2.0f), velocity = vec2(0.5f, -1.0f);
  VecF predicted(2);
  predict_weights(theta, velocity, 2, predicted);
  CHECK(predicted[0] == 2.0f);  // 1 + 2·0.5
  CHECK(predicted[1] == 0.0f);  // 2 − 2·1
  predict_weights(theta, velocity, 0, predicted);
  CHECK(predicted == theta);  // S = 0: θ itself, bit for bit
  predict_weights(theta, VecF(), 3, predicted);
  CHECK(predicted == theta);  // no velocity (SGD): nothing to extrapolate
  VecF wrong_size(3);
  CHECK_THROWS_AS(predict_weights(theta, velocity, 1, wrong_size), std::invalid_argument);
}

TEST_CASE("staleness compensation: DC-ASGD-a, two steps by hand") {
  // λ = 1, ρ = 0.95, ε = 1e-7.
  VecF grad = vec2(2.0f, -1.0f), mean_square = VecF::Zero(2);
  const VecF now = vec2(1.5f, 0.0f), stale = vec2(1.0f, 0.25f);
  delay_compensate(grad, mean_square, now, stale, 1.0);
  // m = 0.05·g² = (0.2, 0.05); g̃ = g + g²(θ_now − θ_stale)/√(m + ε):
  CHECK(mean_square[0] == doctest::Approx(0.2));
  CHECK(mean_square[1] == doctest::Approx(0.05));
  CHECK(grad[0] == doctest::Approx(2.0 + 4.0 * 0.5 / std::sqrt(0.2 + 1e-7)));      // 6.4721
  CHECK(grad[1] == doctest::Approx(-1.0 + 1.0 * -0.25 / std::sqrt(0.05 + 1e-7)));  // -2.1180
  // The second step with the same inputs: m = 0.95 m + 0.05 g² with the compensated g of
  // step one gone (g is the new gradient): g = (1, 0) → m = (0.19 + 0.05, 0.0475).
  VecF g2 = vec2(1.0f, 0.0f);
  delay_compensate(g2, mean_square, now, stale, 1.0);
  CHECK(mean_square[0] == doctest::Approx(0.24));
  CHECK(mean_square[1] == doctest::Approx(0.0475));
  CHECK(g2[0] == doctest::Approx(1.0 + 1.0 * 0.5 / std::sqrt(0.24 + 1e-7)));
  CHECK(g2[1] == 0.0f);  // a zero gradient stays zero
  // θ_now = θ_stale (no delay): the gradient is unchanged.
  VecF g3 = vec2(3.0f, -2.0f);
  delay_compensate(g3, mean_square, stale, stale, 5.0);
  CHECK(g3 == vec2(3.0f, -2.0f));
}
