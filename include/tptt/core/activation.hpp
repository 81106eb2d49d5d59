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

// d ← d ⊙ σ'(z), with σ'(z) written through a = σ(z): tanh → 1 − a², logistic → a(1 − a).
template <class S, class DA, class DD>
void multiply_by_derivative(Activation act, const Eigen::MatrixBase<DA>& a, Eigen::MatrixBase<DD>& d) {
  if (act == Activation::Tanh) {
    d.array() *= S(1) - a.array().square();
  } else {
    d.array() *= a.array() * (S(1) - a.array());
  }
}

}  // namespace tptt
