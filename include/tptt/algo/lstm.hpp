#pragma once
// The LSTM baseline (docs/method.md §7, Table 5): forward pass over T steps, the output layer and loss of
// the SRN (algo/output.hpp) on h_T, and full backpropagation through time into every parameter.
// Stateless kernels over explicit buffers, batch as columns; X is (I × T·B) with column
// (t−1)·B + b holding x_t of sequence b, as for the SRN.
//
// Per step, with gates stacked as in model/lstm_params.hpp (σ = logistic):
//   z_t = W_x x_t + W_h h_{t−1} + b                      (4H × B)
//   i = σ(z_i), f = σ(z_f), o = σ(z_o), g = tanh(z_g)
//   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t),    h_0 = c_0 = 0
#include "tptt/algo/output.hpp"
#include "tptt/model/lstm_params.hpp"

namespace tptt {

// Block k of a matrix is middleCols(k·B, B).
template <class S>
struct LstmBuffers {
  int hidden = 0, steps = 0, batch = 0;  // H, T, B
  Mat<S> A;   // (4H × T·B)      block t−1: W_x x_t + b, then after the forward pass i, f, o, g of step t
  Mat<S> Hs;  // (H × (T+1)·B)   h_0 … h_T
  Mat<S> Cs;  // (H × (T+1)·B)   c_0 … c_T
  Mat<S> Tc;  // (H × T·B)       block t−1: tanh(c_t)
  Mat<S> D;   // (4H × T·B)      block t−1: ∂E/∂z_t
  Mat<S> dc;  // (H × B)         ∂E/∂c_t while going back

  // Sizes the buffers; reallocates only when a dimension changes.
  void resize(int hidden_size, int sequence_steps, int batch_size);

  auto block(Mat<S>& m, int k) { return m.middleCols(static_cast<Eigen::Index>(k) * batch, batch); }
  auto block(const Mat<S>& m, int k) const { return m.middleCols(static_cast<Eigen::Index>(k) * batch, batch); }
};

// Forward pass over all steps of X (I × T·B) from h_0 = c_0 = 0: one (4H × T·B) input
// projection, then one recurrent (4H × H)·(H × B) product per step. Sizes buf.
template <class S>
void lstm_forward(const LstmParams<S>& p, const ConstMatRef<S>& X, int batch, LstmBuffers<S>& buf);

// BPTT after lstm_forward with the same p and X. dh (H × B): ∂E/∂h_T on entry, scratch on exit.
// Adds ∂E/∂W_x, ∂E/∂W_h, ∂E/∂b into grad; the weight gradients are one product each over all
// T·B columns.
template <class S>
void lstm_backward(const LstmParams<S>& p, const ConstMatRef<S>& X, LstmBuffers<S>& buf, MatRef<S> dh,
                   LstmParams<S>& grad);

// The buffers of one minibatch's gradient.
template <class S>
struct LstmWorkspace {
  LstmBuffers<S> buf;
  OutputPass<S> out;
  Mat<S> dh;  // (H × B) ∂E/∂h_t while going back
};

// One minibatch: forward, output layer and loss E (returned), and ∂E/∂θ of every parameter
// written into grad (zeroed first). X: (I × T·B); targets: (O × B).
template <class S>
S lstm_gradient(const LstmParams<S>& p, OutputKind kind, const ConstMatRef<S>& X, const ConstMatRef<S>& targets,
                LstmWorkspace<S>& ws, LstmParams<S>& grad);

// h_T of sequences [first, first + n) of a batch of `batch` sequences in X (I × T·B), keeping
// only the current (H × n) h and c and one (4H × n) gate buffer: evaluation of large batches
// without the state history. The same step arithmetic as lstm_forward.
template <class S>
void lstm_final_state(const LstmParams<S>& p, const ConstMatRef<S>& X, int batch, int first, int n, Mat<S>& h,
                      Mat<S>& c, Mat<S>& gates);

// Gradient-norm clipping (Pascanu et al. 2012): scales g to norm max_norm when its norm is
// larger; max_norm = 0 is off. Returns the norm before clipping.
template <class S>
double clip_gradient_norm(VecRef<S> g, double max_norm);

}  // namespace tptt
