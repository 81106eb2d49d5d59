// docs/method.md §6 diagnostics (train/diagnostics): per-step local losses against the kernels' totals,
// the TPTT–BPTT angle in cases where it is known, against an independent loop implementation
// on a tiny model, and its handling of zero directions.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "tptt/algo/kernels.hpp"
#include "tptt/algo/output.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/model/init.hpp"
#include "tptt/train/diagnostics.hpp"

using namespace tptt;

namespace {

// A random minibatch of T steps for `task` (not the task's generator: any T ≥ 1 is allowed).
Batch random_batch(TaskKind task, int T, int B, std::uint64_t seed) {
  const TaskInfo info = task_info(task);
  CounterRng rng(seed, RngPurpose::TrainData, 0);
  Batch b;
  b.steps = T;
  b.batch = B;
  b.X.resize(info.inputs, static_cast<Eigen::Index>(T) * B);
  for (Eigen::Index i = 0; i < b.X.size(); ++i) b.X.data()[i] = static_cast<float>(rng.normal());
  b.Y = MatF::Zero(info.outputs, B);
  for (int s = 0; s < B; ++s) {
    if (info.regression)
      b.Y(0, s) = static_cast<float>(rng.uniform());
    else
      b.Y(rng.below(info.outputs), s) = 1;
  }
  return b;
}

Params<float> random_params(TaskKind task, int H, std::uint64_t seed) {
  const TaskInfo info = task_info(task);
  Params<float> p(ModelShape{info.inputs, H, info.outputs});
  initialise(p, InitScheme::Gaussian, 0.5, seed);
  CounterRng rng(seed, RngPurpose::Noise, 9);
  for (Tensor t : {Tensor::bh, Tensor::by, Tensor::ch})
    for (Eigen::Index i = 0; i < p.vec(t).size(); ++i) p.vec(t)(i) = static_cast<float>(0.3 * rng.normal());
  return p;
}

TrainConfig config_for(TaskKind task, Algorithm a, int H, double alpha_i = 0.5) {
  TrainConfig c;
  c.task = task;
  c.algorithm = a;
  c.hidden = H;
  c.alpha_i = alpha_i;
  return c;
}

// The trainer's TPTT pipeline in precision S, without per-step output: the totals L_G, L_F.
template <class S>
std::pair<double, double> kernel_totals(const TrainConfig& c, const Params<float>& pf, const Batch& batch) {
  Params<S> p(pf.shape());
  p.flat() = pf.flat().cast<S>();
  const Mat<S> X = batch.X.cast<S>(), Y = batch.Y.cast<S>();
  const int T = batch.steps, B = batch.batch, H = pf.shape().hidden;
  SegmentBuffers<S> seg;
  seg.resize(H, T, B);
  input_projection<S>(p, X, seg);
  seg.block(seg.Hs, 0).setZero();
  forward_states<S>(p, c.activation, seg);
  feedback_of_states<S>(p, c.activation, seg);
  OutputPass<S> out;
  Params<S> grad(p.shape());
  Mat<S> dh(H, B);
  const OutputKind kind = task_info(c.task).regression ? OutputKind::Linear : OutputKind::Softmax;
  output_pass<S>(p, kind, seg.block(seg.Hs, T), Y, out);
  output_backward<S>(p, seg.block(seg.Hs, T), out, grad, dh);
  seg.block(seg.Delta, T) = -static_cast<S>(c.alpha_i) * dh;
  propagate_targets<S>(p, c.activation, seg);
  const double lg = feedback_gradient<S>(p, c.activation, nullptr, seg, grad);
  const double lf = forward_local_gradient<S>(p, c.activation, X, c.algorithm == Algorithm::TpttHx, seg, grad);
  return {lg, lf};
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

}  // namespace

TEST_CASE("angle_degrees: known angles, zero and non-finite vectors give no angle") {
  const std::vector<double> x{1, 0}, y{0, 2}, xy{1, 1}, minus_x{-3, 0}, zero{0, 0}, bad{NAN, 1};
  CHECK(*angle_degrees(x, y) == doctest::Approx(90));
  CHECK(*angle_degrees(x, xy) == doctest::Approx(45));
  CHECK(*angle_degrees(x, minus_x) == doctest::Approx(180));
  CHECK(*angle_degrees(xy, xy) == 0.0);
  const std::vector<double> v{0.1, 0.7, -0.3}, v3{0.3, 2.1, -0.9}, minus_v{-0.2, -1.4, 0.6};
  CHECK(*angle_degrees(v, v3) < 1e-10);             // no arccos cancellation near 0° ...
  CHECK(*angle_degrees(v, minus_v) > 180 - 1e-10);  // ... or 180°
  const std::vector<double> tiny{1e-300, 0}, huge{1e300, 1e300};
  CHECK(*angle_degrees(tiny, huge) == doctest::Approx(45));  // no under/overflow of ‖a‖‖b‖
  CHECK_FALSE(angle_degrees(x, zero).has_value());
  CHECK_FALSE(angle_degrees(zero, zero).has_value());
  CHECK_FALSE(angle_degrees(x, bad).has_value());
  CHECK_FALSE(angle_degrees(x, v).has_value());  // sizes differ
}

TEST_CASE("per-step G and F losses sum to the kernels' L_G and L_F") {
  for (Algorithm a : {Algorithm::Tptt, Algorithm::TpttHx}) {
    for (TaskKind task : {TaskKind::Temporal, TaskKind::Adding}) {
      const int T = 12, B = 4, H = 7;
      const TrainConfig c = config_for(task, a, H);
      const Params<float> p = random_params(task, H, 3);
      const Batch batch = random_batch(task, T, B, 5);
      const Diagnostics d = compute_diagnostics(c, p, batch);
      REQUIRE(d.loss_g_steps.size() == static_cast<std::size_t>(T));
      REQUIRE(d.loss_f_steps.size() == static_cast<std::size_t>(T));
      const auto [lg, lf] = kernel_totals<double>(c, p, batch);
      CHECK(sum(d.loss_g_steps) == doctest::Approx(lg).epsilon(1e-12));
      CHECK(sum(d.loss_f_steps) == doctest::Approx(lf).epsilon(1e-12));
      // The trainer's float kernels agree to float rounding.
      const auto [lg32, lf32] = kernel_totals<float>(c, p, batch);
      CHECK(sum(d.loss_g_steps) == doctest::Approx(lg32).epsilon(1e-4));
      CHECK(sum(d.loss_f_steps) == doctest::Approx(lf32).epsilon(1e-4));
      CHECK(d.loss_f_steps.back() > 0);  // ĥ_T ≠ h_T: the first target moved it
      CHECK(d.angle_whh_deg.has_value());
      CHECK(d.angle_wxh_deg.has_value() == (a == Algorithm::TpttHx));
    }
  }
}

TEST_CASE("angle is 0 where the TPTT and BPTT directions coincide") {
  // T = 2: h_0 = 0 leaves only step 2 in both W_hh gradients, and there the F-phase delta is
  // (2 α_i/(B·H)) ∂E/∂h_2 ⊙ σ'(z_2), a multiple of BPTT's ∂E/∂z_2.
  const int B = 3, H = 5;
  const double alpha_i = 0.3;
  for (TaskKind task : {TaskKind::Temporal, TaskKind::Adding}) {
    const Diagnostics d = compute_diagnostics(config_for(task, Algorithm::Tptt, H, alpha_i), random_params(task, H, 11),
                                              random_batch(task, 2, B, 13));
    REQUIRE(d.angle_whh_deg.has_value());
    CHECK(*d.angle_whh_deg < 1e-3);
    CHECK(d.grad_norm_bptt_whh > 0);
    CHECK(d.grad_norm_tptt_whh == doctest::Approx(2 * alpha_i / (B * H) * d.grad_norm_bptt_whh).epsilon(1e-10));
  }
  // T = 1 with TPTT_hx: ∂L_F/∂W_xh = (2 α_i/(B·H)) ∂E/∂W_xh, while both W_hh gradients are zero
  // (h_0 = 0): the W_hh angle is undefined and reported as such, not as NaN.
  const Diagnostics d = compute_diagnostics(config_for(TaskKind::Temporal, Algorithm::TpttHx, H, alpha_i),
                                            random_params(TaskKind::Temporal, H, 11),
                                            random_batch(TaskKind::Temporal, 1, B, 13));
  REQUIRE(d.angle_wxh_deg.has_value());
  CHECK(*d.angle_wxh_deg < 1e-3);
  CHECK_FALSE(d.angle_whh_deg.has_value());
  CHECK(d.grad_norm_bptt_whh == 0.0);
  CHECK(d.grad_norm_tptt_whh == 0.0);
  const std::string j = d.to_json().str();
  CHECK(j.find("\"angle_whh_deg\":null") != std::string::npos);
  CHECK(j.find("nan") == std::string::npos);
}

namespace {

// Independent scalar-loop reference of the adding task's model (linear output, tanh): the
// W_hh angle and the per-step F losses written out from docs/method.md §1, §3, no kernels.
struct Hand {
  double angle_whh = 0;
  std::vector<double> loss_f;
};

Hand hand_computation(const Params<float>& pf, const Batch& batch, double alpha_i) {
  const int T = batch.steps, B = batch.batch, H = pf.shape().hidden, I = pf.shape().input;
  const auto W = [&](int i, int j) { return double(pf.Whh()(i, j)); };
  const auto V = [&](int i, int j) { return double(pf.Vhh()(i, j)); };
  const auto x = [&](int t, int b, int k) { return double(batch.X(k, (t - 1) * B + b)); };  // t = 1..T
  const auto in = [&](int t, int b, int i) {                                                // W_xh x_t
    double s = 0;
    for (int k = 0; k < I; ++k) s += double(pf.Wxh()(i, k)) * x(t, b, k);
    return s;
  };
  // h[t][b][i], t = 0..T
  std::vector<std::vector<std::vector<double>>> h(T + 1,
                                                  std::vector<std::vector<double>>(B, std::vector<double>(H, 0)));
  for (int t = 1; t <= T; ++t)
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H; ++i) {
        double z = in(t, b, i) + double(pf.bh()(i));
        for (int j = 0; j < H; ++j) z += W(i, j) * h[t - 1][b][j];
        h[t][b][i] = std::tanh(z);
      }
  const auto G = [&](int t, int b, const std::vector<double>& state, int i) {
    double z = in(t, b, i) + double(pf.ch()(i));
    for (int j = 0; j < H; ++j) z += V(i, j) * state[j];
    return std::tanh(z);
  };
  // ∂E/∂h_T, E = (1/B) Σ_b (y_b − target_b)², y = W_hy h_T + b_y (O = 1).
  std::vector<std::vector<double>> dh(B, std::vector<double>(H));
  for (int b = 0; b < B; ++b) {
    double y = double(pf.by()(0));
    for (int i = 0; i < H; ++i) y += double(pf.Why()(0, i)) * h[T][b][i];
    for (int i = 0; i < H; ++i) dh[b][i] = double(pf.Why()(0, i)) * 2 * (y - double(batch.Y(0, b))) / B;
  }
  // Targets: eq. 3, eq. 8.
  auto target = h;
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < H; ++i) target[T][b][i] = h[T][b][i] - alpha_i * dh[b][i];
  for (int t = T - 1; t >= 1; --t)
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H; ++i)
        target[t][b][i] = h[t][b][i] - G(t + 1, b, h[t + 1][b], i) + G(t + 1, b, target[t + 1][b], i);
  // ∂L_F/∂W_hh and BPTT's ∂E/∂W_hh, both (H × H), and the per-step MSEs.
  std::vector<double> gf(H * H, 0), gb(H * H, 0);
  Hand r;
  for (int t = 1; t <= T; ++t) {
    double mse = 0;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H; ++i) {
        const double e = h[t][b][i] - target[t][b][i];
        mse += e * e / (B * H);
        const double delta = 2.0 / (B * H) * e * (1 - h[t][b][i] * h[t][b][i]);
        for (int j = 0; j < H; ++j) gf[i * H + j] += delta * h[t - 1][b][j];
      }
    r.loss_f.push_back(mse);
  }
  for (int t = T; t >= 1; --t) {
    std::vector<std::vector<double>> dprev(B, std::vector<double>(H, 0));
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H; ++i) {
        const double dz = dh[b][i] * (1 - h[t][b][i] * h[t][b][i]);
        for (int j = 0; j < H; ++j) {
          gb[i * H + j] += dz * h[t - 1][b][j];
          dprev[b][j] += W(i, j) * dz;
        }
      }
    dh = dprev;
  }
  double dot = 0, nf = 0, nb = 0;
  for (int k = 0; k < H * H; ++k) {
    dot += gf[k] * gb[k];
    nf += gf[k] * gf[k];
    nb += gb[k] * gb[k];
  }
  r.angle_whh = std::acos(dot / std::sqrt(nf * nb)) * 180 / std::numbers::pi;
  return r;
}

}  // namespace

