#pragma once
// Output layer and global loss E (docs/method.md §1): softmax + cross-entropy or linear + squared
// error, both averaged over the batch.
#include <vector>

#include "tptt/model/params.hpp"

namespace tptt {

enum class OutputKind { Softmax, Linear };

template <class S>
struct OutputPass {
  Mat<S> y;        // (O × B) network output (probabilities or linear values)
  Mat<S> dlogits;  // (O × B) ∂E/∂(W_hy h_T + b_y)
  S cost = 0;      // E
};

// Each function below has two forms: on the SRN's Params, and on the output tensors
// W_hy (O×H), b_y (O) wherever they are stored (the LSTM baseline's LstmParams).

// Forward through the output layer and the loss; fills out.y, out.dlogits, out.cost.
// hT: (H × B) last hidden state; targets: (O × B) one-hot classes or regression values.
template <class S>
void output_pass(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, const ConstMatRef<S>& targets,
                 OutputPass<S>& out);
template <class S>
void output_pass(const ConstMatRef<S>& Why, const ConstVecRef<S>& by, OutputKind kind, const ConstMatRef<S>& hT,
                 const ConstMatRef<S>& targets, OutputPass<S>& out);

// Only the outputs y (O × B), for evaluation.
template <class S>
void output_forward(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, Mat<S>& y);
template <class S>
void output_forward(const ConstMatRef<S>& Why, const ConstVecRef<S>& by, OutputKind kind, const ConstMatRef<S>& hT,
                    Mat<S>& y);

// Eq. 11: adds ∂E/∂W_hy, ∂E/∂b_y into grad (dWhy, dby); writes ∂E/∂h_T (H × B) into dh.
template <class S>
void output_backward(const Params<S>& p, const ConstMatRef<S>& hT, const OutputPass<S>& out, Params<S>& grad,
                     MatRef<S> dh);
template <class S>
void output_backward(const ConstMatRef<S>& Why, const ConstMatRef<S>& hT, const OutputPass<S>& out, MatRef<S> dWhy,
                     VecRef<S> dby, MatRef<S> dh);

// Mis-classified samples (argmax ≠ argmax of the one-hot target), or for regression the
// samples whose squared error exceeds `regression_tolerance` (docs/method.md §6: 0.04).
template <class S>
int count_errors(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets,
                 double regression_tolerance = 0.04);
// The columns of those samples, in order (count_errors is their number).
template <class S>
std::vector<Eigen::Index> error_columns(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets,
                                        double regression_tolerance = 0.04);

// Sum over the batch of the per-sample loss (E·B), for averaging over many batches.
template <class S>
double summed_loss(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets);

}  // namespace tptt
