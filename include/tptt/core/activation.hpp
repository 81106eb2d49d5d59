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

// d ← σ(z + d) − σ(z), given z and a = σ(z): the change of σ for an increment d of its
// argument, written so that a tiny d keeps its relative accuracy (no difference of two nearly
// equal numbers) and a large one cannot overflow. `scratch` has d's shape. Exact identities:
//   tanh:     tanh(z+d) − tanh(z) = tanh(d) · (1 − tanh(z) · tanh(z+d))
//   logistic: σ(z+d) − σ(z) = σ(z+d)(1 − σ(z))(1 − e^{−d})   for d ≥ 0,
//                            −σ(z)(1 − σ(z+d))(1 − e^{d})    for d < 0 (the same, mirrored).
template <class S, class DZ, class DA, class DD, class DS>
void activation_increment(Activation act, const Eigen::MatrixBase<DZ>& z, const Eigen::MatrixBase<DA>& a,
                          Eigen::MatrixBase<DD>& d, Eigen::MatrixBase<DS>& scratch) {
  scratch = z + d;
  activate_inplace<S>(act, scratch);  // σ(z + d)
  if (act == Activation::Tanh) {
    d.array() = d.array().tanh() * (S(1) - a.array() * scratch.array());
  } else {
    const auto shrink = -(-d.array().abs()).expm1();  // 1 − e^{−|d|}, in [0, 1)
    d.array() =
        (d.array() >= S(0)).select(scratch.array() * (S(1) - a.array()), -(a.array() * (S(1) - scratch.array()))) *
        shrink;
  }
}

}  // namespace tptt
