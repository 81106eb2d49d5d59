// The semantics that decide what "solved at iteration n" means: the order of the G and F
// phases within an iteration (reference and overlap), targets carried as corrections (a tiny
// α_i survives single precision), and fresh validation sets per check.
#include <doctest/doctest.h>

#include <cstring>

#include "tptt/algo/kernels.hpp"
#include "tptt/algo/output.hpp"
#include "tptt/core/error.hpp"
#include "tptt/model/init.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;

namespace {

TrainConfig small_tptt(PhaseOrder order) {
  TrainConfig c;
  c.task = TaskKind::Temporal;
  c.length = 12;
  c.batch = 5;
  c.hidden = 10;
  c.alpha_g = 0.05;  // a large G step: the two orders differ clearly
  c.phase_order = order;
  c.validation_samples = 40;
  c.validation_batch = 20;
  c.progress = false;
  return c;
}

// Two iterations of TPTT written out by hand, with the kernels on one segment, in either order.
VecF by_hand(const TrainConfig& c, PhaseOrder order) {
  Params<Scalar> p(ModelShape{task_info(c.task).inputs, c.hidden, task_info(c.task).outputs});
  initialise(p, c.init, c.init_std, c.seed);
  const Eigen::Index nf = p.layout().forward_size(), ng = p.layout().feedback_size();
  Optimizer forward(c.optimizer, nf, static_cast<Scalar>(c.momentum));
  Optimizer feedback(c.optimizer, ng, static_cast<Scalar>(c.momentum));
  for (long it = 0; it < 2; ++it) {
    const Batch b = training_batch(c, it);
    const int T = b.steps, B = b.batch;
    SegmentBuffers<Scalar> seg;
    seg.resize(c.hidden, T, B);
    input_projection<Scalar>(p, b.X, seg);
    seg.block(seg.Hs, 0).setZero();
    forward_states<Scalar>(p, c.activation, seg);
    feedback_of_states<Scalar>(p, c.activation, seg);
    Params<Scalar> grad(p.shape());
    OutputPass<Scalar> out;
    MatF dh(c.hidden, B);  // (H × B) ∂E/∂h_T
    output_pass<Scalar>(p, OutputKind::Softmax, seg.block(seg.Hs, T), b.Y, out);
    output_backward<Scalar>(p, seg.block(seg.Hs, T), out, grad, dh);
    feedback_gradient<Scalar>(p, c.activation, nullptr, seg, grad);  // eq. 9 with θ_G before its update
    if (order == PhaseOrder::Reference) {
      feedback.step(p.flat().tail(ng), grad.flat().tail(ng), static_cast<Scalar>(c.alpha_g));  // g_step
      feedback_of_states<Scalar>(p, c.activation, seg);  // f_step sees the updated V_hh, c_h
    }
    seg.block(seg.Delta, T) = -static_cast<Scalar>(c.alpha_i) * dh;             // eq. 3
    propagate_targets<Scalar>(p, c.activation, seg);                            // eq. 8
    forward_local_gradient<Scalar>(p, c.activation, b.X, false, seg, grad);     // eq. 10
    backprop_through_time<Scalar>(p, c.activation, b.X, false, seg, dh, grad);  // eq. 12
    if (order == PhaseOrder::Overlap)
      feedback.step(p.flat().tail(ng), grad.flat().tail(ng), static_cast<Scalar>(c.alpha_g));
    forward.step(p.flat().head(nf), grad.flat().head(nf), static_cast<Scalar>(c.alpha_f));
  }
  return p.flat();
}

VecF trained(const TrainConfig& c, int iterations) {
  SoloCommunicator solo;
  Trainer trainer(c, solo);
  for (long it = 0; it < iterations; ++it) trainer.step(it);
  return trainer.params().flat();
}

VecF initial(const TrainConfig& c) {
  Params<Scalar> p(ModelShape{task_info(c.task).inputs, c.hidden, task_info(c.task).outputs});
  initialise(p, c.init, c.init_std, c.seed);
  return p.flat();
}

// ‖a − b‖ relative to the size of b's training updates (b − θ_0).
double relative_to_updates(const VecF& a, const VecF& b, const VecF& theta0) {
  return (a - b).norm() / (b - theta0).norm();
}

}  // namespace

