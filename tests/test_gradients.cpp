// Finite-difference checks of every gradient the trainer uses (double precision), and the
// target equations (eq. 8) in their limiting cases.
#include <doctest/doctest.h>

#include <functional>

#include "random_data.hpp"
#include "tptt/algo/kernels.hpp"
#include "tptt/algo/output.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/model/init.hpp"

using namespace tptt;
using MatD = Mat<double>;

namespace {

struct Problem {
  int T = 6, B = 3, I = 3, H = 5, O = 4;
  Activation act = Activation::Tanh;
  OutputKind kind = OutputKind::Softmax;
  Params<double> p{ModelShape{3, 5, 4}};
  MatD X;  // (I × T·B)
  MatD Y;  // (O × B)

  explicit Problem(Activation a = Activation::Tanh, OutputKind k = OutputKind::Softmax, std::uint64_t seed = 7)
      : act(a), kind(k) {
    if (k == OutputKind::Linear) {
      O = 1;
      p = Params<double>(ModelShape{I, H, O});
    }
    initialise(p, InitScheme::Gaussian, 0.5, seed);
    CounterRng rng(seed, RngPurpose::TrainData, 0);
    for (Tensor t : {Tensor::bh, Tensor::by, Tensor::ch})
      for (Eigen::Index i = 0; i < p.vec(t).size(); ++i) p.vec(t)(i) = 0.3 * rng.normal();
    testing::random_inputs_and_targets(rng, I, T, B, O, k, X, Y);
  }

  SegmentBuffers<double> forward(const Params<double>& q) const {
    SegmentBuffers<double> seg;
    seg.resize(H, T, B);
    input_projection<double>(q, X, seg);
    seg.block(seg.Hs, 0).setZero();
    forward_states<double>(q, act, seg);
    return seg;
  }

  double global_cost(const Params<double>& q) const {
    SegmentBuffers<double> seg = forward(q);
    OutputPass<double> out;
    output_pass<double>(q, kind, seg.block(seg.Hs, T), Y, out);
    return out.cost;
  }
};

// Central differences of f over every element of tensor t, compared with analytic.
void check_tensor(Params<double> p, Tensor t, const std::function<double(const Params<double>&)>& f,
                  const Params<double>& analytic, double tol = 1e-6) {
  const double eps = 1e-6;
  auto v = p.vec(t);
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    const double keep = v(i);
    v(i) = keep + eps;
    const double up = f(p);
    v(i) = keep - eps;
    const double down = f(p);
    v(i) = keep;
    const double numeric = (up - down) / (2 * eps);
    const double a = analytic.vec(t)(i);
    INFO("tensor " << tensor_name(t) << " element " << i << ": analytic " << a << " numeric " << numeric);
    CHECK(std::abs(a - numeric) <= tol * std::max(1.0, std::abs(numeric)));
  }
}

}  // namespace

TEST_CASE("BPTT gradient of every forward parameter matches finite differences") {
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    for (OutputKind kind : {OutputKind::Softmax, OutputKind::Linear}) {
      Problem pr(act, kind);
      SegmentBuffers<double> seg = pr.forward(pr.p);
      OutputPass<double> out;
      Params<double> grad(pr.p.shape());
      MatD dh(pr.H, pr.B);
      output_pass<double>(pr.p, kind, seg.block(seg.Hs, pr.T), pr.Y, out);
      output_backward<double>(pr.p, seg.block(seg.Hs, pr.T), out, grad, dh);
      backprop_through_time<double>(pr.p, act, pr.X, true, seg, dh, grad);
      for (Tensor t : {Tensor::Wxh, Tensor::Whh, Tensor::bh, Tensor::Why, Tensor::by})
        check_tensor(
            pr.p, t, [&](const Params<double>& q) { return pr.global_cost(q); }, grad);
    }
  }
}