TEST_CASE("angle and per-step F losses match a hand computation on a tiny model") {
  const int T = 4, B = 2, H = 3;
  const double alpha_i = 0.7;
  const Params<float> p = random_params(TaskKind::Adding, H, 21);
  const Batch batch = random_batch(TaskKind::Adding, T, B, 23);
  const Diagnostics d = compute_diagnostics(config_for(TaskKind::Adding, Algorithm::Tptt, H, alpha_i), p, batch);
  const Hand hand = hand_computation(p, batch, alpha_i);
  REQUIRE(d.angle_whh_deg.has_value());
  INFO("angle " << *d.angle_whh_deg << " hand " << hand.angle_whh);
  CHECK(hand.angle_whh > 1);  // a generic case, not one of the coinciding ones
  CHECK(*d.angle_whh_deg == doctest::Approx(hand.angle_whh).epsilon(1e-9));
  REQUIRE(d.loss_f_steps.size() == hand.loss_f.size());
  for (std::size_t t = 0; t < hand.loss_f.size(); ++t)
    CHECK(d.loss_f_steps[t] == doctest::Approx(hand.loss_f[t]).epsilon(1e-9));
}

TEST_CASE("to_json: keys per algorithm") {
  const int H = 4;
  const Params<float> p = random_params(TaskKind::Temporal, H, 1);
  const Batch batch = random_batch(TaskKind::Temporal, 5, 2, 2);
  const auto json_of = [&](Algorithm a) {
    return compute_diagnostics(config_for(TaskKind::Temporal, a, H), p, batch).to_json().str();
  };
  const auto has = [](const std::string& j, const std::string& key) {
    std::string quoted = "\"";
    quoted += key;
    quoted += "\":";
    return j.find(quoted) != std::string::npos;
  };
  const std::string tptt = json_of(Algorithm::Tptt), hx = json_of(Algorithm::TpttHx), bptt = json_of(Algorithm::Bptt);
  for (const char* k : {"angle_whh_deg", "grad_norm_tptt_whh", "grad_norm_bptt_whh", "loss_g_steps", "loss_f_steps"}) {
    CHECK(has(tptt, k));
    CHECK(has(hx, k));
  }
  CHECK_FALSE(has(tptt, "angle_wxh_deg"));
  CHECK(has(hx, "angle_wxh_deg"));
  CHECK(bptt.rfind("{\"grad_norm_bptt_whh\":", 0) == 0);
  CHECK(bptt.find(',') == std::string::npos);  // nothing else
  CHECK(tptt.find("\"loss_f_steps\":[") != std::string::npos);
  CHECK_THROWS_AS(compute_diagnostics(config_for(TaskKind::Temporal, Algorithm::Lstm, H), p, batch), UsageError);
  CHECK(json_array(std::vector<double>{1, 0.5, NAN}) == "[1,0.5,null]");
  CHECK(json_array(std::vector<double>{}) == "[]");
  CHECK(json_array(std::vector<float>{0.1f, 1e-7f, INFINITY}) == "[0.1,1e-07,null]");
}
