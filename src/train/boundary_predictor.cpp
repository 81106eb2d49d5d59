#include "tptt/train/boundary_predictor.hpp"

namespace tptt {

void predict_from_boundary(const MatF& W, const ConstMatRef<Scalar>& h, MatRef<Scalar>& out) {
  const Eigen::Index H = h.rows();
  out.noalias() = W.leftCols(H) * h;
  out.colwise() += W.col(H);
}

void boundary_lms_step(MatF& W, const ConstMatRef<Scalar>& h, const ConstMatRef<Scalar>& y, double rate) {
  const Eigen::Index H = h.rows();
  MatF z(H + 1, h.cols());  // ((H+1) × B) [h; 1]
  z.topRows(H) = h;
  z.row(H).setOnes();
  const MatF residual = y - W * z;  // (rows × B) real minus predicted
  const double norm2 = static_cast<double>(z.squaredNorm());
  W.noalias() += static_cast<Scalar>(rate / norm2) * residual * z.transpose();
}

}  // namespace tptt
