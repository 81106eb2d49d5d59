// The LSTM baseline: finite-difference checks of full BPTT into every parameter (double),
// initialisation, the trainer's data, learning, determinism, configuration and checkpoint state.
#include <doctest/doctest.h>

#include <functional>
#include <stdexcept>

#include "random_data.hpp"
#include "tptt/algo/lstm.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/lstm_trainer.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;
using MatD = Mat<double>;

namespace {

struct LstmProblem {
  int T = 5, B = 3, I = 3, H = 4, O = 4;
  OutputKind kind;
  LstmParams<double> p;
  MatD X;  // (I × T·B)
  MatD Y;  // (O × B)

  explicit LstmProblem(OutputKind k, std::uint64_t seed = 11)
      : O(k == OutputKind::Linear ? 1 : 4), kind(k), p(ModelShape{3, 4, O}) {
    initialise(p, InitScheme::Gaussian, 0.5, seed);
    CounterRng rng(seed, RngPurpose::TrainData, 0);
    for (LstmTensor t : {LstmTensor::b, LstmTensor::by})
      for (Eigen::Index i = 0; i < p.vec(t).size(); ++i) p.vec(t)(i) += 0.3 * rng.normal();
    testing::random_inputs_and_targets(rng, I, T, B, O, k, X, Y);
  }

  double cost(const LstmParams<double>& q) const {
    LstmBuffers<double> buf;
    lstm_forward<double>(q, X, B, buf);
    OutputPass<double> out;
    output_pass<double>(q.Why(), q.by(), kind, buf.block(buf.Hs, T), Y, out);
    return out.cost;
  }
};

// Central differences of the cost over every element of tensor t, against the analytic gradient.
void check_lstm_tensor(const LstmProblem& pr, LstmTensor t, const LstmParams<double>& analytic) {
  const double eps = 1e-6, tol = 1e-6;
  LstmParams<double> q = pr.p;
  auto v = q.vec(t);
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    const double keep = v(i);
    v(i) = keep + eps;
    const double up = pr.cost(q);
    v(i) = keep - eps;
    const double down = pr.cost(q);
    v(i) = keep;
    const double numeric = (up - down) / (2 * eps);
    const double a = analytic.vec(t)(i);
    INFO("tensor " << lstm_tensor_name(t) << " element " << i << ": analytic " << a << " numeric " << numeric);
    CHECK(std::abs(a - numeric) <= tol * std::max(1.0, std::abs(numeric)));
  }
}

TrainConfig lstm_config() {
  TrainConfig c;
  c.algorithm = Algorithm::Lstm;
  c.task = TaskKind::Temporal;
  c.length = 10;
  c.hidden = 20;
  c.lr = 0.05;
  c.validation_samples = 1000;
  c.validation_batch = 250;
  c.progress = false;
  return c;
}

// A communicator that claims two ranks (LstmTrainer must refuse it before any message).
class TwoRanks final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void send(int, MessageTag, std::span<const float>) override { throw std::logic_error("send"); }
  void recv(int, MessageTag, std::span<float>) override { throw std::logic_error("recv"); }
  void allreduce_sum(std::span<float>) override { throw std::logic_error("allreduce"); }
  void allreduce_sum(std::span<double>) override { throw std::logic_error("allreduce"); }
  [[noreturn]] void abort(int, const std::string& why) override { throw std::logic_error(why); }
};

template <class F>
std::string usage_message(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

}  // namespace

TEST_CASE("LSTM BPTT gradient of every parameter matches finite differences") {
  for (OutputKind kind : {OutputKind::Softmax, OutputKind::Linear}) {
    CAPTURE(kind == OutputKind::Softmax ? "softmax" : "linear");
    LstmProblem pr(kind);
    LstmWorkspace<double> ws;
    LstmParams<double> grad(pr.p.shape());
    const double cost = lstm_gradient<double>(pr.p, kind, pr.X, pr.Y, ws, grad);
    CHECK(cost == doctest::Approx(pr.cost(pr.p)).epsilon(1e-14));
    for (LstmTensor t : kAllLstmTensors) {
      CHECK(grad.vec(t).norm() > 0);
      check_lstm_tensor(pr, t, grad);
    }
  }
}

