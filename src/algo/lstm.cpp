#include "tptt/algo/lstm.hpp"

namespace tptt {

template <class S>
void LstmBuffers<S>::resize(int hidden_size, int sequence_steps, int batch_size) {
  hidden = hidden_size;
  steps = sequence_steps;
  batch = batch_size;
  const Eigen::Index H = hidden, G = static_cast<Eigen::Index>(kGateCount) * H;
  const Eigen::Index n = static_cast<Eigen::Index>(steps) * batch, n1 = n + batch;
  A.resize(G, n);  // Eigen keeps the allocation when the size is unchanged
  Hs.resize(H, n1);
  Cs.resize(H, n1);
  Tc.resize(H, n);
  D.resize(G, n);
  dc.resize(H, batch);
}

namespace {

// Gates and cell of one step. z (4H × n): pre-activations on entry, i, f, o, g on exit.
// c_prev (H × n) → c (H × n), tc = tanh(c), h = o ⊙ tc. c may alias c_prev, and tc h (both
// element-wise), so that evaluation needs no history.
template <class S>
void cell_step(MatRef<S> z, const ConstMatRef<S>& c_prev, MatRef<S> c, MatRef<S> tc, MatRef<S> h) {
  const Eigen::Index H = c.rows();
  auto sig = z.topRows(3 * H);  // i, f, o: logistic through tanh (vectorised, stable for large |z|)
  sig.array() = S(0.5) * (S(0.5) * sig.array()).tanh() + S(0.5);
  auto g = z.bottomRows(H);
  g.array() = g.array().tanh();
  c.array() = z.middleRows(H, H).array() * c_prev.array() + z.topRows(H).array() * g.array();
  tc.array() = c.array().tanh();
  h.array() = z.middleRows(2 * H, H).array() * tc.array();
}

}  // namespace

template <class S>
void lstm_forward(const LstmParams<S>& p, const ConstMatRef<S>& X, int batch, LstmBuffers<S>& buf) {
  const int steps = static_cast<int>(X.cols() / batch);
  buf.resize(p.hidden(), steps, batch);
  buf.A.noalias() = p.Wx() * X;  // all steps' input projections in one product
  buf.A.colwise() += p.b();
  buf.block(buf.Hs, 0).setZero();
  buf.block(buf.Cs, 0).setZero();
  for (int t = 1; t <= steps; ++t) {
    auto z = buf.block(buf.A, t - 1);
    if (t > 1) z.noalias() += p.Wh() * buf.block(buf.Hs, t - 1);  // h_0 = 0 adds nothing
    cell_step<S>(z, buf.block(buf.Cs, t - 1), buf.block(buf.Cs, t), buf.block(buf.Tc, t - 1), buf.block(buf.Hs, t));
  }
}

template <class S>
void lstm_backward(const LstmParams<S>& p, const ConstMatRef<S>& X, LstmBuffers<S>& buf, MatRef<S> dh,
                   LstmParams<S>& grad) {
  const Eigen::Index H = buf.hidden;
  auto& dc = buf.dc;  // (H × B) ∂E/∂c_t; c_T feeds only h_T
  dc.setZero();
  const Mat<S> WhT = p.Wh().transpose();  // (H × 4H) once: the per-step products then pack it without transposing
  for (int t = buf.steps; t >= 1; --t) {
    const auto a = buf.block(buf.A, t - 1);  // i, f, o, g of step t
    const auto i = a.topRows(H), f = a.middleRows(H, H), o = a.middleRows(2 * H, H), g = a.bottomRows(H);
    const auto tc = buf.block(buf.Tc, t - 1);
    const auto c_prev = buf.block(buf.Cs, t - 1);
    auto d = buf.block(buf.D, t - 1);  // ∂E/∂z_t, gate rows as in a
    // h_t = o ⊙ tanh(c_t): ∂E/∂c_t gains dh ⊙ o ⊙ (1 − tanh²c_t) on top of what c_{t+1} passed back.
    dc.array() += dh.array() * o.array() * (S(1) - tc.array().square());
    d.middleRows(2 * H, H).array() = dh.array() * tc.array() * o.array() * (S(1) - o.array());
    d.topRows(H).array() = dc.array() * g.array() * i.array() * (S(1) - i.array());
    d.middleRows(H, H).array() = dc.array() * c_prev.array() * f.array() * (S(1) - f.array());
    d.bottomRows(H).array() = dc.array() * i.array() * (S(1) - g.array().square());
    dc.array() *= f.array();            // ∂E/∂c_{t−1}
    if (t > 1) dh.noalias() = WhT * d;  // ∂E/∂h_{t−1}
  }
  // Weight gradients summed over all steps: one product each over T·B columns.
  const Eigen::Index n = static_cast<Eigen::Index>(buf.steps) * buf.batch;
  grad.Wx().noalias() += buf.D * X.transpose();
  grad.Wh().noalias() += buf.D * buf.Hs.leftCols(n).transpose();  // h_0 … h_{T−1}
  grad.b() += buf.D.rowwise().sum();
}

template <class S>
S lstm_gradient(const LstmParams<S>& p, OutputKind kind, const ConstMatRef<S>& X, const ConstMatRef<S>& targets,
                LstmWorkspace<S>& ws, LstmParams<S>& grad) {
  const int B = static_cast<int>(targets.cols());
  lstm_forward<S>(p, X, B, ws.buf);
  const auto hT = ws.buf.block(ws.buf.Hs, ws.buf.steps);
  output_pass<S>(p.Why(), p.by(), kind, hT, targets, ws.out);
  grad.set_zero();
  ws.dh.resize(p.hidden(), B);
  output_backward<S>(p.Why(), hT, ws.out, grad.Why(), grad.by(), ws.dh);
  lstm_backward<S>(p, X, ws.buf, ws.dh, grad);
  return ws.out.cost;
}

template <class S>
void lstm_final_state(const LstmParams<S>& p, const ConstMatRef<S>& X, int batch, int first, int n, Mat<S>& h,
                      Mat<S>& c, Mat<S>& gates) {
  const Eigen::Index steps = X.cols() / batch;
  const Eigen::Index H = p.hidden();
  h.setZero(H, n);
  c.setZero(H, n);
  gates.resize(kGateCount * H, n);
  for (Eigen::Index t = 0; t < steps; ++t) {
    gates.noalias() = p.Wx() * X.middleCols(t * batch + first, n);
    gates.colwise() += p.b();
    if (t > 0) gates.noalias() += p.Wh() * h;
    cell_step<S>(gates, c, c, h, h);  // in place: h holds tanh(c_t), then h_t
  }
}

template <class S>
double clip_gradient_norm(VecRef<S> g, double max_norm) {
  const double norm = static_cast<double>(g.norm());
  if (max_norm > 0 && norm > max_norm) g *= static_cast<S>(max_norm / norm);
  return norm;
}

#define TPTT_INSTANTIATE_LSTM(S)                                                                                  \
  template struct LstmBuffers<S>;                                                                                 \
  template void lstm_forward<S>(const LstmParams<S>&, const ConstMatRef<S>&, int, LstmBuffers<S>&);               \
  template void lstm_backward<S>(const LstmParams<S>&, const ConstMatRef<S>&, LstmBuffers<S>&, MatRef<S>,         \
                                 LstmParams<S>&);                                                                 \
  template S lstm_gradient<S>(const LstmParams<S>&, OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&,     \
                              LstmWorkspace<S>&, LstmParams<S>&);                                                 \
  template void lstm_final_state<S>(const LstmParams<S>&, const ConstMatRef<S>&, int, int, int, Mat<S>&, Mat<S>&, \
                                    Mat<S>&);                                                                     \
  template double clip_gradient_norm<S>(VecRef<S>, double);

TPTT_INSTANTIATE_LSTM(float)
TPTT_INSTANTIATE_LSTM(double)

}  // namespace tptt
