#pragma once
// Spectral radius ρ(W) = max |λ| of a square weight matrix: the rho_whh and rho_vhh of each
// check and the --max-spectral-radius abort. Small matrices get the dense eigensolver (exact);
// larger ones an O(H²·k) Krylov estimate held to kSpectralRadiusTolerance (spectral_radius.cpp
// explains the method and its stopping rules).
#include "tptt/core/types.hpp"

namespace tptt {

// Relative accuracy of the Krylov estimate against the dense eigensolver.
inline constexpr double kSpectralRadiusTolerance = 1e-3;
// Up to this H the dense eigensolver runs (a few ms; above it its O(H³) cost dominates a check).
inline constexpr Eigen::Index kSpectralRadiusDenseLimit = 128;

// ρ(m) for a square m; +inf when m has a non-finite entry.
template <class S>
double spectral_radius(const ConstMatMap<S>& m);

// The two methods behind spectral_radius, exposed for the tests and the benchmark.
enum class SpectralMethod {
  Dense,      // Eigen::EigenSolver, O(H³)
  Invariant,  // the Krylov space became invariant: its Ritz values are eigenvalues
  Ritz,       // a converged Ritz value of largest modulus
  Growth,     // the geometric growth rate of the power sequence (clustered dominant moduli)
};
struct SpectralEstimate {
  double rho = 0;
  SpectralMethod method = SpectralMethod::Dense;
  long matvecs = 0;  // products with m
};
double spectral_radius_dense(const ConstMatRef<double>& m);
// Products with m in its own precision (single precision: Ritz pairs converge to 1e-6 instead
// of 1e-9; the estimate is held to the same kSpectralRadiusTolerance).
template <class S>
SpectralEstimate spectral_radius_krylov(const ConstMatRef<S>& m);

}  // namespace tptt
