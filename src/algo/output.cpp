#include "tptt/algo/output.hpp"

#include <cmath>

namespace tptt {

template <class S>
void output_forward(const ConstMatRef<S>& Why, const ConstVecRef<S>& by, OutputKind kind, const ConstMatRef<S>& hT,
                    Mat<S>& y) {
  y = Why * hT;
  y.colwise() += by;
  if (kind == OutputKind::Softmax) {
    for (Eigen::Index b = 0; b < y.cols(); ++b) {
      auto col = y.col(b);
      col.array() = (col.array() - col.maxCoeff()).exp();
      col /= col.sum();
    }
  }
}

template <class S>
void output_forward(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, Mat<S>& y) {
  output_forward<S>(p.Why(), p.by(), kind, hT, y);
}

template <class S>
double summed_loss(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets) {
  if (kind == OutputKind::Linear) return static_cast<double>((targets - y).squaredNorm());
  // −Σ t log y, with log of a probability clamped away from 0.
  const S tiny = std::numeric_limits<S>::min();
  return -static_cast<double>((targets.array() * y.array().max(tiny).log()).sum());
}

template <class S>
void output_pass(const ConstMatRef<S>& Why, const ConstVecRef<S>& by, OutputKind kind, const ConstMatRef<S>& hT,
                 const ConstMatRef<S>& targets, OutputPass<S>& out) {
  output_forward<S>(Why, by, kind, hT, out.y);
  const S batch = static_cast<S>(hT.cols());
  out.cost = static_cast<S>(summed_loss<S>(kind, out.y, targets) / batch);
  // softmax+CE: (y − t)/B; linear+SE: 2(y − t)/B.
  out.dlogits = (out.y - targets) * ((kind == OutputKind::Softmax ? S(1) : S(2)) / batch);
}

template <class S>
void output_pass(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, const ConstMatRef<S>& targets,
                 OutputPass<S>& out) {
  output_pass<S>(p.Why(), p.by(), kind, hT, targets, out);
}

template <class S>
void output_backward(const ConstMatRef<S>& Why, const ConstMatRef<S>& hT, const OutputPass<S>& out, MatRef<S> dWhy,
                     VecRef<S> dby, MatRef<S> dh) {
  dWhy.noalias() += out.dlogits * hT.transpose();
  dby += out.dlogits.rowwise().sum();
  dh.noalias() = Why.transpose() * out.dlogits;
}

template <class S>
void output_backward(const Params<S>& p, const ConstMatRef<S>& hT, const OutputPass<S>& out, Params<S>& grad,
                     MatRef<S> dh) {
  output_backward<S>(p.Why(), hT, out, grad.Why(), grad.by(), dh);
}

template <class S>
std::vector<Eigen::Index> error_columns(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets,
                                        double regression_tolerance) {
  std::vector<Eigen::Index> wrong;
  for (Eigen::Index b = 0; b < y.cols(); ++b) {
    if (kind == OutputKind::Linear) {
      if ((y.col(b) - targets.col(b)).squaredNorm() > regression_tolerance) wrong.push_back(b);
    } else {
      Eigen::Index predicted, actual;
      y.col(b).maxCoeff(&predicted);
      targets.col(b).maxCoeff(&actual);
      if (predicted != actual) wrong.push_back(b);
    }
  }
  return wrong;
}

template <class S>
int count_errors(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets, double regression_tolerance) {
  return static_cast<int>(error_columns<S>(kind, y, targets, regression_tolerance).size());
}

#define TPTT_INSTANTIATE_OUTPUT(S)                                                                                 \
  template void output_forward<S>(const Params<S>&, OutputKind, const ConstMatRef<S>&, Mat<S>&);                   \
  template void output_forward<S>(const ConstMatRef<S>&, const ConstVecRef<S>&, OutputKind, const ConstMatRef<S>&, \
                                  Mat<S>&);                                                                        \
  template void output_pass<S>(const ConstMatRef<S>&, const ConstVecRef<S>&, OutputKind, const ConstMatRef<S>&,    \
                               const ConstMatRef<S>&, OutputPass<S>&);                                             \
  template void output_backward<S>(const ConstMatRef<S>&, const ConstMatRef<S>&, const OutputPass<S>&, MatRef<S>,  \
                                   VecRef<S>, MatRef<S>);                                                          \
  template double summed_loss<S>(OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&);                        \
  template void output_pass<S>(const Params<S>&, OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&,         \
                               OutputPass<S>&);                                                                    \
  template void output_backward<S>(const Params<S>&, const ConstMatRef<S>&, const OutputPass<S>&, Params<S>&,      \
                                   MatRef<S>);                                                                     \
  template int count_errors<S>(OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&, double);                  \
  template std::vector<Eigen::Index> error_columns<S>(OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&, double);

TPTT_INSTANTIATE_OUTPUT(float)
TPTT_INSTANTIATE_OUTPUT(double)

}  // namespace tptt
