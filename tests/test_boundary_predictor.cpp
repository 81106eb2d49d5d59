// The decoupled boundaries' linear predictor (train/boundary_predictor.hpp) against
// hand-computed numbers: the prediction P h + p and the normalised LMS step.
#include <doctest/doctest.h>

#include "tptt/train/boundary_predictor.hpp"

using namespace tptt;

namespace {

MatF matrix(Eigen::Index rows, Eigen::Index cols, std::initializer_list<Scalar> row_major) {
  MatF m(rows, cols);
  auto it = row_major.begin();
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = *it++;
  return m;
}

void check_equal(const MatF& got, const MatF& expected) {
  REQUIRE(got.rows() == expected.rows());
  REQUIRE(got.cols() == expected.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(got(i, j) == doctest::Approx(expected(i, j)).epsilon(1e-6));
    }
}

}  // namespace

TEST_CASE("boundary predictor: two normalised LMS steps of the dE/dh predictor, by hand") {
  // H = 2, B = 2: boundary states h = (1, 2) and (0, −1), so z = (1, 2, 1), (0, −1, 1), ‖z‖² = 8;
  // real ∂E/∂h_b y = (0.5, −1) and (1, 0); η = 0.5, so each step adds (η/8) R zᵀ = R zᵀ / 16.
  const MatF h = matrix(2, 2, {1, 0, 2, -1});
  const MatF y = matrix(2, 2, {0.5F, 1, -1, 0});
  MatF W = MatF::Zero(2, 3);
  MatF predicted(2, 2);
  MatRef<Scalar> out(predicted);
  predict_from_boundary(W, h, out);
  check_equal(predicted, MatF::Zero(2, 2));  // zero at the start

  // From W = 0 the residual is y: y zᵀ = [0.5 0 1.5; −1 −2 −1], / 16.
  boundary_lms_step(W, h, y, 0.5);
  check_equal(W, matrix(2, 3, {0.03125F, 0, 0.09375F, -0.0625F, -0.125F, -0.0625F}));
  // P h + p: column 1 (0.03125 + 0.09375, −0.0625 − 0.25 − 0.0625), column 2 (0.09375, 0.125 − 0.0625).
  predict_from_boundary(W, h, out);
  check_equal(predicted, matrix(2, 2, {0.125F, 0.09375F, -0.375F, 0.0625F}));

  // Residual R = y − W z = [0.375 0.90625; −0.625 −0.0625]; R zᵀ = [0.375 −0.15625 1.28125;
  // −0.625 −1.1875 −0.6875], / 16, added to W.
  boundary_lms_step(W, h, y, 0.5);
  check_equal(W, matrix(2, 3, {0.0546875F, -0.009765625F, 0.173828125F, -0.1015625F, -0.19921875F, -0.10546875F}));
}

TEST_CASE("boundary predictor: with rate 1 one step on a single column predicts that column exactly") {
  // Normalised LMS at η = 1 projects W onto {W : W z = y} for one z.
  const MatF h = matrix(3, 1, {0.2F, -0.7F, 1.5F});
  const MatF y = matrix(2, 1, {0.3F, -0.05F});
  MatF W = matrix(2, 4, {0.1F, 0.2F, -0.3F, 0.05F, -0.4F, 0.0F, 0.25F, -0.1F});
  boundary_lms_step(W, h, y, 1.0);
  MatF predicted(2, 1);
  MatRef<Scalar> out(predicted);
  predict_from_boundary(W, h, out);
  check_equal(predicted, y);
}
