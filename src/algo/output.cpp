#include "tptt/algo/output.hpp"

#include <cmath>

namespace tptt {

template <class S>
void output_forward(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, Mat<S>& y) {
  y = p.Why() * hT;
  y.colwise() += p.by();
  if (kind == OutputKind::Softmax) {
    for (Eigen::Index b = 0; b < y.cols(); ++b) {
      auto col = y.col(b);
      col.array() = (col.array() - col.maxCoeff()).exp();
      col /= col.sum();
    }
  }
}

template <class S>
double summed_loss(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets) {
  if (kind == OutputKind::Linear) return static_cast<double>((targets - y).squaredNorm());
  // −Σ t log y, with log of a probability clamped away from 0.
  const S tiny = std::numeric_limits<S>::min();
  return -static_cast<double>((targets.array() * y.array().max(tiny).log()).sum());
}

template <class S>
void output_pass(const Params<S>& p, OutputKind kind, const ConstMatRef<S>& hT, const ConstMatRef<S>& targets,
                 OutputPass<S>& out) {
  output_forward(p, kind, hT, out.y);
  const S batch = static_cast<S>(hT.cols());
  out.cost = static_cast<S>(summed_loss<S>(kind, out.y, targets) / batch);
  // softmax+CE: (y − t)/B; linear+SE: 2(y − t)/B.
  out.dlogits = (out.y - targets) * ((kind == OutputKind::Softmax ? S(1) : S(2)) / batch);
}

template <class S>
void output_backward(const Params<S>& p, const ConstMatRef<S>& hT, const OutputPass<S>& out, Params<S>& grad,
                     MatRef<S> dh) {
  grad.Why().noalias() += out.dlogits * hT.transpose();
  grad.by() += out.dlogits.rowwise().sum();
  dh.noalias() = p.Why().transpose() * out.dlogits;
}

template <class S>
int count_errors(OutputKind kind, const ConstMatRef<S>& y, const ConstMatRef<S>& targets,
                 double regression_tolerance) {
  int errors = 0;
  for (Eigen::Index b = 0; b < y.cols(); ++b) {
    if (kind == OutputKind::Linear) {
      if ((y.col(b) - targets.col(b)).squaredNorm() > regression_tolerance) ++errors;
    } else {
      Eigen::Index predicted, actual;
      y.col(b).maxCoeff(&predicted);
      targets.col(b).maxCoeff(&actual);
      if (predicted != actual) ++errors;
    }
  }
  return errors;
}

#define TPTT_INSTANTIATE_OUTPUT(S)                                                                                   \
  template void output_forward<S>(const Params<S>&, OutputKind, const ConstMatRef<S>&, Mat<S>&);                     \
  template double summed_loss<S>(OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&);                         \
  template void output_pass<S>(const Params<S>&, OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&,           \
                               OutputPass<S>&);                                                                      \
  template void output_backward<S>(const Params<S>&, const ConstMatRef<S>&, const OutputPass<S>&, Params<S>&,        \
                                   MatRef<S>);                                                                       \
  template int count_errors<S>(OutputKind, const ConstMatRef<S>&, const ConstMatRef<S>&, double);

TPTT_INSTANTIATE_OUTPUT(float)
TPTT_INSTANTIATE_OUTPUT(double)

}  // namespace tptt
