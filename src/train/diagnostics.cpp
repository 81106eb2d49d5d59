#include "tptt/train/diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tptt/algo/kernels.hpp"
#include "tptt/algo/output.hpp"
#include "tptt/algo/segment.hpp"
#include "tptt/core/error.hpp"
#include "tptt/train/segment_pass.hpp"

namespace tptt {

namespace {

using D = double;

std::span<const double> span_of(const Params<D>& p, Tensor t) {
  const auto v = p.vec(t);
  return {v.data(), static_cast<std::size_t>(v.size())};
}

// Float digits for the per-step arrays: a metrics line per check stays short even at T = 784.
std::vector<float> as_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

}  // namespace

std::optional<double> angle_degrees(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return std::nullopt;
  // Each vector divided by its largest magnitude first: its squares neither overflow nor underflow.
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ma = std::max(ma, std::abs(a[i]));
    mb = std::max(mb, std::abs(b[i]));
  }
  if (!(ma > 0) || !(mb > 0) || !std::isfinite(ma) || !std::isfinite(mb)) return std::nullopt;
  double aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    aa += (a[i] / ma) * (a[i] / ma);
    bb += (b[i] / mb) * (b[i] / mb);
  }
  if (!std::isfinite(aa) || !std::isfinite(bb)) return std::nullopt;  // a NaN element (max skips it)
  const double ra = std::sqrt(aa), rb = std::sqrt(bb);                // ‖a‖/ma, ‖b‖/mb
  // Kahan's form of arccos(⟨a,b⟩/(‖a‖‖b‖)): 2·atan2(‖â − b̂‖, ‖â + b̂‖) with unit vectors â, b̂.
  // arccos loses half the digits near 0° and 180° (acos(1 − 1 ulp) is already 1.2e-6°).
  double diff = 0, sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double u = a[i] / ma / ra, v = b[i] / mb / rb;
    diff += (u - v) * (u - v);
    sum += (u + v) * (u + v);
  }
  return 2 * std::atan2(std::sqrt(diff), std::sqrt(sum)) * 180.0 / std::numbers::pi;
}

Diagnostics compute_diagnostics(const TrainConfig& config, const Params<Scalar>& params, const Batch& batch) {
  if (config.algorithm == Algorithm::Lstm) throw UsageError("--diagnostics: not available for algorithm lstm");
  Diagnostics d;
  d.algorithm = config.algorithm;
  const bool tptt = config.algorithm == Algorithm::Tptt || config.algorithm == Algorithm::TpttHx;
  const bool hx = config.algorithm == Algorithm::TpttHx;
  const Activation act = config.activation;
  const OutputKind kind = task_info(config.task).regression ? OutputKind::Linear : OutputKind::Softmax;
  const int T = batch.steps, B = batch.batch, H = params.shape().hidden;

  Params<D> p(params.shape());
  p.flat() = params.flat().cast<D>();
  const Mat<D> X = batch.X.cast<D>();  // (I × T·B)
  const Mat<D> Y = batch.Y.cast<D>();  // (O × B)

  // One segment a = 1, b = T; h_0 = 0.
  SegmentBuffers<D> seg;
  seg.resize(H, T, B);
  input_projection<D>(p, X, seg);
  seg.block(seg.Hs, 0).setZero();
  forward_states<D>(p, act, seg);

  OutputPass<D> out;
  Params<D> grad_bptt(p.shape());  // ∂E/∂θ_F
  Mat<D> dh(H, B);                 // (H × B) ∂E/∂h_T, then (after BPTT) ∂E/∂h_0
  const auto hT = seg.block(seg.Hs, T);
  output_pass<D>(p, kind, hT, Y, out);
  output_backward<D>(p, hT, out, grad_bptt, dh);

  // The same pass as training, on one thread and one segment: first TPTT's local gradients with
  // targets from the current θ_G (eq. 3 from ∂E/∂h_T, which dh holds until the BPTT pass), then BPTT.
  const ThreadArena one_thread(1);
  Params<D> grad_local(p.shape());  // ∂L_G/∂θ_G and ∂L_F/∂(W_hh, b_h [, W_xh]): disjoint tensors
  if (tptt) {
    feedback_of_states<D>(p, act, seg);
    PassBoundaries<D> io;
    io.target_in = [&](MatRef<D> delta) { delta = -config.alpha_i * dh; };
    PassParts local = pass_parts(config.algorithm, {true, true});
    local.chain = false;
    const PassLosses<D> losses = segment_backward<D>(p, act, X, /*noise=*/nullptr, local, io, seg, dh, grad_local,
                                                     one_thread, true);
    d.loss_g_steps = losses.g_steps;
    d.loss_f_steps = losses.f_steps;
  }
  segment_backward<D>(p, act, X, nullptr, pass_parts(Algorithm::Bptt, {false, true}), {}, seg, dh, grad_bptt,
                      one_thread);
  if (tptt) {
    d.angle_whh_deg = angle_degrees(span_of(grad_local, Tensor::Whh), span_of(grad_bptt, Tensor::Whh));
    if (hx) d.angle_wxh_deg = angle_degrees(span_of(grad_local, Tensor::Wxh), span_of(grad_bptt, Tensor::Wxh));
    d.grad_norm_tptt_whh = grad_local.Whh().norm();
  }
  d.grad_norm_bptt_whh = grad_bptt.Whh().norm();
  return d;
}

JsonObject Diagnostics::to_json() const {
  JsonObject j;
  const auto angle = [&j](const char* key, const std::optional<double>& v) {
    if (v)
      j.add(key, *v);
    else
      j.add_null(key);
  };
  if (algorithm != Algorithm::Tptt && algorithm != Algorithm::TpttHx)
    return j.add("grad_norm_bptt_whh", grad_norm_bptt_whh);
  angle("angle_whh_deg", angle_whh_deg);
  if (algorithm == Algorithm::TpttHx) angle("angle_wxh_deg", angle_wxh_deg);
  j.add("grad_norm_tptt_whh", grad_norm_tptt_whh)
      .add("grad_norm_bptt_whh", grad_norm_bptt_whh)
      .add("loss_g_steps", std::span<const float>(as_float(loss_g_steps)))
      .add("loss_f_steps", std::span<const float>(as_float(loss_f_steps)));
  return j;
}

}  // namespace tptt