TEST_CASE("phase order: a reference step is the G update, then targets with the new V_hh, c_h") {
  for (PhaseOrder order : {PhaseOrder::Reference, PhaseOrder::Overlap}) {
    CAPTURE(to_string(order));
    const TrainConfig c = small_tptt(order);
    // The trainer runs the gradients in chunks of steps (the F phase's from the last step, over
    // two ranges of the hidden units): the same products, summed in another order, hence a
    // tolerance instead of bit equality.
    const double gap = relative_to_updates(trained(c, 2), by_hand(c, order), initial(c));
    MESSAGE(to_string(order) << ": trainer against the hand computation, relative to the updates: " << gap);
    CHECK(gap < 1e-7);  // observed: 3.5e-8 (0 when the F phase summed from the first step)
  }
  const TrainConfig ref = small_tptt(PhaseOrder::Reference), overlap = small_tptt(PhaseOrder::Overlap);
  const double between = relative_to_updates(by_hand(overlap, PhaseOrder::Overlap), by_hand(ref, PhaseOrder::Reference),
                                             initial(ref));
  MESSAGE("reference against overlap, relative to the updates: " << between);
  CHECK(between > 1e-6);  // observed: 3.5e-5 after two iterations
  CHECK(parse_phase_order("reference") == PhaseOrder::Reference);
  CHECK(parse_phase_order("overlap") == PhaseOrder::Overlap);
  CHECK_THROWS_AS(parse_phase_order("g-first"), UsageError);
}

TEST_CASE("phase order: only iterations that run both phases differ; threads do not change the bits") {
  TrainConfig ref = small_tptt(PhaseOrder::Reference), overlap = small_tptt(PhaseOrder::Overlap);
  for (TrainConfig* c : {&ref, &overlap}) {
    c->schedule = Schedule::Random;  // one phase per iteration: the order is moot
    c->p_g = 0.5;
  }
  const VecF a = trained(ref, 6), b = trained(overlap, 6);
  CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0);
  TrainConfig two = small_tptt(PhaseOrder::Reference);
  two.threads = 2;
  const VecF one_thread = trained(small_tptt(PhaseOrder::Reference), 4), two_threads = trained(two, 4);
  CHECK(std::memcmp(one_thread.data(), two_threads.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0);
}

