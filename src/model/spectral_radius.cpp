#include "tptt/model/spectral_radius.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "tptt/core/rng.hpp"

namespace tptt {

// The Krylov estimate (H > kSpectralRadiusDenseLimit): restarted Arnoldi with a power filter.
//
// A cycle runs m Arnoldi steps from a unit vector x: A·V_m = V_{m+1}·G with V orthonormal and G
// (m+1)×m upper Hessenberg, for m products with A. Two estimates come out of it:
//  - Ritz values: the eigenvalues θ of the m×m top of G. The pair (θ, y = V_m·s) has residual
//    ‖A·y − θ·y‖ = |G(m, m−1)·s_m| (‖s‖ = 1); below kRitzTolerance·|θ|, θ is an exact eigenvalue
//    of A + E with ‖E‖ ≤ kRitzTolerance·|θ|. The dense solve of the small G yields complex
//    conjugate pairs, the usual dominant eigenvalues of a real non-symmetric matrix, on which a
//    plain power iteration rotates instead of converging.
//  - The power vector A^m·x = V_{m+1}·p with p = G·(…·(G·e_1)), read off G at no extra product.
//    The next cycle restarts from it, so cycle c works on the Krylov space of A^{(c−1)·m}·x_0:
//    the components of the largest |λ| outgrow the rest and the Ritz value of largest modulus
//    converges to a dominant eigenvalue like |λ_{m+1}/λ_1|^{c·m}. The filter z^m never damps a
//    large eigenvalue (exact-shift restarts can discard the dominant direction while it is still
//    unresolved inside a cluster).
// When the largest moduli are clustered — an orthogonal matrix such as the initial W_hh has all
// of them on the unit circle — no polynomial of modest degree singles out one eigenvalue (on a
// circle z^k is already the best one), but the modulus is still available: the growth rate of
// the power sequence over the last quarter of the products, (‖A^K·x‖ / ‖A^{3K/4}·x‖)^{4/K}, is a
// weighted mean of the largest moduli (exactly 1 for an orthogonal matrix). It is off from ρ by
// the width of the cluster it averages over and, for a non-normal A, by about log κ / K where κ
// is the condition of the dominant eigenvectors.
//
// Stopping rules, in order:
//  1. the Krylov space became invariant: its Ritz values are eigenvalues of A (exact);
//  2. the dominant Ritz pair converged: |θ|, within about 1e-8 (1e-6 with single-precision
//     products) for a well-conditioned eigenvalue;
//  3. the per-step growth rates of the last half of the cycles agree to kFlatGrowth: the rate has
//     stopped moving (an orthogonal A keeps the norm exactly), return it;
//  4. fallback, the budget of kMaxMatvecs products is spent: return the growth rate.
// Tolerance: kSpectralRadiusTolerance = 1e-3 relative. The tests compare every path with the
// dense eigensolver on random, orthogonal, near-orthogonal and trained matrices; the largest
// error measured, up to H = 1024, was 6e-4, by rule 4 on near-orthogonal matrices whose
// dominant moduli spread over about 1e-3. Matrices up to kSpectralRadiusDenseLimit, where the
// dense solver takes a few ms, get it instead (exact).
namespace {

constexpr Eigen::Index kKrylovDim = 24;  // m: Arnoldi steps per cycle
constexpr long kMaxMatvecs = 2400;       // budget: 100 cycles (at H = 1024, about 5 GFLOP)
// Relative residual of a converged Ritz pair: products in single precision (the trainer's
// weights) leave the Arnoldi relation exact only to about 1e-7, so its residual floors there.
template <class S>
constexpr double kRitzTolerance = sizeof(S) == sizeof(float) ? 1e-6 : 1e-9;
constexpr double kInvariantTolerance = 1e-12;  // ‖new direction‖ / ‖A·v_j‖ of an invariant space
constexpr double kFlatGrowth = 1e-6;           // spread of the per-step log growth rates that ends the iteration
constexpr std::size_t kMinCycles = 8;

// Fixed pseudo-random unit start vector: the estimate is a function of the matrix alone.
Vec<double> start_vector(Eigen::Index n) {
  Vec<double> x(n);
  for (Eigen::Index i = 0; i < n; ++i)
    x(i) = static_cast<double>(mix64(0x5eedULL + static_cast<std::uint64_t>(i)) >> 11) * 0x1.0p-53 - 0.5;
  return x.normalized();
}

struct Cycle {
  Eigen::Index steps = 0;  // Arnoldi steps done (fewer than m when the space became invariant)
  bool invariant = false;
  double top_ritz = 0;             // max |θ|
  double top_residual = 0;         // relative residual of that Ritz pair
  double log_growth_per_step = 0;  // log ‖A^steps·x‖ / steps
};

// One cycle from the unit vector x, which is replaced by the normalised power vector A^steps·x.
// basis: (H × m+1), hess: (m+1 × m), both scratch.
template <class S>
Cycle arnoldi_cycle(const ConstMatRef<S>& a, Vec<double>& x, Mat<double>& basis, Mat<double>& hess) {
  const Eigen::Index m = hess.cols();
  Cycle cycle;
  cycle.steps = m;
  basis.col(0) = x;
  hess.setZero();
  Vec<double> w(a.rows());
  for (Eigen::Index j = 0; j < m; ++j) {
    w = (a * basis.col(j).template cast<S>()).template cast<double>();
    const auto done = basis.leftCols(j + 1);
    Vec<double> h = done.transpose() * w;  // classical Gram–Schmidt, twice: orthogonal to rounding
    w.noalias() -= done * h;
    const Vec<double> dh = done.transpose() * w;
    w.noalias() -= done * dh;
    h += dh;
    const double beta = w.norm();
    hess.col(j).head(j + 1) = h;
    hess(j + 1, j) = beta;
    if (beta <= kInvariantTolerance * std::hypot(h.norm(), beta)) {
      cycle.steps = j + 1;
      cycle.invariant = true;
      break;
    }
    basis.col(j + 1) = w / beta;
  }
  const Eigen::Index k = cycle.steps;

  Vec<double> p = Vec<double>::Zero(k + 1);  // A^k·x = V_{k+1}·p
  p(0) = 1;
  for (Eigen::Index j = 0; j < k; ++j) {
    const Vec<double> next = hess.topLeftCorner(j + 2, j + 1) * p.head(j + 1);
    p.head(j + 2) = next;
  }
  const double growth = p.norm();
  cycle.log_growth_per_step = std::log(growth) / static_cast<double>(k);
  if (growth > 0) x = basis.leftCols(k + 1) * (p / growth);

  const Eigen::EigenSolver<Mat<double>> ritz(hess.topLeftCorner(k, k), /*computeEigenvectors=*/true);
  if (ritz.info() != Eigen::Success) {
    cycle.top_residual = std::numeric_limits<double>::infinity();
    return cycle;
  }
  Eigen::Index top = 0;
  cycle.top_ritz = ritz.eigenvalues().cwiseAbs().maxCoeff(&top);
  const double last = std::abs(ritz.eigenvectors()(k - 1, top)) / ritz.eigenvectors().col(top).norm();
  cycle.top_residual = cycle.invariant ? 0.0 : hess(k, k - 1) * last / cycle.top_ritz;
  return cycle;
}

}  // namespace

double spectral_radius_dense(const ConstMatRef<double>& m) {
  if (m.rows() == 0) return 0.0;
  const Eigen::EigenSolver<Mat<double>> solver(m, /*computeEigenvectors=*/false);
  return solver.eigenvalues().cwiseAbs().maxCoeff();
}

template <class S>
SpectralEstimate spectral_radius_krylov(const ConstMatRef<S>& m) {
  const Eigen::Index n = m.rows();
  if (n == 0) return {0.0, SpectralMethod::Invariant, 0};
  const Eigen::Index dim = std::min(kKrylovDim, n);
  Mat<double> basis(n, dim + 1);
  Mat<double> hess(dim + 1, dim);
  Vec<double> x = start_vector(n);
  std::vector<double> rates;  // log growth per step, one per cycle
  long matvecs = 0;
  for (;;) {
    const Cycle cycle = arnoldi_cycle<S>(m, x, basis, hess);
    matvecs += static_cast<long>(cycle.steps);
    if (cycle.invariant) return {cycle.top_ritz, SpectralMethod::Invariant, matvecs};
    if (cycle.top_residual <= kRitzTolerance<S>) return {cycle.top_ritz, SpectralMethod::Ritz, matvecs};
    rates.push_back(cycle.log_growth_per_step);
    const auto second_half = rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2);
    const auto [lo, hi] = std::minmax_element(second_half, rates.end());
    const bool flat = rates.size() >= kMinCycles && *hi - *lo <= kFlatGrowth;
    if (flat || matvecs >= kMaxMatvecs) {
      const auto last_quarter = rates.end() - static_cast<std::ptrdiff_t>(std::max<std::size_t>(1, rates.size() / 4));
      double sum = 0;
      for (auto r = last_quarter; r != rates.end(); ++r) sum += *r;
      return {std::exp(sum / static_cast<double>(rates.end() - last_quarter)), SpectralMethod::Growth, matvecs};
    }
  }
}

template <class S>
double spectral_radius(const ConstMatMap<S>& m) {
  if (!m.allFinite()) return std::numeric_limits<double>::infinity();
  if (m.rows() <= kSpectralRadiusDenseLimit) return spectral_radius_dense(m.template cast<double>());
  return spectral_radius_krylov<S>(m).rho;
}

template SpectralEstimate spectral_radius_krylov<float>(const ConstMatRef<float>&);
template SpectralEstimate spectral_radius_krylov<double>(const ConstMatRef<double>&);
template double spectral_radius<float>(const ConstMatMap<float>&);
template double spectral_radius<double>(const ConstMatMap<double>&);

}  // namespace tptt