TEST_CASE("LSTM evaluation without history gives the forward pass's h_T") {
  LstmProblem pr(OutputKind::Softmax);
  LstmBuffers<double> buf;
  lstm_forward<double>(pr.p, pr.X, pr.B, buf);
  MatD h, c, gates;
  lstm_final_state<double>(pr.p, pr.X, pr.B, 1, 2, h, c, gates);  // sequences 1 and 2
  CHECK((h - buf.block(buf.Hs, pr.T).middleCols(1, 2)).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((c - buf.block(buf.Cs, pr.T).middleCols(1, 2)).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("LSTM initialisation: orthogonal gate blocks, forget-gate bias 1, reproducible") {
  const ModelShape shape{6, 8, 4};
  LstmParams<double> p(shape), again(shape), other(shape);
  initialise(p, InitScheme::Orthogonal, 0.1, 5);
  initialise(again, InitScheme::Orthogonal, 0.1, 5);
  initialise(other, InitScheme::Orthogonal, 0.1, 6);
  CHECK(p.flat() == again.flat());
  CHECK(p.flat() != other.flat());
  const Eigen::Index H = shape.hidden;
  for (int k = 0; k < kGateCount; ++k) {
    const Gate g = static_cast<Gate>(k);
    const MatD wh = p.Wh().middleRows(p.gate_row(g), H);  // (H × H): orthogonal
    CHECK((wh * wh.transpose() - MatD::Identity(H, H)).norm() < 1e-10);
    const MatD wx = p.Wx().middleRows(p.gate_row(g), H);  // (H × I), H > I: orthonormal columns
    CHECK((wx.transpose() * wx - MatD::Identity(shape.input, shape.input)).norm() < 1e-10);
    const double bias = g == Gate::Forget ? 1.0 : 0.0;
    CHECK((p.b().segment(p.gate_row(g), H).array() == bias).all());
  }
  // Gate blocks are independent draws.
  CHECK(p.Wh().topRows(H) != p.Wh().middleRows(H, H));
  CHECK(p.by().norm() == 0.0);
}

TEST_CASE("gradient-norm clipping scales to the threshold, 0 is off") {
  Vec<double> g(2);
  g << 3, 4;
  CHECK(clip_gradient_norm<double>(g, 0) == doctest::Approx(5));
  CHECK(g(1) == 4);
  CHECK(clip_gradient_norm<double>(g, 10) == doctest::Approx(5));
  CHECK(g(1) == 4);
  CHECK(clip_gradient_norm<double>(g, 1) == doctest::Approx(5));
  CHECK(g.norm() == doctest::Approx(1));
  CHECK(g(0) == doctest::Approx(0.6));
}

TEST_CASE("algorithm lstm: parsed, printed, and its options checked") {
  CHECK(parse_algorithm("lstm") == Algorithm::Lstm);
  CHECK(to_string(Algorithm::Lstm) == "lstm");
  TrainConfig c = lstm_config();
  c.clip_norm = 1;
  CHECK_NOTHROW(c.validate());
  TrainConfig bad = lstm_config();
  bad.noise = 0.1;
  CHECK(usage_message([&] { bad.validate(); }).find("--noise") != std::string::npos);
  bad = lstm_config();
  bad.schedule = Schedule::Random;
  bad.p_g = 0.5;
  CHECK(usage_message([&] { bad.validate(); }).find("--schedule") != std::string::npos);
  bad = lstm_config();
  bad.p_g = 0.5;
  CHECK(usage_message([&] { bad.validate(); }).find("--p-g") != std::string::npos);
  bad = lstm_config();
  bad.activation = Activation::Sigmoid;
  CHECK(usage_message([&] { bad.validate(); }).find("--activation") != std::string::npos);
  bad = lstm_config();
  bad.clip_norm = -1;
  CHECK(usage_message([&] { bad.validate(); }).find("--clip") != std::string::npos);
}

TEST_CASE("LstmTrainer runs on one rank only") {
  TwoRanks two;
  const std::string message = usage_message([&] { LstmTrainer t(lstm_config(), two); });
  CHECK(message == "--algorithm lstm: runs on one rank; start it without mpirun -np K>1");
  SoloCommunicator solo;
  TrainConfig tptt = lstm_config();
  tptt.algorithm = Algorithm::Tptt;
  CHECK(usage_message([&] { LstmTrainer t(tptt, solo); }).find("not lstm") != std::string::npos);
}

TEST_CASE("LstmTrainer trains on the SRN Trainer's minibatches") {
  TrainConfig c = lstm_config();
  c.algorithm = Algorithm::Bptt;
  c.min_length = 10;
  c.max_length = 14;  // lengths drawn per iteration too
  SoloCommunicator solo;
  Trainer srn(c, solo);
  for (long n : {0L, 1L, 17L}) {
    const Batch a = srn.training_batch(n), b = training_batch(c, n);
    CHECK(a.steps == b.steps);
    CHECK(a.X == b.X);
    CHECK(a.Y == b.Y);
  }
}

TEST_CASE("LstmTrainer learns temporal at T = 10") {
  SoloCommunicator solo;
  TrainConfig c = lstm_config();
  LstmTrainer trainer(c, solo);
  double error = 1;
  long it = 0;
  for (; it < 600 && error > 0; ++it) {
    trainer.step(it);
    if ((it + 1) % 50 == 0) error = trainer.validate().error;
  }
  INFO("iterations: " << it << ", validation error " << error);
  CHECK(error == 0.0);
  CHECK(trainer.phase_stats().f_updates == it);
  CHECK(trainer.spectral_radii().feedback == 0.0);
  CHECK(std::isfinite(trainer.spectral_radii().recurrent));
}

TEST_CASE("LstmTrainer is deterministic and validates alike on any number of threads") {
  SoloCommunicator solo;
  TrainConfig c = lstm_config();
  c.clip_norm = 0.5;  // clipping on the path, too
  LstmTrainer a(c, solo);
  c.threads = 2;
  LstmTrainer b(c, solo);
  for (long it = 0; it < 30; ++it) {
    const IterationResult ra = a.step(it), rb = b.step(it);
    CHECK(ra.cost == rb.cost);
  }
  CHECK(a.flat_params() == b.flat_params());
  const ValidationResult va = a.validate(), vb = b.validate();
  CHECK(va.error == vb.error);
  CHECK(va.cost == vb.cost);
  const ValidationResult longer = a.validate(ValidationSet{.length = 20});
  CHECK(std::isfinite(longer.cost));
}

TEST_CASE("LstmTrainer: tensor slices tile the flat parameters") {
  SoloCommunicator solo;
  LstmTrainer t(lstm_config(), solo);
  const std::vector<TensorSlice> slices = t.tensor_slices();
  REQUIRE(slices.size() == 5);
  CHECK(slices[0].name == "W_x");
  CHECK(slices[1].name == "W_h");
  CHECK(slices[4].name == "b_y");
  Eigen::Index at = 0;
  for (const TensorSlice& s : slices) {
    CHECK(s.offset == at);
    at += s.count;
  }
  CHECK(at == t.flat_params().size());
  const int H = 20, I = 6, O = 4;
  CHECK(at == 4 * H * I + 4 * H * H + 4 * H + O * H + O);
}

TEST_CASE("LstmTrainer state: checkpoint round trip continues bit for bit; bad sections are FileErrors") {
  SoloCommunicator solo;
  const TrainConfig c = lstm_config();
  LstmTrainer a(c, solo);
  for (long it = 0; it < 5; ++it) a.step(it);
  Checkpoint ckpt;
  ckpt.set_source("ckpt.bin");
  a.save_state(ckpt);
  CHECK(ckpt.type("opt_forward") == SectionType::F32);
  CHECK(ckpt.get_int("lstm_updates") == 5);

  LstmTrainer b(c, solo);
  b.flat_params() = a.flat_params();
  b.load_state(ckpt);
  CHECK(b.phase_stats().f_updates == 5);
  for (long it = 5; it < 10; ++it) {
    a.step(it);
    b.step(it);
  }
  CHECK(a.flat_params() == b.flat_params());

  const auto file_message = [&](const Checkpoint& bad) {
    try {
      LstmTrainer(c, solo).load_state(bad);
    } catch (const FileError& e) {
      return std::string(e.what());
    }
    return std::string("(no FileError)");
  };
  Checkpoint wrong = ckpt;
  wrong.put_f32("opt_forward", std::vector<float>{1.0f, 2.0f});
  CHECK(file_message(wrong).find("ckpt.bin") != std::string::npos);
  CHECK(file_message(wrong).find("opt_forward") != std::string::npos);
  Checkpoint missing = ckpt;
  missing.erase("lstm_updates");
  CHECK(file_message(missing).find("ckpt.bin") != std::string::npos);
  CHECK(file_message(missing).find("lstm_updates") != std::string::npos);
}