TEST_CASE("dE/dh_T of the output layer matches finite differences") {
  for (OutputKind kind : {OutputKind::Softmax, OutputKind::Linear}) {
    Problem pr(Activation::Tanh, kind);
    SegmentBuffers<double> seg = pr.forward(pr.p);
    MatD hT = seg.block(seg.Hs, pr.T);
    OutputPass<double> out;
    Params<double> grad(pr.p.shape());
    MatD dh(pr.H, pr.B);
    output_pass<double>(pr.p, kind, hT, pr.Y, out);
    output_backward<double>(pr.p, hT, out, grad, dh);
    const double eps = 1e-6;
    for (Eigen::Index i = 0; i < hT.size(); ++i) {
      MatD up = hT, down = hT;
      up.data()[i] += eps;
      down.data()[i] -= eps;
      OutputPass<double> o1, o2;
      output_pass<double>(pr.p, kind, up, pr.Y, o1);
      output_pass<double>(pr.p, kind, down, pr.Y, o2);
      CHECK(dh.data()[i] == doctest::Approx((o1.cost - o2.cost) / (2 * eps)).epsilon(1e-6));
    }
  }
}

TEST_CASE("eq. 12: dE/dW_xh through W_hh (TPTT) matches finite differences") {
  Problem pr;
  SegmentBuffers<double> seg = pr.forward(pr.p);
  OutputPass<double> out;
  Params<double> grad(pr.p.shape());
  MatD dh(pr.H, pr.B);
  output_pass<double>(pr.p, pr.kind, seg.block(seg.Hs, pr.T), pr.Y, out);
  output_backward<double>(pr.p, seg.block(seg.Hs, pr.T), out, grad, dh);
  backprop_through_time<double>(pr.p, pr.act, pr.X, /*recurrent_weights=*/false, seg, dh, grad);
  CHECK(grad.Whh().norm() == 0.0);  // TPTT takes W_hh from the local loss only
  check_tensor(
      pr.p, Tensor::Wxh, [&](const Params<double>& q) { return pr.global_cost(q); }, grad);
}

namespace {

// L_G with the forward states (and optional noise) held constant, as in eq. 9.
double feedback_loss(const Problem& pr, const Params<double>& q, const SegmentBuffers<double>& fixed,
                     const MatD* noise) {
  double loss = 0;
  for (int j = 1; j <= pr.T; ++j) {
    MatD prev = fixed.block(fixed.Hs, j - 1);  // h_{t−1}
    MatD f = fixed.block(fixed.Hs, j);         // F(x_t, h_{t−1}) = h_t
    const MatD x = pr.X.middleCols((j - 1) * pr.B, pr.B);
    if (noise) {
      prev += noise->middleCols((j - 1) * pr.B, pr.B);
      f = (pr.p.Wxh() * x + pr.p.Whh() * prev).colwise() + pr.p.bh();  // F at the *original* θ_F
      activate_inplace<double>(pr.act, f);
    }
    MatD g = (q.Wxh() * x + q.Vhh() * f).colwise() + q.ch();
    activate_inplace<double>(pr.act, g);
    loss += (g - prev).squaredNorm() / (pr.H * pr.B);
  }
  return loss;
}

}  // namespace

TEST_CASE("eq. 9: G-phase gradient of V_hh and c_h matches finite differences, with and without noise") {
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    for (bool with_noise : {false, true}) {
      Problem pr(act);
      SegmentBuffers<double> seg = pr.forward(pr.p);
      feedback_of_states<double>(pr.p, act, seg);
      MatD noise(pr.H, pr.T * pr.B);
      CounterRng rng(3, RngPurpose::Noise, 0);
      for (Eigen::Index i = 0; i < noise.size(); ++i) noise.data()[i] = 0.2 * rng.normal();
      Params<double> grad(pr.p.shape());
      const double loss = feedback_gradient<double>(pr.p, act, with_noise ? &noise : nullptr, seg, grad);
      const SegmentBuffers<double> fixed = pr.forward(pr.p);
      CHECK(loss == doctest::Approx(feedback_loss(pr, pr.p, fixed, with_noise ? &noise : nullptr)).epsilon(1e-12));
      const auto f = [&](const Params<double>& q) {
        return feedback_loss(pr, q, fixed, with_noise ? &noise : nullptr);
      };
      check_tensor(pr.p, Tensor::Vhh, f, grad);
      check_tensor(pr.p, Tensor::ch, f, grad);
      CHECK(grad.flat().head(pr.p.layout().forward_size()).norm() == 0.0);  // θ_F untouched by the G phase
    }
  }
}

