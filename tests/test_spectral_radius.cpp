// The O(H²·k) spectral radius against the dense eigensolver (Eigen::EigenSolver).
#include <doctest/doctest.h>

#include "tptt/core/rng.hpp"
#include "tptt/model/spectral_radius.hpp"  // before Eigen's modules: core/intrinsics.hpp
#include "tptt/train/trainer.hpp"

#include <Eigen/LU>
#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

using namespace tptt;

namespace {

Mat<double> gaussian(Eigen::Index rows, Eigen::Index cols, CounterRng& rng) {
  Mat<double> a(rows, cols);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = rng.normal();
  return a;
}

Mat<double> orthogonal(Eigen::Index n, CounterRng& rng) {
  const Eigen::HouseholderQR<Mat<double>> qr(gaussian(n, n, rng));
  return qr.householderQ() * Mat<double>::Identity(n, n);
}

double relative_error(double estimate, double exact) { return std::abs(estimate / exact - 1.0); }

// Checks the Krylov estimate in double and in single precision against the dense value.
void check_against_dense(const std::string& what, const Mat<double>& a) {
  CAPTURE(what);
  CAPTURE(a.rows());
  const double exact = spectral_radius_dense(a);
  const SpectralEstimate d = spectral_radius_krylov<double>(a);
  const Mat<float> af = a.cast<float>();
  const SpectralEstimate f = spectral_radius_krylov<float>(af);
  CAPTURE(exact);
  CAPTURE(d.rho);
  CAPTURE(f.rho);
  CHECK(relative_error(d.rho, exact) <= kSpectralRadiusTolerance);
  CHECK(relative_error(f.rho, exact) <= kSpectralRadiusTolerance);
  // A converged Ritz value is an eigenvalue to rounding (float products: to about 1e-6).
  if (d.method == SpectralMethod::Ritz) CHECK(relative_error(d.rho, exact) <= 1e-7);
  if (f.method == SpectralMethod::Ritz) CHECK(relative_error(f.rho, exact) <= 1e-5);
}

}  // namespace

TEST_CASE("spectral radius: the Krylov estimate matches the dense eigensolver on random and orthogonal matrices") {
  for (Eigen::Index n : {40, 150, 300}) {
    CounterRng rng(11, RngPurpose::Init, static_cast<std::uint64_t>(n));
    const double scale = 1.0 / std::sqrt(static_cast<double>(n));
    const Mat<double> q = orthogonal(n, rng);
    check_against_dense("Gaussian N(0, 1/H): circular law, complex dominant pairs", gaussian(n, n, rng) * scale);
    check_against_dense("Gaussian N(0, 0.1²): the --init gaussian weights", gaussian(n, n, rng) * 0.1);
    check_against_dense("orthogonal: every |λ| = 1", q);
    check_against_dense("near-orthogonal: dominant moduli clustered within 1e-3",
                        q + 0.01 * scale * gaussian(n, n, rng));
    check_against_dense(
        "orthogonal with scaled columns (non-normal)",
        q * (Vec<double>::Ones(n) + 0.3 * gaussian(n, 1, rng).col(0).cwiseMin(1.0).cwiseMax(-1.0)).asDiagonal());
    check_against_dense(
        "orthogonal plus a rank-2 outgrowth and noise",
        1.05 * q + gaussian(n, 2, rng) * gaussian(2, n, rng) * (0.5 / n) + 0.05 * scale * gaussian(n, n, rng));
  }
}

TEST_CASE("spectral radius: exact on an orthogonal matrix, whose power sequence keeps its norm") {
  CounterRng rng(12, RngPurpose::Init, 0);
  const Mat<double> q = orthogonal(500, rng);
  const SpectralEstimate e = spectral_radius_krylov<double>(q);
  CHECK(e.method == SpectralMethod::Growth);
  CHECK(e.rho == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(e.matvecs < 500);  // stops once the growth rate is flat, long before the budget
}

TEST_CASE("spectral radius: a non-normal complex dominant pair, on which power iteration only rotates") {
  // X·diag(R(1.5, 0.7 rad), 0.9·Q)·X⁻¹ with a non-orthogonal X: ρ = 1.5 from a conjugate pair.
  const Eigen::Index n = 200;
  CounterRng rng(13, RngPurpose::Init, 0);
  Mat<double> d = Mat<double>::Zero(n, n);
  d(0, 0) = d(1, 1) = 1.5 * std::cos(0.7);
  d(0, 1) = -1.5 * std::sin(0.7);
  d(1, 0) = 1.5 * std::sin(0.7);
  d.bottomRightCorner(n - 2, n - 2) = 0.9 * orthogonal(n - 2, rng);
  const Mat<double> x = Mat<double>::Identity(n, n) + 0.3 / std::sqrt(double(n)) * gaussian(n, n, rng);
  const Mat<double> a = x * d * x.inverse();
  const SpectralEstimate e = spectral_radius_krylov<double>(a);
  CHECK(e.method == SpectralMethod::Ritz);
  CHECK(e.rho == doctest::Approx(1.5).epsilon(1e-8));
  CHECK(spectral_radius_krylov<float>(a.cast<float>()).rho == doctest::Approx(1.5).epsilon(1e-5));
}

TEST_CASE("spectral radius: trained W_hh and V_hh") {
  TrainConfig cfg;
  cfg.hidden = 160;  // above the dense limit
  cfg.length = 10;
  cfg.alpha_f = 0.2;
  cfg.alpha_g = 0.05;
  SoloCommunicator solo;
  Trainer trainer(cfg, solo);
  for (long it = 0; it < 200; ++it) trainer.step(it);
  for (Tensor t : {Tensor::Whh, Tensor::Vhh}) {
    const ConstMatMap<float> w = std::as_const(trainer.params()).view(t);
    check_against_dense(std::string("trained ") + tensor_name(t), w.cast<double>());
    CHECK(relative_error(spectral_radius<float>(w), spectral_radius_dense(w.cast<double>())) <=
          kSpectralRadiusTolerance);
  }
}

TEST_CASE("spectral radius: small, singular and non-finite matrices") {
  CounterRng rng(14, RngPurpose::Init, 0);
  const Mat<double> small = gaussian(kSpectralRadiusDenseLimit, kSpectralRadiusDenseLimit, rng);
  CHECK(spectral_radius<double>(ConstMatMap<double>(small.data(), small.rows(), small.cols())) ==
        spectral_radius_dense(small));             // the dense solver up to the limit
  const Mat<double> tiny = gaussian(10, 10, rng);  // fewer rows than Arnoldi steps: invariant
  const SpectralEstimate e = spectral_radius_krylov<double>(tiny);
  CHECK(e.method == SpectralMethod::Invariant);
  CHECK(e.rho == doctest::Approx(spectral_radius_dense(tiny)).epsilon(1e-10));
  CHECK(spectral_radius_krylov<double>(Mat<double>::Zero(200, 200)).rho == 0.0);
  Mat<float> bad = Mat<float>::Identity(200, 200);
  bad(3, 7) = std::numeric_limits<float>::quiet_NaN();
  CHECK(spectral_radius<float>(ConstMatMap<float>(bad.data(), 200, 200)) == std::numeric_limits<double>::infinity());
}