TEST_CASE("targets as corrections: alpha_i = 1e-7 in float agrees with double precision") {
  // Sequential-MNIST's α_i: α_i·∂E/∂h_T is about 1e-9, below half the float32 spacing of most
  // h_t, so ĥ_T = h_T − α_i ∂E/∂h_T rounds back to h_T in float. Carried as Δ it survives.
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    CAPTURE(to_string(act));
    TrainConfig c = small_tptt(PhaseOrder::Reference);
    c.activation = act;
    c.alpha_i = 1e-7;
    Params<Scalar> pf(ModelShape{6, c.hidden, 4});
    initialise(pf, c.init, c.init_std, 7);
    Params<double> pd(pf.shape());
    pd.flat() = pf.flat().cast<double>();
    const Batch b = training_batch(c, 0);
    const int T = b.steps, B = b.batch;

    SegmentBuffers<Scalar> sf;
    sf.resize(c.hidden, T, B);
    input_projection<Scalar>(pf, b.X, sf);
    sf.block(sf.Hs, 0).setZero();
    forward_states<Scalar>(pf, act, sf);
    feedback_of_states<Scalar>(pf, act, sf);
    OutputPass<Scalar> out;
    Params<Scalar> grad(pf.shape());
    MatF dh(c.hidden, B);
    output_pass<Scalar>(pf, OutputKind::Softmax, sf.block(sf.Hs, T), b.Y, out);
    output_backward<Scalar>(pf, sf.block(sf.Hs, T), out, grad, dh);
    sf.block(sf.Delta, T) = -static_cast<Scalar>(c.alpha_i) * dh;
    propagate_targets<Scalar>(pf, act, sf);

    // Double precision, in the difference form of eq. 8 on the float run's states.
    const Mat<double> X = b.X.cast<double>(), Hs = sf.Hs.cast<double>(), dhd = dh.cast<double>();
    const auto G = [&](int t, const Mat<double>& h) {
      Mat<double> g = (pd.Wxh() * X.middleCols((t - 1) * B, B) + pd.Vhh() * h).colwise() + pd.ch();
      activate_inplace<double>(act, g);
      return g;
    };
    Mat<double> target = Hs.middleCols(T * B, B) - c.alpha_i * dhd;  // ĥ_T
    double worst = 0, scale = 0;
    for (int t = T; t >= 1; --t) {
      const Mat<double> h = Hs.middleCols(t * B, B), previous = Hs.middleCols((t - 1) * B, B);
      target = previous - G(t, h) + G(t, target);  // ĥ_{t−1}
      const Mat<double> want = target - previous;  // Δ_{t−1}
      const Mat<double> got = sf.block(sf.Delta, t - 1).cast<double>();
      worst = std::max(worst, (got - want).cwiseAbs().maxCoeff());
      scale = std::max(scale, want.cwiseAbs().maxCoeff());
    }
    CHECK(scale > 1e-12);         // the corrections are there at all
    CHECK(worst < 1e-4 * scale);  // and agree with double precision to float accuracy

    // What the correction form avoids: ĥ_T formed in float loses most of the step.
    const MatF h_T = sf.block(sf.Hs, T);
    const MatF hat_T = h_T - static_cast<Scalar>(c.alpha_i) * dh;
    const double kept = (hat_T - h_T).cast<double>().norm() / (c.alpha_i * dhd.norm());
    MESSAGE("float ĥ_T − h_T keeps " << kept << " of the step α_i·∂E/∂h_T; the corrections keep all of it");
    CHECK(std::abs(kept - 1.0) > 0.1);
  }
}

TEST_CASE("fresh validation: the set of a check depends on (seed, check) only") {
  TrainConfig c = small_tptt(PhaseOrder::Reference);
  const auto same = [](const Batch& a, const Batch& b) { return a.X == b.X && a.Y == b.Y; };
  const ValidationSet check100{.length = 0, .draw = 100}, check200{.length = 0, .draw = 200};
  CHECK(same(validation_batch(c, 1, check100), validation_batch(c, 1, check100)));
  CHECK_FALSE(same(validation_batch(c, 1, check100), validation_batch(c, 1, check200)));
  CHECK_FALSE(same(validation_batch(c, 0, check100), validation_batch(c, 1, check100)));
  const ValidationSet evaluation{.length = 0, .draw = 100, .purpose = ValidationSet::Purpose::Evaluation};
  CHECK_FALSE(same(validation_batch(c, 1, check100), validation_batch(c, 1, evaluation)));
  TrainConfig fixed = c;
  fixed.validation = ValidationMode::Fixed;
  CHECK(same(validation_batch(fixed, 1, check100), validation_batch(fixed, 1, check200)));
  CHECK_FALSE(same(validation_batch(fixed, 1, check100), validation_batch(c, 1, check100)));
  CHECK(validation_stream_name(c, check100) == "fresh");
  CHECK(validation_stream_name(fixed, check100) == "fixed");
  CHECK(validation_stream_name(c, evaluation) == "evaluation");

  // The same check on one and on two threads: the same numbers.
  SoloCommunicator solo;
  Trainer one(c, solo);
  c.threads = 2;
  Trainer two(c, solo);
  for (long it = 0; it < 20; ++it) {
    one.step(it);
    two.step(it);
  }
  const ValidationResult a = one.validate(check100), b = two.validate(check100);
  CHECK(a.error == b.error);
  CHECK(a.cost == b.cost);
  CHECK(one.validate(check100).cost != one.validate(check200).cost);
}
