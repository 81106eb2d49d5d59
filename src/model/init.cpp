#include "tptt/model/init.hpp"

#include <Eigen/SVD>
#include <cmath>

#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"

namespace tptt {

InitScheme parse_init_scheme(const std::string& name) {
  if (name == "orthogonal") return InitScheme::Orthogonal;
  if (name == "gaussian") return InitScheme::Gaussian;
  throw UsageError("--init: unknown scheme '" + name + "' (expected orthogonal or gaussian)");
}

std::string to_string(InitScheme s) { return s == InitScheme::Orthogonal ? "orthogonal" : "gaussian"; }

namespace {

// (rows × cols) semi-orthogonal matrix: U·Vᵀ of the thin SVD of A ~ U(±sqrt(6/(rows+cols))).
Mat<double> random_orthogonal(Eigen::Index rows, Eigen::Index cols, CounterRng& rng) {
  const double bound = std::sqrt(6.0 / static_cast<double>(rows + cols));
  Mat<double> a(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) a(i, j) = (2.0 * rng.uniform() - 1.0) * bound;
  Eigen::BDCSVD<Mat<double>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  return svd.matrixU() * svd.matrixV().transpose();
}

}  // namespace

template <class S>
void draw_weights(MatRef<S> w, InitScheme scheme, double gaussian_std, CounterRng& rng) {
  if (scheme == InitScheme::Orthogonal) {
    w = random_orthogonal(w.rows(), w.cols(), rng).template cast<S>();
  } else {
    for (Eigen::Index j = 0; j < w.cols(); ++j)
      for (Eigen::Index i = 0; i < w.rows(); ++i) w(i, j) = static_cast<S>(gaussian_std * rng.normal());
  }
}

template <class S>
void initialise(Params<S>& params, InitScheme scheme, double gaussian_std, std::uint64_t seed) {
  params.set_zero();
  std::uint64_t sub = 0;
  for (Tensor t : {Tensor::Wxh, Tensor::Whh, Tensor::Why, Tensor::Vhh}) {
    CounterRng rng(seed, RngPurpose::Init, 0, sub++);
    draw_weights<S>(params.view(t), scheme, gaussian_std, rng);
  }
}

template void draw_weights<float>(MatRef<float>, InitScheme, double, CounterRng&);
template void draw_weights<double>(MatRef<double>, InitScheme, double, CounterRng&);
template void initialise<float>(Params<float>&, InitScheme, double, std::uint64_t);
template void initialise<double>(Params<double>&, InitScheme, double, std::uint64_t);

}  // namespace tptt