namespace {

// L_F with h_{t−1} and ĥ_t = h_t + Δ_t constant (eq. 10 / 13).
double forward_local_loss(const Problem& pr, const Params<double>& q, const SegmentBuffers<double>& fixed) {
  double loss = 0;
  for (int j = 1; j <= pr.T; ++j) {
    const MatD x = pr.X.middleCols((j - 1) * pr.B, pr.B);
    MatD h = (q.Wxh() * x + q.Whh() * fixed.block(fixed.Hs, j - 1)).colwise() + q.bh();
    activate_inplace<double>(pr.act, h);
    loss += (h - fixed.block(fixed.Hs, j) - fixed.block(fixed.Delta, j)).squaredNorm() / (pr.H * pr.B);
  }
  return loss;
}

SegmentBuffers<double> with_targets(const Problem& pr) {
  SegmentBuffers<double> seg = pr.forward(pr.p);
  feedback_of_states<double>(pr.p, pr.act, seg);
  OutputPass<double> out;
  Params<double> scratch(pr.p.shape());
  MatD dh(pr.H, pr.B);
  output_pass<double>(pr.p, pr.kind, seg.block(seg.Hs, pr.T), pr.Y, out);
  output_backward<double>(pr.p, seg.block(seg.Hs, pr.T), out, scratch, dh);
  seg.block(seg.Delta, pr.T) = -0.5 * dh;  // eq. 3 with α_i = 0.5
  propagate_targets<double>(pr.p, pr.act, seg);
  return seg;
}

}  // namespace

TEST_CASE("eq. 10 and eq. 13: F-phase local gradients match finite differences") {
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    for (bool hx : {false, true}) {
      Problem pr(act);
      SegmentBuffers<double> seg = with_targets(pr);
      const SegmentBuffers<double> fixed = seg;
      Params<double> grad(pr.p.shape());
      const double loss = forward_local_gradient<double>(pr.p, act, pr.X, hx, seg, grad);
      CHECK(loss == doctest::Approx(forward_local_loss(pr, pr.p, fixed)).epsilon(1e-12));
      const auto f = [&](const Params<double>& q) { return forward_local_loss(pr, q, fixed); };
      check_tensor(pr.p, Tensor::Whh, f, grad);
      check_tensor(pr.p, Tensor::bh, f, grad);
      if (hx)
        check_tensor(pr.p, Tensor::Wxh, f, grad);
      else
        CHECK(grad.Wxh().norm() == 0.0);
    }
  }
}

