#pragma once
// Element-wise non-linearity σ of the SRN and its derivative expressed through σ's output.
#include <string>

#include "tptt/core/types.hpp"

namespace tptt {

enum class Activation { Tanh, Sigmoid };

Activation parse_activation(const std::string& name);  // throws UsageError
std::string to_string(Activation a);

// a ← σ(a), in place.
template <class S, class Derived>
void activate_inplace(Activation act, Eigen::MatrixBase<Derived>& a) {
  if (act == Activation::Tanh) {
    a.array() = a.array().tanh();
  } else {  // logistic through tanh: vectorised and stable for large |z|
    a.array() = S(0.5) * (S(0.5) * a.array()).tanh() + S(0.5);
  }
}

// out ← scale · g ⊙ σ'(z), with σ'(z) written through a = σ(z); out may alias g.
template <class S, class DA, class DG, class DO>
void scaled_derivative_product(Activation act, const Eigen::MatrixBase<DA>& a, const Eigen::MatrixBase<DG>& g, S scale,
                               Eigen::MatrixBase<DO>& out) {
  if (act == Activation::Tanh) {
    out.array() = g.array() * (scale - scale * a.array().square());
  } else {
    out.array() = g.array() * (scale * a.array() * (S(1) - a.array()));
  }
}

}  // namespace tptt