TEST_CASE("eq. 8: with h_T as first target every target equals its forward state") {
  Problem pr;
  SegmentBuffers<double> seg = pr.forward(pr.p);
  feedback_of_states<double>(pr.p, pr.act, seg);
  seg.block(seg.Delta, pr.T).setZero();
  propagate_targets<double>(pr.p, pr.act, seg);
  CHECK(seg.Delta.cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("eq. 8: the corrections equal the difference form h_t - G(x, h) + G(x, ĥ)") {
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    Problem pr(act);
    SegmentBuffers<double> seg = pr.forward(pr.p);
    feedback_of_states<double>(pr.p, act, seg);
    CounterRng rng(5, RngPurpose::Noise, 1);
    for (int i = 0; i < pr.H * pr.B; ++i) seg.block(seg.Delta, pr.T).data()[i] = 0.3 * rng.normal();
    propagate_targets<double>(pr.p, act, seg);
    const auto G = [&](int j, const MatD& h) {  // G(x_t, h), t = j
      MatD g = (pr.p.Wxh() * pr.X.middleCols((j - 1) * pr.B, pr.B) + pr.p.Vhh() * h).colwise() + pr.p.ch();
      activate_inplace<double>(act, g);
      return g;
    };
    MatD target = seg.block(seg.Hs, pr.T) + seg.block(seg.Delta, pr.T);  // ĥ_T
    for (int j = pr.T; j >= 1; --j) {
      target = MatD(seg.block(seg.Hs, j - 1)) - G(j, seg.block(seg.Hs, j)) + G(j, target);  // ĥ_{t−1}
      CHECK((seg.block(seg.Hs, j - 1) + seg.block(seg.Delta, j - 1) - target).cwiseAbs().maxCoeff() < 1e-13);
    }
  }
}

TEST_CASE("segments chained by their boundary values reproduce the one-segment pass") {
  // Forward states, targets and ∂E/∂h flowing through two segments [1,4] and [5,6].
  Problem pr;
  SegmentBuffers<double> whole = with_targets(pr);
  Params<double> g_whole(pr.p.shape());
  MatD dh_whole(pr.H, pr.B);
  {
    OutputPass<double> out;
    output_pass<double>(pr.p, pr.kind, whole.block(whole.Hs, pr.T), pr.Y, out);
    output_backward<double>(pr.p, whole.block(whole.Hs, pr.T), out, g_whole, dh_whole);
    backprop_through_time<double>(pr.p, pr.act, pr.X, true, whole, dh_whole, g_whole);
  }
  const SegmentRange r1 = segment_of(pr.T, 2, 0), r2 = segment_of(pr.T, 2, 1);
  CHECK(r1.first == 1);
  CHECK(r1.last == 3);
  CHECK(r2.last == 6);
  SegmentBuffers<double> s1, s2;
  s1.resize(pr.H, r1.steps(), pr.B);
  s2.resize(pr.H, r2.steps(), pr.B);
  input_projection<double>(pr.p, pr.X.middleCols(0, r1.steps() * pr.B), s1);
  input_projection<double>(pr.p, pr.X.middleCols(r1.steps() * pr.B, r2.steps() * pr.B), s2);
  s1.block(s1.Hs, 0).setZero();
  forward_states<double>(pr.p, pr.act, s1);
  s2.block(s2.Hs, 0) = s1.block(s1.Hs, r1.steps());
  forward_states<double>(pr.p, pr.act, s2);
  CHECK((s2.Hs - whole.Hs.rightCols(s2.Hs.cols())).norm() < 1e-14);
  feedback_of_states<double>(pr.p, pr.act, s1);
  feedback_of_states<double>(pr.p, pr.act, s2);
  s2.block(s2.Delta, r2.steps()) = whole.block(whole.Delta, pr.T);
  propagate_targets<double>(pr.p, pr.act, s2);
  s1.block(s1.Delta, r1.steps()) = s2.block(s2.Delta, 0);
  propagate_targets<double>(pr.p, pr.act, s1);
  CHECK((s1.Delta.leftCols((r1.steps() + 1) * pr.B) - whole.Delta.leftCols((r1.steps() + 1) * pr.B)).norm() < 1e-12);

  Params<double> g(pr.p.shape());
  MatD dh(pr.H, pr.B);
  OutputPass<double> out;
  output_pass<double>(pr.p, pr.kind, s2.block(s2.Hs, r2.steps()), pr.Y, out);
  output_backward<double>(pr.p, s2.block(s2.Hs, r2.steps()), out, g, dh);
  backprop_through_time<double>(pr.p, pr.act, pr.X.middleCols(r1.steps() * pr.B, r2.steps() * pr.B), true, s2, dh, g);
  backprop_through_time<double>(pr.p, pr.act, pr.X.middleCols(0, r1.steps() * pr.B), true, s1, dh, g);
  CHECK((g.flat() - g_whole.flat()).norm() < 1e-12 * std::max(1.0, g_whole.flat().norm()));
  CHECK((dh - dh_whole).norm() < 1e-14);
}

TEST_CASE("final_state (evaluation) gives the forward pass's h_T") {
  Problem pr;
  SegmentBuffers<double> seg = pr.forward(pr.p);
  MatD h, scratch;
  final_state<double>(pr.p, pr.act, pr.X, pr.B, 0, pr.B, h, scratch);
  CHECK((h - seg.block(seg.Hs, pr.T)).cwiseAbs().maxCoeff() < 1e-13);
  final_state<double>(pr.p, pr.act, pr.X, pr.B, 1, 2, h, scratch);  // sequences 1 and 2 alone
  CHECK((h - seg.block(seg.Hs, pr.T).middleCols(1, 2)).cwiseAbs().maxCoeff() < 1e-13);
}
